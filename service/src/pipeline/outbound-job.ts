import type { ErrorDetail, Job, MessageStatus } from '../domain.js';
import { JobEncoding, WireEncoding } from '../domain.js';
import type { Lane, QueueMessage, SubmitResult } from '../core/ports.js';
import { busyDelaySeconds, decide, StoredErrorCode } from '../core/retry-policy.js';
import { EncodingError } from '../errors.js';
import { parseJob } from '../job.js';
import type { Logger } from '../logger.js';
import { MetricName, type Metrics } from '../metrics.js';
import type { AcceptedPart, ClaimOptions, SubmitPlan } from '../aws/status-store/index.js';
import { maskAddress, toSmppAddress } from '../smpp/address.js';
import { smscIdKeys } from '../core/receipt-keys.js';
import { ReferenceCounter, segmentText, type ConcatMode } from '../smpp/segment.js';
import type { OutboundPart } from '../smpp/submit.js';
import type { StoreGuard } from './store-guard.js';

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
  /** `job`: kept on the FAILED item so an operator can retry it (docs/architecture.md §7.4). */
  recordFailed(id: string, owner: string, error: ErrorDetail, job?: Job): Promise<unknown>;
  releaseClaim(id: string, owner: string, opts: { error?: ErrorDetail; unknownOutcome?: boolean }): Promise<unknown>;
  recordInvalid(key: string, reason: string, extra: { sqsMessageId: string }): Promise<unknown>;
  /** Resolves once the store answers again (a cheap read); used while it is failing. */
  probe(): Promise<void>;
}

/** The SMPP side as the outbound path uses it (SmppClient implements it). */
export interface Sender {
  /** `lane`: urgent parts go first, bulk keeps a minimum share (docs/architecture.md §7.1). */
  submit(part: OutboundPart, signal: AbortSignal | undefined, lane: Lane): Promise<SubmitResult>;
  readonly capacityPerSecond: number;
  readiness(): { tx: number; rx: number };
}

/** Opt-out as the outbound path uses it (docs/architecture.md §7.5); absent when OPT_OUT is off, and then never called. */
export interface OptOutGate {
  /** Whether the number opted out of this sender or of every sender (SuppressionList; a receive's checks share one read). */
  isSuppressed(to: string, from: string): Promise<boolean>;
  /** REJECTED with reason `opted out`, only while `owner` holds the claim and no part is accepted (StatusStore). */
  recordOptedOut(id: string, owner: string): Promise<{ outcome: 'rejected' } | { outcome: 'unchanged'; status: MessageStatus }>;
}

/** What a job needs of the queue side: settling its message. */
export interface MessageSettler {
  delete(message: QueueMessage): Promise<void>;
  setVisibility(message: QueueMessage, seconds: number): Promise<void>;
}

export interface OutboundJobsOptions {
  store: OutboundStore;
  sender: Sender;
  queue: MessageSettler;
  guard: StoreGuard;
  /** This process's claim owner id. */
  owner: string;
  concat: ConcatMode;
  sourceAddr?: { ton?: number; npi?: number };
  destAddr?: { ton?: number; npi?: number };
  /** The claim lease; renewed with the message's visibility. */
  leaseSeconds: number;
  maxReceiveCount: number;
  /** Aborted on shutdown: parts still queued are handed back. */
  shutdown: AbortSignal;
  /** False once shutdown has begun. */
  running(): boolean;
  logger: Logger;
  metrics: Metrics;
  random: () => number;
  /** Set when opt-out is on. */
  optOut?: OptOutGate;
}

/** A message whose job is being handled. */
interface InHand {
  jobId: string;
  /** Set while this task holds the job's claim lease: the heartbeat renews it. */
  claimed: boolean;
  /** Aborts the job's parts still queued, when its lease is lost to another task. */
  abort: AbortController;
}

/**
 * One job's life on this task: validate → claim → split (the first claim's split) → submit → record
 * → settle its message as the retry policy decides. Every message ends deleted only after its outcome
 * is stored, or visible again.
 */
export class OutboundJobs {
  private readonly inHand = new Map<string, InHand>();
  /** Job id → the end of its handling now in progress (a job id can arrive in two SQS messages). */
  private readonly activeJobs = new Map<string, Promise<void>>();
  private readonly refs = new ReferenceCounter();

  constructor(private readonly o: OutboundJobsOptions) {}

  /** `lane`: the lane of the queue the message came from; its parts are submitted in it. */
  readonly handle = async (message: QueueMessage, lane: Lane = 'bulk'): Promise<void> => {
    const parsed = parseJob(message.body);
    if (!parsed.ok) return this.invalid(message, parsed.id, parsed.reason);
    const job = parsed.job;
    // The same job in two SQS messages at once (a redelivery, or a producer sending it twice): the
    // claim would let this task through both times, so the copy waits for the first to finish and
    // then finds it done.
    const run = (this.activeJobs.get(job.id) ?? Promise.resolve()).then(() => this.submitJob(message, job, lane));
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.activeJobs.set(job.id, tail);
    try {
      await run;
    } finally {
      if (this.activeJobs.get(job.id) === tail) this.activeJobs.delete(job.id);
      this.inHand.delete(message.messageId);
    }
  };

  /** Renews the claim leases of these messages' jobs (the heartbeat just renewed their visibility). */
  readonly renewClaims = async (messages: readonly QueueMessage[]): Promise<void> => {
    await Promise.all(
      messages.map(async (m) => {
        const h = this.inHand.get(m.messageId);
        if (h === undefined || !h.claimed) return;
        const r = await this.o.store.extendClaim(h.jobId, this.o.owner, this.o.leaseSeconds * 1000).catch(() => undefined);
        if (r?.outcome !== 'lost') return;
        // Another task took the job over (or every part is recorded): send nothing more of it.
        h.claimed = false;
        if (!h.abort.signal.aborted) h.abort.abort();
      }),
    );
  };

  private async submitJob(message: QueueMessage, job: Job, lane: Lane): Promise<void> {
    const held: InHand = { jobId: job.id, claimed: false, abort: new AbortController() };
    this.inHand.set(message.messageId, held);
    const concatRef = this.refs.next(job.to);
    let plan: ReturnType<typeof segmentText>;
    try {
      plan = segmentText(job.text, { encoding: job.encoding, concat: this.o.concat, reference: concatRef });
    } catch (err) {
      if (err instanceof EncodingError) return this.invalid(message, job.id, err.message);
      throw err;
    }
    // Stopping: nothing was claimed or sent yet, so hand it straight back.
    if (!this.o.running()) return this.o.queue.setVisibility(message, 0);
    const opts: ClaimOptions = {
      owner: this.o.owner,
      leaseMs: this.o.leaseSeconds * 1000,
      sqsMessageId: message.messageId,
      encoding: plan.encoding,
      segments: plan.segments.length,
      concat: this.o.concat,
      concatRef,
    };
    // Nothing is sent yet: on shutdown the job is handed back rather than waiting for the store.
    const claim = await this.o.guard.durably(() => this.o.store.claim(job, opts), () => !this.o.running());
    if (claim.outcome === 'done') {
      this.o.logger.info({ id: job.id, status: claim.status }, 'duplicate delivery of a job already handled: deleted without sending');
      return this.o.queue.delete(message);
    }
    // Another task holds it (SQS delivered it twice): look again once its lease could have run out.
    if (claim.outcome === 'busy') return this.o.queue.setVisibility(message, busyDelaySeconds(this.o.leaseSeconds));
    held.claimed = true;
    // Only a job none of whose parts was accepted may be held back; a partly sent one is completed.
    if (this.o.optOut !== undefined && Object.keys(claim.acceptedParts).length === 0 && (await this.heldBack(message, job, this.o.optOut))) return;
    // A retry re-sends only the missing parts, so it must split the text exactly as the first attempt did.
    const stored = replan(job, claim.plan, plan, opts);
    if (stored instanceof Error) {
      this.o.logger.error({ id: job.id, err: stored.message }, 'the stored split of this message cannot be reproduced');
      const error = { code: StoredErrorCode.PLAN_MISMATCH, name: 'PLAN_MISMATCH', description: stored.message };
      await this.o.guard.durably(() => this.o.store.recordFailed(job.id, this.o.owner, error, job));
      return this.o.queue.delete(message);
    }
    plan = stored;
    const results = await this.submitParts(job, plan, claim.acceptedParts, AbortSignal.any([this.o.shutdown, held.abort.signal]), lane);
    return this.settle(message, job, results);
  }

  /** Sends the parts not accepted before; records the accepted ones (durably); returns every result. */
  private async submitParts(job: Job, plan: ReturnType<typeof segmentText>, acceptedBefore: Record<number, string>, signal: AbortSignal, lane: Lane): Promise<SubmitResult[]> {
    const base = {
      source: toSmppAddress(job.from, this.o.sourceAddr),
      destination: toSmppAddress(job.to, this.o.destAddr),
      receipt: job.receipt,
      ...(job.validityPeriodSeconds !== undefined && { validityPeriodSeconds: job.validityPeriodSeconds }),
      ...(job.scheduleAt !== undefined && { scheduleAt: new Date(job.scheduleAt) }),
    };
    const todo = plan.segments.map((segment, i) => ({ part: i + 1, segment })).filter((p) => acceptedBefore[p.part] === undefined);
    const accepted: AcceptedPart[] = [];
    const results = await Promise.all(
      todo.map(async (p) => {
        const r = await this.o.sender.submit({ ...base, segment: p.segment }, signal, lane);
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
      await this.o.guard.durably(() => this.o.store.recordAccepted(job.id, this.o.owner, accepted, plan.segments.length));
    }
    return results;
  }

  /** Carries out the retry policy's decision for this attempt. */
  private async settle(message: QueueMessage, job: Job, results: SubmitResult[]): Promise<void> {
    const decision = decide(results, { receiveCount: message.receiveCount, maxReceiveCount: this.o.maxReceiveCount, random: this.o.random });
    const { store, guard, owner } = this.o;
    switch (decision.action) {
      case 'done':
        return this.o.queue.delete(message);
      case 'fail':
        this.o.metrics.increment(MetricName.SubmitFailed);
        this.o.logger.warn({ id: job.id, to: maskAddress(job.to), status: decision.error.name }, 'submit refused permanently');
        await guard.durably(() => store.recordFailed(job.id, owner, decision.error, job));
        return this.o.queue.delete(message);
      case 'hand-back':
        await guard.durably(() => store.releaseClaim(job.id, owner, {}));
        return this.o.queue.setVisibility(message, 0);
      case 'retry':
        this.o.metrics.increment(MetricName.SubmitRetried);
        await guard.durably(() => store.releaseClaim(job.id, owner, { error: decision.error, unknownOutcome: decision.unknownOutcome }));
        return this.o.queue.setVisibility(message, decision.delaySeconds);
      case 'exhausted':
        this.o.metrics.increment(MetricName.SubmitFailed);
        this.o.logger.warn({ id: job.id, receiveCount: message.receiveCount, reason: decision.error.name }, 'retries exhausted: recorded FAILED, left for the dead-letter queue');
        await guard.durably(() => store.recordFailed(job.id, owner, decision.error, job));
        if (decision.unknownOutcome) await guard.durably(() => store.releaseClaim(job.id, owner, { unknownOutcome: true }));
        return this.o.queue.setVisibility(message, 0);
    }
  }

  /** True when the job's number opted out: it is then recorded REJECTED and its message settled, with nothing sent. */
  private async heldBack(message: QueueMessage, job: Job, gate: OptOutGate): Promise<boolean> {
    if (!(await this.o.guard.durably(() => gate.isSuppressed(job.to, job.from)))) return false;
    const r = await this.o.guard.durably(() => gate.recordOptedOut(job.id, this.o.owner));
    if (r.outcome === 'rejected') {
      this.o.metrics.increment(MetricName.JobsOptedOut);
      this.o.logger.info({ id: job.id, to: maskAddress(job.to) }, 'number opted out: job rejected without sending');
      await this.o.queue.delete(message);
    } else {
      // The lease went to another task meanwhile: the next receive's claim decides.
      await this.o.queue.setVisibility(message, 0);
    }
    return true;
  }

  private async invalid(message: QueueMessage, id: string | undefined, reason: string): Promise<void> {
    this.o.metrics.increment(MetricName.JobsInvalid);
    this.o.logger.warn({ sqsMessageId: message.messageId, id, reason }, 'invalid job recorded and deleted');
    await this.o.guard.durably(() => this.o.store.recordInvalid(id ?? message.messageId, reason, { sqsMessageId: message.messageId }), () => !this.o.running());
    await this.o.queue.delete(message);
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
