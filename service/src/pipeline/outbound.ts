import { setMaxListeners } from 'node:events';
import { within, type Clock } from '../clock.js';
import type { ErrorDetail, Job, MessageStatus } from '../domain.js';
import { EncodingError, StoreError } from '../errors.js';
import { parseJob } from '../job.js';
import type { Logger } from '../logger.js';
import { MetricName, type Metrics } from '../metrics.js';
import { SQS_MAX_WAIT_SECONDS, type QueueMessage } from '../aws/queue.js';
import type { AcceptedPart, ClaimOptions, SubmitPlan } from '../aws/status-store.js';
import { maskAddress, toSmppAddress } from '../smpp/address.js';
import type { SubmitResult } from '../smpp/client.js';
import { smscIdKeys } from '../smpp/message-id.js';
import { ReferenceCounter, segmentText, type ConcatMode } from '../smpp/segment.js';
import { JobEncoding, WireEncoding } from '../domain.js';
import { Batcher } from './batcher.js';
import type { OutboundPart } from '../smpp/submit.js';

/** The queue as the pipeline uses it (OutboundQueue implements it). */
export interface JobQueue {
  /** `visibilitySeconds`: how long the received messages stay invisible (the queue's default when absent). */
  receive(max: number, waitSeconds: number, signal?: AbortSignal, visibilitySeconds?: number): Promise<QueueMessage[]>;
  delete(receiptHandles: readonly string[]): Promise<string[]>;
  setVisibility(entries: readonly { receiptHandle: string; seconds: number }[]): Promise<string[]>;
}

/** The status store as the outbound path uses it (StatusStore implements it). */
export interface OutboundStore {
  claim(
    job: Job,
    opts: ClaimOptions,
  ): Promise<{ outcome: 'claimed'; acceptedParts: Record<number, string>; plan: SubmitPlan } | { outcome: 'done'; status: MessageStatus } | { outcome: 'busy' }>;
  extendClaim(id: string, owner: string, leaseMs: number): Promise<{ outcome: 'extended' } | { outcome: 'lost' }>;
  recordAccepted(id: string, owner: string, parts: AcceptedPart[], totalParts: number): Promise<unknown>;
  /** Tells the store a part's record is coming, so an early receipt waits for it rather than taking a slower path. */
  expectAccepted(id: string, part: AcceptedPart): void;
  recordFailed(id: string, owner: string, error: ErrorDetail): Promise<unknown>;
  releaseClaim(id: string, owner: string, opts: { error?: ErrorDetail; unknownOutcome?: boolean }): Promise<unknown>;
  recordInvalid(key: string, reason: string, extra: { sqsMessageId: string }): Promise<unknown>;
  /** Resolves once the store answers again (a cheap read); used while it is failing. */
  probe(): Promise<void>;
}

/** The SMPP side as the outbound path uses it (SmppClient implements it). */
export interface Sender {
  submit(part: OutboundPart, signal?: AbortSignal): Promise<SubmitResult>;
  readonly capacityPerSecond: number;
  readiness(): { tx: number; rx: number };
}

export interface OutboundOptions {
  queue: JobQueue;
  store: OutboundStore;
  sender: Sender;
  /** This process's claim owner id. */
  owner: string;
  concat: ConcatMode;
  /** TON/NPI overrides for every source / destination address (some routes want their own). */
  sourceAddr?: { ton?: number; npi?: number };
  destAddr?: { ton?: number; npi?: number };
  /**
   * How long a received message stays invisible, and how long this task's claim lease lasts; both are
   * extended by the heartbeat while the job is in hand. It bounds how long a crashed task's jobs wait
   * before another task resumes them. @defaultvalue 15
   */
  visibilityTimeoutSeconds?: number;
  /**
   * The queue's redrive `maxReceiveCount`: the attempt with this receive count is the last, and records
   * FAILED before SQS moves the message to the dead-letter queue. @defaultvalue 10
   */
  maxReceiveCount?: number;
  /**
   * Drain time on shutdown. Long polls are kept to half of it, so a receive in flight
   * always lands (and its messages are handed back) instead of being cut. @defaultvalue 20000
   */
  shutdownGraceMs?: number;
  /**
   * Seconds of sending capacity to hold in memory. More buys nothing (the binds
   * cannot go faster) and risks visibility running out. @defaultvalue 2
   */
  bufferSeconds?: number;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  /** Jitter source in [0, 1). */
  random: () => number;
}

interface InProgress {
  message: QueueMessage;
  jobId: string | undefined;
  /** Set while this task holds the job's claim lease: the heartbeat extends it. */
  claimed: boolean;
  /** Aborts the job's parts still queued, when its lease is lost to another task. */
  abort: AbortController;
  visibleUntil: number;
}

/** Jobs held in memory at most, whatever the binds' capacity. */
const MAX_IN_PROGRESS = 500;

/**
 * Delays between tries of a store write. Writes are retried for as long as the job is in hand (the
 * heartbeat keeps its message invisible): a record given up after a submit would resend the SMS.
 */
const STORE_RETRY_DELAYS_MS = [250, 500, 1000, 2000, 4000, 5000];

/** Errors that no retry can cure (the request itself is wrong); everything else from the store is an outage. */
const PERMANENT_AWS_ERRORS: ReadonlySet<string> = new Set(['ValidationException', 'SerializationException']);

function isStoreOutage(err: unknown): boolean {
  if (!(err instanceof StoreError) || !err.retryable) return false;
  const cause = err.cause as { name?: string } | undefined;
  return !PERMANENT_AWS_ERRORS.has(cause?.name ?? '');
}

/**
 * SQS → validate → claim → encode and split → submit → record → delete.
 * Every message ends deleted only after its outcome is stored, or visible again.
 */
export class OutboundPipeline {
  private readonly inProgress = new Map<string, InProgress>();
  /** Job id → the end of its handling now in progress (a job id can arrive in two SQS messages). */
  private readonly activeJobs = new Map<string, Promise<void>>();
  private readonly refs = new ReferenceCounter();
  private readonly visibilitySeconds: number;
  private readonly maxInProgress: number;
  private readonly receiveWaitSeconds: number;
  /** Free slots needed before a receive (SQS returns at most 10 per call). */
  private readonly receiveBatch: number;
  private readonly deletes: Batcher<string>;
  private readonly pollers: Promise<void>[] = [];
  private readonly handlers = new Set<Promise<void>>();
  private roomWaiters: Array<() => void> = [];
  private readonly pollAbort = new AbortController();
  private readonly submitAbort = new AbortController();
  private heartbeat: unknown;
  private running = false;
  /** Set after stop() has waited all it will: store writes still retrying give up. */
  private abandoned = false;
  /** While the store is failing: resolves when it answers again. Pollers take no new work meanwhile. */
  private storeDown: Promise<void> | undefined;
  private readonly maxReceiveCount: number;

  constructor(private readonly o: OutboundOptions) {
    this.visibilitySeconds = o.visibilityTimeoutSeconds ?? 15;
    this.maxReceiveCount = o.maxReceiveCount ?? 10;
    // Capped too: at high MPS, 2 s of capacity is more jobs than the store can claim in time (measured overload).
    this.maxInProgress = Math.min(MAX_IN_PROGRESS, Math.max(10, Math.ceil(o.sender.capacityPerSecond * (o.bufferSeconds ?? 2))));
    // A deleted job's outcome is already stored, so its delete can wait a little to fill its batch.
    this.deletes = new Batcher((handles) => o.queue.delete(handles), 10, 100);
    this.receiveBatch = Math.min(10, Math.ceil(this.maxInProgress / 2));
    this.receiveWaitSeconds = Math.min(SQS_MAX_WAIT_SECONDS, Math.max(1, Math.floor((o.shutdownGraceMs ?? 20_000) / 2000)));
    // Every queued part and SDK call listens on these two signals; hundreds at once is normal here.
    setMaxListeners(0, this.pollAbort.signal, this.submitAbort.signal);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    // Enough concurrent long polls to fill the buffer quickly, never more than the buffer needs.
    const pollers = Math.min(10, Math.max(1, Math.ceil(this.maxInProgress / 50)));
    for (let i = 0; i < pollers; i++) this.pollers.push(this.poll());
    const beat = Math.max(1000, (this.visibilitySeconds * 1000) / 4);
    const tick = (): void => {
      if (this.abandoned) return;
      void this.extendWaiting();
      this.heartbeat = this.o.clock.setTimeout(tick, beat);
    };
    this.heartbeat = this.o.clock.setTimeout(tick, beat);
  }

  /**
   * Waits (up to `capMs`) for every job still in progress to record its outcome. Called
   * after the binds are closed: their pending submits have ended by then, and exiting
   * before the writes land would resend what the SMSC already accepted.
   */
  async drained(capMs: number): Promise<number> {
    await within(Promise.all([...this.handlers]), capMs, []);
    return this.inProgress.size;
  }

  /** Re-checks at once whether to poll (e.g. a bind just came up). */
  nudge(): void {
    this.wakePollers();
  }

  get inFlight(): number {
    return this.inProgress.size;
  }

  /**
   * Stops polling; parts not yet sent are handed back and their messages made
   * visible again at once; waits for the rest (their responses) up to graceMs.
   */
  async stop(graceMs: number): Promise<void> {
    if (!this.running) return;
    const deadline = this.o.clock.now() + graceMs;
    this.running = false;
    this.submitAbort.abort();
    this.wakePollers();
    // Aborting a receive whose answer is already on its way drops those messages inside the SDK:
    // invisible until their timeout. Long polls last at most half the grace, so they land by
    // themselves (their messages are handed back below); the abort is only a safety net.
    const abortTimer = this.o.clock.setTimeout(() => this.pollAbort.abort(), this.receiveWaitSeconds * 1000 + 2000);
    await Promise.all(this.pollers);
    this.o.clock.clearTimeout(abortTimer);
    await this.drained(Math.max(0, deadline - this.o.clock.now()));
  }

  /**
   * Ends the heartbeat and gives up store writes still retrying (their jobs come back from SQS after
   * the visibility timeout, and a take-over counts them as unknown outcomes). Called last on shutdown.
   */
  close(): void {
    this.abandoned = true;
    this.o.clock.clearTimeout(this.heartbeat);
  }

  private async poll(): Promise<void> {
    while (this.running) {
      const room = this.maxInProgress - this.inProgress.size;
      // Receive a batch's worth at a time: with the buffer full and jobs finishing one by one,
      // a receive per free slot would cost a call per job. The buffer holds seconds of work.
      if (room < this.receiveBatch || this.o.sender.readiness().tx === 0 || this.storeDown !== undefined) {
        // No room, nothing could send it, or nothing could claim it: do not take messages we would only
        // hold (each receive of a message counts towards its dead-letter limit).
        await this.waitForRoom(1000);
        continue;
      }
      let messages: QueueMessage[];
      try {
        messages = await this.o.queue.receive(Math.min(10, room), this.receiveWaitSeconds, this.pollAbort.signal, this.visibilitySeconds);
      } catch (err) {
        this.o.logger.warn({ err: (err as Error).message }, 'receive failed: retrying');
        await this.waitForRoom(2000);
        continue;
      }
      if (!this.running) {
        await this.o.queue.setVisibility(messages.map((m) => ({ receiptHandle: m.receiptHandle, seconds: 0 })));
        continue;
      }
      for (const message of messages) this.track(message);
    }
  }

  private track(message: QueueMessage): void {
    this.inProgress.set(message.messageId, {
      message,
      jobId: undefined,
      claimed: false,
      abort: new AbortController(),
      visibleUntil: this.o.clock.now() + this.visibilitySeconds * 1000,
    });
    const handled = this.handle(message)
      .catch((err: unknown) => {
        // Store or queue trouble: leave the message to come back; nothing was deleted. On shutdown at once.
        this.o.logger.error({ sqsMessageId: message.messageId, err: (err as Error).message }, 'job left on the queue after an error');
        const seconds = this.running ? this.retryDelaySeconds(message) : 0;
        return this.o.queue.setVisibility([{ receiptHandle: message.receiptHandle, seconds }]).then(() => undefined);
      })
      .catch(() => undefined)
      .finally(() => {
        this.inProgress.delete(message.messageId);
        this.handlers.delete(handled);
        this.wakePollers();
      });
    this.handlers.add(handled);
  }

  private async handle(message: QueueMessage): Promise<void> {
    const parsed = parseJob(message.body);
    if (!parsed.ok) return this.invalid(message, parsed.id, parsed.reason);
    const job = parsed.job;
    // The same job in two SQS messages at once (a redelivery, or a producer sending it twice): the
    // claim would let this task through both times, so the copy waits for the first to finish and
    // then finds it done.
    const run = (this.activeJobs.get(job.id) ?? Promise.resolve()).then(() => this.submitJob(message, job));
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.activeJobs.set(job.id, tail);
    try {
      await run;
    } finally {
      if (this.activeJobs.get(job.id) === tail) this.activeJobs.delete(job.id);
    }
  }

  private async submitJob(message: QueueMessage, job: Job): Promise<void> {
    const entry = this.inProgress.get(message.messageId);
    if (entry) entry.jobId = job.id;

    let plan: ReturnType<typeof segmentText>;
    const concatRef = this.refs.next(job.to);
    try {
      plan = segmentText(job.text, { encoding: job.encoding, concat: this.o.concat, reference: concatRef });
    } catch (err) {
      if (err instanceof EncodingError) return this.invalid(message, job.id, err.message);
      throw err;
    }
    if (!this.running) {
      // Stopping: nothing was claimed or sent yet, so hand it straight back.
      await this.o.queue.setVisibility([{ receiptHandle: message.receiptHandle, seconds: 0 }]);
      return;
    }
    const opts: ClaimOptions = {
      owner: this.o.owner,
      leaseMs: this.leaseMs(),
      sqsMessageId: message.messageId,
      encoding: plan.encoding,
      segments: plan.segments.length,
      concat: this.o.concat,
      concatRef,
    };
    // Nothing is sent yet: on shutdown the job is handed back rather than waiting for the store.
    const claim = await this.durably(() => this.o.store.claim(job, opts), { whileRunning: true });
    if (claim.outcome === 'done') {
      this.o.logger.info({ id: job.id, status: claim.status }, 'duplicate delivery of a job already handled: deleted without sending');
      await this.delete(message);
      return;
    }
    if (claim.outcome === 'busy') {
      // Another task holds it (SQS delivered it twice): look again once its lease could have run out.
      await this.o.queue.setVisibility([{ receiptHandle: message.receiptHandle, seconds: Math.max(this.visibilitySeconds, 5) }]);
      return;
    }
    if (entry) entry.claimed = true;
    // A retry re-sends only the missing parts, so it must split the text exactly as the first attempt did.
    const stored = replan(job, claim.plan, plan, opts);
    if (stored instanceof Error) {
      this.o.logger.error({ id: job.id, err: stored.message }, 'the stored split of this message cannot be reproduced');
      await this.durably(() => this.o.store.recordFailed(job.id, this.o.owner, { code: 'PLAN_MISMATCH', name: 'PLAN_MISMATCH', description: stored.message }));
      await this.delete(message);
      return;
    }
    plan = stored;
    const total = plan.segments.length;
    const signal = entry ? AbortSignal.any([this.submitAbort.signal, entry.abort.signal]) : this.submitAbort.signal;

    const base = {
      source: toSmppAddress(job.from, this.o.sourceAddr),
      destination: toSmppAddress(job.to, this.o.destAddr),
      receipt: job.receipt,
      ...(job.validityPeriodSeconds !== undefined && { validityPeriodSeconds: job.validityPeriodSeconds }),
      ...(job.scheduleAt !== undefined && { scheduleAt: new Date(job.scheduleAt) }),
    };
    const todo = plan.segments.map((segment, i) => ({ part: i + 1, segment })).filter((p) => claim.acceptedParts[p.part] === undefined);
    const accepted: AcceptedPart[] = [];
    const results = await Promise.all(
      todo.map(async (p) => {
        const r = await this.o.sender.submit({ ...base, segment: p.segment }, signal);
        if (r.kind === 'accepted') {
          const a = { part: p.part, smscMessageId: r.smscMessageId, keys: smscIdKeys(r.smscMessageId) };
          accepted.push(a);
          // Its receipt can come back before the job's other parts are answered.
          this.o.store.expectAccepted(job.id, a);
        }
        return r;
      }),
    );
    accepted.sort((a, b) => a.part - b.part);
    if (accepted.length > 0) {
      this.o.metrics.increment(MetricName.SubmitAccepted, accepted.length);
      await this.durably(() => this.o.store.recordAccepted(job.id, this.o.owner, accepted, total));
    }
    const permanent = results.find((r) => r.kind === 'permanent');
    if (permanent) {
      this.o.metrics.increment(MetricName.SubmitFailed);
      this.o.logger.warn({ id: job.id, to: maskAddress(job.to), status: permanent.name }, 'submit refused permanently');
      await this.durably(() =>
        this.o.store.recordFailed(job.id, this.o.owner, { code: `0x${permanent.status.toString(16).padStart(8, '0')}`, name: permanent.name, description: permanent.description }),
      );
      await this.delete(message);
      return;
    }
    const retry = results.find((r) => r.kind === 'retryable' || r.kind === 'unknown');
    if (retry) {
      const unknown = results.some((r) => r.kind === 'unknown');
      const handedBack = retry.kind === 'retryable' && (retry.reason === 'aborted' || retry.reason === 'shutting down' || retry.reason === 'client stopped');
      if (!handedBack) this.o.metrics.increment(MetricName.SubmitRetried);
      const error: ErrorDetail =
        retry.kind === 'unknown'
          ? { code: 'SMPP_UNKNOWN_OUTCOME', name: 'UNKNOWN_OUTCOME', description: retry.reason }
          : { code: retry.status !== undefined ? `0x${retry.status.toString(16).padStart(8, '0')}` : 'SMPP_RETRYABLE', name: retry.reason, description: 'retryable: will be sent again' };
      if (!handedBack && message.receiveCount >= this.maxReceiveCount) {
        // The last attempt: SQS moves the message to the dead-letter queue at its next receive, so the
        // outcome is recorded now; nothing in the DLQ is left in a state that looks in progress.
        this.o.metrics.increment(MetricName.SubmitFailed);
        this.o.logger.warn({ id: job.id, receiveCount: message.receiveCount, reason: error.name }, 'retries exhausted: recorded FAILED, left for the dead-letter queue');
        const exhausted = { ...error, description: `retries exhausted after ${message.receiveCount} attempts (${error.description})` };
        await this.durably(() => this.o.store.recordFailed(job.id, this.o.owner, exhausted));
        if (unknown) await this.durably(() => this.o.store.releaseClaim(job.id, this.o.owner, { unknownOutcome: true }));
        await this.o.queue.setVisibility([{ receiptHandle: message.receiptHandle, seconds: 0 }]);
        return;
      }
      await this.durably(() => this.o.store.releaseClaim(job.id, this.o.owner, { error, unknownOutcome: unknown }));
      await this.o.queue.setVisibility([{ receiptHandle: message.receiptHandle, seconds: handedBack ? 0 : this.retryDelaySeconds(message) }]);
      return;
    }
    await this.delete(message);
  }

  private async invalid(message: QueueMessage, id: string | undefined, reason: string): Promise<void> {
    this.o.metrics.increment(MetricName.JobsInvalid);
    this.o.logger.warn({ sqsMessageId: message.messageId, id, reason }, 'invalid job recorded and deleted');
    await this.o.store.recordInvalid(id ?? message.messageId, reason, { sqsMessageId: message.messageId });
    await this.delete(message);
  }

  private async delete(message: QueueMessage): Promise<void> {
    if (!(await this.deletes.add(message.receiptHandle))) {
      // Harmless: the outcome is stored, so a redelivery is recognised by the claim and deleted then.
      this.o.logger.warn({ sqsMessageId: message.messageId }, 'delete failed: a redelivery will be recognised as done');
    }
  }

  /**
   * Runs a store call until it succeeds, for as long as the job is in hand: its message stays
   * invisible (heartbeat), so no other task can take the job meanwhile. Gives up only on an error no
   * retry can cure, once the service is abandoned, or — with `whileRunning`, for calls made before
   * anything was sent — on shutdown, so the job is handed back.
   */
  private async durably<T>(write: () => Promise<T>, opts: { whileRunning?: boolean } = {}): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await write();
        return result;
      } catch (err) {
        if (!isStoreOutage(err) || this.abandoned || (opts.whileRunning === true && !this.running)) throw err;
        this.storeFailing();
        const delay = STORE_RETRY_DELAYS_MS[Math.min(attempt, STORE_RETRY_DELAYS_MS.length - 1)] ?? 5000;
        if (attempt === 0 || attempt % 10 === 0) this.o.logger.warn({ err: (err as Error).message, attempt, retryInMs: delay }, 'status write failed: retrying');
        await new Promise<void>((r) => this.o.clock.setTimeout(r, delay * (0.75 + this.o.random() / 2)));
      }
    }
  }

  /** Pauses polling until a probe read succeeds (no receive counts burnt on jobs that could not be claimed). */
  private storeFailing(): void {
    if (this.storeDown !== undefined) return;
    this.o.metrics.increment(MetricName.StoreUnavailable);
    this.o.logger.warn({}, 'status store failing: polling paused');
    this.storeDown = (async () => {
      // One read a second: cheap, and polling resumes within a second of the store coming back.
      while (!this.abandoned) {
        await new Promise<void>((r) => this.o.clock.setTimeout(r, 1000));
        try {
          await this.o.store.probe();
          break;
        } catch {
          // still down
        }
      }
      this.storeDown = undefined;
      this.o.logger.info({}, 'status store answers again: polling resumed');
      this.wakePollers();
    })();
  }

  /** Keeps messages that are still waiting for a bind invisible, and their claims alive. */
  private async extendWaiting(): Promise<void> {
    const now = this.o.clock.now();
    const due = [...this.inProgress.values()].filter((e) => e.visibleUntil - now < (this.visibilitySeconds * 1000) / 2);
    if (due.length === 0) return;
    for (const e of due) e.visibleUntil = now + this.visibilitySeconds * 1000;
    await this.o.queue
      .setVisibility(due.map((e) => ({ receiptHandle: e.message.receiptHandle, seconds: this.visibilitySeconds })))
      .catch(() => undefined);
    await Promise.all(
      due.flatMap((e) =>
        e.jobId !== undefined && e.claimed
          ? [
              this.o.store.extendClaim(e.jobId, this.o.owner, this.leaseMs()).then(
                (r) => {
                  if (r.outcome !== 'lost') return;
                  // Another task took the job over (or every part is recorded): send nothing more of it.
                  e.claimed = false;
                  if (!e.abort.signal.aborted) e.abort.abort();
                },
                () => undefined,
              ),
            ]
          : [],
      ),
    );
  }

  /** The claim lease; the heartbeat renews it with the message's visibility, so a dead task's lease ends soon. */
  private leaseMs(): number {
    return this.visibilitySeconds * 1000;
  }

  /** Grows with the receive count, so a poison message reaches the DLQ in hours, not seconds. */
  private retryDelaySeconds(message: QueueMessage): number {
    const base = Math.min(900, 2 ** Math.min(message.receiveCount, 10));
    return Math.round(base * (0.75 + this.o.random() / 2));
  }

  private waitForRoom(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.o.clock.setTimeout(resolve, timeoutMs);
      this.roomWaiters.push(() => {
        this.o.clock.clearTimeout(timer);
        resolve();
      });
    });
  }

  private wakePollers(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const w of waiters) w();
  }
}

const WIRE_TO_JOB: Readonly<Record<string, JobEncoding>> = {
  [WireEncoding.GSM7]: JobEncoding.gsm7,
  [WireEncoding.LATIN1]: JobEncoding.latin1,
  [WireEncoding.UCS2]: JobEncoding.ucs2,
};

/**
 * The split the stored plan describes: the first claim's encoding, concatenation and reference. The
 * plan just computed when the stored one is the same; an Error when the stored one cannot be rebuilt
 * (the text changed under the same id, or the plan names something unknown).
 */
function replan(job: Job, stored: SubmitPlan, computed: ReturnType<typeof segmentText>, opts: ClaimOptions): ReturnType<typeof segmentText> | Error {
  if (stored.encoding === opts.encoding && stored.concat === opts.concat && stored.concatRef === opts.concatRef && stored.segments === opts.segments) return computed;
  const encoding = WIRE_TO_JOB[stored.encoding];
  if (encoding === undefined || (stored.concat !== 'udh8' && stored.concat !== 'udh16' && stored.concat !== 'sar')) {
    return new Error(`stored plan ${stored.encoding}/${stored.concat} is unknown`);
  }
  try {
    const plan = segmentText(job.text, { encoding, concat: stored.concat, reference: stored.concatRef });
    if (plan.segments.length !== stored.segments) return new Error(`the text now needs ${plan.segments.length} parts; the first attempt sent ${stored.segments}`);
    return plan;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}
