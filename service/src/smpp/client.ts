import { EventEmitter } from 'node:events';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { MetricName, noMetrics, type Metrics } from '../metrics.js';
import { Bind, type BackoffPolicy, type CredentialsProvider } from './bind.js';
import { classifySubmitStatus, statusDescription, statusName, Status } from './command-status.js';
import type { DeliverFields } from './receipt.js';
import { NotSentError, RequestFailedError, type BindType, type LinkOptions, type SmppSession } from './session.js';
import { submitSmFields, type OutboundPart } from './submit.js';
import { Pacer } from './throttle.js';

/** The outcome of one submit_sm, as the pipeline sees it. */
export type SubmitResult =
  | { kind: 'accepted'; smscMessageId: string; latencyMs: number }
  /** Not sent, or refused for a reason that may pass (shutdown, throttled too often, system error). */
  | { kind: 'retryable'; reason: string; status?: number }
  /** The SMSC judged the message itself: sending it again fails again. */
  | { kind: 'permanent'; status: number; name: string; description: string }
  /** Sent but no answer (timeout or link lost): it may have been accepted. */
  | { kind: 'unknown'; reason: string };

export interface SmppClientOptions extends LinkOptions {
  txBinds: number;
  rxBinds: number;
  trxBinds: number;
  mpsPerBind: number;
  /** Slack added to the pacer's 1-second window, for jitter between our departures and the SMSC's arrivals. @defaultvalue 8 */
  pacerMarginMs?: number;
  /** Throttle answers tolerated for one part before it is handed back as retryable. @defaultvalue 20 */
  maxThrottleRetries?: number;
  backoff?: BackoffPolicy;
  credentials: CredentialsProvider;
  /** Receipts and MO messages; the SMSC gets its answer only after this resolves. */
  onDeliver: (fields: DeliverFields) => Promise<void>;
  logger: Logger;
  clock: Clock;
  metrics?: Metrics;
}

interface QueuedSubmit {
  fields: Record<string, unknown>;
  resolve(result: SubmitResult): void;
  throttles: number;
  enqueuedAt: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * The account's binds and the outbound path through them: one FIFO of submits
 * shared by every transmitting bind; each bind pulls from it only when its window
 * has a slot and its pacer allows, so every bind runs at its own limit and a
 * slow or dead bind holds back nothing but itself.
 *
 * Events: 'readiness' ({ tx, rx }) whenever the number of bound binds changes.
 */
export class SmppClient extends EventEmitter {
  readonly binds: Bind[] = [];
  private readonly queue: QueuedSubmit[] = [];
  private workWaiters: Array<() => void> = [];
  private running = false;
  private inFlight = 0;
  private readonly metrics: Metrics;
  private readonly pumps: Promise<void>[] = [];

  constructor(private readonly options: SmppClientOptions) {
    super();
    this.metrics = options.metrics ?? noMetrics;
    const make = (type: BindType, count: number) => {
      for (let i = 0; i < count; i++) {
        const onDeliver = type === 'transmitter' ? undefined : options.onDeliver;
        const bind = new Bind(`${type.slice(0, 2)}${i + 1}`, type, { ...options, ...(onDeliver && { onDeliver }) }, options.logger);
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
    return this.queue.length;
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
   * back as retryable (used on shutdown, so it returns to SQS at once).
   */
  submit(part: OutboundPart, signal?: AbortSignal): Promise<SubmitResult> {
    return new Promise((resolve) => {
      if (!this.running) return resolve({ kind: 'retryable', reason: 'client stopped' });
      if (signal?.aborted) return resolve({ kind: 'retryable', reason: 'aborted' });
      const item: QueuedSubmit = {
        fields: submitSmFields(part),
        resolve,
        throttles: 0,
        enqueuedAt: this.options.clock.now(),
        signal,
        onAbort: undefined,
      };
      if (signal) {
        item.onAbort = () => {
          const i = this.queue.indexOf(item);
          if (i >= 0) {
            this.queue.splice(i, 1);
            resolve({ kind: 'retryable', reason: 'aborted' });
          }
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
    for (const item of this.queue.splice(0)) this.finish(item, { kind: 'retryable', reason: 'shutting down' });
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

  private enqueue(item: QueuedSubmit, front: boolean): void {
    if (front) this.queue.unshift(item);
    else this.queue.push(item);
    this.wakePumps();
  }

  private wakePumps(): void {
    const waiters = this.workWaiters;
    this.workWaiters = [];
    for (const w of waiters) w();
  }

  private async pump(bind: Bind, pacer: Pacer): Promise<void> {
    while (this.running) {
      const session = await bind.waitBound();
      if (!session || !this.running) return;
      if (this.queue.length === 0) {
        await new Promise<void>((r) => this.workWaiters.push(r));
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
      const item = this.queue.shift();
      if (!item) continue;
      pacer.take();
      this.send(session, pacer, item);
    }
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
          return this.finish(item, { kind: 'accepted', smscMessageId: String(resp['message_id'] ?? ''), latencyMs });
        }
        switch (classifySubmitStatus(status)) {
          case 'slow-down':
            this.metrics.increment(MetricName.SubmitThrottled);
            pacer.throttled(sentAt);
            item.throttles += 1;
            if (item.throttles > (this.options.maxThrottleRetries ?? 20) || !this.running) {
              return this.finish(item, { kind: 'retryable', reason: statusName(status), status });
            }
            // Throttling is the SMSC asking us to wait, not a verdict on the message: send it again first.
            return this.enqueue(item, true);
          case 'retry':
            return this.finish(item, { kind: 'retryable', reason: statusName(status), status });
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
        return this.finish(item, { kind: 'retryable', reason: (err as Error).message });
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
