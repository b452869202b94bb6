/**
 * The retry rules of core/message-state.ts (docs/architecture.md §7.4), without DynamoDB: which FAILED
 * messages an operator may re-queue, what the retry makes of the item, and that the job re-queued
 * under the same id is then an ordinary claim that sends only the parts not accepted.
 */
import { describe, expect, it } from 'vitest';
import {
  acceptedPartsOf,
  failedChange,
  mayClaim,
  newClaimItem,
  planOf,
  retryCheck,
  withAccepted,
  withClaim,
  withFailed,
  withRetry,
  withRetryUndone,
  type ClaimOptions,
  type StatusItem,
  type WriteTime,
} from '../../service/src/core/message-state.js';
import type { ErrorDetail, Job } from '../../service/src/domain.js';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const at = (offsetMs = 0): WriteTime => ({ now: T0 + offsetMs, ttlSeconds: 30 * 86_400 });
const iso = (offsetMs = 0): string => new Date(T0 + offsetMs).toISOString();
const error: ErrorDetail = { code: '0x00000045', name: 'ESME_RSUBMITFAIL', description: 'submit_sm failed' };

function makeJob(overrides: Partial<Job> = {}): Job {
  return { id: 'order-42', to: '+6591234567', from: '8x8', text: 'Hello', encoding: 'auto', receipt: true, ...overrides };
}

function claimOpts(owner = 'task-a', segments = 1): ClaimOptions {
  return { owner, leaseMs: 15_000, sqsMessageId: 'sqs-1', encoding: 'GSM7', segments, concat: 'udh8', concatRef: 7 };
}

/** A message of `segments` parts, the first `acceptedCount` accepted, then FAILED with its job kept. */
function failed(opts: { segments?: number; acceptedCount?: number; unknownOutcomes?: number; keepJob?: boolean } = {}): StatusItem {
  const segments = opts.segments ?? 1;
  const job = makeJob();
  let item = newClaimItem(job, claimOpts('task-a', segments), at());
  const accepted = Array.from({ length: opts.acceptedCount ?? 0 }, (_, i) => ({ part: i + 1, smscMessageId: `smsc-${i + 1}`, keys: [`s:smsc-${i + 1}`] }));
  if (accepted.length > 0) item = withAccepted(item, accepted, [], segments, at(500));
  item = { ...item, unknownOutcomes: opts.unknownOutcomes ?? 0 };
  const result = withFailed(item, error, at(1_000), opts.keepJob === false ? undefined : job);
  if (result === undefined) throw new Error('not failable');
  return result;
}

describe('FAILED keeps the job', () => {
  it('stores the validated job on the FAILED change only when given one', () => {
    expect(failedChange(error, at(), makeJob()).job).toEqual(makeJob());
    expect(failedChange(error, at())).not.toHaveProperty('job');
    expect(failed().job).toEqual(makeJob());
  });
});

describe('retryCheck', () => {
  it('allows a FAILED message with its job that the SMSC never accepted', () => {
    expect(retryCheck(failed(), { force: false })).toEqual({ ok: true, acceptedParts: [] });
  });

  it('refuses a missing message, one not FAILED, and one without its job, even with force', () => {
    const submitting = newClaimItem(makeJob(), claimOpts(), at());
    for (const force of [false, true]) {
      expect(retryCheck(undefined, { force })).toMatchObject({ ok: false, refusal: 'not-found' });
      expect(retryCheck(submitting, { force })).toMatchObject({ ok: false, refusal: 'not-failed', message: 'it is SUBMITTING; only a FAILED message is retried' });
      expect(retryCheck(failed({ keepJob: false }), { force })).toMatchObject({ ok: false, refusal: 'no-job' });
    }
  });

  it('refuses a message that may have reached the handset (a part accepted, or an unknown outcome) unless forced', () => {
    const partly = failed({ segments: 3, acceptedCount: 1 });
    const unknown = failed({ unknownOutcomes: 1 });
    expect(retryCheck(partly, { force: false })).toEqual({
      ok: false,
      refusal: 'may-have-been-sent',
      message: 'it may have reached the handset (1 of 3 part(s) accepted by the SMSC, 0 unknown outcome(s)); --force re-sends only the parts not accepted',
    });
    expect(retryCheck(unknown, { force: false })).toMatchObject({ ok: false, refusal: 'may-have-been-sent' });
    expect(retryCheck(partly, { force: true })).toEqual({ ok: true, acceptedParts: [1] });
    expect(retryCheck(unknown, { force: true })).toEqual({ ok: true, acceptedParts: [] });
  });
});

describe('withRetry', () => {
  it('makes a FAILED message SUBMITTING with no lease, counts the retry, notes it in the history, and drops doneAt and the job', () => {
    // Act
    const retried = withRetry(failed(), at(2_000));
    // Assess
    expect(retried).toMatchObject({ status: 'SUBMITTING', statusRank: 10, retries: 1, updatedAt: iso(2_000), lastError: error, attempts: 1 });
    expect(retried?.history).toEqual([
      { status: 'SUBMITTING', at: iso() },
      { status: 'FAILED', at: iso(1_000) },
      { status: 'SUBMITTING', at: iso(2_000), note: 'retry' },
    ]);
    for (const gone of ['doneAt', 'job', 'claimOwner', 'claimExpiresAt']) expect(retried).not.toHaveProperty(gone);
  });

  it('counts on from earlier retries, and leaves anything but FAILED alone', () => {
    const twice = withRetry({ ...failed(), retries: 1 }, at(2_000));
    expect(twice?.retries).toBe(2);
    expect(withRetry(newClaimItem(makeJob(), claimOpts(), at()), at(2_000))).toBeUndefined();
  });

  it('leaves a message the next receive claims as an ordinary claim: counted, no take-over, the stored split and accepted parts kept', () => {
    // Prepare: part 1 of 3 accepted, then FAILED; retried with force
    const retried = withRetry(failed({ segments: 3, acceptedCount: 1 }), at(2_000));
    if (retried === undefined) throw new Error('not retried');
    // Act: another task claims the re-queued job with a split of its own
    const claimed = withClaim(retried, makeJob(), { ...claimOpts('task-b', 3), concatRef: 99, sqsMessageId: 'sqs-2' }, at(3_000));
    // Assess
    expect(mayClaim(retried, 'task-b', T0 + 3_000)).toBe(true);
    expect(claimed).toMatchObject({ status: 'SUBMITTING', claimOwner: 'task-b', previousClaimOwner: '', attempts: 2, retries: 1, sqsMessageId: 'sqs-2' });
    expect(planOf(claimed, { ...claimOpts('task-b', 3), concatRef: 99 })).toEqual({ encoding: 'GSM7', segments: 3, concat: 'udh8', concatRef: 7 });
    expect(acceptedPartsOf(claimed)).toEqual({ 1: 'smsc-1' });
    expect(claimed?.history.map((h) => h.note ?? h.status)).toEqual(['SUBMITTING', 'FAILED', 'retry']);
  });
});

describe('withRetryUndone', () => {
  it('puts a retry whose job was not queued back to FAILED as it was, noted in the history', () => {
    const before = { ...failed(), retries: 2 };
    const retried = withRetry(before, at(2_000));
    if (retried === undefined) throw new Error('not retried');
    // Act
    const undone = withRetryUndone(retried, before, at(3_000));
    // Assess
    expect(undone).toMatchObject({ status: 'FAILED', statusRank: 100, doneAt: before.doneAt, job: before.job, retries: 2, updatedAt: iso(3_000) });
    expect(undone?.history.slice(-2)).toEqual([
      { status: 'SUBMITTING', at: iso(2_000), note: 'retry' },
      { status: 'FAILED', at: iso(3_000), note: 'retry not queued' },
    ]);
  });

  it('leaves a message that a claim took since (its job was queued after all)', () => {
    const before = failed();
    const retried = withRetry(before, at(2_000));
    if (retried === undefined) throw new Error('not retried');
    const claimed = withClaim(retried, makeJob(), claimOpts('task-b'), at(2_500));
    if (claimed === undefined) throw new Error('not claimed');
    expect(withRetryUndone(claimed, before, at(3_000))).toBeUndefined();
  });
});
