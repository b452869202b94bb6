import { EventEmitter } from 'node:events';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { MetricName, noMetrics, type Metrics } from '../metrics.js';
import { maskAddress } from './address.js';
import { Bind, type BackoffPolicy, type CredentialsProvider } from './bind.js';
import type { BindSlots } from './bind-slots.js';
import { classifySubmitStatus, statusDescription, statusName, Status } from './command-status.js';
import type { DeliverFields } from './receipt.js';
import { Fifo } from './fifo.js';
import { NotSentError, RequestFailedError, type BindType, type LinkOptions, type SmppSession } from './session.js';
import { submitSmFields, type OutboundPart } from './submit.js';
import { Pacer } from './throttle.js';
import type { Lane, SubmitResult } from '../core/ports.js';

export type { Lane, SubmitResult } from '../core/ports.js';

/** Bind names in logs and slot leases: unique per process (a transmitter and a transceiver must not share one). */
const BIND_PREFIX: Readonly<Record<BindType, string>> = { transmitter: 'tx', receiver: 'rx', transceiver: 'trx' };

export interface SmppClientOptions extends LinkOptions {
  txBinds: number;
  rxBinds: number;
  trxBinds: number;
  mpsPerBind: number;
  /** Slack added to the pacer's 1-second window, for jitter between our departures and the SMSC's arrivals. @defaultvalue 8 */
  pacerMarginMs?: number;
  /** Throttle answers tolerated for one part before it is handed back as retryable. @defaultvalue 20 */
  maxThrottleRetries?: number;
  /**
   * ESME_RMSGQFUL answers for one part after which it is handed back as retryable (the pipeline
   * then retries it later, from SQS). @defaultvalue 5
   */
  queueFullHandBackAfter?: number;
  /**
   * After ESME_RMSGQFUL, how long that destination is held back; it doubles with each further
   * one for the destination, up to 30 s, and ends at its first accepted submit. @defaultvalue 500
   */
  destinationHoldMs?: number;
  backoff?: BackoffPolicy;
  /**
   * Share of the submits kept for the bulk lane while urgent parts wait too (docs/architecture.md
   * §7.1), 0 – 0.9. @defaultvalue 0.1
   */
  bulkMinShare?: number;
  credentials: CredentialsProvider;
  /** The account's bind budget, handed to every bind: each holds a slot before it connects (see Bind). */
  slots?: BindSlots;
  /** Receipts and MO messages; the SMSC gets its answer only after this resolves. */
  onDeliver: (fields: DeliverFields) => Promise<void>;
  logger: Logger;
  clock: Clock;
  metrics?: Metrics;
}

interface QueuedSubmit {
  lane: Lane;
  fields: Record<string, unknown>;
  /** destination_addr: ESME_RMSGQFUL holds back parts by it. */
  destination: string;
  resolve(result: SubmitResult): void;
  throttles: number;
  queueFulls: number;
  rebinds: number;
  enqueuedAt: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** One lane's parts waiting for a bind. */
interface LaneQueue {
  queue: Fifo<QueuedSubmit>;
  /** Parts taken off the queue while their destination was held; they go first once it is not. */
  deferred: QueuedSubmit[];
}

/** One pick, in the integer units bulk's credit is counted in (so ten picks of 0.1 make exactly one). */
const PICK = 1_000_000;

/** A destination held back after ESME_RMSGQFUL: nothing is sent to it before `until`. */
interface DestinationHold {
  until: number;
  /** ESME_RMSGQFUL hold periods in a row; the next hold is twice as long. */
  strikes: number;
}

const MAX_DESTINATION_HOLD_MS = 30_000;
/** A hold this long over is forgotten: the next ESME_RMSGQFUL starts from the shortest hold again. */
const FORGET_HOLD_MS = 60_000;
/**
 * Rebinds after ESME_RINVBNDSTS for one part before it is handed back as retryable: an SMSC that
 * says "not bound" on every fresh bind has not merely lost a session.
 */
const MAX_REBINDS_PER_PART = 3;

/**
 * The account's binds and the outbound path through them: two FIFOs of submits, urgent and bulk
 * (docs/architecture.md §7.1), shared by every transmitting bind; each bind pulls the next part only
 * when its window has a slot and its pacer allows, so every bind runs at its own limit and a
 * slow or dead bind holds back nothing but itself. A destination whose queue is
 * full at the SMSC (ESME_RMSGQFUL) is held back on its own: its parts wait aside
 * while the others keep the binds' full rate.
 *
 * Events: 'readiness' ({ tx, rx }) whenever the number of bound binds changes.
 */
export class SmppClient extends EventEmitter {
  readonly binds: Bind[] = [];
  private readonly lanes: Readonly<Record<Lane, LaneQueue>> = { urgent: { queue: new Fifo(), deferred: [] }, bulk: { queue: new Fifo(), deferred: [] } };
  /** What bulk has earned towards its next pick while both lanes wait, in units of PICK (see takeNext). */
  private bulkCredit = 0;
  private readonly bulkShare: number;
  private readonly holds = new Map<string, DestinationHold>();
  private workWaiters: Array<() => void> = [];
  private running = false;
  private inFlight = 0;
  private readonly metrics: Metrics;
  private readonly pumps: Promise<void>[] = [];

  constructor(private readonly options: SmppClientOptions) {
    super();
    this.metrics = options.metrics ?? noMetrics;
    this.bulkShare = Math.round(Math.min(0.9, Math.max(0, options.bulkMinShare ?? 0.1)) * PICK);
    const make = (type: BindType, count: number) => {
      for (let i = 0; i < count; i++) {
        const onDeliver = type === 'transmitter' ? undefined : options.onDeliver;
        const bind = new Bind(`${BIND_PREFIX[type]}${i + 1}`, type, { ...options, ...(onDeliver && { onDeliver }) }, options.logger);
        bind.on('bound', () => this.emitReadiness());
        bind.on('unbound', () => this.emitReadiness());
        this.binds.push(bind);
      }
    };
    make('transmitter', options.txBinds);
    make('receiver', options.rxBinds);
    make('transceiver', options.trxBinds);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (const bind of this.binds) {
      bind.start();
      if (bind.type !== 'receiver') {
        this.pumps.push(this.pump(bind, new Pacer({ ratePerSecond: this.options.mpsPerBind, ...(this.options.pacerMarginMs !== undefined && { marginMs: this.options.pacerMarginMs }) }, this.options.clock)));
      }
    }
  }

  /** Bound binds that can send, and that can receive. */
  readiness(): { tx: number; rx: number } {
    let tx = 0;
    let rx = 0;
    for (const b of this.binds) {
      if (!b.session) continue;
      if (b.type !== 'receiver') tx += 1;
      if (b.type !== 'transmitter') rx += 1;
    }
    return { tx, rx };
  }

  /** Resolves once at least `tx` sending and `rx` receiving binds are bound. */
  whenReady(tx = 1, rx = 1): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        const r = this.readiness();
        if (r.tx < tx || r.rx < rx) return;
        this.off('readiness', check);
        resolve();
      };
      this.on('readiness', check);
      check();
    });
  }

  /** Submits waiting for a bind (not yet sent). */
  get queued(): number {
    return this.waiting('urgent') + this.waiting('bulk');
  }

  /** Submits waiting for a bind, by lane. */
  get queuedByLane(): Record<Lane, number> {
    return { urgent: this.waiting('urgent'), bulk: this.waiting('bulk') };
  }

  /** Submits sent and awaiting their response. */
  get outstanding(): number {
    return this.inFlight;
  }

  /** What the binds can send per second when all are bound. */
  get capacityPerSecond(): number {
    return (this.options.txBinds + this.options.trxBinds) * this.options.mpsPerBind;
  }

  /**
   * Queues one part for sending. Never rejects: every way it can end is a
   * SubmitResult. Aborting the signal while the part is still queued hands it
   * back as retryable (used on shutdown, so it returns to SQS at once). Urgent parts go before
   * bulk ones, bulk keeping its minimum share (docs/architecture.md §7.1).
   */
  submit(part: OutboundPart, signal?: AbortSignal, lane: Lane = 'bulk'): Promise<SubmitResult> {
    return new Promise((resolve) => {
      if (!this.running) return resolve({ kind: 'handed-back', reason: 'client stopped' });
      if (signal?.aborted) return resolve({ kind: 'handed-back', reason: 'aborted' });
      const item: QueuedSubmit = {
        lane,
        fields: submitSmFields(part),
        destination: part.destination.addr,
        resolve,
        throttles: 0,
        queueFulls: 0,
        rebinds: 0,
        enqueuedAt: this.options.clock.now(),
        signal,
        onAbort: undefined,
      };
      if (signal) {
        item.onAbort = () => {
          const { queue, deferred } = this.lanes[item.lane];
          const i = deferred.indexOf(item);
          if (i >= 0) deferred.splice(i, 1);
          if (i >= 0 || queue.remove(item)) resolve({ kind: 'handed-back', reason: 'aborted' });
        };
        signal.addEventListener('abort', item.onAbort, { once: true });
      }
      this.enqueue(item, false);
    });
  }

  /**
   * Stops taking work, waits up to `graceMs` for responses already due, hands
   * queued parts back as retryable, then unbinds.
   */
  async stop(graceMs: number): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const { queue, deferred } of [this.lanes.urgent, this.lanes.bulk]) {
      for (const item of [...deferred.splice(0), ...queue.drain()]) this.finish(item, { kind: 'handed-back', reason: 'shutting down' });
    }
    this.wakePumps();
    const deadline = this.options.clock.now() + graceMs;
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.once('drained', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await Promise.all(this.binds.map((b) => b.stop(Math.max(500, Math.min(2000, deadline - this.options.clock.now())))));
    await Promise.all(this.pumps);
  }

  /** At the back of the part's lane; a part sent again (throttled, rebind) at the front of its own lane. */
  private enqueue(item: QueuedSubmit, front: boolean): void {
    const { queue } = this.lanes[item.lane];
    if (front) queue.unshift(item);
    else queue.push(item);
    this.wakePumps();
  }

  private waiting(lane: Lane): number {
    return this.lanes[lane].queue.length + this.lanes[lane].deferred.length;
  }

  /** Runs on every enqueue: nothing is allocated when no pump waits. */
  private wakePumps(): void {
    if (this.workWaiters.length === 0) return;
    const waiters = this.workWaiters;
    this.workWaiters = [];
    for (const w of waiters) w();
  }

  private async pump(bind: Bind, pacer: Pacer): Promise<void> {
    while (this.running) {
      const session = await bind.waitBound();
      if (!session || !this.running) return;
      if (this.queued === 0) {
        await this.nextWork();
        continue;
      }
      if (session.windowFree <= 0) {
        await session.waitForSlot();
        continue;
      }
      const delay = pacer.delay();
      if (delay > 0) {
        await new Promise<void>((r) => this.options.clock.setTimeout(r, delay));
        continue;
      }
      const item = this.takeNext();
      if (!item) {
        // Everything waiting is for held destinations: wait for the first hold to end, or new work.
        await this.nextWork(this.firstHoldEnd() - this.options.clock.now());
        continue;
      }
      pacer.take();
      this.send(session, pacer, item);
    }
  }

  /** Resolves when work is queued, or after `timeoutMs` when given. */
  private nextWork(timeoutMs?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (timeoutMs === undefined) {
        this.workWaiters.push(resolve);
        return;
      }
      const timer = this.options.clock.setTimeout(resolve, Math.max(1, timeoutMs));
      this.workWaiters.push(() => {
        this.options.clock.clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * The next part to send (docs/architecture.md §7.1): urgent first. While both lanes wait, every
   * pick earns bulk `bulkMinShare` of a pick, and bulk takes the pick once it has earned a whole
   * one: a deterministic floor on bulk's share however many urgent parts wait. The credit starts
   * from zero whenever a lane runs empty, so an urgent part arriving alone goes next. A lane whose
   * parts are all for held destinations lets the other lane's part go.
   */
  private takeNext(): QueuedSubmit | undefined {
    const { urgent, bulk } = this.lanes;
    if (this.waiting('urgent') === 0 || this.waiting('bulk') === 0) {
      this.bulkCredit = 0;
      return this.takeFrom(urgent) ?? this.takeFrom(bulk);
    }
    // Capped: a bulk lane held back (ESME_RMSGQFUL) does not store up a burst for later.
    this.bulkCredit = Math.min(PICK + this.bulkShare, this.bulkCredit + this.bulkShare);
    if (this.bulkCredit >= PICK) {
      const item = this.takeFrom(bulk);
      if (item) {
        this.bulkCredit -= PICK;
        return item;
      }
    }
    return this.takeFrom(urgent) ?? this.takeFrom(bulk);
  }

  /** The lane's next part: a deferred one whose hold is over first, then the queue's head, setting aside parts for held destinations. */
  private takeFrom(lane: LaneQueue): QueuedSubmit | undefined {
    if (this.holds.size === 0 && lane.deferred.length === 0) return lane.queue.shift();
    const now = this.options.clock.now();
    const i = lane.deferred.findIndex((item) => !this.isHeld(item.destination, now));
    if (i >= 0) return lane.deferred.splice(i, 1)[0];
    for (let item = lane.queue.shift(); item; item = lane.queue.shift()) {
      if (!this.isHeld(item.destination, now)) return item;
      lane.deferred.push(item);
    }
    return undefined;
  }

  private isHeld(destination: string, now: number): boolean {
    const hold = this.holds.get(destination);
    return hold !== undefined && now < hold.until;
  }

  private firstHoldEnd(): number {
    let first = Infinity;
    for (const item of [...this.lanes.urgent.deferred, ...this.lanes.bulk.deferred]) first = Math.min(first, this.holds.get(item.destination)?.until ?? 0);
    return first === Infinity ? this.options.clock.now() : first;
  }

  /**
   * ESME_RMSGQFUL for `destination`: hold it back, twice as long as the last time if that hold
   * was recent. Answers to parts sent before the hold began count once: they say nothing new.
   */
  private holdDestination(destination: string): number {
    const now = this.options.clock.now();
    const last = this.holds.get(destination);
    if (last && now < last.until) return last.until - now;
    const strikes = last && now - last.until < FORGET_HOLD_MS ? last.strikes + 1 : 1;
    const ms = Math.min(MAX_DESTINATION_HOLD_MS, (this.options.destinationHoldMs ?? 500) * 2 ** Math.min(strikes - 1, 16));
    this.holds.set(destination, { until: now + ms, strikes });
    if (this.holds.size > 1000) {
      for (const [d, h] of this.holds) if (now - h.until >= FORGET_HOLD_MS) this.holds.delete(d);
    }
    return ms;
  }

  private send(session: SmppSession, pacer: Pacer, item: QueuedSubmit): void {
    const sentAt = this.options.clock.now();
    this.metrics.observe(MetricName.QueueWaitMs, sentAt - item.enqueuedAt);
    this.metrics.observe(MetricName.WindowOccupancy, session.windowOutstanding + 1);
    this.inFlight += 1;
    session.request('submit_sm', item.fields).then(
      (resp) => {
        this.inFlight -= 1;
        const latencyMs = this.options.clock.now() - sentAt;
        this.metrics.observe(MetricName.ResponseLatencyMs, latencyMs);
        const status = resp.command_status;
        if (status === Status.ESME_ROK) {
          pacer.accepted();
          if (this.holds.size > 0) this.holds.delete(item.destination);
          return this.finish(item, { kind: 'accepted', smscMessageId: String(resp['message_id'] ?? ''), latencyMs });
        }
        switch (classifySubmitStatus(status)) {
          case 'slow-down':
            this.metrics.increment(MetricName.SubmitThrottled);
            pacer.throttled(sentAt);
            item.throttles += 1;
            if (item.throttles > (this.options.maxThrottleRetries ?? 20) || !this.running) {
              return this.finish(item, { kind: 'retryable', name: statusName(status), status });
            }
            // Throttling is the SMSC asking us to wait, not a verdict on the message: send it again first.
            return this.enqueue(item, true);
          case 'defer-destination': {
            this.metrics.increment(MetricName.SubmitThrottled);
            item.queueFulls += 1;
            if (item.queueFulls >= (this.options.queueFullHandBackAfter ?? 5) || !this.running) {
              return this.finish(item, { kind: 'retryable', name: statusName(status), status });
            }
            const holdMs = this.holdDestination(item.destination);
            this.options.logger.debug({ to: maskAddress(item.destination), holdMs, queueFulls: item.queueFulls }, 'ESME_RMSGQFUL: destination held back');
            return this.enqueue(item, true);
          }
          case 'rebind':
            // The SMSC no longer knows the session although the link is up: the message is fine,
            // the session is not. The session has retired itself (no more submits; it closes once
            // those in flight are answered, and the bind reconnects): send the part again first.
            item.rebinds += 1;
            if (item.rebinds > MAX_REBINDS_PER_PART || !this.running) {
              return this.finish(item, { kind: 'retryable', name: statusName(status), status });
            }
            return this.enqueue(item, true);
          case 'retry':
            return this.finish(item, { kind: 'retryable', name: statusName(status), status });
          case 'fail':
            return this.finish(item, { kind: 'permanent', status, name: statusName(status), description: statusDescription(status) });
        }
      },
      (err: unknown) => {
        this.inFlight -= 1;
        if (err instanceof NotSentError && this.running) return this.enqueue(item, true);
        if (err instanceof RequestFailedError) {
          this.metrics.increment(MetricName.SubmitUnknownOutcome);
          return this.finish(item, { kind: 'unknown', reason: err.message });
        }
        return this.finish(item, { kind: 'retryable', name: (err as Error).message });
      },
    );
  }

  private finish(item: QueuedSubmit, result: SubmitResult): void {
    if (item.signal && item.onAbort) item.signal.removeEventListener('abort', item.onAbort);
    item.resolve(result);
    if (this.inFlight === 0) this.emit('drained');
  }

  private emitReadiness(): void {
    const r = this.readiness();
    this.metrics.gauge(MetricName.BindsBound, r.tx + r.rx);
    this.emit('readiness', r);
  }
}
