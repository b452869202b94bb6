import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { pino } from 'pino';
import { makePdu, smpp, type Pdu, type Server, type Session } from '../smpp/codec.js';
import { decodeText } from '../smpp/encoding.js';
import { MessageIdAllocator, renderMessageId } from './message-ids.js';
import { encodeMoParts, type MoConcat, type MoDataCoding } from './mo-encoder.js';
import {
  faultProblems,
  resolveOptions,
  type ResolvedOptions,
  type SimLogger,
  type SmscAccount,
  type SmscFaults,
  type SmscSimulatorOptions,
} from './options.js';
import { OrderedOutbox } from './outbox.js';
import { createPrng, nextUint32, type Prng } from './prng.js';
import { formatReceiptText, MESSAGE_STATE, type ReceiptStat } from './receipt-text.js';
import { generateLocalhostCertificate, type TlsKeyPair } from './tls-cert.js';
import { ConfigError } from '../errors.js';

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

/**
 * The command_status values the simulator answers with. Its own table, not the
 * connector's: the simulator stands for the other side of the wire.
 */
export const SimStatus = {
  ESME_ROK: 0x00,
  ESME_RINVCMDID: 0x03,
  ESME_RINVBNDSTS: 0x04,
  ESME_RALYBND: 0x05,
  ESME_RSYSERR: 0x08,
  ESME_RBINDFAIL: 0x0d,
  ESME_RINVPASWD: 0x0e,
  ESME_RINVSYSID: 0x0f,
  ESME_RMSGQFUL: 0x14,
  ESME_RSUBMITFAIL: 0x45,
  ESME_RTHROTTLED: 0x58,
} as const;

/** The three SMPP 3.4 bind kinds. */
export type BindType = 'transmitter' | 'receiver' | 'transceiver';
/** Which listener a session came in on. */
export type Transport = 'tcp' | 'tls';

/** One accepted submit_sm, as the SMSC saw it. */
export interface SubmissionRecord {
  systemId: string;
  sessionId: string;
  bindType: BindType;
  sequenceNumber: number;
  serviceType: string;
  sourceAddr: string;
  sourceTon: number;
  sourceNpi: number;
  destinationAddr: string;
  destTon: number;
  destNpi: number;
  esmClass: number;
  dataCoding: number;
  registeredDelivery: number;
  /** As the smpp package decodes it: relative periods become absolute dates. */
  validityPeriod: Date | undefined;
  /** The user data header (length octet included) when esm_class has UDHI (0x40). */
  udh: Buffer | undefined;
  /** The SAR TLVs, when present. */
  sar: { refNum: number; total: number; seq: number } | undefined;
  /** Concatenation info from whichever carried it: an 8/16-bit UDH element or SAR TLVs. */
  concat: { scheme: 'udh8' | 'udh16' | 'sar'; refNum: number; total: number; seq: number } | undefined;
  /** short_message (or message_payload) without the UDH. */
  body: Buffer;
  /** `body` decoded per data_coding. */
  text: string;
  smscMessageId: string;
  receivedAt: Date;
  /** Accepted but never answered (`swallowRate` fault). */
  swallowed: boolean;
}

/** A receipt the ESME answered with status 0. */
export interface AcknowledgedReceipt {
  /** The id as the submit_sm_resp carried it. */
  smscMessageId: string;
  /** The id as the receipt wrote it (differs when `receiptIdFormat` differs from `idFormat`). */
  receiptId: string;
  stat: ReceiptStat;
  sessionId: string;
  at: Date;
}

/** Counters, updated live. */
export interface SmscStats {
  accepted: number;
  /** Every ESME_RTHROTTLED answer, from the rate limit or the `throttleRate` fault. */
  throttled: number;
  /** ESME_RMSGQFUL, ESME_RSUBMITFAIL and (after `resetSessions()`) ESME_RINVBNDSTS answers injected by faults. */
  failedByFault: number;
  swallowed: number;
  /** Connections closed by `dropAfterSubmits`. */
  dropped: number;
  /** deliver_sm receipts written, retries included. */
  receiptsSent: number;
  receiptsAcked: number;
  /** Receipts answered with a non-zero status. */
  receiptsNacked: number;
  /** Receipts left unanswered past `deliverTimeoutMs`. */
  receiptsTimedOut: number;
  moSent: number;
  moAcked: number;
  binds: number;
  bindRefusals: number;
}

/** An open session; systemId and bindType are undefined until it binds. */
export interface SessionInfo {
  sessionId: string;
  transport: Transport;
  systemId: string | undefined;
  bindType: BindType | undefined;
}

/** Payload of the 'bind' event. */
export interface BindEvent {
  sessionId: string;
  transport: Transport;
  systemId: string;
  bindType: BindType;
}

/** A mobile-originated message to deliver to the ESME. */
export interface MoRequest {
  from: string;
  to: string;
  text: string;
  /** 0: GSM 7-bit unpacked (ASCII text only), 3: Latin-1, 8: UCS-2. @defaultvalue 0 */
  dataCoding?: MoDataCoding;
  /** Concatenation of long texts. @defaultvalue 'udh8' */
  concat?: MoConcat;
  /** Account whose receivers get it. @defaultvalue the first account */
  systemId?: string;
}

type DeliveryFailure = 'nack' | 'timeout' | 'closed';

/** Events, each with its single payload. `waitFor` re-checks on every one of them. */
export type SmscSimulatorEvents = {
  'session-opened': [SessionInfo];
  bind: [BindEvent];
  'bind-refused': [{ sessionId: string; systemId: string; status: number }];
  submit: [SubmissionRecord];
  'submit-rejected': [{ sessionId: string; sequenceNumber: number; status: number }];
  'submit-dropped': [{ sessionId: string; sequenceNumber: number }];
  'submit-responded': [{ sessionId: string; sequenceNumber: number; status: number; smscMessageId: string | undefined }];
  'receipt-sent': [{ smscMessageId: string; sessionId: string; attempt: number }];
  'receipt-acked': [AcknowledgedReceipt];
  'receipt-failed': [{ smscMessageId: string; sessionId: string; failure: DeliveryFailure; status: number | undefined }];
  'mo-acked': [{ sessionId: string; from: string; part: number; total: number }];
  /** A receipt (smscMessageId set) or MO part waits for a receiver bind of the system_id. */
  'delivery-held': [{ systemId: string; smscMessageId: string | undefined; held: number }];
  'session-closed': [{ sessionId: string; systemId: string | undefined; bindType: BindType | undefined; reason: string }];
};

interface SimSession {
  readonly id: string;
  readonly transport: Transport;
  readonly session: Session;
  readonly outbox: OrderedOutbox;
  bind: { systemId: string; bindType: BindType; account: Required<SmscAccount> } | undefined;
  /** What the session was bound as before an unbind, for the session-closed event. */
  unboundFrom: { systemId: string; bindType: BindType } | undefined;
  /** performance.now() of accepted submits in the last second, oldest first. */
  readonly acceptedAt: number[];
  /** Settles every deliver_sm still waiting for its answer on this session as lost. */
  readonly inflight: Set<() => void>;
  enquireTimer: NodeJS.Timeout | undefined;
  enquireOutstanding: boolean;
  /** Set by `resetSessions()`: the SMSC forgot this session's bind for submit_sm, the link itself is up. */
  bindLost: boolean;
  /** Set by `unbindSessions()`: our unbind is out, the session closes when it is answered. */
  unbinding: boolean;
  closed: boolean;
}

/** A deliver_sm the SMSC owes the ESME until it is answered with status 0. */
interface Delivery {
  readonly systemId: string;
  readonly fields: Record<string, unknown>;
  attempts: number;
  readonly receipt: { smscMessageId: string; receiptId: string; stat: ReceiptStat } | undefined;
  readonly onAcked: (sessionId: string) => void;
}

type Waiter = () => void;

const BIND_TYPES: Readonly<Record<string, BindType>> = {
  bind_transmitter: 'transmitter',
  bind_receiver: 'receiver',
  bind_transceiver: 'transceiver',
};

const asString = (v: unknown): string => (typeof v === 'string' ? v : '');
const asNumber = (v: unknown): number => (typeof v === 'number' ? v : 0);
const asBuffer = (v: unknown): Buffer | undefined => (Buffer.isBuffer(v) ? v : undefined);

/** Address TON/NPI for an MO party: digits (with or without +) are international, anything else alphanumeric. */
function moAddress(address: string): { addr: string; ton: number; npi: number } {
  return /^\+?\d+$/.test(address) ? { addr: address.replace(/^\+/, ''), ton: 1, npi: 1 } : { addr: address, ton: 5, npi: 0 };
}

/** Concatenation info from a UDH's 8-bit (IEI 0x00) or 16-bit (IEI 0x08) element. */
function udhConcat(udh: Buffer): SubmissionRecord['concat'] {
  for (let i = 1; i + 1 < udh.length; ) {
    const iei = udh[i]!;
    const len = udh[i + 1]!;
    const data = udh.subarray(i + 2, i + 2 + len);
    if (iei === 0x00 && data.length === 3) return { scheme: 'udh8', refNum: data[0]!, total: data[1]!, seq: data[2]! };
    if (iei === 0x08 && data.length === 4) return { scheme: 'udh16', refNum: data.readUInt16BE(0), total: data[2]!, seq: data[3]! };
    i += 2 + len;
  }
  return undefined;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

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

  private readonly opts: ResolvedOptions;
  private readonly logger: SimLogger;
  private readonly prng: Prng;
  private readonly ids: MessageIdAllocator;
  private readonly counters: SmscStats = {
    accepted: 0,
    throttled: 0,
    failedByFault: 0,
    swallowed: 0,
    dropped: 0,
    receiptsSent: 0,
    receiptsAcked: 0,
    receiptsNacked: 0,
    receiptsTimedOut: 0,
    moSent: 0,
    moAcked: 0,
    binds: 0,
    bindRefusals: 0,
  };
  private currentFaults: SmscFaults;
  private dropCountdown: number | undefined;
  private readonly sessions = new Map<string, SimSession>();
  private readonly sockets = new Set<Socket>();
  private servers: Server[] = [];
  private nextSessionNumber = 1;
  private readonly roundRobin = new Map<string, number>();
  /** Deliveries waiting for a receiver bind (or for the simulator to run again). */
  private readonly held: Delivery[] = [];
  /** Deliveries waiting on a timer (receipt delay or retry); moved to `held` on stop. */
  private readonly scheduled = new Map<NodeJS.Timeout, Delivery>();
  private readonly waiters = new Set<Waiter>();
  private running = false;
  private starting: Promise<{ port: number; tlsPort?: number }> | undefined;
  private stopping: Promise<void> | undefined;
  private ports: { port: number; tlsPort?: number } | undefined;
  private keyPair: TlsKeyPair | undefined;
  private nextMoRef: number;

  constructor(options: SmscSimulatorOptions = {}) {
    super();
    this.opts = resolveOptions(options);
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.prng = createPrng(this.opts.seed);
    this.ids = new MessageIdAllocator(this.prng);
    this.nextMoRef = nextUint32(this.prng) & 0xffff;
    this.currentFaults = { ...this.opts.faults };
    this.dropCountdown = this.currentFaults.dropAfterSubmits;
  }

  /** Live counters. */
  get stats(): Readonly<SmscStats> {
    return this.counters;
  }

  /** The faults now in force. */
  get faults(): Readonly<SmscFaults> {
    return { ...this.currentFaults };
  }

  /** PEM of the TLS listener's certificate, to pass as the client's `ca`; undefined until a TLS listener has started. */
  get caPem(): string | undefined {
    return this.keyPair?.cert.toString();
  }

  /** Ports actually listened on (after `start()`). */
  get address(): { host: string; port: number; tlsPort?: number } | undefined {
    return this.ports && { host: this.opts.host, ...this.ports };
  }

  /** Changes faults from now on; omitted keys keep their value. `dropAfterSubmits` restarts its count. */
  setFaults(faults: Partial<SmscFaults>): void {
    const problems = faultProblems(faults);
    if (problems.length > 0) throw new ConfigError(problems);
    this.currentFaults = { ...this.currentFaults, ...faults };
    if ('dropAfterSubmits' in faults) this.dropCountdown = faults.dropAfterSubmits;
    this.logger.info({ faults: this.currentFaults }, 'smsc-sim faults set');
  }

  /** Bound and unbound sessions now open. */
  sessionInfos(): SessionInfo[] {
    return [...this.sessions.values()].map((s) => ({
      sessionId: s.id,
      transport: s.transport,
      systemId: s.bind?.systemId,
      bindType: s.bind?.bindType,
    }));
  }

  /** Sessions bound for `systemId` (any type), or for all accounts. */
  boundCount(systemId?: string): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.bind && (systemId === undefined || s.bind.systemId === systemId)) n++;
    return n;
  }

  /** Receipts and MO parts waiting for a receiver bind. */
  get heldDeliveries(): number {
    return this.held.length;
  }

  /** Starts the listeners (idempotent). A second start after `stop()` reuses the ports of the first. */
  start(): Promise<{ port: number; tlsPort?: number }> {
    if (this.running && this.ports) return Promise.resolve({ ...this.ports });
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
    const all = [...this.sessions.values()];
    for (const s of all) this.closeSession(s, 'dropAllSessions', false);
    return all.length;
  }

  /**
   * Forgets the bind of every bound session for submits, as an SMSC does after a reset or fail-over
   * behind a link that stays up: from now on each answers every submit_sm with ESME_RINVBNDSTS,
   * while enquire_link is still answered and receipts still flow. New binds work normally.
   * Returns how many sessions were reset.
   */
  resetSessions(): number {
    let n = 0;
    for (const s of this.sessions.values()) {
      if (s.bind && !s.closed && !s.bindLost) {
        s.bindLost = true;
        n++;
      }
    }
    this.logger.info({ sessions: n }, 'smsc-sim sessions reset');
    return n;
  }

  /**
   * Sends unbind to every bound session, as an SMSC going down for maintenance does; responses
   * already due are still sent, and each session closes once it answers the unbind (or after
   * `deliverTimeoutMs`). Returns how many were asked.
   */
  unbindSessions(): number {
    let n = 0;
    for (const s of this.sessions.values()) {
      if (!s.bind || s.closed || s.unbinding) continue;
      s.unbinding = true;
      n++;
      const timer = setTimeout(() => this.closeSession(s, 'unbind unanswered', false), this.opts.deliverTimeoutMs).unref();
      s.session.send(makePdu('unbind'), () => {
        clearTimeout(timer);
        this.closeSession(s, 'unbound by the SMSC', true);
      });
    }
    return n;
  }

  /** Writes raw, non-SMPP bytes to every bound session; returns how many got them. */
  sendGarbage(bytes: Buffer): number {
    let n = 0;
    for (const s of this.sessions.values()) {
      if (s.bind && !s.closed && s.session.socket.writable) {
        s.session.socket.write(bytes);
        n++;
      }
    }
    return n;
  }

  /**
   * Delivers a mobile-originated message to a receiver or transceiver bind of the
   * account (parts spread round-robin over them); resolves once every part was
   * answered with status 0. Parts refused or lost are redelivered like receipts.
   */
  sendMo(request: MoRequest): Promise<void> {
    const systemId = request.systemId ?? this.opts.accounts[0]!.systemId;
    if (!this.opts.accounts.some((a) => a.systemId === systemId)) {
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
          const fields: Record<string, unknown> = {
            source_addr_ton: source.ton,
            source_addr_npi: source.npi,
            source_addr: source.addr,
            dest_addr_ton: dest.ton,
            dest_addr_npi: dest.npi,
            destination_addr: dest.addr,
            esm_class: part.esmClass,
            data_coding: dataCoding,
            short_message: part.shortMessage,
          };
          if (part.sar) {
            fields['sar_msg_ref_num'] = part.sar.refNum;
            fields['sar_total_segments'] = part.sar.total;
            fields['sar_segment_seqnum'] = part.sar.seq;
          }
          this.dispatch({
            systemId,
            fields,
            attempts: 0,
            receipt: undefined,
            onAcked: (sessionId) => {
              this.counters.moAcked++;
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
        () => settle(new Error(`SmscSimulator.waitFor timed out after ${timeoutMs} ms waiting for ${description}; stats ${JSON.stringify(this.counters)}`)),
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
    const { host, tls } = this.opts;
    const plain = smpp.createServer({}, (session) => this.onSession(session, 'tcp'));
    this.watchServer(plain, 'tcp');
    this.servers = [plain];
    try {
      const port = await listen(plain, this.ports?.port ?? this.opts.port, host);
      let tlsPort: number | undefined;
      if (tls) {
        this.keyPair ??= tls.key !== undefined && tls.cert !== undefined ? { key: tls.key.toString(), cert: tls.cert.toString() } : await generateLocalhostCertificate();
        const secure = smpp.createServer({ ...this.keyPair, minVersion: tls.minVersion }, (session) => this.onSession(session, 'tls'));
        this.watchServer(secure, 'tls');
        this.servers.push(secure);
        tlsPort = await listen(secure, this.ports?.tlsPort ?? tls.port, host);
      }
      this.ports = tlsPort === undefined ? { port } : { port, tlsPort };
    } catch (err) {
      await Promise.all(this.servers.map(closeServer));
      this.servers = [];
      throw err;
    }
    this.running = true;
    this.logger.debug({ host, ...this.ports }, 'smsc-sim listening');
    return { ...this.ports };
  }

  private async doStop(): Promise<void> {
    if (this.starting) await this.starting.catch(() => undefined);
    if (!this.running && this.servers.length === 0) return;
    this.running = false;
    for (const [timer, delivery] of this.scheduled) {
      clearTimeout(timer);
      this.hold(delivery);
    }
    this.scheduled.clear();
    for (const s of [...this.sessions.values()]) this.closeSession(s, 'simulator stopped', false);
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await Promise.all(this.servers.map(closeServer));
    this.servers = [];
    this.logger.info('smsc-sim stopped');
  }

  private watchServer(server: Server, transport: Transport): void {
    server.on('error', (err: Error) => this.logger.error({ err, transport }, 'smsc-sim listener error'));
    // Raw sockets are tracked so stop() can cut connections still in the TLS handshake.
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('tlsClientError', (err: Error) => this.logger.warn({ err: err.message }, 'smsc-sim TLS handshake refused'));
  }

  private onSession(session: Session, transport: Transport): void {
    // As the connector does: no Nagle, so arrival times reflect send times.
    session.socket.setNoDelay(true);
    const id = `${transport}-${this.nextSessionNumber++}`;
    const s: SimSession = {
      id,
      transport,
      session,
      outbox: new OrderedOutbox((err) => this.logger.error({ err, sessionId: id }, 'smsc-sim response failed')),
      bind: undefined,
      unboundFrom: undefined,
      acceptedAt: [],
      inflight: new Set(),
      enquireTimer: undefined,
      enquireOutstanding: false,
      bindLost: false,
      unbinding: false,
      closed: false,
    };
    if (!this.running) {
      // A connection that raced stop(): without an 'error' listener the smpp session would crash the process.
      session.on('error', () => undefined);
      session.destroy();
      return;
    }
    this.sessions.set(id, s);
    session.on('error', (err: Error) => {
      this.logger.warn({ sessionId: id, err: err.message }, 'smsc-sim session error; closing it');
      this.closeSession(s, `error: ${err.message}`, false);
    });
    session.on('close', () => this.closeSession(s, 'connection closed', false));
    session.on('pdu', (pdu: Pdu) => {
      try {
        this.onPdu(s, pdu);
      } catch (err) {
        this.logger.error({ sessionId: id, err }, 'smsc-sim failed to handle a PDU; closing the session');
        this.closeSession(s, 'internal error', false);
      }
    });
    this.logger.debug({ sessionId: id, remote: session.socket.remoteAddress }, 'smsc-sim session opened');
    this.notify('session-opened', { sessionId: id, transport, systemId: undefined, bindType: undefined });
  }

  private closeSession(s: SimSession, reason: string, graceful: boolean): void {
    if (s.closed) return;
    s.closed = true;
    s.outbox.close();
    clearInterval(s.enquireTimer);
    this.sessions.delete(s.id);
    const bind = s.bind ?? s.unboundFrom;
    s.bind = undefined;
    for (const lost of [...s.inflight]) lost();
    if (graceful) s.session.close();
    else s.session.destroy();
    this.logger.info({ sessionId: s.id, systemId: bind?.systemId, bindType: bind?.bindType, reason }, 'smsc-sim session closed');
    this.notify('session-closed', { sessionId: s.id, systemId: bind?.systemId, bindType: bind?.bindType, reason });
  }

  private send(s: SimSession, pdu: Pdu): void {
    if (!s.closed) s.session.send(pdu);
  }

  /** Answers a request with `status`; requests with no `_resp` of their own get generic_nack. */
  private reply(s: SimSession, pdu: Pdu, status: number, fields: Record<string, unknown> = {}): void {
    const response = smpp.commands[`${pdu.command}_resp`]
      ? pdu.response({ ...fields, command_status: status })
      : makePdu('generic_nack', { sequence_number: pdu.sequence_number, command_status: status || SimStatus.ESME_RINVCMDID });
    this.send(s, response);
  }

  private onPdu(s: SimSession, pdu: Pdu): void {
    if (s.closed) return;
    this.logger.debug({ sessionId: s.id, command: pdu.command, seq: pdu.sequence_number, status: pdu.command_status }, 'smsc-sim <-');
    // Responses to our deliver_sm / enquire_link reach their callbacks inside the smpp package.
    if (pdu.isResponse()) return;
    const bindType = BIND_TYPES[pdu.command];
    if (bindType) return this.onBind(s, pdu, bindType);
    switch (pdu.command) {
      case 'unknown':
        return this.send(s, pdu.response());
      case 'enquire_link':
        if (!this.currentFaults.ignoreEnquireLink) this.send(s, pdu.response());
        return;
      case 'unbind':
        // Unbound at once: the slot is free and no receipt is routed here any more.
        s.unboundFrom = s.bind;
        s.bind = undefined;
        s.session.send(pdu.response(), () => this.closeSession(s, 'unbind', true));
        return;
    }
    if (!s.bind) return this.reply(s, pdu, SimStatus.ESME_RINVBNDSTS);
    if (pdu.command !== 'submit_sm') return this.reply(s, pdu, SimStatus.ESME_RINVCMDID);
    if (s.bind.bindType === 'receiver') return this.reply(s, pdu, SimStatus.ESME_RINVBNDSTS);
    if (s.bindLost) {
      this.counters.failedByFault++;
      this.reply(s, pdu, SimStatus.ESME_RINVBNDSTS);
      this.notify('submit-rejected', { sessionId: s.id, sequenceNumber: pdu.sequence_number, status: SimStatus.ESME_RINVBNDSTS });
      return;
    }
    this.onSubmit(s, pdu, s.bind);
  }

  private onBind(s: SimSession, pdu: Pdu, bindType: BindType): void {
    if (s.bind) return this.reply(s, pdu, SimStatus.ESME_RALYBND);
    const systemId = asString(pdu['system_id']);
    const account = this.opts.accounts.find((a) => a.systemId === systemId);
    let status: number = SimStatus.ESME_ROK;
    if (this.currentFaults.refuseBinds) status = SimStatus.ESME_RBINDFAIL;
    else if (!account) status = SimStatus.ESME_RINVSYSID;
    else if (account.password !== asString(pdu['password'])) status = SimStatus.ESME_RINVPASWD;
    else if (this.boundCount(systemId) >= account.maxBinds) status = SimStatus.ESME_RBINDFAIL;
    if (status !== SimStatus.ESME_ROK || !account) {
      this.counters.bindRefusals++;
      this.reply(s, pdu, status);
      this.logger.info({ sessionId: s.id, systemId, bindType, status }, 'smsc-sim bind refused');
      this.notify('bind-refused', { sessionId: s.id, systemId, status });
      return;
    }
    s.bind = { systemId, bindType, account };
    this.counters.binds++;
    this.reply(s, pdu, SimStatus.ESME_ROK, { system_id: this.opts.smscSystemId, sc_interface_version: 0x34 });
    this.logger.info({ sessionId: s.id, systemId, bindType }, 'smsc-sim bound');
    if (this.currentFaults.acceptThenDropMs !== undefined) {
      setTimeout(() => {
        if (this.currentFaults.acceptThenDropMs !== undefined) this.closeSession(s, 'fault: acceptThenDrop', false);
      }, this.currentFaults.acceptThenDropMs).unref();
    }
    this.startEnquireLink(s);
    this.notify('bind', { sessionId: s.id, transport: s.transport, systemId, bindType });
    if (bindType !== 'transmitter') this.releaseHeld(systemId);
  }

  private startEnquireLink(s: SimSession): void {
    const interval = this.opts.enquireLinkIntervalMs;
    if (interval === undefined) return;
    s.enquireTimer = setInterval(() => {
      if (s.enquireOutstanding) {
        this.closeSession(s, 'enquire_link unanswered', false);
        return;
      }
      s.enquireOutstanding = true;
      s.session.send(makePdu('enquire_link'), () => {
        s.enquireOutstanding = false;
      });
    }, interval);
  }

  /** Draws from the PRNG only for active faults, so a run's decisions depend on the faults set, not on call order elsewhere. */
  private chance(rate: number): boolean {
    return rate > 0 && this.prng() < rate;
  }

  private onSubmit(s: SimSession, pdu: Pdu, bind: NonNullable<SimSession['bind']>): void {
    const arrivedAt = performance.now();
    const sequenceNumber = pdu.sequence_number;
    if (this.dropCountdown !== undefined) {
      this.dropCountdown -= 1;
      if (this.dropCountdown <= 0) {
        this.dropCountdown = undefined;
        this.currentFaults.dropAfterSubmits = undefined;
        this.counters.dropped++;
        this.notify('submit-dropped', { sessionId: s.id, sequenceNumber });
        this.closeSession(s, 'fault: dropAfterSubmits', false);
        return;
      }
    }

    const window = s.acceptedAt;
    while (window.length > 0 && window[0]! <= arrivedAt - 1000) window.shift();
    const faults = this.currentFaults;
    let status: number = SimStatus.ESME_ROK;
    if (window.length >= bind.account.mps || this.chance(faults.throttleRate)) status = SimStatus.ESME_RTHROTTLED;
    else if (this.chance(faults.msgQFullRate) || faults.msgQFullDestinations.includes(asString(pdu['destination_addr']))) status = SimStatus.ESME_RMSGQFUL;
    else if (this.chance(faults.submitFailRate)) status = SimStatus.ESME_RSUBMITFAIL;
    else if (faults.systemErrorDestinations.includes(asString(pdu['destination_addr']))) status = SimStatus.ESME_RSYSERR;
    if (status !== SimStatus.ESME_ROK) {
      if (status === SimStatus.ESME_RTHROTTLED) this.counters.throttled++;
      else this.counters.failedByFault++;
      this.notify('submit-rejected', { sessionId: s.id, sequenceNumber, status });
      this.respondInOrder(s, pdu, arrivedAt, status, undefined);
      return;
    }

    window.push(arrivedAt);
    const numericId = this.ids.allocate();
    const record = this.record(s, pdu, bind, renderMessageId(numericId, this.opts.idFormat));
    record.swallowed = this.chance(faults.swallowRate);
    this.submissions.push(record);
    this.counters.accepted++;
    if (record.swallowed) this.counters.swallowed++;
    this.notify('submit', record);

    const receipt = this.receiptFor(record, numericId);
    if (record.swallowed) {
      // The SMSC took the message, so its receipt still comes: for an id the ESME never learned.
      if (receipt) this.scheduleDelivery(receipt, this.opts.receiptDelayMs);
      return;
    }
    if (receipt && faults.receiptBeforeResponse) {
      this.respondInOrder(s, pdu, arrivedAt, SimStatus.ESME_ROK, record.smscMessageId, async () => {
        await this.dispatch(receipt);
      });
      return;
    }
    this.respondInOrder(s, pdu, arrivedAt, SimStatus.ESME_ROK, record.smscMessageId);
    // The receipt delay counts from the response, so receipts overtake responses only when asked to.
    if (receipt) this.scheduleDelivery(receipt, this.opts.receiptDelayMs + this.opts.responseDelayMs);
  }

  private respondInOrder(
    s: SimSession,
    pdu: Pdu,
    arrivedAt: number,
    status: number,
    smscMessageId: string | undefined,
    before?: () => Promise<void>,
  ): void {
    s.outbox.push(arrivedAt + this.opts.responseDelayMs, async () => {
      if (before) await before();
      if (s.closed) return;
      this.reply(s, pdu, status, smscMessageId === undefined ? {} : { message_id: smscMessageId });
      this.notify('submit-responded', { sessionId: s.id, sequenceNumber: pdu.sequence_number, status, smscMessageId });
    });
  }

  private record(s: SimSession, pdu: Pdu, bind: NonNullable<SimSession['bind']>, smscMessageId: string): SubmissionRecord {
    const esmClass = asNumber(pdu['esm_class']);
    const dataCoding = asNumber(pdu['data_coding']);
    let message = asBuffer(pdu['short_message']) ?? Buffer.alloc(0);
    if (message.length === 0) message = asBuffer(pdu['message_payload']) ?? message;
    let udh: Buffer | undefined;
    let body = message;
    if (esmClass & 0x40 && message.length > 0) {
      const udhLength = 1 + message[0]!;
      udh = message.subarray(0, udhLength);
      body = message.subarray(udhLength);
    }
    const sar =
      pdu['sar_msg_ref_num'] !== undefined
        ? { refNum: asNumber(pdu['sar_msg_ref_num']), total: asNumber(pdu['sar_total_segments']), seq: asNumber(pdu['sar_segment_seqnum']) }
        : undefined;
    const validity = pdu['validity_period'];
    return {
      systemId: bind.systemId,
      sessionId: s.id,
      bindType: bind.bindType,
      sequenceNumber: pdu.sequence_number,
      serviceType: asString(pdu['service_type']),
      sourceAddr: asString(pdu['source_addr']),
      sourceTon: asNumber(pdu['source_addr_ton']),
      sourceNpi: asNumber(pdu['source_addr_npi']),
      destinationAddr: asString(pdu['destination_addr']),
      destTon: asNumber(pdu['dest_addr_ton']),
      destNpi: asNumber(pdu['dest_addr_npi']),
      esmClass,
      dataCoding,
      registeredDelivery: asNumber(pdu['registered_delivery']),
      validityPeriod: validity instanceof Date ? validity : undefined,
      udh,
      sar,
      concat: (udh && udhConcat(udh)) ?? (sar && { scheme: 'sar', ...sar }),
      body,
      text: decodeText(body, dataCoding),
      smscMessageId,
      receivedAt: new Date(),
      swallowed: false,
    };
  }

  /** The receipt a submission earns, or undefined (none asked for, or the outcome says none). */
  private receiptFor(record: SubmissionRecord, numericId: bigint): Delivery | undefined {
    // registered_delivery bits 0-1: 1 = receipt on any final outcome, 2 = on failure only.
    const wanted = record.registeredDelivery & 0x03;
    if (wanted !== 1 && wanted !== 2) return undefined;
    const stat = this.opts.receiptOutcome(record.destinationAddr);
    if (stat === null || (wanted === 2 && stat === 'DELIVRD')) return undefined;
    const format = this.opts.receiptIdFormat;
    const receiptId = format === 'same' ? record.smscMessageId : renderMessageId(numericId, format);
    const doneAt = new Date(record.receivedAt.getTime() + this.opts.responseDelayMs + this.opts.receiptDelayMs);
    const text = formatReceiptText({ id: receiptId, stat, submittedAt: record.receivedAt, doneAt, text: record.text });
    const smscMessageId = record.smscMessageId;
    return {
      systemId: record.systemId,
      attempts: 0,
      receipt: { smscMessageId, receiptId, stat },
      fields: {
        source_addr_ton: record.destTon,
        source_addr_npi: record.destNpi,
        source_addr: record.destinationAddr,
        dest_addr_ton: record.sourceTon,
        dest_addr_npi: record.sourceNpi,
        destination_addr: record.sourceAddr,
        esm_class: 0x04,
        data_coding: 0,
        short_message: Buffer.from(text, 'latin1'),
        receipted_message_id: receiptId,
        message_state: MESSAGE_STATE[stat],
      },
      onAcked: (sessionId) => {
        this.counters.receiptsAcked++;
        const acked: AcknowledgedReceipt = { smscMessageId, receiptId, stat, sessionId, at: new Date() };
        this.acknowledgedReceipts.push(acked);
        this.notify('receipt-acked', acked);
      },
    };
  }

  private hold(delivery: Delivery): void {
    this.held.push(delivery);
    this.notify('delivery-held', { systemId: delivery.systemId, smscMessageId: delivery.receipt?.smscMessageId, held: this.held.length });
  }

  private scheduleDelivery(delivery: Delivery, delayMs: number): void {
    if (!this.running) {
      this.hold(delivery);
      return;
    }
    const timer = setTimeout(() => {
      this.scheduled.delete(timer);
      void this.dispatch(delivery);
    }, delayMs);
    this.scheduled.set(timer, delivery);
  }

  private releaseHeld(systemId: string): void {
    const mine = this.held.filter((d) => d.systemId === systemId);
    if (mine.length === 0) return;
    const others = this.held.filter((d) => d.systemId !== systemId);
    this.held.splice(0, this.held.length, ...others);
    for (const delivery of mine) void this.dispatch(delivery);
  }

  private pickReceiver(systemId: string): SimSession | undefined {
    const candidates = [...this.sessions.values()].filter(
      (s) => !s.closed && s.bind?.systemId === systemId && s.bind.bindType !== 'transmitter',
    );
    if (candidates.length === 0) return undefined;
    const turn = this.roundRobin.get(systemId) ?? 0;
    this.roundRobin.set(systemId, turn + 1);
    return candidates[turn % candidates.length];
  }

  /** One delivery attempt; resolves when it is settled (answered, failed, or held for lack of a receiver). */
  private dispatch(delivery: Delivery): Promise<void> {
    const target = this.running ? this.pickReceiver(delivery.systemId) : undefined;
    if (!target) {
      this.hold(delivery);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      delivery.attempts++;
      let settled = false;
      const finish = (failure: DeliveryFailure | undefined, status?: number): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        target.inflight.delete(lost);
        if (failure === undefined) {
          delivery.onAcked(target.id);
        } else {
          this.onDeliveryFailed(delivery, target.id, failure, status);
          this.scheduleDelivery(delivery, this.opts.receiptRetryMs);
        }
        resolve();
      };
      const lost = (): void => finish('closed');
      const timer = setTimeout(() => finish('timeout'), this.opts.deliverTimeoutMs);
      target.inflight.add(lost);
      const written = target.session.send(makePdu('deliver_sm', delivery.fields), (response: Pdu) =>
        finish(response.command_status === 0 ? undefined : 'nack', response.command_status),
      );
      if (!written) {
        finish('closed');
        return;
      }
      if (delivery.receipt) {
        this.counters.receiptsSent++;
        this.notify('receipt-sent', { smscMessageId: delivery.receipt.smscMessageId, sessionId: target.id, attempt: delivery.attempts });
      } else {
        this.counters.moSent++;
      }
    });
  }

  private onDeliveryFailed(delivery: Delivery, sessionId: string, failure: DeliveryFailure, status: number | undefined): void {
    this.logger.info({ sessionId, failure, status, attempts: delivery.attempts }, 'smsc-sim deliver_sm not acknowledged; will retry');
    if (!delivery.receipt) return;
    if (failure === 'nack') this.counters.receiptsNacked++;
    if (failure === 'timeout') this.counters.receiptsTimedOut++;
    this.notify('receipt-failed', { smscMessageId: delivery.receipt.smscMessageId, sessionId, failure, status });
  }
}
