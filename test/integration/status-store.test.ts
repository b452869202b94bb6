/**
 * StatusStore through the real SDK client against DynamoDB Local (one JVM and one table for this
 * file; every test uses its own ids). DynamoDB Local writes only ~100–600 items/s, so item counts
 * stay small.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { MessageStatus, type ErrorDetail, type Job, type Receipt, type ReceiptStatus } from '../../service/src/domain.js';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { MoStore } from '../../service/src/aws/mo-store.js';
import { StatusStore, type ClaimOptions, type StatusItem } from '../../service/src/aws/status-store/index.js';
import { useLocalAws, uniqueName } from '../support/aws.js';
import { countCalls, diffCounts, type CallCounter } from '../support/sdk-counter.js';
import { smscIdKeys } from '../../service/src/core/receipt-keys.js';

const aws = useLocalAws();
let tableName: string;

beforeAll(async () => {
  tableName = await aws.sharedTable();
});

const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const LEASE_MS = 60_000;

function makeStore(options: { clock?: () => number; ttlDays?: number; client?: DynamoDBClient; receiptWaitMs?: number } = {}): StatusStore {
  return new StatusStore({
    client: options.client ?? aws.dynamodb,
    tableName,
    clock: options.clock ?? (() => T0),
    ...(options.ttlDays === undefined ? {} : { ttlDays: options.ttlDays }),
    ...(options.receiptWaitMs === undefined ? {} : { receiptWaitMs: options.receiptWaitMs }),
  });
}

/** A store on a client of its own whose calls are counted by command. */
function countedStore(options: { receiptWaitMs?: number } = {}): { store: StatusStore; calls: CallCounter; close(): void } {
  const client = new DynamoDBClient({});
  const calls = countCalls(client);
  return { store: makeStore({ client, ...options }), calls, close: () => client.destroy() };
}

/**
 * A client of its own whose first call matching `holds` waits until `release()`; `held` resolves
 * when that call is waiting. For forcing one interleaving of two tasks' writes.
 */
function heldCalls(holds: (name: string, input: { Item?: Record<string, { S?: string }> }) => boolean): { client: DynamoDBClient; held: Promise<void>; release(): void } {
  const client = new DynamoDBClient({});
  let onHeld: () => void = () => undefined;
  let release: () => void = () => undefined;
  const held = new Promise<void>((r) => (onHeld = r));
  const released = new Promise<void>((r) => (release = r));
  let used = false;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (!used && holds((context.commandName ?? '').replace(/Command$/, ''), args.input as { Item?: Record<string, { S?: string }> })) {
        used = true;
        onHeld();
        await released;
      }
      return next(args);
    },
    { step: 'initialize', name: 'testGate' },
  );
  return { client, held, release };
}

function makeJob(overrides: Partial<Job> = {}): Job {
  return { id: uniqueName('job'), to: '+6591234567', from: '8x8', text: 'Hello', encoding: 'auto', receipt: true, ...overrides };
}

function claimOpts(owner: string, segments = 1): ClaimOptions {
  return { owner, leaseMs: LEASE_MS, sqsMessageId: uniqueName('sqs'), encoding: 'GSM7', segments, concat: 'udh8', concatRef: 7 };
}

function makeReceipt(smscMessageId: string, status: ReceiptStatus, overrides: Partial<Receipt> = {}): Receipt {
  const stat = { DELIVERED: 'DELIVRD', UNDELIVERED: 'UNDELIV', ENROUTE: 'ENROUTE', ACCEPTED: 'ACCEPTD', EXPIRED: 'EXPIRED', REJECTED: 'REJECTD', DELETED: 'DELETED', UNKNOWN: 'UNKNOWN' }[status];
  return { smscMessageId, status, stat, err: status === 'DELIVERED' ? '000' : '001', receivedAt: new Date(T0 + 5_000).toISOString(), ...overrides };
}

/** One SMSC id with a single correlation key unique to the test. */
function makeSmscId(): { smscMessageId: string; keys: string[] } {
  const smscMessageId = uniqueName('smsc');
  return { smscMessageId, keys: [smscMessageId] };
}

async function getItem(store: StatusStore, id: string): Promise<StatusItem> {
  const item = await store.get(id);
  if (item === undefined) throw new Error(`no item ${id}`);
  return item;
}

/** Two single-part jobs claimed by task-a on `store` (one turn), with the SMSC ids they will get. */
async function twoClaimed(store: StatusStore): Promise<{ one: Job; two: Job; s1: { smscMessageId: string; keys: string[] }; s2: { smscMessageId: string; keys: string[] } }> {
  const [one, two] = [makeJob(), makeJob()];
  await Promise.all([store.claim(one, claimOpts('task-a')), store.claim(two, claimOpts('task-a'))]);
  return { one, two, s1: makeSmscId(), s2: makeSmscId() };
}

/** A single-part job, claimed and accepted by the SMSC. */
async function submitted(store: StatusStore): Promise<{ job: Job; smsc: { smscMessageId: string; keys: string[] } }> {
  const job = makeJob();
  const smsc = makeSmscId();
  await store.claim(job, claimOpts('task-a'));
  await store.recordAccepted(job.id, 'task-a', [{ part: 1, ...smsc }], 1);
  return { job, smsc };
}

describe('StatusStore (DynamoDB Local)', () => {
  describe('claim', () => {
    it('claims a new job and records it as SUBMITTING with one attempt', async () => {
      // Prepare
      const store = makeStore();
      const job = makeJob({ metadata: { orderId: 42, tags: ['a'] } });
      // Act
      const outcome = await store.claim(job, claimOpts('task-a'));
      // Assess
      expect(outcome).toEqual({ outcome: 'claimed', acceptedParts: {}, plan: { encoding: 'GSM7', segments: 1, concat: 'udh8', concatRef: 7 } });
      const item = await getItem(store, job.id);
      expect(item).toMatchObject({
        kind: 'MESSAGE',
        status: 'SUBMITTING',
        statusRank: 10,
        to: job.to,
        from: job.from,
        encoding: 'GSM7',
        segments: 1,
        attempts: 1,
        unknownOutcomes: 0,
        claimOwner: 'task-a',
        claimExpiresAt: T0 + LEASE_MS,
        createdAt: new Date(T0).toISOString(),
        metadata: { orderId: 42, tags: ['a'] },
        history: [{ status: 'SUBMITTING', at: new Date(T0).toISOString() }],
      });
    });

    it('answers done to a second claim of the same id once its parts are accepted', async () => {
      // Prepare
      const store = makeStore();
      const { job } = await submitted(store);
      // Act
      const second = await store.claim(job, claimOpts('task-b'));
      // Assess
      expect(second).toEqual({ outcome: 'done', status: 'SUBMITTED' });
      const item = await getItem(store, job.id);
      expect(item.attempts).toBe(1);
      expect(item.claimOwner).toBeUndefined();
    });

    it('lets exactly one of ten concurrent claimers win', async () => {
      // Prepare
      const store = makeStore();
      const job = makeJob();
      // Act
      const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => store.claim(job, claimOpts(`task-${i}`))));
      // Assess
      expect(outcomes.filter((o) => o.outcome === 'claimed')).toHaveLength(1);
      expect(outcomes.filter((o) => o.outcome === 'busy')).toHaveLength(9);
      expect((await getItem(store, job.id)).attempts).toBe(1);
    });

    it('lets the lease holder claim again, as when the answer to its first claim was lost', async () => {
      // Prepare
      const store = makeStore();
      const job = makeJob();
      await store.claim(job, claimOpts('task-a'));
      // Act: a fresh store, so nothing of the first claim is remembered in memory.
      const again = await makeStore().claim(job, claimOpts('task-a'));
      // Assess
      expect(again).toEqual({ outcome: 'claimed', acceptedParts: {}, plan: { encoding: 'GSM7', segments: 1, concat: 'udh8', concatRef: 7 } });
      expect((await getItem(store, job.id)).attempts).toBe(2);
    });

    it('lets another owner take over once the lease has expired, but not before', async () => {
      // Prepare
      let now = T0;
      const store = makeStore({ clock: () => now });
      const job = makeJob();
      await store.claim(job, claimOpts('task-a'));
      now = T0 + LEASE_MS - 1;
      const early = await store.claim(job, claimOpts('task-b'));
      // Act
      now = T0 + LEASE_MS + 1;
      const late = await store.claim(job, claimOpts('task-b'));
      // Assess
      expect(early).toEqual({ outcome: 'busy' });
      expect(late.outcome).toBe('claimed');
      expect(await getItem(store, job.id)).toMatchObject({ claimOwner: 'task-b', attempts: 2, createdAt: new Date(T0).toISOString() });
    });

    it('returns the parts accepted on an earlier attempt so a retry does not send them again', async () => {
      // Prepare
      let now = T0;
      const store = makeStore({ clock: () => now });
      const job = makeJob();
      const part1 = makeSmscId();
      await store.claim(job, claimOpts('task-a', 2));
      await store.recordAccepted(job.id, 'task-a', [{ part: 1, ...part1 }], 2);
      now = T0 + LEASE_MS + 1;
      // Act
      const retry = await store.claim(job, claimOpts('task-b', 2));
      // Assess
      expect(retry).toEqual({ outcome: 'claimed', acceptedParts: { 1: part1.smscMessageId }, plan: expect.objectContaining({ concatRef: 7 }) });
      expect((await getItem(store, job.id)).status).toBe('SUBMITTING');
    });

    it('gives a retry on another task the split of the first claim, whatever that task would have chosen', async () => {
      // Prepare
      let now = T0;
      const store = makeStore({ clock: () => now });
      const job = makeJob();
      await store.claim(job, { ...claimOpts('task-a', 3), encoding: 'UCS2', concat: 'udh8', concatRef: 41 });
      now = T0 + LEASE_MS + 1;
      // Act
      const retry = await store.claim(job, { ...claimOpts('task-b', 2), encoding: 'GSM7', concat: 'sar', concatRef: 200 });
      // Assess
      expect(retry).toMatchObject({ outcome: 'claimed', plan: { encoding: 'UCS2', segments: 3, concat: 'udh8', concatRef: 41 } });
      expect(await getItem(store, job.id)).toMatchObject({ encoding: 'UCS2', segments: 3, concat: 'udh8', concatRef: 41 });
    });

    it("counts an unknown outcome when it takes over another owner's expired lease, since that owner may have sent it", async () => {
      // Prepare
      let now = T0;
      const store = makeStore({ clock: () => now });
      const job = makeJob();
      await store.claim(job, claimOpts('task-a'));
      now = T0 + LEASE_MS + 1;
      // Act
      await store.claim(job, claimOpts('task-b'));
      // Assess
      const item = await getItem(store, job.id);
      expect(item.unknownOutcomes).toBe(1);
      expect(item.lastError?.code).toBe('LEASE_TAKEN_OVER');
      expect(item.claimOwner).toBe('task-b');
    });

    it('counts no unknown outcome for a claim released by its owner, nor for the owner claiming again', async () => {
      // Prepare
      const store = makeStore();
      const released = makeJob();
      const again = makeJob();
      await store.claim(released, claimOpts('task-a'));
      await store.releaseClaim(released.id, 'task-a');
      await store.claim(again, claimOpts('task-a'));
      // Act
      await store.claim(released, claimOpts('task-b'));
      await store.claim(again, claimOpts('task-a'));
      // Assess
      expect((await getItem(store, released.id)).unknownOutcomes).toBe(0);
      expect((await getItem(store, again.id)).unknownOutcomes).toBe(0);
    });

    it('keeps the claim while only some parts of a long message are accepted', async () => {
      // Prepare
      const store = makeStore();
      const job = makeJob();
      await store.claim(job, claimOpts('task-a', 2));
      // Act
      await store.recordAccepted(job.id, 'task-a', [{ part: 1, ...makeSmscId() }], 2);
      // Assess
      expect(await getItem(store, job.id)).toMatchObject({ status: 'SUBMITTING', claimOwner: 'task-a', claimExpiresAt: T0 + LEASE_MS });
    });

    it('lets the next claim proceed at once after a release, counting the unknown outcome', async () => {
      // Prepare
      const store = makeStore();
      const job = makeJob();
      const timeout: ErrorDetail = { code: 'SMPP_TIMEOUT', name: 'SmppError', description: 'no submit_sm_resp within 10000 ms' };
      await store.claim(job, claimOpts('task-a'));
      // Act
      const released = await store.releaseClaim(job.id, 'task-a', { error: timeout, unknownOutcome: true });
      const next = await store.claim(job, claimOpts('task-b'));
      // Assess
      expect(released).toEqual({ outcome: 'released' });
      expect(next.outcome).toBe('claimed');
      expect(await getItem(store, job.id)).toMatchObject({ status: 'SUBMITTING', unknownOutcomes: 1, attempts: 2, lastError: timeout, claimOwner: 'task-b' });
    });

    it('extends a lease only for its owner', async () => {
      // Prepare
      let now = T0;
      const store = makeStore({ clock: () => now });
      const job = makeJob();
      await store.claim(job, claimOpts('task-a'));
      now = T0 + 1_000;
      // Act
      const mine = await store.extendClaim(job.id, 'task-a', LEASE_MS);
      const theirs = await store.extendClaim(job.id, 'task-b', LEASE_MS);
      // Assess
      expect(mine).toEqual({ outcome: 'extended', claimExpiresAt: T0 + 1_000 + LEASE_MS });
      expect(theirs).toEqual({ outcome: 'lost' });
      expect((await getItem(store, job.id)).claimExpiresAt).toBe(T0 + 1_000 + LEASE_MS);
    });
  });

  describe('status moves only forward', () => {
    it('keeps DELIVERED when a late ENROUTE receipt arrives', async () => {
      // Prepare
      const store = makeStore();
      const { job, smsc } = await submitted(store);
      await store.recordReceipt(makeReceipt(smsc.smscMessageId, 'DELIVERED'), smsc.keys);
      // Act
      const late = await store.recordReceipt(makeReceipt(smsc.smscMessageId, 'ENROUTE'), smsc.keys);
      // Assess
      expect(late).toEqual({ outcome: 'ignored', messageId: job.id });
      expect(await getItem(store, job.id)).toMatchObject({ status: 'DELIVERED', statusRank: 100, stat: 'DELIVRD', err: '000' });
    });

    it('keeps FAILED when the parts are recorded as accepted afterwards', async () => {
      // Prepare
      const store = makeStore();
      const job = makeJob();
      const error: ErrorDetail = { code: 'ESME_RINVDSTADR', name: 'SmppError', description: 'invalid destination address' };
      await store.claim(job, claimOpts('task-a'));
      const failed = await store.recordFailed(job.id, 'task-a', error);
      // Act
      await store.recordAccepted(job.id, 'task-a', [{ part: 1, ...makeSmscId() }], 1);
      // Assess
      expect(failed).toEqual({ outcome: 'recorded' });
      expect(await getItem(store, job.id)).toMatchObject({ status: 'FAILED', lastError: error, doneAt: new Date(T0).toISOString() });
    });

    it('does not let a failure overwrite a message already SUBMITTED', async () => {
      // Prepare
      const store = makeStore();
      const { job } = await submitted(store);
      // Act
      const outcome = await store.recordFailed(job.id, 'stale-task', { code: 'SMPP_CLOSED', name: 'SmppError', description: 'link closed' });
      // Assess
      expect(outcome).toEqual({ outcome: 'unchanged', status: 'SUBMITTED' });
      expect((await getItem(store, job.id)).status).toBe('SUBMITTED');
    });
  });

  describe('receipts', () => {
    /** Two different SMSC ids that share a numeric reading: hex `A` (with letters) and the decimal digits of its value. */
    function collidingIds(): { hex: string; decimal: string } {
      for (;;) {
        const value = BigInt(Math.floor(Math.random() * 2 ** 40));
        const hex = value.toString(16).toUpperCase().padStart(10, '0');
        if (/[A-F]/.test(hex)) return { hex, decimal: value.toString(10).padStart(12, '0') };
      }
    }

    for (const order of ['hex id first', 'decimal id first'] as const) {
      it(`routes each receipt to its own message when two ids share a reading (${order})`, async () => {
        // Prepare
        const taskA = makeStore();
        const { hex, decimal } = collidingIds();
        expect(smscIdKeys(hex).filter((k) => smscIdKeys(decimal).includes(k))).toHaveLength(1);
        const hexJob = makeJob();
        const decimalJob = makeJob();
        await taskA.claim(hexJob, claimOpts('task-a'));
        await taskA.claim(decimalJob, claimOpts('task-a'));
        const record = { hex: () => taskA.recordAccepted(hexJob.id, 'task-a', [{ part: 1, smscMessageId: hex, keys: smscIdKeys(hex) }], 1),
          decimal: () => taskA.recordAccepted(decimalJob.id, 'task-a', [{ part: 1, smscMessageId: decimal, keys: smscIdKeys(decimal) }], 1) };
        if (order === 'hex id first') await record.hex().then(record.decimal);
        else await record.decimal().then(record.hex);
        // Act: the receipts arrive on another task's receiver (no memory of the submits)
        const taskB = makeStore();
        const toDecimal = await taskB.recordReceipt(makeReceipt(decimal, 'UNDELIVERED'), smscIdKeys(decimal));
        const toHex = await taskB.recordReceipt(makeReceipt(hex, 'DELIVERED'), smscIdKeys(hex));
        // Assess
        expect(toDecimal).toEqual({ outcome: 'applied', messageId: decimalJob.id, status: 'UNDELIVERED' });
        expect(toHex).toEqual({ outcome: 'applied', messageId: hexJob.id, status: 'DELIVERED' });
      });
    }

    it('stores one correlation item per part, and a receipt in the other rendering still finds it, on another task', async () => {
      // Prepare: the response gave hex, the receipts on task B give decimal (as some SMSCs do).
      const { hex } = collidingIds();
      const decimal = BigInt(`0x${hex}`).toString(10);
      const taskA = makeStore();
      const job = makeJob();
      await taskA.claim(job, claimOpts('task-a'));
      await taskA.recordAccepted(job.id, 'task-a', [{ part: 1, smscMessageId: hex, keys: smscIdKeys(hex) }], 1);
      // Act
      const outcome = await makeStore().recordReceipt(makeReceipt(decimal, 'DELIVERED'), smscIdKeys(decimal));
      // Assess
      expect(outcome).toEqual({ outcome: 'applied', messageId: job.id, status: 'DELIVERED' });
      const [exact, reading] = smscIdKeys(hex).map((k) => `SMSCID#${k}`);
      expect((await aws.dynamodb.send(new GetItemCommand({ TableName: tableName, Key: { id: { S: exact as string } }, ConsistentRead: true }))).Item).toBeDefined();
      expect((await aws.dynamodb.send(new GetItemCommand({ TableName: tableName, Key: { id: { S: reading as string } }, ConsistentRead: true }))).Item).toBeUndefined();
    });

    it('applies a receipt in the other rendering that overtook its hex response when the part is recorded', async () => {
      // Prepare
      const { hex } = collidingIds();
      const decimal = BigInt(`0x${hex}`).toString(10);
      const store = makeStore();
      const job = makeJob();
      await store.claim(job, claimOpts('task-a'));
      // Act
      const early = await makeStore().recordReceipt(makeReceipt(decimal, 'UNDELIVERED'), smscIdKeys(decimal));
      await store.recordAccepted(job.id, 'task-a', [{ part: 1, smscMessageId: hex, keys: smscIdKeys(hex) }], 1);
      // Assess
      expect(early).toEqual({ outcome: 'parked' });
      expect(await getItem(store, job.id)).toMatchObject({ status: 'UNDELIVERED', parts: { 1: { smscMessageId: hex, status: 'UNDELIVERED' } } });
    });

    it('applies a receipt whose TLV id is corrupted through the text id that matches a submit', async () => {
      // Prepare
      const taskA = makeStore();
      const { job, smsc } = await submitted(taskA);
      const corrupted = `${smsc.smscMessageId}\u0004'`;
      const taskB = makeStore();
      // Act
      const outcome = await taskB.recordReceipt(makeReceipt(corrupted, 'DELIVERED', { alternativeMessageId: smsc.smscMessageId }), [corrupted], smsc.keys);
      // Assess
      expect(outcome).toEqual({ outcome: 'applied', messageId: job.id, status: 'DELIVERED' });
    });

    it('moves a submitted message to DELIVERED and records the receipt fields', async () => {
      // Prepare
      const store = makeStore();
      const { job, smsc } = await submitted(store);
      const receipt = makeReceipt(smsc.smscMessageId, 'DELIVERED', { networkError: '3:0' });
      // Act
      const outcome = await store.recordReceipt(receipt, smsc.keys);
      // Assess
      expect(outcome).toEqual({ outcome: 'applied', messageId: job.id, status: 'DELIVERED' });
      const item = await getItem(store, job.id);
      expect(item).toMatchObject({ status: 'DELIVERED', stat: 'DELIVRD', err: '000', networkError: '3:0', doneAt: receipt.receivedAt, submittedAt: new Date(T0).toISOString() });
      expect(item.parts['1']).toEqual({ smscMessageId: smsc.smscMessageId, status: 'DELIVERED', stat: 'DELIVRD', err: '000', networkError: '3:0', doneAt: receipt.receivedAt });
      expect(item.history.map((h) => h.status)).toEqual(['SUBMITTING', 'SUBMITTED', 'DELIVERED']);
    });

    it('parks a receipt that arrives before the submit response and applies it when the parts are recorded', async () => {
      // Prepare
      const store = makeStore();
      const job = makeJob();
      const smsc = makeSmscId();
      await store.claim(job, claimOpts('task-a'));
      // Act
      const early = await store.recordReceipt(makeReceipt(smsc.smscMessageId, 'DELIVERED'), smsc.keys);
      await store.recordAccepted(job.id, 'task-a', [{ part: 1, ...smsc }], 1);
      // Assess
      expect(early).toEqual({ outcome: 'parked' });
      expect(await getItem(store, job.id)).toMatchObject({ status: 'DELIVERED', parts: { 1: { smscMessageId: smsc.smscMessageId, status: 'DELIVERED' } } });
    });

    it('ends DELIVERED every time a receipt races the recording of its submit response', async () => {
      // Prepare
      const store = makeStore();
      const finals: MessageStatus[] = [];
      for (let i = 0; i < 20; i++) {
        const job = makeJob();
        const smsc = makeSmscId();
        await store.claim(job, claimOpts('task-a'));
        // Act
        await Promise.all([
          store.recordAccepted(job.id, 'task-a', [{ part: 1, ...smsc }], 1),
          store.recordReceipt(makeReceipt(smsc.smscMessageId, 'DELIVERED'), smsc.keys),
        ]);
        finals.push((await getItem(store, job.id)).status);
      }
      // Assess
      expect(finals).toEqual(Array.from({ length: 20 }, () => 'DELIVERED'));
    });

    it('derives UNDELIVERED for a long message whose second part was not delivered', async () => {
      // Prepare
      const store = makeStore();
      const job = makeJob();
      const [p1, p2] = [makeSmscId(), makeSmscId()];
      await store.claim(job, claimOpts('task-a', 2));
      await store.recordAccepted(job.id, 'task-a', [{ part: 1, ...p1 }, { part: 2, ...p2 }], 2);
      // Act
      await store.recordReceipt(makeReceipt(p1.smscMessageId, 'DELIVERED'), p1.keys);
      const second = await store.recordReceipt(makeReceipt(p2.smscMessageId, 'UNDELIVERED'), p2.keys);
      // Assess
      expect(second).toEqual({ outcome: 'applied', messageId: job.id, status: 'UNDELIVERED' });
      expect(await getItem(store, job.id)).toMatchObject({ status: 'UNDELIVERED', stat: 'UNDELIV', parts: { 1: { status: 'DELIVERED' }, 2: { status: 'UNDELIVERED' } } });
    });

    it('derives DELIVERED for a long message only when every part is delivered', async () => {
      // Prepare
      const store = makeStore();
      const job = makeJob();
      const [p1, p2] = [makeSmscId(), makeSmscId()];
      await store.claim(job, claimOpts('task-a', 2));
      await store.recordAccepted(job.id, 'task-a', [{ part: 1, ...p1 }], 2);
      await store.recordAccepted(job.id, 'task-a', [{ part: 2, ...p2 }], 2);
      // Act
      const first = await store.recordReceipt(makeReceipt(p1.smscMessageId, 'DELIVERED'), p1.keys);
      const second = await store.recordReceipt(makeReceipt(p2.smscMessageId, 'DELIVERED'), p2.keys);
      // Assess
      expect(first).toEqual({ outcome: 'applied', messageId: job.id, status: 'SUBMITTED' });
      expect(second).toEqual({ outcome: 'applied', messageId: job.id, status: 'DELIVERED' });
    });

    it('changes nothing when the same receipt arrives twice', async () => {
      // Prepare
      const store = makeStore();
      const { job, smsc } = await submitted(store);
      const receipt = makeReceipt(smsc.smscMessageId, 'DELIVERED');
      await store.recordReceipt(receipt, smsc.keys);
      const before = await getItem(store, job.id);
      // Act
      const again = await store.recordReceipt(receipt, smsc.keys);
      // Assess
      expect(again).toEqual({ outcome: 'ignored', messageId: job.id });
      expect(await getItem(store, job.id)).toEqual(before);
    });

    it('matches a receipt on its second key when the SMSC id format is ambiguous', async () => {
      // Prepare: the response said "FF" (hex only → one key); the receipt says "255", which reads
      // as hex 0x255 or decimal 255, so the caller gives two keys and only the second matches.
      const store = makeStore();
      const job = makeJob();
      const ns = uniqueName('ns');
      await store.claim(job, claimOpts('task-a'));
      await store.recordAccepted(job.id, 'task-a', [{ part: 1, smscMessageId: 'FF', keys: [`${ns}:255`] }], 1);
      // Act
      const outcome = await store.recordReceipt(makeReceipt('255', 'DELIVERED'), [`${ns}:597`, `${ns}:255`]);
      // Assess
      expect(outcome).toEqual({ outcome: 'applied', messageId: job.id, status: 'DELIVERED' });
      expect((await getItem(store, job.id)).parts['1']?.smscMessageId).toBe('FF');
    });
  });

  describe('invalid jobs, MO and TTL', () => {
    it('records an invalid job under a new key with its reason', async () => {
      // Prepare
      const store = makeStore();
      const sqsMessageId = uniqueName('sqs');
      // Act
      const outcome = await store.recordInvalid(sqsMessageId, 'body is not JSON', { sqsMessageId });
      // Assess
      expect(outcome).toEqual({ outcome: 'recorded' });
      expect(await getItem(store, sqsMessageId)).toMatchObject({ status: 'INVALID', statusRank: 100, reason: 'body is not JSON', sqsMessageId });
    });

    it('does not overwrite an existing message with an invalid duplicate', async () => {
      // Prepare
      const store = makeStore();
      const { job } = await submitted(store);
      // Act
      const outcome = await store.recordInvalid(job.id, 'to is missing', { sqsMessageId: uniqueName('sqs') });
      // Assess
      expect(outcome).toEqual({ outcome: 'exists' });
      const item = await getItem(store, job.id);
      expect(item.status).toBe('SUBMITTED');
      expect(item.reason).toBeUndefined();
    });

    it('reads an MO message the MO store wrote as its own item', async () => {
      // Prepare
      const store = makeStore();
      const moStore = new MoStore({ client: aws.dynamodb, tableName, clock: () => T0 });
      const part = { from: '+6598765432', to: '12345', text: `STOP ☺ ${uniqueName('mo')}`, dataCoding: 8, receivedAt: new Date(T0).toISOString() };
      // Act
      const id = (await moStore.addPart(part)).recorded[0]?.id ?? '';
      // Assess
      expect(id).toMatch(/^MO#[0-9a-f-]{36}$/);
      expect(await store.getMo(id)).toEqual({ id, kind: 'MO', ...part, parts: 1, expiresAt: T0 / 1000 + 30 * 86_400 });
      expect(await store.get(id)).toBeUndefined();
    });

    it('sets the TTL attribute to now plus ttlDays', async () => {
      // Prepare
      const store = makeStore({ ttlDays: 7 });
      const job = makeJob();
      // Act
      await store.claim(job, claimOpts('task-a'));
      // Assess
      expect((await getItem(store, job.id)).expiresAt).toBe(Math.floor(T0 / 1000) + 7 * 86_400);
    });
  });

  describe('calls per job', () => {
    it('claims the jobs of one receive in one call, and an id wanted by two owners once', async () => {
      // Prepare
      const { store, calls, close } = countedStore();
      const jobs = Array.from({ length: 10 }, () => makeJob());
      try {
        // Act: the same turn of the event loop, as a receive's jobs are claimed; the first id also by another owner.
        const outcomes = await Promise.all([...jobs.map((job) => store.claim(job, claimOpts('task-a'))), store.claim(jobs[0] as Job, claimOpts('task-b'))]);
        // Assess
        expect(outcomes.slice(0, 10)).toEqual(jobs.map(() => ({ outcome: 'claimed', acceptedParts: {}, plan: { encoding: 'GSM7', segments: 1, concat: 'udh8', concatRef: 7 } })));
        expect(outcomes[10]).toEqual({ outcome: 'busy' });
        expect(calls.snapshot()).toEqual({ BatchExecuteStatement: 1, UpdateItem: 1 });
        for (const job of jobs) expect(await getItem(store, job.id)).toMatchObject({ status: 'SUBMITTING', attempts: 1, version: 1, claimOwner: 'task-a', to: job.to });
      } finally {
        close();
      }
    });

    it('writes the same item for a batched claim as for a single one', async () => {
      // Prepare
      const store = makeStore();
      const [a, b] = [makeJob({ metadata: { k: 'v' } }), makeJob({ metadata: { k: 'v' } })];
      const single = makeJob({ metadata: { k: 'v' } });
      // Act
      await Promise.all([store.claim(a, claimOpts('task-a')), store.claim(b, claimOpts('task-a'))]);
      await store.claim(single, claimOpts('task-a'));
      // Assess
      const normalise = (item: StatusItem): object => ({ ...item, id: 'x', sqsMessageId: 'x', to: 'x' });
      expect(normalise(await getItem(store, a.id))).toEqual(normalise(await getItem(store, single.id)));
    });

    it('records the single-part jobs of one turn in four batches: claims, correlations, messages, receipts', async () => {
      // Prepare
      const { store, calls, close } = countedStore();
      const jobs = Array.from({ length: 5 }, () => ({ job: makeJob(), smsc: makeSmscId() }));
      try {
        // Act: the receipt races its own recordAccepted, as it does against a fast SMSC.
        await Promise.all(jobs.map(({ job }) => store.claim(job, claimOpts('task-a'))));
        await Promise.all(
          jobs.map(({ job, smsc }) =>
            Promise.all([
              store.recordAccepted(job.id, 'task-a', [{ part: 1, ...smsc }], 1),
              store.recordReceipt(makeReceipt(smsc.smscMessageId, 'DELIVERED'), smsc.keys),
            ]),
          ),
        );
        // Assess
        // No transaction (it bills each item twice, docs/architecture.md §5 rule 6), and the writes of
        // one turn in one call each (§3.2, "Batched writes"): five jobs, four calls.
        expect(calls.snapshot()).toEqual({ BatchExecuteStatement: 4 });
        expect(calls.statements()).toEqual([5, 5, 5, 5]);
        for (const { job, smsc } of jobs) {
          expect(await getItem(store, job.id)).toMatchObject({ status: 'DELIVERED', parts: { 1: { smscMessageId: smsc.smscMessageId, status: 'DELIVERED' } } });
        }
      } finally {
        close();
      }
    });

    it('writes the receipts of a long message that come together in one write', async () => {
      // Prepare
      const { store, calls, close } = countedStore();
      const job = makeJob();
      const ids = [makeSmscId(), makeSmscId(), makeSmscId()];
      try {
        await store.claim(job, claimOpts('task-a', 3));
        await store.recordAccepted(job.id, 'task-a', ids.map((smsc, i) => ({ part: i + 1, ...smsc })), 3);
        const before = calls.snapshot();
        // Act
        const outcomes = await Promise.all(ids.map((smsc) => store.recordReceipt(makeReceipt(smsc.smscMessageId, 'DELIVERED'), smsc.keys)));
        // Assess: one PutItem for the three, and each caller told what it stored.
        expect(diffCounts(calls.snapshot(), before)).toEqual({ PutItem: 1 });
        expect(outcomes).toEqual(ids.map(() => ({ outcome: 'applied', messageId: job.id, status: 'DELIVERED' })));
        const item = await getItem(store, job.id);
        expect(Object.values(item.parts).map((p) => p.status)).toEqual(['DELIVERED', 'DELIVERED', 'DELIVERED']);
        expect(item.history.map((h) => h.status)).toEqual(['SUBMITTING', 'SUBMITTED', 'DELIVERED']);
      } finally {
        close();
      }
    });

    it('holds the receipt of an announced part until the long message is recorded, then applies it in one write', async () => {
      // Prepare: part 1 is accepted and its receipt is back before part 2's response.
      const { store, calls, close } = countedStore();
      const job = makeJob();
      const [p1, p2] = [makeSmscId(), makeSmscId()];
      try {
        await store.claim(job, claimOpts('task-a', 2));
        store.expectAccepted(job.id, { part: 1, ...p1 });
        // Act
        const early = store.recordReceipt(makeReceipt(p1.smscMessageId, 'DELIVERED'), p1.keys);
        await store.recordAccepted(job.id, 'task-a', [{ part: 1, ...p1 }, { part: 2, ...p2 }], 2);
        const first = await early;
        const second = await store.recordReceipt(makeReceipt(p2.smscMessageId, 'DELIVERED'), p2.keys);
        // Assess
        expect(first).toEqual({ outcome: 'applied', messageId: job.id, status: 'SUBMITTED' });
        expect(second).toEqual({ outcome: 'applied', messageId: job.id, status: 'DELIVERED' });
        // claim, the 2 correlations together, message, 2 receipts
        expect(calls.snapshot()).toEqual({ UpdateItem: 1, BatchExecuteStatement: 1, PutItem: 3 });
      } finally {
        close();
      }
    });

    it('parks the receipt of an announced part whose record does not come in time, and applies it when it does', async () => {
      // Prepare
      const store = makeStore({ receiptWaitMs: 50 });
      const job = makeJob();
      const smsc = makeSmscId();
      await store.claim(job, claimOpts('task-a'));
      store.expectAccepted(job.id, { part: 1, ...smsc });
      // Act
      const early = await store.recordReceipt(makeReceipt(smsc.smscMessageId, 'DELIVERED'), smsc.keys);
      await store.recordAccepted(job.id, 'task-a', [{ part: 1, ...smsc }], 1);
      // Assess
      expect(early).toEqual({ outcome: 'parked' });
      expect(await getItem(store, job.id)).toMatchObject({ status: 'DELIVERED', parts: { 1: { status: 'DELIVERED' } } });
    });

    it('takes a receipt that overtook the submit response into the message\'s write', async () => {
      // Prepare
      const { store, calls, close } = countedStore();
      const job = makeJob();
      const smsc = makeSmscId();
      try {
        await store.claim(job, claimOpts('task-a'));
        // Act
        const early = await store.recordReceipt(makeReceipt(smsc.smscMessageId, 'DELIVERED'), smsc.keys);
        await store.recordAccepted(job.id, 'task-a', [{ part: 1, ...smsc }], 1);
        // Assess
        expect(early).toEqual({ outcome: 'parked' });
        expect(calls.snapshot()).toEqual({ UpdateItem: 3, GetItem: 1, PutItem: 1 }); // claim, look, park, correlation, message
        expect(await getItem(store, job.id)).toMatchObject({ status: 'DELIVERED', history: [{ status: 'SUBMITTING' }, { status: 'SUBMITTED' }, { status: 'DELIVERED' }] });
      } finally {
        close();
      }
    });

    it('writes a batched message again after it lost a version race to another task', async () => {
      // Prepare: task A accepted two jobs; task B then applies a receipt to the first, so A's copy of it is stale.
      const { store: a, calls, close } = countedStore();
      const b = makeStore();
      try {
        const { one, two, s1, s2 } = await twoClaimed(a);
        await Promise.all([a.recordAccepted(one.id, 'task-a', [{ part: 1, ...s1 }], 1), a.recordAccepted(two.id, 'task-a', [{ part: 1, ...s2 }], 1)]);
        expect(await b.recordReceipt(makeReceipt(s1.smscMessageId, 'ENROUTE'), s1.keys)).toEqual({ outcome: 'applied', messageId: one.id, status: 'ENROUTE' });
        const before = calls.snapshot();
        // Act: both receipts on A in one turn: one batch, where the first message's version check fails.
        const outcomes = await Promise.all([a.recordReceipt(makeReceipt(s1.smscMessageId, 'DELIVERED'), s1.keys), a.recordReceipt(makeReceipt(s2.smscMessageId, 'DELIVERED'), s2.keys)]);
        // Assess: the refused one was read again and written alone; both receipts are stored.
        expect(diffCounts(calls.snapshot(), before)).toEqual({ BatchExecuteStatement: 1, GetItem: 1, PutItem: 1 });
        expect(outcomes).toEqual([
          { outcome: 'applied', messageId: one.id, status: 'DELIVERED' },
          { outcome: 'applied', messageId: two.id, status: 'DELIVERED' },
        ]);
        expect((await getItem(a, one.id)).history.map((h) => h.status)).toEqual(['SUBMITTING', 'SUBMITTED', 'ENROUTE', 'DELIVERED']);
        expect(await getItem(a, two.id)).toMatchObject({ status: 'DELIVERED' });
      } finally {
        close();
      }
    });

    it('takes the receipt parked on a correlation item that a batched insert found occupied', async () => {
      // Prepare: a receipt for the first job's part reaches task B before A records the part.
      const { store: a, calls, close } = countedStore();
      const b = makeStore();
      try {
        const { one, two, s1, s2 } = await twoClaimed(a);
        expect(await b.recordReceipt(makeReceipt(s1.smscMessageId, 'DELIVERED'), s1.keys)).toEqual({ outcome: 'parked' });
        const before = calls.snapshot();
        // Act: both parts recorded in one turn.
        await Promise.all([a.recordAccepted(one.id, 'task-a', [{ part: 1, ...s1 }], 1), a.recordAccepted(two.id, 'task-a', [{ part: 1, ...s2 }], 1)]);
        // Assess: the occupied correlation fell back to the update, which returned the parked receipt
        // (the two messages are then written in different turns, each alone).
        expect(diffCounts(calls.snapshot(), before)).toEqual({ BatchExecuteStatement: 1, UpdateItem: 1, PutItem: 2 });
        expect(calls.statements().at(-1)).toBe(2);
        expect(await getItem(a, one.id)).toMatchObject({ status: 'DELIVERED', parts: { 1: { status: 'DELIVERED' } } });
        expect(await getItem(a, two.id)).toMatchObject({ status: 'SUBMITTED' });
      } finally {
        close();
      }
    });

    it('writes the accepted parts of a job whose lease was extended in one try, with no read', async () => {
      // Prepare: the heartbeat extended the lease (a new version) while the job waited for its turn to be sent.
      const { store, calls, close } = countedStore();
      const job = makeJob();
      const smsc = makeSmscId();
      try {
        await store.claim(job, claimOpts('task-a'));
        expect(await store.extendClaim(job.id, 'task-a', LEASE_MS)).toMatchObject({ outcome: 'extended' });
        const before = calls.snapshot();
        // Act
        await store.recordAccepted(job.id, 'task-a', [{ part: 1, ...smsc }], 1);
        // Assess: the correlation and the message, each written once; nothing refused, nothing read again.
        expect(diffCounts(calls.snapshot(), before)).toEqual({ UpdateItem: 1, PutItem: 1 });
        expect(await getItem(store, job.id)).toMatchObject({ status: 'SUBMITTED', version: 3 });
      } finally {
        close();
      }
    });

    it('reads for receipts that arrive together on another task in one BatchGetItem per step', async () => {
      // Prepare: task A accepted three jobs; their receipts all come to task B.
      const a = makeStore();
      const { store: b, calls, close } = countedStore();
      const jobs = Array.from({ length: 3 }, () => ({ job: makeJob(), smsc: makeSmscId() }));
      try {
        await Promise.all(jobs.map(({ job }) => a.claim(job, claimOpts('task-a'))));
        await Promise.all(jobs.map(({ job, smsc }) => a.recordAccepted(job.id, 'task-a', [{ part: 1, ...smsc }], 1)));
        // Act
        const outcomes = await Promise.all(jobs.map(({ smsc }) => b.recordReceipt(makeReceipt(smsc.smscMessageId, 'DELIVERED'), smsc.keys)));
        // Assess: the correlations in one read, the messages in another, the writes in one batch.
        expect(calls.snapshot()).toEqual({ BatchGetItem: 2, BatchExecuteStatement: 1 });
        expect(outcomes).toEqual(jobs.map(({ job }) => ({ outcome: 'applied', messageId: job.id, status: 'DELIVERED' })));
        for (const { job } of jobs) expect(await getItem(a, job.id)).toMatchObject({ status: 'DELIVERED', parts: { 1: { status: 'DELIVERED' } } });
      } finally {
        close();
      }
    });

    it('stores the same items one write at a time when the batch call fails', async () => {
      // Prepare: one store whose every BatchExecuteStatement fails, one as usual; the same jobs on each.
      const failing = new DynamoDBClient({});
      const calls = countCalls(failing);
      failing.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'BatchExecuteStatementCommand') throw new Error('batch refused by the test');
          return next(args);
        },
        { step: 'initialize', name: 'failBatches' },
      );
      const stores = [makeStore({ client: failing }), makeStore()];
      try {
        // Act
        const written = await Promise.all(
          stores.map(async (store) => {
            const jobs = Array.from({ length: 3 }, () => ({ job: makeJob(), smsc: makeSmscId() }));
            await Promise.all(jobs.map(({ job }) => store.claim(job, claimOpts('task-a'))));
            await Promise.all(jobs.map(({ job, smsc }) => store.recordAccepted(job.id, 'task-a', [{ part: 1, ...smsc }], 1)));
            await Promise.all(jobs.map(({ smsc }) => store.recordReceipt(makeReceipt(smsc.smscMessageId, 'DELIVERED'), smsc.keys)));
            return Promise.all(jobs.map(({ job }) => getItem(store, job.id)));
          }),
        );
        // Assess: every write went one by one on the failing store, and the items match the batched ones.
        expect(calls.snapshot()).toMatchObject({ UpdateItem: 6, PutItem: 6 });
        const normalise = (item: StatusItem): object => ({ ...item, id: 'x', sqsMessageId: 'x', openShard: 'x', parts: { 1: { ...item.parts[1], smscMessageId: 'x' } } });
        expect(written[0]?.map(normalise)).toEqual(written[1]?.map(normalise));
        expect(written[0]?.map((i) => i.status)).toEqual(['DELIVERED', 'DELIVERED', 'DELIVERED']);
      } finally {
        failing.destroy();
      }
    });

    // The accepted record is two writes (correlation, then message); a receipt on another task can
    // fall between them. Both orders, forced by holding the accepting task's writes at a gate.
    it('applies a receipt that reads the correlation before the message is written, and the record keeps it', async () => {
      // Prepare: task A's message write waits until task B has applied the receipt.
      const gate = heldCalls((name, input) => name === 'PutItem' && input.Item?.['id']?.S === job.id);
      const taskA = makeStore({ client: gate.client });
      const taskB = makeStore();
      const job = makeJob();
      const smsc = makeSmscId();
      try {
        await taskA.claim(job, claimOpts('task-a'));
        // Act
        const recording = taskA.recordAccepted(job.id, 'task-a', [{ part: 1, ...smsc }], 1);
        await gate.held;
        const outcome = await taskB.recordReceipt(makeReceipt(smsc.smscMessageId, 'DELIVERED'), smsc.keys);
        gate.release();
        await recording;
        // Assess: B wrote the receipt to the part before A's record; A's write, refused on its version, re-read and kept it.
        expect(outcome).toMatchObject({ outcome: 'applied', messageId: job.id });
        const item = await getItem(taskA, job.id);
        expect(item).toMatchObject({ status: 'DELIVERED', parts: { 1: { smscMessageId: smsc.smscMessageId, status: 'DELIVERED' } } });
        expect(item.openShard).toBeUndefined();
        expect(item.history.filter((h) => h.status === 'DELIVERED')).toHaveLength(1);
      } finally {
        gate.client.destroy();
      }
    });

    it('applies a receipt parked just after the correlation is written, before the message is', async () => {
      // Prepare: B finds no correlation; A points it; B's park then returns it; A's message write waits for B.
      const gateA = heldCalls((name, input) => name === 'PutItem' && input.Item?.['id']?.S === job.id);
      const gateB = heldCalls((name) => name === 'UpdateItem');
      const taskA = makeStore({ client: gateA.client });
      const taskB = makeStore({ client: gateB.client });
      const job = makeJob();
      const smsc = makeSmscId();
      try {
        await taskA.claim(job, claimOpts('task-a'));
        // Act
        const receipt = taskB.recordReceipt(makeReceipt(smsc.smscMessageId, 'UNDELIVERED'), smsc.keys);
        await gateB.held; // B looked and found nothing; its park is held
        const recording = taskA.recordAccepted(job.id, 'task-a', [{ part: 1, ...smsc }], 1);
        await gateA.held; // A's correlation is written; its message write is held
        gateB.release();
        const outcome = await receipt;
        gateA.release();
        await recording;
        // Assess
        expect(outcome).toMatchObject({ outcome: 'applied', messageId: job.id });
        expect(await getItem(taskA, job.id)).toMatchObject({ status: 'UNDELIVERED', parts: { 1: { smscMessageId: smsc.smscMessageId, status: 'UNDELIVERED' } } });
      } finally {
        gateA.client.destroy();
        gateB.client.destroy();
      }
    });

    it('applies every early receipt when another task parked one more under the same id', async () => {
      // Prepare: ENROUTE parked here, then DELIVERED parked by task B before this task records the part.
      const store = makeStore();
      const job = makeJob();
      const smsc = makeSmscId();
      await store.claim(job, claimOpts('task-a'));
      await store.recordReceipt(makeReceipt(smsc.smscMessageId, 'ENROUTE'), smsc.keys);
      await makeStore().recordReceipt(makeReceipt(smsc.smscMessageId, 'DELIVERED'), smsc.keys);
      // Act
      await store.recordAccepted(job.id, 'task-a', [{ part: 1, ...smsc }], 1);
      // Assess
      expect(await getItem(store, job.id)).toMatchObject({ status: 'DELIVERED', stat: 'DELIVRD' });
    });

    it('applies a receipt parked by another task when this task records the part', async () => {
      // Prepare
      const store = makeStore();
      const job = makeJob();
      const smsc = makeSmscId();
      await store.claim(job, claimOpts('task-a'));
      const early = await makeStore().recordReceipt(makeReceipt(smsc.smscMessageId, 'UNDELIVERED'), smsc.keys);
      // Act
      await store.recordAccepted(job.id, 'task-a', [{ part: 1, ...smsc }], 1);
      // Assess
      expect(early).toEqual({ outcome: 'parked' });
      expect(await getItem(store, job.id)).toMatchObject({ status: 'UNDELIVERED', stat: 'UNDELIV' });
    });

    it('applies a receipt that arrives on another task through the correlation item', async () => {
      // Prepare: task A submitted it; the SMSC sends the receipt to task B's receiver bind.
      const taskA = makeStore();
      const taskB = makeStore();
      const { job, smsc } = await submitted(taskA);
      // Act
      const outcome = await taskB.recordReceipt(makeReceipt(smsc.smscMessageId, 'DELIVERED'), smsc.keys);
      // Assess
      expect(outcome).toEqual({ outcome: 'applied', messageId: job.id, status: 'DELIVERED' });
      expect(await getItem(taskA, job.id)).toMatchObject({ status: 'DELIVERED', stat: 'DELIVRD' });
    });

    it('moves a reused SMSC id to the new message, so its receipts are not applied to the old one', async () => {
      // Prepare: task A's correlation says the id belongs to the old message; task B gets it again.
      const taskA = makeStore();
      const taskB = makeStore();
      const { job: old, smsc } = await submitted(taskA);
      const job = makeJob();
      await taskB.claim(job, claimOpts('task-b'));
      // Act
      await taskB.recordAccepted(job.id, 'task-b', [{ part: 1, ...smsc }], 1);
      const outcome = await makeStore().recordReceipt(makeReceipt(smsc.smscMessageId, 'DELIVERED'), smsc.keys);
      // Assess
      expect(outcome).toEqual({ outcome: 'applied', messageId: job.id, status: 'DELIVERED' });
      expect((await getItem(taskA, old.id)).status).toBe('SUBMITTED');
    });

    it('records the parts even when another task wrote the message since this task last saw it', async () => {
      // Prepare: task A claims; task B records a failed attempt's error on it (a newer version).
      const taskA = makeStore();
      const job = makeJob();
      const smsc = makeSmscId();
      await taskA.claim(job, claimOpts('task-a'));
      await makeStore().releaseClaim(job.id, 'task-b', { error: { code: 'X', name: 'X', description: 'x' } });
      // Act
      await taskA.recordAccepted(job.id, 'task-a', [{ part: 1, ...smsc }], 1);
      // Assess
      expect(await getItem(taskA, job.id)).toMatchObject({ status: 'SUBMITTED', lastError: { code: 'X' }, parts: { 1: { smscMessageId: smsc.smscMessageId } } });
    });
  });
});
