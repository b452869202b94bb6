/**
 * The MESSAGE rules of core/message-state.ts, without DynamoDB: every transition, then properties
 * over arbitrary sequences of claims, accepted parts, receipts and failures (docs/architecture.md §3.2).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  acceptedPartsOf,
  applyToPart,
  deriveFromParts,
  deriveStatus,
  FAILURE_STATES,
  invalidItem,
  isOpen,
  mayClaim,
  newClaimItem,
  NO_RECEIPT,
  planOf,
  skeletonItem,
  TIMED_OUT_RANK,
  timedOut,
  withAccepted,
  withClaim,
  withFailed,
  withReceipt,
  type AcceptedPart,
  type ClaimOptions,
  type FinalStatusRule,
  type PartState,
  type StatusItem,
  type WriteTime,
} from '../../service/src/core/message-state.js';
import { isFinal, MessageStatus, STATUS_RANK, type ErrorDetail, type Job, type Receipt, type ReceiptStatus } from '../../service/src/domain.js';

const numRuns = Number(process.env['PROPERTY_RUNS'] ?? 300);
const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const TTL = 30 * 86_400;
const at = (offsetMs = 0): WriteTime => ({ now: T0 + offsetMs, ttlSeconds: TTL });
const iso = (offsetMs = 0): string => new Date(T0 + offsetMs).toISOString();

const RECEIPT_STATUSES: readonly ReceiptStatus[] = ['ENROUTE', 'ACCEPTED', 'DELIVERED', 'UNDELIVERED', 'EXPIRED', 'REJECTED', 'DELETED', 'UNKNOWN'];
const PART_STATUSES: readonly MessageStatus[] = ['SUBMITTED', ...RECEIPT_STATUSES];

function makeJob(overrides: Partial<Job> = {}): Job {
  return { id: 'order-42', to: '+6591234567', from: '8x8', text: 'Hello', encoding: 'auto', receipt: true, ...overrides };
}

function claimOpts(owner = 'task-a', segments = 1): ClaimOptions {
  return { owner, leaseMs: 15_000, sqsMessageId: 'sqs-1', encoding: 'GSM7', segments, concat: 'udh8', concatRef: 7 };
}

function accepted(part: number): AcceptedPart {
  return { part, smscMessageId: `smsc-${part}`, keys: [`s:smsc-${part}`] };
}

function makeReceipt(part: number, status: ReceiptStatus, offsetMs = 5_000, overrides: Partial<Receipt> = {}): Receipt {
  return { smscMessageId: `smsc-${part}`, status, stat: status.slice(0, 7), err: '000', receivedAt: iso(offsetMs), ...overrides };
}

/** FINAL_STATUS_TIMEOUT_HOURS = 72, every message in shard 3. */
const RULE: FinalStatusRule = { timeoutSeconds: 72 * 3600, shardOf: () => 'OPEN#3' };
const HOURS = 3_600_000;

/** A claimed message with all `n` parts accepted. */
function submitted(n = 1): StatusItem {
  return withAccepted(newClaimItem(makeJob(), claimOpts('task-a', n), at()), Array.from({ length: n }, (_, i) => accepted(i + 1)), [], n, at(1_000));
}

/** A deep-frozen copy: a rule that mutated its argument would throw (modules are strict). */
function frozen<T>(value: T): T {
  const copy = structuredClone(value);
  const freeze = (v: unknown): void => {
    if (typeof v !== 'object' || v === null || Object.isFrozen(v)) return;
    Object.freeze(v);
    for (const child of Object.values(v)) freeze(child);
  };
  freeze(copy);
  return copy;
}

describe('claims', () => {
  it('creates a SUBMITTING item leased to the claimer, with the split it chose and one history entry', () => {
    // Act
    const item = newClaimItem(makeJob({ metadata: { orderId: 42 } }), claimOpts(), at());
    // Assess
    expect(item).toEqual({
      id: 'order-42', kind: 'MESSAGE', status: 'SUBMITTING', statusRank: 10, to: '+6591234567', from: '8x8',
      encoding: 'GSM7', segments: 1, concat: 'udh8', concatRef: 7, sqsMessageId: 'sqs-1', createdAt: iso(), updatedAt: iso(),
      attempts: 1, unknownOutcomes: 0, parts: {}, history: [{ status: 'SUBMITTING', at: iso() }], claimOwner: 'task-a',
      claimExpiresAt: T0 + 15_000, previousClaimOwner: '', version: 1, expiresAt: T0 / 1000 + TTL, metadata: { orderId: 42 },
    });
    expect(newClaimItem(makeJob(), claimOpts(), at())).not.toHaveProperty('metadata');
  });

  it('lets the lease holder claim again, anyone once the lease ran out, and nobody a message past SUBMITTING', () => {
    // Prepare
    const item = newClaimItem(makeJob(), claimOpts('task-a'), at());
    // Act / Assess
    expect(mayClaim(undefined, 'task-b', T0)).toBe(true);
    expect(mayClaim(item, 'task-a', T0 + 1)).toBe(true);
    expect(mayClaim(item, 'task-b', T0 + 15_000)).toBe(false);
    expect(mayClaim(item, 'task-b', T0 + 15_001)).toBe(true);
    expect(mayClaim(submitted(), 'task-a', T0 + 1)).toBe(false);
  });

  it("takes an expired lease over counting the attempt, keeping the first claim's split, parts and history", () => {
    // Prepare
    const first = withAccepted(newClaimItem(makeJob(), claimOpts('task-a', 2), at()), [accepted(1)], [], 2, at(100));
    // Act
    const retry = withClaim(frozen(first), makeJob(), { ...claimOpts('task-b', 3), encoding: 'UCS2', concatRef: 99 }, at(20_000));
    // Assess
    expect(retry).toMatchObject({
      attempts: 2, claimOwner: 'task-b', claimExpiresAt: T0 + 35_000, previousClaimOwner: 'task-a',
      encoding: 'GSM7', segments: 2, concatRef: 7, createdAt: iso(), parts: first.parts, history: first.history, version: first.version,
    });
    expect(acceptedPartsOf(retry)).toEqual({ 1: 'smsc-1' });
    expect(planOf(retry, claimOpts('task-b', 3))).toEqual({ encoding: 'GSM7', segments: 2, concat: 'udh8', concatRef: 7 });
    expect(withClaim(first, makeJob(), claimOpts('task-b'), at(1_000))).toBeUndefined();
  });

  it('starts an unclaimed record and an invalid one as the store writes them', () => {
    expect(skeletonItem('x', at())).toMatchObject({ status: 'SUBMITTING', attempts: 0, version: 0, parts: {}, history: [{ status: 'SUBMITTING', at: iso() }] });
    expect(invalidItem('x', 'to is missing', 'sqs-9', at())).toMatchObject({
      status: 'INVALID', statusRank: 100, reason: 'to is missing', sqsMessageId: 'sqs-9', doneAt: iso(), version: 1,
      history: [{ status: 'INVALID', at: iso() }],
    });
  });
});

describe('applyToPart', () => {
  it('moves a part forward, with the receipt fields, and ends it at a final receipt', () => {
    // Prepare
    const part: PartState = { smscMessageId: 'smsc-1', status: 'SUBMITTED' };
    // Act
    const enroute = applyToPart(frozen(part), makeReceipt(1, 'ENROUTE', 1_000));
    const delivered = applyToPart(frozen(enroute), makeReceipt(1, 'DELIVERED', 2_000, { networkError: '3:0' }));
    // Assess
    expect(enroute).toEqual({ smscMessageId: 'smsc-1', status: 'ENROUTE', stat: 'ENROUTE', err: '000' });
    expect(delivered).toEqual({ smscMessageId: 'smsc-1', status: 'DELIVERED', stat: 'DELIVER', err: '000', networkError: '3:0', doneAt: iso(2_000) });
  });

  it('changes nothing for a duplicate, a receipt behind the part, or anything after a final state', () => {
    const enroute: PartState = { smscMessageId: 'smsc-1', status: 'ACCEPTED' };
    expect(applyToPart(enroute, makeReceipt(1, 'ACCEPTED'))).toBeUndefined();
    expect(applyToPart(enroute, makeReceipt(1, 'ENROUTE'))).toBeUndefined();
    expect(applyToPart({ status: 'UNDELIVERED' }, makeReceipt(1, 'DELIVERED'))).toBeUndefined();
  });

  it('gives a part not recorded yet the id the receipt carries, until its response is recorded', () => {
    expect(applyToPart(undefined, makeReceipt(3, 'DELIVERED'))).toMatchObject({ smscMessageId: 'smsc-3', status: 'DELIVERED' });
  });
});

describe('deriveFromParts', () => {
  const parts = (...statuses: MessageStatus[]): Record<string, PartState> =>
    Object.fromEntries(statuses.map((status, i) => [String(i + 1), { smscMessageId: `smsc-${i + 1}`, status }]));

  it('says nothing until every part is present', () => {
    expect(deriveFromParts({ 2: { status: 'DELIVERED' } }, 2)).toBeUndefined();
    expect(deriveFromParts({}, 0)).toBeUndefined();
  });

  /** The README's rule, word for word: all delivered → DELIVERED; any failed → that failure; otherwise the most advanced in progress. */
  function readmeRule(statuses: readonly MessageStatus[]): MessageStatus | undefined {
    const firstFailure = statuses.find((s) => FAILURE_STATES.has(s));
    if (firstFailure !== undefined) return firstFailure;
    if (statuses.every((s) => s === 'DELIVERED')) return 'DELIVERED';
    const inProgress = statuses.filter((s) => !isFinal(s)).sort((a, b) => STATUS_RANK[b] - STATUS_RANK[a]);
    return inProgress[0];
  }

  it("gives a long message the README's status for every combination of its parts' states (1 to 3 parts)", () => {
    const combinations = (n: number): MessageStatus[][] => (n === 0 ? [[]] : combinations(n - 1).flatMap((c) => PART_STATUSES.map((s) => [...c, s])));
    for (const n of [1, 2, 3]) {
      for (const statuses of combinations(n)) {
        // Act
        const derived = deriveFromParts(parts(...statuses), n);
        // Assess: the status, decided by a part in that state
        expect(derived?.status, statuses.join(',')).toBe(readmeRule(statuses));
        expect(derived?.part.status).toBe(derived?.status);
      }
    }
  });

  it('lets the first failed part, in part order, decide', () => {
    expect(deriveFromParts(parts('DELIVERED', 'EXPIRED', 'UNDELIVERED'), 3)).toEqual({ status: 'EXPIRED', part: { smscMessageId: 'smsc-2', status: 'EXPIRED' } });
  });
});

describe('deriveStatus', () => {
  it('records SUBMITTED in the history when a receipt overtook the record of the submit', () => {
    // Prepare: a claim whose only part is already delivered
    const claim = newClaimItem(makeJob(), claimOpts(), at());
    const item = { ...claim, parts: { 1: { smscMessageId: 'smsc-1', status: 'DELIVERED' as const, stat: 'DELIVRD', doneAt: iso(5_000) } } };
    // Act
    const next = deriveStatus(frozen(item), 1, T0 + 6_000);
    // Assess
    expect(next).toMatchObject({ status: 'DELIVERED', statusRank: 100, stat: 'DELIVRD', doneAt: iso(5_000) });
    expect(next.history).toEqual([
      { status: 'SUBMITTING', at: iso() },
      { status: 'SUBMITTED', at: iso(6_000) },
      { status: 'DELIVERED', at: iso(6_000) },
    ]);
  });

  it('returns the item itself when its parts say nothing further along', () => {
    const item = submitted();
    expect(deriveStatus(item, 1, T0 + 9_000)).toBe(item);
  });
});

describe('withAccepted', () => {
  it('makes a single-part message SUBMITTED and ends its claim', () => {
    // Act
    const item = withAccepted(frozen(newClaimItem(makeJob(), claimOpts(), at())), [accepted(1)], [], 1, at(1_000));
    // Assess
    expect(item).toMatchObject({ status: 'SUBMITTED', statusRank: 20, submittedAt: iso(1_000), updatedAt: iso(1_000), parts: { 1: { smscMessageId: 'smsc-1', status: 'SUBMITTED' } } });
    expect(item).not.toHaveProperty('claimOwner');
    expect(item).not.toHaveProperty('claimExpiresAt');
  });

  it('keeps a long message SUBMITTING, and its claim, until its last part is accepted', () => {
    const item = withAccepted(newClaimItem(makeJob(), claimOpts('task-a', 2), at()), [accepted(1)], [], 2, at(1_000));
    expect(item).toMatchObject({ status: 'SUBMITTING', claimOwner: 'task-a' });
    expect(item).not.toHaveProperty('submittedAt');
  });

  it('applies the receipts that waited for the part', () => {
    const item = withAccepted(newClaimItem(makeJob(), claimOpts(), at()), [accepted(1)], [{ part: 1, receipt: makeReceipt(1, 'DELIVERED') }], 1, at(6_000));
    expect(item).toMatchObject({ status: 'DELIVERED', doneAt: iso(5_000), parts: { 1: { smscMessageId: 'smsc-1', status: 'DELIVERED' } } });
  });

  it("keeps a part's receipt state when its acceptance is recorded again, and a FAILED message FAILED", () => {
    const delivered = withReceipt(submitted(), 1, makeReceipt(1, 'DELIVERED'), at(5_000)) as StatusItem;
    expect(withAccepted(delivered, [{ ...accepted(1), smscMessageId: 'smsc-1b' }], [], 1, at(6_000)).parts['1']).toMatchObject({ smscMessageId: 'smsc-1b', status: 'DELIVERED' });
    const failed = withFailed(newClaimItem(makeJob(), claimOpts(), at()), { code: 'x', name: 'y', description: 'z' }, at(1)) as StatusItem;
    expect(withAccepted(failed, [accepted(1)], [], 1, at(2)).status).toBe('FAILED');
  });
});

describe('withReceipt', () => {
  it('delivers a submitted message, and ignores the same receipt again', () => {
    // Act
    const delivered = withReceipt(frozen(submitted()), 1, makeReceipt(1, 'DELIVERED'), at(5_000));
    // Assess
    expect(delivered).toMatchObject({ status: 'DELIVERED', stat: 'DELIVER', err: '000', doneAt: iso(5_000), updatedAt: iso(5_000) });
    expect(delivered?.history.map((h) => h.status)).toEqual(['SUBMITTING', 'SUBMITTED', 'DELIVERED']);
    expect(withReceipt(delivered as StatusItem, 1, makeReceipt(1, 'DELIVERED'), at(6_000))).toBeUndefined();
  });

  it('ends the claim of a message a receipt moves past SUBMITTED, and keeps a part-way long message SUBMITTING', () => {
    const claim = newClaimItem(makeJob(), claimOpts(), at());
    const early = withReceipt(claim, 1, makeReceipt(1, 'ENROUTE'), at(1));
    expect(early?.status).toBe('ENROUTE');
    expect(early).not.toHaveProperty('claimOwner');
    const long = withAccepted(newClaimItem(makeJob(), claimOpts('task-a', 2), at()), [accepted(1)], [], 2, at(1));
    expect(withReceipt(long, 1, makeReceipt(1, 'DELIVERED'), at(2))).toMatchObject({ status: 'SUBMITTING', claimOwner: 'task-a' });
  });
});

describe('withFailed', () => {
  const error: ErrorDetail & { extra?: string } = { code: '0x0000000b', name: 'ESME_RINVDSTADR', description: 'Invalid destination address', extra: 'dropped' };

  it('fails a SUBMITTING message, keeping the three error fields, and ends its claim', () => {
    // Act
    const failed = withFailed(frozen(newClaimItem(makeJob(), claimOpts(), at())), error, at(1_000));
    // Assess
    expect(failed).toMatchObject({ status: 'FAILED', statusRank: 100, doneAt: iso(1_000), lastError: { code: '0x0000000b', name: 'ESME_RINVDSTADR', description: 'Invalid destination address' } });
    expect(failed?.lastError).not.toHaveProperty('extra');
    expect(failed?.history.map((h) => h.status)).toEqual(['SUBMITTING', 'FAILED']);
    expect(failed).not.toHaveProperty('claimOwner');
  });

  it('never overwrites a message the SMSC accepted', () => {
    expect(withFailed(submitted(), error, at(2_000))).toBeUndefined();
  });
});

describe('a final status for every message (docs/architecture.md §7.2)', () => {
  /** A message with `n` parts accepted at T0 + 1 s, by the store's rule. */
  const open = (n = 1, job: Partial<Job> = {}): StatusItem =>
    withAccepted(newClaimItem(makeJob(job), claimOpts('task-a', n), at()), Array.from({ length: n }, (_, i) => accepted(i + 1)), [], n, at(1_000), RULE);
  const due = (item: StatusItem) => ((item.finalBy ?? 0) - T0 / 1000) * 1000;

  it('puts a SUBMITTED message in its shard, due the timeout after acceptance, or its validity period when shorter', () => {
    expect(open()).toMatchObject({ status: 'SUBMITTED', openShard: 'OPEN#3', finalBy: T0 / 1000 + 1 + 72 * 3600 });
    expect(open(1, { validityPeriodSeconds: 600 })).toMatchObject({ validityPeriodSeconds: 600, finalBy: T0 / 1000 + 1 + 600 });
    expect(open(1, { validityPeriodSeconds: 30 * 86_400 }).finalBy).toBe(T0 / 1000 + 1 + 72 * 3600);
    // Not before the last part, and never moved by a later write while it waits.
    const part = withAccepted(newClaimItem(makeJob(), claimOpts('task-a', 2), at()), [accepted(1)], [], 2, at(1_000), RULE);
    expect(part).not.toHaveProperty('openShard');
    const enroute = withReceipt(open(), 1, makeReceipt(1, 'ENROUTE', 9 * HOURS), at(9 * HOURS), RULE);
    expect(enroute).toMatchObject({ status: 'ENROUTE', openShard: 'OPEN#3', finalBy: open().finalBy });
  });

  it('keeps both attributes in the write that ends the message (its index entry is not rewritten); one never open never gets them', () => {
    const delivered = withReceipt(frozen(open()), 1, makeReceipt(1, 'DELIVERED'), at(5_000), RULE);
    expect(delivered?.status).toBe('DELIVERED');
    expect(delivered).toMatchObject({ openShard: 'OPEN#3', finalBy: open().finalBy });
    // A receipt that waited for its part: final in the very write that records the acceptance, never open.
    const early = withAccepted(newClaimItem(makeJob(), claimOpts(), at()), [accepted(1)], [{ part: 1, receipt: makeReceipt(1, 'UNDELIVERED') }], 1, at(6_000), RULE);
    expect(early.status).toBe('UNDELIVERED');
    expect(early).not.toHaveProperty('openShard');
    expect(early).not.toHaveProperty('finalBy');
  });

  it('makes a message past its deadline UNKNOWN (no receipt) once: one history entry, its index entry as it was', () => {
    // Prepare
    const item = open(1, { validityPeriodSeconds: 600 });
    // Act
    const early = timedOut(item, at(due(item) - 1_000));
    const late = timedOut(frozen(item), at(due(item)));
    // Assess
    expect(early).toBeUndefined();
    expect(late).toMatchObject({ status: 'UNKNOWN', statusRank: TIMED_OUT_RANK, reason: NO_RECEIPT, doneAt: iso(due(item)), updatedAt: iso(due(item)) });
    expect(late?.history.map((h) => h.status)).toEqual(['SUBMITTING', 'SUBMITTED', 'UNKNOWN']);
    expect(late).toMatchObject({ openShard: item.openShard, finalBy: item.finalBy });
    expect(late && isOpen(late)).toBe(false);
    expect(late && timedOut(late, at(due(item) + HOURS))).toBeUndefined();
  });

  it('leaves SUBMITTING and final messages alone', () => {
    const far = at(1_000 * HOURS);
    expect(timedOut(newClaimItem(makeJob(), claimOpts(), at()), far)).toBeUndefined();
    expect(timedOut(withReceipt(open(), 1, makeReceipt(1, 'DELIVERED'), at(5_000), RULE) as StatusItem, far)).toBeUndefined();
    expect(timedOut(withFailed(newClaimItem(makeJob(), claimOpts(), at()), { code: 'x', name: 'y', description: 'z' }, at(1)) as StatusItem, far)).toBeUndefined();
  });

  it('lets a final receipt that comes after the timeout replace its UNKNOWN, and a receipt in progress only move the part', () => {
    // Prepare
    const item = open();
    const unknown = timedOut(item, at(due(item))) as StatusItem;
    // Act
    const enroute = withReceipt(frozen(unknown), 1, makeReceipt(1, 'ENROUTE', due(item) + 1_000), at(due(item) + 1_000), RULE) as StatusItem;
    const delivered = withReceipt(frozen(enroute), 1, makeReceipt(1, 'DELIVERED', due(item) + 2_000), at(due(item) + 2_000), RULE);
    // Assess
    expect(enroute).toMatchObject({ status: 'UNKNOWN', statusRank: TIMED_OUT_RANK, reason: NO_RECEIPT, parts: { 1: { status: 'ENROUTE' } } });
    expect(enroute).toMatchObject({ openShard: item.openShard, finalBy: item.finalBy });
    expect(delivered).toMatchObject({ status: 'DELIVERED', statusRank: 100, stat: 'DELIVER', doneAt: iso(due(item) + 2_000) });
    expect(delivered).not.toHaveProperty('reason');
    expect(delivered).toMatchObject({ openShard: item.openShard, finalBy: item.finalBy });
    expect(delivered?.history.map((h) => h.status)).toEqual(['SUBMITTING', 'SUBMITTED', 'UNKNOWN', 'DELIVERED']);
    // The SMSC's own UNKNOWN makes it final for good, without a second UNKNOWN entry.
    const smscUnknown = withReceipt(unknown, 1, makeReceipt(1, 'UNKNOWN', due(item) + 3_000), at(due(item) + 3_000), RULE);
    expect(smscUnknown).toMatchObject({ status: 'UNKNOWN', statusRank: 100 });
    expect(smscUnknown).not.toHaveProperty('reason');
    expect(smscUnknown?.history.map((h) => h.status)).toEqual(['SUBMITTING', 'SUBMITTED', 'UNKNOWN']);
    expect(withReceipt(smscUnknown as StatusItem, 1, makeReceipt(1, 'DELIVERED'), at(due(item) + 4_000), RULE)).toBeUndefined();
  });
});

/** One thing that can happen to a message of `n` parts. */
type Event =
  | { kind: 'accepted'; parts: number[] }
  | { kind: 'receipt'; part: number; status: ReceiptStatus }
  | { kind: 'failed' }
  | { kind: 'claim'; owner: string }
  | { kind: 'timeout' };

function events(n: number): fc.Arbitrary<Event[]> {
  const partNumbers = Array.from({ length: n }, (_, i) => i + 1);
  const event: fc.Arbitrary<Event> = fc.oneof(
    fc.record({ kind: fc.constant('accepted' as const), parts: fc.subarray(partNumbers, { minLength: 1 }) }),
    fc.record({ kind: fc.constant('receipt' as const), part: fc.integer({ min: 1, max: n }), status: fc.constantFrom(...RECEIPT_STATUSES) }),
    fc.constant({ kind: 'failed' as const }),
    fc.record({ kind: fc.constant('claim' as const), owner: fc.constantFrom('task-a', 'task-b') }),
    fc.constant({ kind: 'timeout' as const }),
  );
  return fc.array(event, { maxLength: 25 });
}

/** What the store does with one event; `step` spaces the events 1 s apart. */
function apply(item: StatusItem, e: Event, n: number, step: number): StatusItem {
  const t = at(1_000 * (step + 1));
  switch (e.kind) {
    case 'accepted':
      return withAccepted(item, e.parts.map(accepted), [], n, t, RULE);
    case 'receipt':
      return withReceipt(item, e.part, makeReceipt(e.part, e.status, t.now - T0), t, RULE) ?? item;
    case 'failed':
      return withFailed(item, { code: 'SMPP_TIMEOUT', name: 'SmppError', description: 'no answer' }, t) ?? item;
    case 'claim':
      return withClaim(item, makeJob(), claimOpts(e.owner, n), t) ?? item;
    case 'timeout':
      // The sweep, long after any deadline.
      return timedOut(item, at(1_000 * step + 1_000 * HOURS)) ?? item;
  }
}

/** The rank each history entry stood for: the sweep's UNKNOWN (the one entry a final status may follow) at TIMED_OUT_RANK. */
function historyRanks(item: StatusItem): number[] {
  const last = item.history.length - 1;
  return item.history.map((h, i) => (h.status === 'UNKNOWN' && (i < last || item.statusRank === TIMED_OUT_RANK) ? TIMED_OUT_RANK : STATUS_RANK[h.status]));
}

describe('properties over any sequence of events', () => {
  const parts = fc.integer({ min: 1, max: 3 });

  it('never lowers the status rank, a part, or changes a final status (but for the sweep\'s UNKNOWN, which only a final one replaces)', () => {
    fc.assert(
      fc.property(parts.chain((n) => fc.tuple(fc.constant(n), events(n))), ([n, seq]) => {
        let item = newClaimItem(makeJob(), claimOpts('task-a', n), at());
        seq.forEach((e, step) => {
          // Act
          const next = apply(frozen(item), e, n, step);
          // Assess
          expect(next.statusRank).toBeGreaterThanOrEqual(item.statusRank);
          if (isFinal(item.status) && item.statusRank !== TIMED_OUT_RANK) expect(next).toMatchObject({ status: item.status, statusRank: item.statusRank });
          if (item.statusRank === TIMED_OUT_RANK && next.statusRank !== item.statusRank) expect(next.statusRank).toBe(100);
          for (const [k, p] of Object.entries(item.parts)) {
            const after = next.parts[k];
            expect(after && STATUS_RANK[after.status]).toBeGreaterThanOrEqual(STATUS_RANK[p.status]);
            if (isFinal(p.status)) expect(after?.status).toBe(p.status);
          }
          item = next;
        });
      }),
      { numRuns },
    );
  });

  it('adds one history entry per status change (two when a receipt overtook the submit), and none otherwise', () => {
    fc.assert(
      fc.property(parts.chain((n) => fc.tuple(fc.constant(n), events(n))), ([n, seq]) => {
        let item = newClaimItem(makeJob(), claimOpts('task-a', n), at());
        seq.forEach((e, step) => {
          // Act
          const next = apply(item, e, n, step);
          // Assess
          const added = next.history.slice(item.history.length);
          expect(next.history.slice(0, item.history.length)).toEqual(item.history);
          if (next.status === item.status) expect(added).toEqual([]);
          else {
            // FAILED comes from the submit itself; only a receipt can overtake the record of a submit.
            const skipped = e.kind !== 'failed' && item.statusRank < STATUS_RANK.SUBMITTED && next.statusRank > STATUS_RANK.SUBMITTED;
            expect(added.map((h) => h.status)).toEqual(skipped ? ['SUBMITTED', next.status] : [next.status]);
          }
          item = next;
        });
        // The whole timeline only ever goes forward, and ends at the current status.
        const ranks = historyRanks(item);
        expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
        expect(new Set(ranks).size).toBe(ranks.length);
        expect(item.history.at(-1)?.status).toBe(item.status);
      }),
      { numRuns },
    );
  });

  it('ends in the same parts, and the same final status, whether the receipts came before the submit record or after it', () => {
    const scenario = parts.chain((n) =>
      fc.tuple(fc.constant(n), fc.array(fc.record({ part: fc.integer({ min: 1, max: n }), status: fc.constantFrom(...RECEIPT_STATUSES) }), { maxLength: 8 }), fc.boolean()),
    );
    fc.assert(
      fc.property(scenario, ([n, receipts, claimed]) => {
        // Prepare
        const all = Array.from({ length: n }, (_, i) => accepted(i + 1));
        const start = claimed ? newClaimItem(makeJob(), claimOpts('task-a', n), at()) : skeletonItem('order-42', at());
        const rs = receipts.map((r, i) => ({ part: r.part, receipt: makeReceipt(r.part, r.status, 1_000 * (i + 1)) }));
        // Act: parked, then applied with the record; or applied one by one after it
        const before = withAccepted(start, all, rs, n, at(60_000));
        let after = withAccepted(start, all, [], n, at(500));
        rs.forEach(({ part, receipt }, i) => (after = withReceipt(after, part, receipt, at(1_000 * (i + 1))) ?? after));
        // Assess
        expect(before.parts).toEqual(after.parts);
        expect(isFinal(before.status)).toBe(isFinal(after.status));
        if (!isFinal(after.status)) {
          // In progress, the status is the furthest any part has been: one by one, that may be a
          // state a part has since left for a final one, while the others are still behind it.
          expect(after.statusRank).toBeGreaterThanOrEqual(before.statusRank);
          return;
        }
        // A long message whose parts fail in different ways ends in the failure seen first: when the
        // receipts came early, the first by part order; when they came one by one, the first to arrive.
        const failures = new Set(Object.values(after.parts).map((p) => p.status).filter((s) => FAILURE_STATES.has(s)));
        if (failures.size <= 1) expect(before.status).toBe(after.status);
        else expect([...failures]).toEqual(expect.arrayContaining([before.status, after.status]));
      }),
      { numRuns },
    );
  });

  it('gives a message openShard and finalBy when it is first open, and never moves or removes them', () => {
    fc.assert(
      fc.property(parts.chain((n) => fc.tuple(fc.constant(n), events(n))), ([n, seq]) => {
        let item = newClaimItem(makeJob(), claimOpts('task-a', n), at());
        let wasOpen = false;
        seq.forEach((e, step) => {
          // Act
          const next = apply(item, e, n, step);
          wasOpen ||= isOpen(next);
          // Assess: in the index from its first open write on, never rewritten (an index write each time)
          expect(next.openShard !== undefined, e.kind).toBe(wasOpen);
          expect(next.finalBy !== undefined).toBe(wasOpen);
          if (item.finalBy !== undefined) expect([next.openShard, next.finalBy]).toEqual([item.openShard, item.finalBy]);
          item = next;
        });
      }),
      { numRuns },
    );
  });

  it('ends in the status final receipts give it, whether the sweep made it UNKNOWN before they came or not', () => {
    const finals = RECEIPT_STATUSES.filter((s) => isFinal(s));
    const scenario = parts.chain((n) =>
      fc.tuple(fc.constant(n), events(n).map((seq) => seq.filter((e) => e.kind !== 'timeout')), fc.array(fc.constantFrom(...finals), { minLength: n, maxLength: n })),
    );
    fc.assert(
      fc.property(scenario, ([n, seq, statuses]) => {
        // Prepare: any history, every part accepted, then a final receipt for every part, with or without the sweep first
        let item = newClaimItem(makeJob(), claimOpts('task-a', n), at());
        [...seq, { kind: 'accepted' as const, parts: Array.from({ length: n }, (_, i) => i + 1) }].forEach((e, step) => (item = apply(item, e, n, step)));
        const receipts = (start: StatusItem): StatusItem =>
          statuses.reduce((acc, status, i) => apply(acc, { kind: 'receipt', part: i + 1, status }, n, seq.length + 2 + i), start);
        const swept = apply(item, { kind: 'timeout' }, n, seq.length + 1);
        // Act
        const without = receipts(item);
        const withTimeout = receipts(swept);
        // Assess
        expect(withTimeout).toMatchObject({ status: without.status, statusRank: without.statusRank, parts: without.parts });
        expect(withTimeout.stat).toBe(without.stat);
        expect(swept === item).toBe(!isOpen(item));
        if (swept === item) return;
        // It was open: the receipts end it, after the sweep's one entry.
        expect(withTimeout.statusRank).toBe(100);
        expect(withTimeout).not.toHaveProperty('reason');
        expect(withTimeout.history.map((h) => h.status)).toEqual([
          ...item.history.map((h) => h.status),
          'UNKNOWN',
          ...(withTimeout.status === 'UNKNOWN' ? [] : [withTimeout.status]),
        ]);
      }),
      { numRuns },
    );
  });
});
