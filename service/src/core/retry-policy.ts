/**
 * The retry policy of the outbound path, in one place: what becomes of a job once its submits have
 * ended, and every delay the pipeline waits. Pure: no AWS, no PDUs, no clock (callers pass the jitter
 * source). The SMPP-level part — which command_status slows a bind, rebinds, retries or fails — is
 * `smpp/command-status.ts`; its verdicts arrive here as SubmitResults. See docs/architecture.md §5.
 */
import type { ErrorDetail } from '../domain.js';
import { StoreError } from '../errors.js';
import type { SubmitResult } from './ports.js';

/** Every delay of the outbound path. */
export const Delays = {
  /** Between tries of a store write while its job is in hand (the last one repeats). */
  storeRetryMs: [250, 500, 1000, 2000, 4000, 5000],
  /** Between probe reads while the store is failing: polling resumes within this of its return. */
  storeProbeMs: 1000,
  /** Retry delays grow as 2^receiveCount seconds, up to this: a poison message reaches the DLQ in hours, not seconds. */
  maxRetrySeconds: 900,
  /** A job another task holds is looked at again after at least this (and at least its lease). */
  minBusySeconds: 5,
  /** The pollers' idle re-check when they may not receive (no room, no bind, store down). */
  pollIdleMs: 1000,
  /** After a failed receive. */
  receiveRetryMs: 2000,
  /** ± half of this around each delay, so tasks that failed together do not retry together. */
  jitter: 0.5,
} as const;

/** Error codes the connector stores in `lastError.code` besides SMPP's own `0x…` command_status. */
export const StoredErrorCode = {
  /** A submit got no answer (timeout or link lost): it may have been accepted. */
  UNKNOWN_OUTCOME: 'SMPP_UNKNOWN_OUTCOME',
  /** The link failed before the submit was answered, and it was not re-queued. */
  SEND_FAILED: 'SMPP_SEND_FAILED',
  /** A claim took over another task's expired lease (that task may have sent it). */
  LEASE_TAKEN_OVER: 'LEASE_TAKEN_OVER',
  /** The split stored by the first attempt cannot be rebuilt from the job (its text changed under the same id). */
  PLAN_MISMATCH: 'PLAN_MISMATCH',
} as const;

/** SMPP command_status as stored: `0x` and 8 hex digits. */
export function statusCode(status: number): string {
  return `0x${status.toString(16).padStart(8, '0')}`;
}

function jittered(value: number, random: () => number): number {
  return value * (1 - Delays.jitter / 2 + random() * Delays.jitter);
}

/** Milliseconds before the next try of a store write (`attempt` from 0). */
export function storeRetryDelayMs(attempt: number, random: () => number): number {
  const steps = Delays.storeRetryMs;
  return jittered(steps[Math.min(attempt, steps.length - 1)] ?? 5000, random);
}

/** Seconds a retried job stays invisible: grows with its receive count. */
export function retryDelaySeconds(receiveCount: number, random: () => number): number {
  return Math.round(jittered(Math.min(Delays.maxRetrySeconds, 2 ** Math.min(receiveCount, 10)), random));
}

/** Seconds before a job another task holds is looked at again: by then that task's lease could have run out. */
export function busyDelaySeconds(leaseSeconds: number): number {
  return Math.max(leaseSeconds, Delays.minBusySeconds);
}

/** Errors no retry can cure (the request itself is wrong); anything else from the store is an outage. */
const PERMANENT_AWS_ERRORS: ReadonlySet<string> = new Set(['ValidationException', 'SerializationException']);

/** Whether a store error is an outage worth waiting out (retryable, and not a request the store refuses as such). */
export function isStoreOutage(err: unknown): boolean {
  if (!(err instanceof StoreError) || !err.retryable) return false;
  const cause = err.cause as { name?: string } | undefined;
  return !PERMANENT_AWS_ERRORS.has(cause?.name ?? '');
}

/** What to do with a job once every submit of this attempt has ended (its accepted parts already recorded). */
export type JobDecision =
  /** Every part is accepted: delete the message. */
  | { action: 'done' }
  /** The SMSC refused the message itself: record FAILED, delete the message. */
  | { action: 'fail'; error: ErrorDetail }
  /** Nothing was sent (shutdown, or the lease went to another task): release the claim, visible at once; not an attempt. */
  | { action: 'hand-back' }
  /** Try again later: release the claim with the error, visible after `delaySeconds`. */
  | { action: 'retry'; error: ErrorDetail; unknownOutcome: boolean; delaySeconds: number }
  /**
   * The last attempt failed: record FAILED with the error, then make the message visible so SQS's
   * redrive moves it to the dead-letter queue at its next receive — nothing there looks in progress.
   */
  | { action: 'exhausted'; error: ErrorDetail; unknownOutcome: boolean };

export interface Attempt {
  /** SQS ApproximateReceiveCount of this delivery. */
  receiveCount: number;
  /** The queue's redrive limit. */
  maxReceiveCount: number;
  random: () => number;
}

/**
 * The decision for one attempt's results (its parts not sent are absent). A permanent refusal wins
 * (the message will fail again); then any retryable or unknown outcome; a part handed back decides
 * only when nothing else went wrong.
 */
export function decide(results: readonly SubmitResult[], attempt: Attempt): JobDecision {
  const permanent = results.find((r) => r.kind === 'permanent');
  if (permanent !== undefined) return { action: 'fail', error: { code: statusCode(permanent.status), name: permanent.name, description: permanent.description } };
  const unknownOutcome = results.some((r) => r.kind === 'unknown');
  const failed = results.find((r) => r.kind === 'retryable' || r.kind === 'unknown');
  if (failed === undefined) return results.some((r) => r.kind === 'handed-back') ? { action: 'hand-back' } : { action: 'done' };
  const error: ErrorDetail =
    failed.kind === 'unknown'
      ? { code: StoredErrorCode.UNKNOWN_OUTCOME, name: 'UNKNOWN_OUTCOME', description: failed.reason }
      : { code: failed.status === undefined ? StoredErrorCode.SEND_FAILED : statusCode(failed.status), name: failed.name, description: 'retryable: will be sent again' };
  if (attempt.receiveCount >= attempt.maxReceiveCount) {
    return { action: 'exhausted', error: { ...error, description: `retries exhausted after ${attempt.receiveCount} attempts (${error.description})` }, unknownOutcome };
  }
  return { action: 'retry', error, unknownOutcome, delaySeconds: retryDelaySeconds(attempt.receiveCount, attempt.random) };
}
