/**
 * The MESSAGE item's rules, pure: what a claim, an accepted part, a receipt or a failure makes of
 * the status record (docs/architecture.md §3.2). No AWS, no PDUs, no clock: the status store reads
 * and writes the items, and turns the rules that must hold inside DynamoDB (a claim, FAILED) into
 * condition expressions; these functions say what those writes mean, and are unit-tested without it.
 *
 * Every function returns a new item and leaves its argument as it was. None touches `version`:
 * that is the writer's (it conditions each write on it).
 */
import { isFinal, MessageStatus, STATUS_RANK, type ErrorDetail, type Job, type Receipt } from '../domain.js';

/** The `kind` of MESSAGE items (`aws/status-store/item-model.ts` lists every kind). */
export const MESSAGE_KIND = 'MESSAGE';

/** State of one SMS part of a message. */
export interface PartState {
  /** SMSC message id from submit_sm_resp (or, until that is recorded, from the receipt). */
  smscMessageId?: string;
  status: MessageStatus;
  stat?: string;
  err?: string;
  networkError?: string;
  /** ISO-8601, when a final receipt for the part was received. */
  doneAt?: string;
}

/** One status change of a message. */
export interface HistoryEntry {
  status: MessageStatus;
  /** ISO-8601 */
  at: string;
  /** Why, when the status changed by an operator's action rather than the SMSC: {@link RETRY_NOTE} (docs/architecture.md §7.4). */
  note?: string;
}

/** A MESSAGE item as stored (every attribute is described in `aws/status-store/item-model.ts`). */
export interface StatusItem {
  id: string;
  kind: typeof MESSAGE_KIND;
  status: MessageStatus;
  statusRank: number;
  to?: string;
  from?: string;
  encoding?: string;
  segments?: number;
  concat?: string;
  concatRef?: number;
  /** Keyed by part number "1".."N". */
  parts: Record<string, PartState>;
  createdAt: string;
  updatedAt: string;
  submittedAt?: string;
  doneAt?: string;
  attempts: number;
  unknownOutcomes: number;
  lastError?: ErrorDetail;
  stat?: string;
  err?: string;
  networkError?: string;
  metadata?: Record<string, unknown>;
  sqsMessageId?: string;
  reason?: string;
  history: HistoryEntry[];
  /** Times an operator re-queued it after FAILED (docs/architecture.md §7.4). */
  retries?: number;
  /** The validated job, kept only while the message is FAILED, so that it can be retried (docs/architecture.md §7.4). */
  job?: Job;
  claimOwner?: string;
  /** Epoch milliseconds. */
  claimExpiresAt?: number;
  previousClaimOwner?: string;
  /** The job's validity period: with the final-status timeout, it sets `finalBy`. */
  validityPeriodSeconds?: number;
  /** `openByDeadline` shard (`OPEN#n`), set when the message is first open and kept (docs/architecture.md §7.2). */
  openShard?: string;
  /** Epoch seconds by which a final status is due, set with `openShard`. */
  finalBy?: number;
  version: number;
  /** Epoch seconds (TTL). */
  expiresAt: number;
}

/** How a message is split, fixed by its first claim (docs/architecture.md §5 rule 4). */
export interface SubmitPlan {
  encoding: string;
  segments: number;
  concat: string;
  concatRef: number;
}

/** A claim: who takes the job, for how long, and the split it would use if it is the first. */
export interface ClaimOptions extends SubmitPlan {
  owner: string;
  leaseMs: number;
  sqsMessageId: string;
}

/** A part accepted by the SMSC, with the correlation keys of its SMSC message id. */
export interface AcceptedPart {
  part: number;
  smscMessageId: string;
  /** Exact key first (`core/receipt-keys.ts`); later keys are readings that another id may share, and never displace another message. */
  keys: string[];
}

/** A receipt that arrived before its part was recorded, and the part it belongs to. */
export interface ParkedReceipt {
  part: number;
  receipt: Receipt;
}

/** When a write happens, and how long its item is kept after it: every write restarts the TTL. */
export interface WriteTime {
  /** Epoch milliseconds. */
  now: number;
  ttlSeconds: number;
}

/**
 * When a submitted message with no final receipt gives up waiting, and where it waits meanwhile
 * (docs/architecture.md §7.2). The store holds it; the rules below only set `openShard`/`finalBy`
 * when given one, once, and never remove them.
 */
export interface FinalStatusRule {
  /** FINAL_STATUS_TIMEOUT_HOURS in seconds; the job's validity period applies when shorter. */
  timeoutSeconds: number;
  /** The `openShard` of a message id (stable). */
  shardOf(id: string): string;
}

/**
 * Rank of UNKNOWN recorded by the final-status sweep ({@link timedOut}): above every status in
 * progress, below the final ones, so the status still only moves forward and a final receipt that
 * comes later replaces it (docs/architecture.md §7.2).
 */
export const TIMED_OUT_RANK = 90;
/** `reason` of a message the sweep made UNKNOWN. */
export const NO_RECEIPT = 'no receipt';

/** `previousClaimOwner` when the claim found no lease holder. */
export const NO_OWNER = '';
/** Attributes a repeated claim increments. */
export const CLAIM_COUNTERS: ReadonlySet<string> = new Set(['attempts', 'version']);
/** Attributes a repeated claim leaves as the first claim wrote them: the split above all (docs/architecture.md §5 rule 4). */
export const CLAIM_KEEPS: ReadonlySet<string> = new Set(['createdAt', 'unknownOutcomes', 'parts', 'history', 'encoding', 'segments', 'concat', 'concatRef']);
/** FAILED is recorded only below this rank: a stale owner's failure never overwrites another task's accepted submit. */
export const FAILABLE_BELOW_RANK = STATUS_RANK.SUBMITTED;

/** The final states a part can fail in; any of them fails the whole message. */
export const FAILURE_STATES: ReadonlySet<MessageStatus> = new Set([
  MessageStatus.UNDELIVERED,
  MessageStatus.EXPIRED,
  MessageStatus.REJECTED,
  MessageStatus.DELETED,
  MessageStatus.UNKNOWN,
]);

const SUBMITTED_RANK = STATUS_RANK.SUBMITTED;
/** The rank of every final status. */
const FINAL_RANK = STATUS_RANK.DELIVERED;

/** ISO-8601 of epoch milliseconds. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The TTL attribute of an item written at `t` (epoch seconds). */
export function expiresAt(t: WriteTime): number {
  return Math.floor(t.now / 1000) + t.ttlSeconds;
}

/** The item a first claim creates: SUBMITTING, leased to `opts.owner`, with the split it chose. */
export function newClaimItem(job: Job, opts: ClaimOptions, t: WriteTime): StatusItem {
  return {
    id: job.id,
    kind: MESSAGE_KIND,
    status: MessageStatus.SUBMITTING,
    statusRank: STATUS_RANK.SUBMITTING,
    to: job.to,
    from: job.from,
    encoding: opts.encoding,
    segments: opts.segments,
    concat: opts.concat,
    concatRef: opts.concatRef,
    sqsMessageId: opts.sqsMessageId,
    createdAt: iso(t.now),
    updatedAt: iso(t.now),
    attempts: 1,
    unknownOutcomes: 0,
    parts: {},
    history: [{ status: MessageStatus.SUBMITTING, at: iso(t.now) }],
    claimOwner: opts.owner,
    claimExpiresAt: t.now + opts.leaseMs,
    previousClaimOwner: NO_OWNER,
    version: 1,
    expiresAt: expiresAt(t),
    ...(job.metadata === undefined ? {} : { metadata: job.metadata }),
    ...(job.validityPeriodSeconds === undefined ? {} : { validityPeriodSeconds: job.validityPeriodSeconds }),
  };
}

/**
 * Whether `owner` may claim the message now: it does not exist, or it is SUBMITTING and nobody else
 * holds an unexpired lease. The lease holder itself may claim again (the answer to its first claim
 * can be lost). claim-batcher.ts writes this rule as the claim's condition expression.
 */
export function mayClaim(item: StatusItem | undefined, owner: string, now: number): boolean {
  if (item === undefined) return true;
  if (item.status !== MessageStatus.SUBMITTING) return false;
  return item.claimOwner === undefined || item.claimOwner === owner || (item.claimExpiresAt !== undefined && item.claimExpiresAt < now);
}

/**
 * A claim of an existing message (see {@link mayClaim}), as claim-batcher.ts writes it: the first
 * claim's item, except that the counters count on, the first claim's split, parts and history stay,
 * and `previousClaimOwner` records the lease holder found. Undefined when the claim is refused.
 */
export function withClaim(item: StatusItem, job: Job, opts: ClaimOptions, t: WriteTime): StatusItem | undefined {
  if (!mayClaim(item, opts.owner, t.now)) return undefined;
  const next: Record<string, unknown> = { ...item };
  const current = item as unknown as Record<string, unknown>;
  for (const [name, value] of Object.entries(newClaimItem(job, opts, t))) {
    if (name === 'id' || name === 'previousClaimOwner' || name === 'version') continue;
    if (CLAIM_COUNTERS.has(name)) next[name] = ((current[name] as number | undefined) ?? 0) + 1;
    else if (CLAIM_KEEPS.has(name)) next[name] = current[name] ?? value;
    else next[name] = value;
  }
  next['previousClaimOwner'] = item.claimOwner ?? NO_OWNER;
  return next as unknown as StatusItem;
}

/** The item a write to a message nobody claimed starts from (a record of accepted parts with no claim before it). */
export function skeletonItem(id: string, t: WriteTime): StatusItem {
  return {
    id,
    kind: MESSAGE_KIND,
    status: MessageStatus.SUBMITTING,
    statusRank: STATUS_RANK.SUBMITTING,
    parts: {},
    createdAt: iso(t.now),
    updatedAt: iso(t.now),
    attempts: 0,
    unknownOutcomes: 0,
    history: [{ status: MessageStatus.SUBMITTING, at: iso(t.now) }],
    version: 0,
    expiresAt: expiresAt(t),
  };
}

/** The record of an invalid job: final at once, never submitted. */
export function invalidItem(id: string, reason: string, sqsMessageId: string, t: WriteTime): StatusItem {
  return {
    id,
    kind: MESSAGE_KIND,
    status: MessageStatus.INVALID,
    statusRank: STATUS_RANK.INVALID,
    reason,
    sqsMessageId,
    parts: {},
    createdAt: iso(t.now),
    updatedAt: iso(t.now),
    doneAt: iso(t.now),
    attempts: 0,
    unknownOutcomes: 0,
    history: [{ status: MessageStatus.INVALID, at: iso(t.now) }],
    version: 1,
    expiresAt: expiresAt(t),
  };
}

/**
 * A receipt applied to one part, forward only: a part in a final state, or a receipt that is not
 * further along than the part, changes nothing (undefined). A part not recorded yet takes the
 * receipt's SMSC id until its submit response is recorded.
 */
export function applyToPart(current: PartState | undefined, r: Receipt): PartState | undefined {
  if (current !== undefined && (isFinal(current.status) || STATUS_RANK[r.status] <= STATUS_RANK[current.status])) return undefined;
  const next: PartState = { smscMessageId: current?.smscMessageId ?? r.smscMessageId, status: r.status };
  if (r.stat !== undefined) next.stat = r.stat;
  if (r.err !== undefined) next.err = r.err;
  if (r.networkError !== undefined) next.networkError = r.networkError;
  if (isFinal(r.status)) next.doneAt = r.receivedAt;
  return next;
}

/**
 * The message status its parts imply, with the deciding part: any part failed → the first such
 * (in part order); all DELIVERED → DELIVERED; otherwise the most advanced part in progress.
 * Undefined until every part from 1 to `totalParts` is present, so a retry still sends the missing ones.
 */
export function deriveFromParts(parts: Record<string, PartState>, totalParts: number): { status: MessageStatus; part: PartState } | undefined {
  const states: PartState[] = [];
  for (let n = 1; n <= totalParts; n++) {
    const p = parts[String(n)];
    if (p === undefined) return undefined;
    states.push(p);
  }
  const failed = states.find((p) => FAILURE_STATES.has(p.status));
  if (failed !== undefined) return { status: failed.status, part: failed };
  const first = states[0];
  if (first === undefined) return undefined;
  if (states.every((p) => p.status === MessageStatus.DELIVERED)) return { status: MessageStatus.DELIVERED, part: states[states.length - 1] ?? first };
  let best: PartState | undefined;
  for (const p of states) {
    if (isFinal(p.status)) continue;
    if (best === undefined || STATUS_RANK[p.status] > STATUS_RANK[best.status]) best = p;
  }
  return best === undefined ? undefined : { status: best.status, part: best };
}

/**
 * The message raised to what its parts say, when that is further along (never lower, never past
 * a final status). Each change adds one history entry, plus SUBMITTED when a receipt overtook the
 * record of the submit, so the timeline still shows the submission.
 */
export function deriveStatus(item: StatusItem, totalParts: number, now: number): StatusItem {
  // UNKNOWN by timeout (TIMED_OUT_RANK) is the one final status a final receipt still replaces.
  if (item.statusRank >= FINAL_RANK) return item;
  const derived = deriveFromParts(item.parts, totalParts);
  if (derived === undefined || STATUS_RANK[derived.status] <= item.statusRank) return item;
  const skipped = item.statusRank < SUBMITTED_RANK && STATUS_RANK[derived.status] > SUBMITTED_RANK ? [{ status: MessageStatus.SUBMITTED, at: iso(now) }] : [];
  const next: StatusItem = {
    ...item,
    status: derived.status,
    statusRank: STATUS_RANK[derived.status],
    // A receipt's UNKNOWN after the sweep's changes the rank, not the status: no second entry.
    history: [...item.history, ...skipped, ...(derived.status === item.status ? [] : [{ status: derived.status, at: iso(now) }])],
  };
  if (item.statusRank === TIMED_OUT_RANK) delete next.reason;
  const decider = derived.part;
  if (decider.stat !== undefined) next.stat = decider.stat;
  if (decider.err !== undefined) next.err = decider.err;
  if (decider.networkError !== undefined) next.networkError = decider.networkError;
  if (isFinal(derived.status)) next.doneAt = decider.doneAt ?? iso(now);
  return next;
}

/**
 * The message with the parts the SMSC accepted, and the receipts that waited for them, recorded.
 * Once all `totalParts` are present it is SUBMITTED (or further) and the claim ends: until then
 * its owner is still sending the others. With `rule`, an open message gets its final-status deadline.
 */
export function withAccepted(
  item: StatusItem,
  parts: readonly AcceptedPart[],
  parked: readonly ParkedReceipt[],
  totalParts: number,
  t: WriteTime,
  rule?: FinalStatusRule,
): StatusItem {
  const recorded: Record<string, PartState> = { ...item.parts };
  for (const p of parts) {
    const existing = recorded[String(p.part)];
    recorded[String(p.part)] = existing === undefined ? { smscMessageId: p.smscMessageId, status: MessageStatus.SUBMITTED } : { ...existing, smscMessageId: p.smscMessageId };
  }
  for (const { part, receipt } of parked) {
    const changed = applyToPart(recorded[String(part)], receipt);
    if (changed !== undefined) recorded[String(part)] = changed;
  }
  let next = deriveStatus({ ...item, segments: item.segments ?? totalParts, parts: recorded }, totalParts, t.now);
  if (allPartsPresent(next.parts, totalParts)) next = withoutClaim({ ...next, submittedAt: next.submittedAt ?? iso(t.now) });
  return withDeadline({ ...next, updatedAt: iso(t.now), expiresAt: expiresAt(t) }, rule, t.now);
}

/**
 * The message with a receipt applied to one of its parts; undefined when the receipt changes
 * nothing (a duplicate, or one behind the part's state). A message at SUBMITTED or beyond holds no claim.
 */
export function withReceipt(item: StatusItem, part: number, r: Receipt, t: WriteTime, rule?: FinalStatusRule): StatusItem | undefined {
  const changed = applyToPart(item.parts[String(part)], r);
  if (changed === undefined) return undefined;
  const parts = { ...item.parts, [String(part)]: changed };
  let next = deriveStatus({ ...item, parts }, item.segments ?? maxPart(parts), t.now);
  if (next.statusRank >= SUBMITTED_RANK) next = withoutClaim(next);
  return withDeadline({ ...next, updatedAt: iso(t.now), expiresAt: expiresAt(t) }, rule, t.now);
}

/**
 * Whether the message waits for its final status: SUBMITTED, ENROUTE or ACCEPTED. These carry
 * `openShard` and `finalBy` (the sparse index `openByDeadline`), and keep them once ended.
 */
export function isOpen(item: StatusItem): boolean {
  return item.statusRank >= SUBMITTED_RANK && item.statusRank < TIMED_OUT_RANK;
}

/** What the final-status sweep sets; the sweep writes it as one conditional UpdateItem (see {@link timedOut}). */
export interface TimeoutChange {
  status: typeof MessageStatus.UNKNOWN;
  statusRank: number;
  reason: string;
  doneAt: string;
  updatedAt: string;
  historyEntry: HistoryEntry;
  expiresAt: number;
}

/** The attributes a timeout sets (`openShard` and `finalBy` stay: the index entry is not rewritten). */
export function timeoutChange(t: WriteTime): TimeoutChange {
  return {
    status: MessageStatus.UNKNOWN,
    statusRank: TIMED_OUT_RANK,
    reason: NO_RECEIPT,
    doneAt: iso(t.now),
    updatedAt: iso(t.now),
    historyEntry: { status: MessageStatus.UNKNOWN, at: iso(t.now) },
    expiresAt: expiresAt(t),
  };
}

/**
 * The message made UNKNOWN ('no receipt') once its `finalBy` has passed; undefined when it is not
 * open or not yet due. Once only: it is no longer open. A final receipt later still wins
 * ({@link TIMED_OUT_RANK}); a receipt in progress changes its parts, not its status.
 */
export function timedOut(item: StatusItem, t: WriteTime): StatusItem | undefined {
  if (!isOpen(item) || item.finalBy === undefined || item.finalBy > Math.floor(t.now / 1000)) return undefined;
  const { historyEntry, ...change } = timeoutChange(t);
  return withDeadline({ ...item, ...change, history: [...item.history, historyEntry] }, undefined, t.now);
}

/** What recording FAILED sets; the store writes it as one conditional UpdateItem (see {@link withFailed}). */
export interface FailedChange {
  status: typeof MessageStatus.FAILED;
  statusRank: number;
  doneAt: string;
  lastError: ErrorDetail;
  updatedAt: string;
  historyEntry: HistoryEntry;
  expiresAt: number;
  /** The job, kept so an operator can retry it (docs/architecture.md §7.4); only FAILED items carry it. */
  job?: Job;
}

/** The attributes a FAILED record sets (the claim is removed with them); with `job`, the job is kept for a retry. */
export function failedChange(error: ErrorDetail, t: WriteTime, job?: Job): FailedChange {
  return {
    status: MessageStatus.FAILED,
    statusRank: STATUS_RANK.FAILED,
    doneAt: iso(t.now),
    lastError: storedError(error),
    updatedAt: iso(t.now),
    historyEntry: { status: MessageStatus.FAILED, at: iso(t.now) },
    expiresAt: expiresAt(t),
    ...(job === undefined ? {} : { job }),
  };
}

/** The message marked FAILED (final) with the error; undefined once it is SUBMITTED or beyond ({@link FAILABLE_BELOW_RANK}). */
export function withFailed(item: StatusItem, error: ErrorDetail, t: WriteTime, job?: Job): StatusItem | undefined {
  if (item.statusRank >= FAILABLE_BELOW_RANK) return undefined;
  const { historyEntry, ...change } = failedChange(error, t, job);
  return withoutClaim({ ...item, ...change, history: [...item.history, historyEntry] });
}

/** The note on the SUBMITTING history entry a retry adds (docs/architecture.md §7.4). */
export const RETRY_NOTE = 'retry';
/** The note on the FAILED history entry when a retry was written but its job could not be queued. */
export const RETRY_NOT_QUEUED_NOTE = 'retry not queued';

/** Why a message may not be retried. */
export type RetryRefusal = 'not-found' | 'not-failed' | 'no-job' | 'may-have-been-sent';

/** A retry allowed (the parts the SMSC accepted before, which the claim will not send again), or refused with a reason. */
export type RetryCheck = { ok: true; acceptedParts: number[] } | { ok: false; refusal: RetryRefusal; message: string };

/**
 * Whether an operator may re-queue this message (docs/architecture.md §7.4): it must be FAILED and
 * carry its job. A message that may have reached the handset — a part accepted by the SMSC, or an
 * unknown outcome — is refused unless `force`; even then the claim sends only the parts not accepted.
 */
export function retryCheck(item: StatusItem | undefined, opts: { force: boolean }): RetryCheck {
  if (item === undefined) return { ok: false, refusal: 'not-found', message: 'no message with this id' };
  if (item.status !== MessageStatus.FAILED) return { ok: false, refusal: 'not-failed', message: `it is ${item.status}; only a FAILED message is retried` };
  if (item.job === undefined) return { ok: false, refusal: 'no-job', message: 'its job is not stored (it failed before jobs were kept on FAILED messages)' };
  const acceptedParts = Object.keys(acceptedPartsOf(item)).map(Number).sort((a, b) => a - b);
  if (!opts.force && (acceptedParts.length > 0 || item.unknownOutcomes > 0)) {
    const parts = `${acceptedParts.length} of ${item.segments ?? '?'} part(s) accepted by the SMSC, ${item.unknownOutcomes} unknown outcome(s)`;
    return { ok: false, refusal: 'may-have-been-sent', message: `it may have reached the handset (${parts}); --force re-sends only the parts not accepted` };
  }
  return { ok: true, acceptedParts };
}

/** What a retry sets; the store writes it as one UpdateItem conditional on FAILED and the version read (see {@link withRetry}). */
export interface RetryChange {
  status: typeof MessageStatus.SUBMITTING;
  statusRank: number;
  updatedAt: string;
  historyEntry: HistoryEntry;
  expiresAt: number;
}

/** The attributes a retry sets; `retries` counts on, and `doneAt`, `job` and any claim are removed. */
export function retryChange(t: WriteTime): RetryChange {
  return {
    status: MessageStatus.SUBMITTING,
    statusRank: STATUS_RANK.SUBMITTING,
    updatedAt: iso(t.now),
    historyEntry: { status: MessageStatus.SUBMITTING, at: iso(t.now), note: RETRY_NOTE },
    expiresAt: expiresAt(t),
  };
}

/**
 * The FAILED message made SUBMITTING again with no lease, so the job re-queued under its id is an
 * ordinary claim that sends the parts not accepted, by the stored split (docs/architecture.md §5 rule 4).
 * Undefined unless it is FAILED. The one move backwards a status makes, and only by an operator.
 */
export function withRetry(item: StatusItem, t: WriteTime): StatusItem | undefined {
  if (item.status !== MessageStatus.FAILED) return undefined;
  const { historyEntry, ...change } = retryChange(t);
  const next = withoutClaim({ ...item, ...change, retries: (item.retries ?? 0) + 1, history: [...item.history, historyEntry] });
  delete next.doneAt;
  delete next.job;
  return next;
}

/**
 * A retry undone because its job could not be queued: FAILED again as `before` was (its `doneAt`,
 * `job` and `retries`), with a FAILED history entry saying so. Undefined when the message changed
 * since the retry (a claim took it: the job was queued after all).
 */
export function withRetryUndone(retried: StatusItem, before: StatusItem, t: WriteTime): StatusItem | undefined {
  if (retried.status !== MessageStatus.SUBMITTING || retried.claimOwner !== undefined || before.status !== MessageStatus.FAILED) return undefined;
  const next: StatusItem = {
    ...retried,
    status: MessageStatus.FAILED,
    statusRank: STATUS_RANK.FAILED,
    updatedAt: iso(t.now),
    expiresAt: expiresAt(t),
    history: [...retried.history, { status: MessageStatus.FAILED, at: iso(t.now), note: RETRY_NOT_QUEUED_NOTE }],
  };
  if (before.doneAt !== undefined) next.doneAt = before.doneAt;
  if (before.job !== undefined) next.job = before.job;
  if (before.retries === undefined) delete next.retries;
  else next.retries = before.retries;
  return next;
}

/** The error as stored in `lastError`: its three fields, nothing else the caller's object carries. */
export function storedError(e: ErrorDetail): ErrorDetail {
  return { code: e.code, name: e.name, description: e.description };
}

/** The `reason` of a job held back because its number opted out (docs/architecture.md §7.5). */
export const OPTED_OUT_REASON = 'opted out';

/** What recording an opted-out job sets; the store writes it as one conditional UpdateItem (see {@link withOptedOut}). */
export interface OptedOutChange {
  status: typeof MessageStatus.REJECTED;
  statusRank: number;
  reason: typeof OPTED_OUT_REASON;
  doneAt: string;
  updatedAt: string;
  historyEntry: HistoryEntry;
  expiresAt: number;
}

/** The attributes an opted-out REJECTED record sets (the claim is removed with them). */
export function optedOutChange(t: WriteTime): OptedOutChange {
  return {
    status: MessageStatus.REJECTED,
    statusRank: STATUS_RANK.REJECTED,
    reason: OPTED_OUT_REASON,
    doneAt: iso(t.now),
    updatedAt: iso(t.now),
    historyEntry: { status: MessageStatus.REJECTED, at: iso(t.now) },
    expiresAt: expiresAt(t),
  };
}

/**
 * Whether `owner` may record the message as opted out: it holds the claim, the message is still
 * SUBMITTING and no part of it was accepted. A job some of whose parts reached the SMSC is never
 * rejected: its other parts are sent.
 */
export function mayRejectOptedOut(item: StatusItem, owner: string): boolean {
  return item.claimOwner === owner && item.statusRank < SUBMITTED_RANK && Object.keys(acceptedPartsOf(item)).length === 0;
}

/** The message REJECTED with reason `opted out` (final, no claim); undefined when {@link mayRejectOptedOut} refuses. */
export function withOptedOut(item: StatusItem, owner: string, t: WriteTime): StatusItem | undefined {
  if (!mayRejectOptedOut(item, owner)) return undefined;
  const { historyEntry, ...change } = optedOutChange(t);
  return withoutClaim({ ...item, ...change, history: [...item.history, historyEntry] });
}

/** The split stored on the item, filled from `fallback` for items written before splits were stored. */
export function planOf(item: StatusItem | undefined, fallback: SubmitPlan): SubmitPlan {
  return {
    encoding: item?.encoding ?? fallback.encoding,
    segments: item?.segments ?? fallback.segments,
    concat: item?.concat ?? fallback.concat,
    concatRef: item?.concatRef ?? fallback.concatRef,
  };
}

/** Part number → SMSC id of the parts accepted so far: a retry sends only the others. */
export function acceptedPartsOf(item: StatusItem | undefined): Record<number, string> {
  const accepted: Record<number, string> = {};
  for (const [n, p] of Object.entries(item?.parts ?? {})) {
    if (p.smscMessageId !== undefined) accepted[Number(n)] = p.smscMessageId;
  }
  return accepted;
}

function allPartsPresent(parts: Record<string, PartState>, totalParts: number): boolean {
  for (let n = 1; n <= totalParts; n++) if (parts[String(n)] === undefined) return false;
  return true;
}

function maxPart(parts: Record<string, PartState>): number {
  return Math.max(0, ...Object.keys(parts).map(Number));
}

/**
 * `openShard` and `finalBy`: set once, by the write that first makes the message open when `rule` is
 * given (the deadline is `now`, the time of that write, plus the timeout, or the job's validity when
 * shorter), and never changed or removed after: removing them when the message ends would cost an
 * index write, and the sweep reads each entry once, at its deadline, and leaves ended messages alone
 * (docs/architecture.md §7.2).
 */
function withDeadline(item: StatusItem, rule: FinalStatusRule | undefined, now: number): StatusItem {
  if (!isOpen(item) || rule === undefined || (item.openShard !== undefined && item.finalBy !== undefined)) return item;
  const wait = Math.min(rule.timeoutSeconds, item.validityPeriodSeconds ?? Infinity);
  return { ...item, openShard: rule.shardOf(item.id), finalBy: item.finalBy ?? Math.floor(now / 1000) + wait };
}

function withoutClaim(item: StatusItem): StatusItem {
  const next = { ...item };
  delete next.claimOwner;
  delete next.claimExpiresAt;
  return next;
}
