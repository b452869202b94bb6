/**
 * The project's SMSC simulator (docs/architecture.md §6): the public class, its options and its
 * vocabulary. This file composes the parts and holds the public API; each part has its own module:
 * `sessions.ts` (the session table), `requests.ts` (bind, enquire_link, unbind, what a submit_sm
 * must pass), `submits.ts` (rate limit, faults, acceptance, responses in order), `deliveries.ts`
 * (receipts and MO parts owed to the ESME: hold, round-robin, redelivery), `deliver-pdus.ts` and
 * `submission-record.ts` (pure PDU building and reading), `listeners.ts` (TCP/TLS servers),
 * `options.ts` (options and faults, validated), `types.ts` (records, counters, events).
 */
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { ConfigError } from '../errors.js';
import { moAddress, moPartFields } from './deliver-pdus.js';
import { DeliveryRouter } from './deliveries.js';
import { Listeners } from './listeners.js';
import { MessageIdAllocator } from './message-ids.js';
import { encodeMoParts } from './mo-encoder.js';
import { faultProblems, resolveOptions, type SimLogger, type SmscFaults, type SmscSimulatorOptions } from './options.js';
import { createPrng, nextUint32 } from './prng.js';
import { RequestHandler } from './requests.js';
import { SessionTable } from './sessions.js';
import { zeroStats, type SimState } from './state.js';
import { SubmitHandler } from './submits.js';
import type { AcknowledgedReceipt, MoRequest, SessionInfo, SmscSimulatorEvents, SmscStats, SubmissionRecord } from './types.js';

export type { ReceiptStat } from './receipt-text.js';
export type { MoConcat, MoDataCoding } from './mo-encoder.js';
export type { IdFormat } from './message-ids.js';
export type {
  ReceiptIdFormat,
  ReceiptOutcome,
  SimLogger,
  SmscAccount,
  SmscFaults,
  SmscSimulatorOptions,
  SmscTlsOptions,
} from './options.js';
export { defaultReceiptOutcome } from './options.js';
export { SimStatus } from './types.js';
export type {
  AcknowledgedReceipt,
  BindEvent,
  BindType,
  MoRequest,
  SessionInfo,
  SmscSimulatorEvents,
  SmscStats,
  SubmissionRecord,
  Transport,
} from './types.js';

type Waiter = () => void;

/**
 * An in-process SMSC that behaves like the 8x8 SMPP 3.4 service (docs/architecture.md §4, §6):
 * authentication and a bind cap per system_id, a per-bind 1-second rate limit
 * answered with ESME_RTHROTTLED, 64-bit message ids in hex or decimal, delivery
 * receipts routed round-robin to any receiver bind of the system_id (held while
 * none is bound, redelivered when refused or unanswered), MO messages, and
 * faults on demand. Every random decision comes from a seeded PRNG.
 *
 * @example
 * const sim = new SmscSimulator({ tls: {} });
 * const { port, tlsPort } = await sim.start();
 * // ... connect with ca: sim.caPem ...
 * await sim.waitFor(() => sim.stats.receiptsAcked === 1, 2000);
 * await sim.stop();
 */
export class SmscSimulator extends EventEmitter<SmscSimulatorEvents> {
  /** Every accepted submit_sm, in arrival order. */
  readonly submissions: SubmissionRecord[] = [];
  /** Every receipt answered with status 0 (several entries for one id if the ESME acknowledged a redelivery). */
  readonly acknowledgedReceipts: AcknowledgedReceipt[] = [];

  private readonly state: SimState;
  private readonly logger: SimLogger;
  private readonly sessions: SessionTable;
  private readonly deliveries: DeliveryRouter;
  private readonly requests: RequestHandler;
  /** Not `listeners`: that is EventEmitter's. */
  private readonly servers: Listeners;
  private readonly waiters = new Set<Waiter>();
  private starting: Promise<{ port: number; tlsPort?: number }> | undefined;
  private stopping: Promise<void> | undefined;
  private nextMoRef: number;

  constructor(options: SmscSimulatorOptions = {}) {
    super();
    const opts = resolveOptions(options);
    this.logger = options.logger ?? pino({ level: 'silent' });
    const prng = createPrng(opts.seed);
    const ids = new MessageIdAllocator(prng);
    this.nextMoRef = nextUint32(prng) & 0xffff;
    const faults = { ...opts.faults };
    this.state = {
      opts,
      logger: this.logger,
      prng,
      counters: zeroStats(),
      faults,
      dropCountdown: faults.dropAfterSubmits,
      running: false,
      notify: (event, ...args) => this.notify(event, ...args),
    };
    this.sessions = new SessionTable(this.state, (s, pdu) => this.requests.onPdu(s, pdu));
    this.deliveries = new DeliveryRouter(this.state, this.sessions);
    const submits = new SubmitHandler(this.state, this.sessions, this.deliveries, ids, {
      submissions: this.submissions,
      acknowledgedReceipts: this.acknowledgedReceipts,
    });
    this.requests = new RequestHandler(this.state, this.sessions, this.deliveries, submits);
    this.servers = new Listeners(opts, this.logger);
  }

  /** Live counters. */
  get stats(): Readonly<SmscStats> {
    return this.state.counters;
  }

  /** The faults now in force. */
  get faults(): Readonly<SmscFaults> {
    return { ...this.state.faults };
  }

  /** PEM of the TLS listener's certificate, to pass as the client's `ca`; undefined until a TLS listener has started. */
  get caPem(): string | undefined {
    return this.servers.caPem;
  }

  /** Ports actually listened on (after `start()`). */
  get address(): { host: string; port: number; tlsPort?: number } | undefined {
    const ports = this.servers.ports;
    return ports && { host: this.state.opts.host, ...ports };
  }

  /** Changes faults from now on; omitted keys keep their value. `dropAfterSubmits` restarts its count. */
  setFaults(faults: Partial<SmscFaults>): void {
    const problems = faultProblems(faults);
    if (problems.length > 0) throw new ConfigError(problems);
    this.state.faults = { ...this.state.faults, ...faults };
    if ('dropAfterSubmits' in faults) this.state.dropCountdown = faults.dropAfterSubmits;
    this.logger.info({ faults: this.state.faults }, 'smsc-sim faults set');
  }

  /** Bound and unbound sessions now open. */
  sessionInfos(): SessionInfo[] {
    return this.sessions.infos();
  }

  /** Sessions bound for `systemId` (any type), or for all accounts. */
  boundCount(systemId?: string): number {
    return this.sessions.boundCount(systemId);
  }

  /** Receipts and MO parts waiting for a receiver bind. */
  get heldDeliveries(): number {
    return this.deliveries.heldCount;
  }

  /** Starts the listeners (idempotent). A second start after `stop()` reuses the ports of the first. */
  start(): Promise<{ port: number; tlsPort?: number }> {
    const ports = this.servers.ports;
    if (this.state.running && ports) return Promise.resolve({ ...ports });
    this.starting ??= this.doStart().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  /** Closes the listeners and every session (idempotent). Receipts and MO parts not yet acknowledged are kept for the next start. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop().finally(() => {
      this.stopping = undefined;
    });
    return this.stopping;
  }

  /** stop() then start() on the same ports: every session is cut, as when an SMSC restarts. */
  async restart(): Promise<{ port: number; tlsPort?: number }> {
    await this.stop();
    return this.start();
  }

  /** Cuts every session abruptly (TCP destroy, no unbind); returns how many. */
  dropAllSessions(): number {
    return this.sessions.closeAll('dropAllSessions');
  }

  /**
   * Forgets the bind of every bound session for submits, as an SMSC does after a reset or fail-over
   * behind a link that stays up: from now on each answers every submit_sm with ESME_RINVBNDSTS,
   * while enquire_link is still answered and receipts still flow. New binds work normally.
   * Returns how many sessions were reset.
   */
  resetSessions(): number {
    return this.sessions.resetAll();
  }

  /**
   * Sends unbind to every bound session, as an SMSC going down for maintenance does; responses
   * already due are still sent, and each session closes once it answers the unbind (or after
   * `deliverTimeoutMs`). Returns how many were asked.
   */
  unbindSessions(): number {
    return this.sessions.unbindAll();
  }

  /** Writes raw, non-SMPP bytes to every bound session; returns how many got them. */
  sendGarbage(bytes: Buffer): number {
    return this.sessions.sendGarbage(bytes);
  }

  /**
   * Delivers a mobile-originated message to a receiver or transceiver bind of the
   * account (parts spread round-robin over them); resolves once every part was
   * answered with status 0. Parts refused or lost are redelivered like receipts.
   */
  sendMo(request: MoRequest): Promise<void> {
    const { accounts } = this.state.opts;
    const systemId = request.systemId ?? accounts[0]!.systemId;
    if (!accounts.some((a) => a.systemId === systemId)) {
      return Promise.reject(new Error(`sendMo: no account ${systemId}`));
    }
    const dataCoding = request.dataCoding ?? 0;
    const ref = this.nextMoRef;
    this.nextMoRef = (this.nextMoRef + 1) & 0xffff;
    let parts;
    try {
      parts = encodeMoParts(request.text, dataCoding, request.concat ?? 'udh8', ref);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const source = moAddress(request.from);
    const dest = moAddress(request.to);
    const acks = parts.map(
      (part, i) =>
        new Promise<void>((resolve) => {
          void this.deliveries.dispatch({
            systemId,
            fields: moPartFields(source, dest, part, dataCoding),
            attempts: 0,
            receipt: undefined,
            onAcked: (sessionId) => {
              this.state.counters.moAcked++;
              this.notify('mo-acked', { sessionId, from: request.from, part: i + 1, total: parts.length });
              resolve();
            },
          });
        }),
    );
    return Promise.all(acks).then(() => undefined);
  }

  /**
   * Resolves once `predicate()` holds, re-checking after every simulator event
   * (no polling); rejects after `timeoutMs` with `description` and the counters.
   */
  waitFor(predicate: () => boolean, timeoutMs = 5000, description = 'condition'): Promise<void> {
    return new Promise((resolve, reject) => {
      let done = false;
      const settle = (err?: Error): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.waiters.delete(check);
        if (err) reject(err);
        else resolve();
      };
      const check: Waiter = () => {
        let holds: boolean;
        try {
          holds = predicate();
        } catch (err) {
          settle(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        if (holds) settle();
      };
      const timer = setTimeout(
        () => settle(new Error(`SmscSimulator.waitFor timed out after ${timeoutMs} ms waiting for ${description}; stats ${JSON.stringify(this.state.counters)}`)),
        timeoutMs,
      );
      this.waiters.add(check);
      check();
    });
  }

  private notify<K extends keyof SmscSimulatorEvents>(event: K, ...args: SmscSimulatorEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: SmscSimulatorEvents[K]) => boolean)(event, ...args);
    } finally {
      for (const waiter of [...this.waiters]) waiter();
    }
  }

  private async doStart(): Promise<{ port: number; tlsPort?: number }> {
    if (this.stopping) await this.stopping;
    const ports = await this.servers.listen((session, transport) => this.sessions.open(session, transport));
    this.state.running = true;
    this.logger.debug({ host: this.state.opts.host, ...ports }, 'smsc-sim listening');
    return { ...ports };
  }

  private async doStop(): Promise<void> {
    if (this.starting) await this.starting.catch(() => undefined);
    if (!this.state.running && !this.servers.open) return;
    this.state.running = false;
    this.deliveries.holdScheduled();
    this.sessions.closeAll('simulator stopped');
    await this.servers.close();
    this.logger.info('smsc-sim stopped');
  }
}
