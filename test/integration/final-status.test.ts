/**
 * A final status for every message (docs/architecture.md §7.2), against DynamoDB Local: the store
 * puts submitted messages in the sparse index `openByDeadline` (where they stay once ended); the
 * sweep reads each entry once, past its deadline, and makes those still open UNKNOWN. One table for
 * the file; the clock is the test's, and each test's starts 20 years after the last one's, beyond
 * the sweep's marks of every earlier test, so each test sees only its own entries and counts exactly.
 * After each test a sweep far in the future must leave nothing of it open.
 */
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FinalStatusSweep, OPEN_BY_DEADLINE, openShardOf, SETTLE_SECONDS, StatusStore, type StatusItem } from '../../service/src/aws/status-store/index.js';
import { OPEN_SHARDS } from '../../service/src/aws/table.js';
import type { Job, Receipt, ReceiptStatus } from '../../service/src/domain.js';
import { createSweepHandler, sweepEnv } from '../../service/src/lambdas/final-status-sweep.js';
import { createHandler } from '../../service/src/lambdas/stream-publisher.js';
import { LocalEventBus, StreamRunner } from '../../service/src/local/stream-runner.js';
import { useLocalAws, uniqueName } from '../support/aws.js';
import { countCalls } from '../support/sdk-counter.js';

const aws = useLocalAws();
let tableName: string;

const HOUR = 3_600_000;
const YEAR = 365 * 24 * HOUR;
/** The current test's start; see the file comment. */
let T0 = Date.parse('2030-01-01T00:00:00.000Z') - 20 * YEAR;
/** How long after a deadline the sweep acts (index entries settle). */
const SETTLE = SETTLE_SECONDS * 1000;
const TTL_DAYS = 30;
let now = T0;
const clock = (): number => now;

beforeAll(async () => {
  tableName = await aws.sharedTable();
});

beforeEach(() => {
  T0 += 20 * YEAR;
  now = T0;
});

afterEach(async () => {
  now = T0 + 10 * YEAR;
  let result;
  do result = await makeSweep().run();
  while (!result.complete);
  const left = (await Promise.all((await openIds()).map(getItem))).filter((item) => item.statusRank < 90);
  expect(left.map((item) => [item.id, item.status])).toEqual([]);
});

function makeStore(client: DynamoDBClient = aws.dynamodb): StatusStore {
  return new StatusStore({ client, tableName, clock, finalStatusTimeoutHours: 72, ttlDays: TTL_DAYS });
}

function makeSweep(options: { client?: DynamoDBClient; maxPerRun?: number } = {}): FinalStatusSweep {
  return new FinalStatusSweep({ client: options.client ?? aws.dynamodb, tableName, clock, ttlDays: TTL_DAYS, ...(options.maxPerRun === undefined ? {} : { maxPerRun: options.maxPerRun }) });
}

function makeJob(overrides: Partial<Job> = {}): Job {
  return { id: uniqueName('job'), to: '+6591234567', from: '8x8', text: 'Hello', encoding: 'auto', receipt: true, ...overrides };
}

function makeReceipt(smscMessageId: string, status: ReceiptStatus): Receipt {
  return { smscMessageId, status, stat: status.slice(0, 7), err: '000', receivedAt: new Date(now).toISOString() };
}

/** A single-part job claimed and accepted by the SMSC at the current `now`. */
async function submitted(store: StatusStore, job = makeJob()): Promise<{ job: Job; smscMessageId: string; keys: string[] }> {
  const smscMessageId = uniqueName('smsc');
  await store.claim(job, { owner: 'task-a', leaseMs: 60_000, sqsMessageId: uniqueName('sqs'), encoding: 'GSM7', segments: 1, concat: 'udh8', concatRef: 7 });
  await store.recordAccepted(job.id, 'task-a', [{ part: 1, smscMessageId, keys: [smscMessageId] }], 1);
  return { job, smscMessageId, keys: [smscMessageId] };
}

async function getItem(id: string): Promise<StatusItem> {
  const item = await makeStore().get(id);
  if (item === undefined) throw new Error(`no item ${id}`);
  return item;
}

/** Every id in `openByDeadline` with a deadline in this test's time, sorted. */
async function openIds(): Promise<string[]> {
  const ids: string[] = [];
  for (let n = 0; n < OPEN_SHARDS; n++) {
    let start: Record<string, never> | undefined;
    do {
      const page = await aws.dynamodb.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: OPEN_BY_DEADLINE,
          KeyConditionExpression: 'openShard = :s AND finalBy >= :from',
          ExpressionAttributeValues: { ':s': { S: `OPEN#${n}` }, ':from': { N: String(seconds(T0)) } },
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      for (const item of page.Items ?? []) if (item['id']?.S !== undefined) ids.push(item['id'].S);
      start = page.LastEvaluatedKey as Record<string, never> | undefined;
    } while (start !== undefined);
  }
  return ids.sort();
}

const seconds = (ms: number): number => Math.floor(ms / 1000);

/** A client of its own whose every UpdateItem of message `id` throws `error` (the rest go through). */
function failingWrites(id: string, error: Error): DynamoDBClient {
  const client = new DynamoDBClient({});
  client.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { Key?: { id?: { S?: string } }; UpdateExpression?: string };
      if (input.Key?.id?.S === id && input.UpdateExpression !== undefined) throw error;
      return next(args);
    },
    { step: 'initialize' },
  );
  return client;
}

describe('a final status for every message (DynamoDB Local)', () => {
  describe('the open-by-deadline index', () => {
    it('takes a submitted message in, due after the timeout or its validity period when shorter', async () => {
      // Prepare
      const store = makeStore();
      // Act
      const plain = await submitted(store);
      const short = await submitted(store, makeJob({ validityPeriodSeconds: 600 }));
      const long = await submitted(store, makeJob({ validityPeriodSeconds: 30 * 86_400 }));
      // Assess
      expect(await getItem(plain.job.id)).toMatchObject({ status: 'SUBMITTED', openShard: openShardOf(plain.job.id), finalBy: seconds(T0) + 72 * 3600 });
      expect(await getItem(short.job.id)).toMatchObject({ validityPeriodSeconds: 600, openShard: openShardOf(short.job.id), finalBy: seconds(T0) + 600 });
      expect((await getItem(long.job.id)).finalBy).toBe(seconds(T0) + 72 * 3600);
      expect(await openIds()).toEqual([plain.job.id, short.job.id, long.job.id].sort());
    });

    it('keeps its entry when the message ends, so the receipt on the task that sent it writes one item and no index entry', async () => {
      // Prepare
      const client = new DynamoDBClient({});
      const calls = countCalls(client);
      const store = makeStore(client);
      const { job, smscMessageId, keys } = await submitted(store);
      const before = calls.snapshot();
      try {
        // Act
        const outcome = await store.recordReceipt(makeReceipt(smscMessageId, 'DELIVERED'), keys);
        // Assess: the fast path, no correlation item touched
        expect(outcome).toEqual({ outcome: 'applied', messageId: job.id, status: 'DELIVERED' });
        expect(calls.total() - Object.values(before).reduce((a, b) => a + b, 0)).toBe(1);
        expect(calls.counts['PutItem']).toBe((before['PutItem'] ?? 0) + 1);
        const item = await getItem(job.id);
        expect(item).toMatchObject({ status: 'DELIVERED', openShard: openShardOf(job.id), finalBy: seconds(T0) + 72 * 3600 });
        expect(await openIds()).toEqual([job.id]);
        // At its deadline the sweep reads the entry once and leaves the ended message alone.
        now = T0 + 72 * HOUR + SETTLE;
        expect(await makeSweep().run()).toEqual({ read: 1, due: 0, timedOut: 0, skipped: 0, failed: 0, complete: true });
        expect(await getItem(job.id)).toEqual(item);
      } finally {
        client.destroy();
      }
    });

    it('keeps its entry when the message ends: a receipt on another task (correlation path)', async () => {
      // Prepare
      const { job, smscMessageId, keys } = await submitted(makeStore());
      const client = new DynamoDBClient({});
      const calls = countCalls(client);
      try {
        // Act: a store that never saw the submit, as another task's receiver
        const outcome = await makeStore(client).recordReceipt(makeReceipt(smscMessageId, 'UNDELIVERED'), keys);
        // Assess
        expect(outcome).toEqual({ outcome: 'applied', messageId: job.id, status: 'UNDELIVERED' });
        // The correlation read (not a park), the message read and its write: no UpdateItem.
        expect(calls.counts).toEqual({ GetItem: 2, PutItem: 1 });
        expect(await getItem(job.id)).toMatchObject({ status: 'UNDELIVERED', openShard: openShardOf(job.id), finalBy: seconds(T0) + 72 * 3600 });
      } finally {
        client.destroy();
      }
    });

    it('keeps a message in while receipts in progress come, and never puts SUBMITTING or FAILED ones in', async () => {
      // Prepare
      const store = makeStore();
      const enroute = await submitted(store);
      const submitting = makeJob();
      await store.claim(submitting, { owner: 'task-a', leaseMs: 60_000, sqsMessageId: 's', encoding: 'GSM7', segments: 1, concat: 'udh8', concatRef: 7 });
      const failed = makeJob();
      await store.claim(failed, { owner: 'task-a', leaseMs: 60_000, sqsMessageId: 's', encoding: 'GSM7', segments: 1, concat: 'udh8', concatRef: 7 });
      await store.recordFailed(failed.id, 'task-a', { code: '0x0000000b', name: 'ESME_RINVDSTADR', description: 'Invalid destination address' });
      // Act
      now = T0 + HOUR;
      await store.recordReceipt(makeReceipt(enroute.smscMessageId, 'ENROUTE'), enroute.keys);
      // Assess
      expect(await getItem(enroute.job.id)).toMatchObject({ status: 'ENROUTE', finalBy: seconds(T0) + 72 * 3600 });
      expect(await openIds()).toEqual([enroute.job.id]);
    });
  });

  describe('the sweep', () => {
    it('makes messages past their deadline UNKNOWN (no receipt): with a validity period at its end, without one after the timeout', async () => {
      // Prepare
      const store = makeStore();
      const short = await submitted(store, makeJob({ validityPeriodSeconds: 600 }));
      const plain = await submitted(store);
      const before = await getItem(short.job.id);
      const sweep = makeSweep();
      // Act / Assess: not a second early (the sweep acts SETTLE after a deadline)
      now = T0 + 599_000 + SETTLE;
      expect(await sweep.run()).toEqual({ read: 0, due: 0, timedOut: 0, skipped: 0, failed: 0, complete: true });
      now = T0 + 600_000 + SETTLE;
      expect(await sweep.run()).toEqual({ read: 1, due: 1, timedOut: 1, skipped: 0, failed: 0, complete: true });
      const after = await getItem(short.job.id);
      expect(after).toMatchObject({
        status: 'UNKNOWN',
        statusRank: 90,
        reason: 'no receipt',
        doneAt: new Date(now).toISOString(),
        updatedAt: new Date(now).toISOString(),
        version: before.version + 1,
        expiresAt: seconds(now) + TTL_DAYS * 86_400,
        parts: before.parts,
      });
      expect(after.history).toEqual([...before.history, { status: 'UNKNOWN', at: new Date(now).toISOString() }]);
      expect(after).toMatchObject({ openShard: before.openShard, finalBy: before.finalBy });
      // Once only; the other one at the timeout.
      expect(await sweep.run()).toMatchObject({ due: 0, timedOut: 0 });
      now = T0 + 72 * HOUR + SETTLE;
      expect(await sweep.run()).toMatchObject({ due: 1, timedOut: 1 });
      expect(await getItem(plain.job.id)).toMatchObject({ status: 'UNKNOWN', reason: 'no receipt' });
      expect(await getItem(short.job.id)).toEqual(after);
    });

    it('leaves final messages and SUBMITTING ones untouched', async () => {
      // Prepare
      const store = makeStore();
      const delivered = await submitted(store);
      await store.recordReceipt(makeReceipt(delivered.smscMessageId, 'DELIVERED'), delivered.keys);
      const submitting = makeJob();
      await store.claim(submitting, { owner: 'task-a', leaseMs: 60_000, sqsMessageId: 's', encoding: 'GSM7', segments: 1, concat: 'udh8', concatRef: 7 });
      const ids = [delivered.job.id, submitting.id];
      const before = await Promise.all(ids.map(getItem));
      // Act
      now = T0 + 1000 * HOUR;
      const result = await makeSweep().run();
      // Assess
      expect(result).toEqual({ read: 1, due: 0, timedOut: 0, skipped: 0, failed: 0, complete: true }); // the DELIVERED one's entry
      expect(await Promise.all(ids.map(getItem))).toEqual(before);
    });

    it('lets a final receipt that comes after the timeout win, on the sending task and on another', async () => {
      // Prepare
      const store = makeStore();
      const here = await submitted(store);
      const elsewhere = await submitted(store);
      now = T0 + 72 * HOUR + SETTLE;
      expect(await makeSweep().run()).toMatchObject({ timedOut: 2 });
      const swept = await getItem(here.job.id);
      // Act
      now = T0 + 73 * HOUR;
      const a = await store.recordReceipt(makeReceipt(here.smscMessageId, 'DELIVERED'), here.keys);
      const b = await makeStore(new DynamoDBClient({})).recordReceipt(makeReceipt(elsewhere.smscMessageId, 'EXPIRED'), elsewhere.keys);
      // Assess
      expect([a, b]).toEqual([
        { outcome: 'applied', messageId: here.job.id, status: 'DELIVERED' },
        { outcome: 'applied', messageId: elsewhere.job.id, status: 'EXPIRED' },
      ]);
      const item = await getItem(here.job.id);
      expect(item).toMatchObject({ status: 'DELIVERED', statusRank: 100, doneAt: new Date(now).toISOString(), version: swept.version + 1 });
      expect(item).not.toHaveProperty('reason');
      expect(item.history.map((h) => h.status)).toEqual(['SUBMITTING', 'SUBMITTED', 'UNKNOWN', 'DELIVERED']);
      expect(await getItem(elsewhere.job.id)).toMatchObject({ status: 'EXPIRED', statusRank: 100 });
    });

    it('skips a message a receipt ended between its read and its write (the condition decides, no error)', async () => {
      // Prepare: the receipt lands right after the sweep read the message
      const store = makeStore();
      const { job, smscMessageId, keys } = await submitted(store);
      const client = new DynamoDBClient({});
      client.middlewareStack.add(
        (next) => async (args) => {
          const out = await next(args);
          // Only after the read of this message: the shards are read in parallel.
          const read = Object.values((out.output as { Responses?: Record<string, { id?: { S?: string } }[]> }).Responses ?? {}).flat();
          if (read.some((i) => i.id?.S === job.id)) await store.recordReceipt(makeReceipt(smscMessageId, 'DELIVERED'), keys);
          return out;
        },
        { step: 'initialize' },
      );
      now = T0 + 72 * HOUR + SETTLE;
      try {
        // Act
        const result = await makeSweep({ client }).run();
        // Assess
        expect(result).toEqual({ read: 1, due: 1, timedOut: 0, skipped: 1, failed: 0, complete: true });
        const item = await getItem(job.id);
        expect(item.status).toBe('DELIVERED');
        expect(item.history.map((h) => h.status)).toEqual(['SUBMITTING', 'SUBMITTED', 'DELIVERED']);
      } finally {
        client.destroy();
      }
    });

    it('changes each message once when two sweeps run at the same time', async () => {
      // Prepare
      const store = makeStore();
      const jobs = [];
      for (let i = 0; i < 8; i++) jobs.push((await submitted(store)).job);
      const versions = new Map((await Promise.all(jobs.map((j) => getItem(j.id)))).map((item) => [item.id, item.version]));
      // Both sweeps read every shard (8 queries each) before either writes: they race for every message.
      const clients = [new DynamoDBClient({}), new DynamoDBClient({})];
      let queried = 0;
      let allQueried: () => void = () => undefined;
      const barrier = new Promise<void>((resolve) => (allQueried = resolve));
      for (const client of clients) {
        client.middlewareStack.add(
          (next) => async (args) => {
            const out = await next(args);
            if ((args.input as { IndexName?: string }).IndexName === OPEN_BY_DEADLINE) {
              if (++queried === 2 * OPEN_SHARDS) allQueried();
              await barrier;
            }
            return out;
          },
          { step: 'initialize' },
        );
      }
      now = T0 + 72 * HOUR + SETTLE;
      try {
        // Act
        const [r1, r2] = await Promise.all(clients.map((client) => makeSweep({ client }).run()));
        // Assess
        expect([r1!.due, r2!.due]).toEqual([8, 8]);
        expect(r1!.timedOut + r2!.timedOut).toBe(8);
        expect(r1!.skipped + r2!.skipped).toBe(8);
        expect(r1!.failed + r2!.failed).toBe(0);
        for (const job of jobs) {
          const item = await getItem(job.id);
          expect(item.history.filter((h) => h.status === 'UNKNOWN')).toHaveLength(1);
          expect(item.version).toBe(versions.get(job.id)! + 1);
        }
      } finally {
        for (const c of clients) c.destroy();
      }
    });

    it('reads each entry once: a later run reads only what fell due since (ended messages cost one read, no write)', async () => {
      // Prepare: three messages due at T0 + 72 h, one of them delivered
      const store = makeStore();
      const first = [await submitted(store), await submitted(store), await submitted(store)];
      await store.recordReceipt(makeReceipt(first[0]!.smscMessageId, 'DELIVERED'), first[0]!.keys);
      now = T0 + HOUR;
      const later = await submitted(store);
      const sweep = makeSweep();
      // Act
      now = T0 + 72 * HOUR + 10 * 60_000;
      const r1 = await sweep.run();
      now = T0 + 74 * HOUR;
      const r2 = await sweep.run();
      now = T0 + 80 * HOUR;
      const r3 = await sweep.run();
      // Assess: each reads only what is due past its mark less REREAD_SECONDS (5 min): r2 the later one, r3 nothing
      expect(r1).toEqual({ read: 3, due: 2, timedOut: 2, skipped: 0, failed: 0, complete: true });
      expect(r2).toEqual({ read: 1, due: 1, timedOut: 1, skipped: 0, failed: 0, complete: true });
      expect(r3).toEqual({ read: 0, due: 0, timedOut: 0, skipped: 0, failed: 0, complete: true });
      expect((await getItem(later.job.id)).status).toBe('UNKNOWN');
    });

    it('keeps its mark after a failed write, so the next run reads the same entries and ends the one left', async () => {
      // Prepare: the first run's write for one message fails
      const store = makeStore();
      const jobs = [(await submitted(store)).job, (await submitted(store)).job];
      const client = failingWrites(jobs[0]!.id, new Error('injected: write failed'));
      // An hour past the deadline: a mark moved to this run's end would leave the failed one below the next run's reach.
      now = T0 + 73 * HOUR;
      try {
        // Act
        const r1 = await makeSweep({ client }).run();
        now += HOUR;
        const r2 = await makeSweep().run();
        // Assess
        expect(r1).toMatchObject({ due: 2, timedOut: 1, failed: 1, complete: false });
        expect(r2).toMatchObject({ due: 1, timedOut: 1, failed: 0, complete: true });
        for (const job of jobs) expect((await getItem(job.id)).status).toBe('UNKNOWN');
      } finally {
        client.destroy();
      }
    });

    it('moves on past a write DynamoDB refuses for good (ValidationException), counting it as failed', async () => {
      // Prepare: every write for one message is refused as a validation error would be
      const store = makeStore();
      const subs = [await submitted(store), await submitted(store)];
      const jobs = subs.map((x) => x.job);
      const refused = jobs[0]!.id;
      const client = failingWrites(refused, Object.assign(new Error('injected: refused'), { name: 'ValidationException', $fault: 'client' }));
      now = T0 + 73 * HOUR;
      try {
        // Act
        const r1 = await makeSweep({ client }).run();
        now += HOUR;
        const r2 = await makeSweep({ client }).run();
        // Assess: the other message ended, the mark moved (r2 reads neither again), the refused one is left as it was
        expect(r1).toMatchObject({ due: 2, timedOut: 1, failed: 1, complete: false });
        expect(r2).toEqual({ read: 0, due: 0, timedOut: 0, skipped: 0, failed: 0, complete: true });
        expect((await getItem(jobs[1]!.id)).status).toBe('UNKNOWN');
        expect((await getItem(refused)).status).toBe('SUBMITTED');
      } finally {
        client.destroy();
      }
      // Ended by its receipt, so the check after each test (nothing left open) holds.
      await store.recordReceipt(makeReceipt(subs[0]!.smscMessageId, 'DELIVERED'), subs[0]!.keys);
    });

    it('stops at its bound and leaves the rest to the next run', async () => {
      // Prepare: 20 messages in 8 shards, so some shard holds more than one
      const store = makeStore();
      const jobs = [];
      for (let i = 0; i < 20; i++) jobs.push((await submitted(store)).job);
      now = T0 + 72 * HOUR + SETTLE;
      const sweep = makeSweep({ maxPerRun: OPEN_SHARDS });
      // Act
      const first = await sweep.run();
      const rest = [];
      for (let r = await sweep.run(); ; r = await sweep.run()) {
        rest.push(r);
        if (r.complete || rest.length > 20) break;
      }
      // Assess
      expect(first.complete).toBe(false);
      expect(first.timedOut).toBeLessThanOrEqual(OPEN_SHARDS);
      expect(first.timedOut + rest.reduce((n, r) => n + r.timedOut, 0)).toBe(20);
      for (const job of jobs) expect((await getItem(job.id)).status).toBe('UNKNOWN');
    });
  });

  it('spreads ids evenly over the shards', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 8000; i++) counts.set(openShardOf(`order-${i}`), (counts.get(openShardOf(`order-${i}`)) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual(Array.from({ length: OPEN_SHARDS }, (_, n) => `OPEN#${n}`));
    for (const c of counts.values()) expect(c).toBeGreaterThan(800);
    expect(Array.from({ length: 100 }, () => openShardOf('order-42'))).toEqual(Array.from({ length: 100 }, () => openShardOf('order-42')));
  });

  it('publishes the UNKNOWN through the stream publisher as SmsStatusChanged, with its version', async () => {
    // Prepare
    const { job } = await submitted(makeStore());
    const bus = new LocalEventBus();
    const runner = new StreamRunner({
      dynamodb: aws.dynamodb,
      streams: new DynamoDBStreamsClient({ endpoint: aws.env.AWS_ENDPOINT_URL_DYNAMODB }),
      tableName,
      handler: createHandler({ eventBridge: bus, busName: 'local', log: { error: () => undefined } }),
      pollMs: 50,
    });
    const unknown = new Promise<PutEventsRequestEntry>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no SmsStatusChanged UNKNOWN event within 20 s')), 20_000);
      bus.on('event', (e: PutEventsRequestEntry) => {
        const detail = JSON.parse(e.Detail ?? '{}') as { id?: string; status?: string };
        if (detail.id === job.id && detail.status === 'UNKNOWN') {
          clearTimeout(timer);
          resolve(e);
        }
      });
    });
    await runner.start();
    try {
      // Act
      now = T0 + 72 * HOUR + SETTLE;
      await makeSweep().run();
      // Assess
      const event = await unknown;
      const item = await getItem(job.id);
      expect(event.DetailType).toBe('SmsStatusChanged');
      expect(JSON.parse(event.Detail ?? '{}')).toMatchObject({ id: job.id, status: 'UNKNOWN', previousStatus: 'SUBMITTED', version: item.version });
    } finally {
      await runner.stop();
    }
  });

  describe('the Lambda handler', () => {
    it('runs the sweep, counts what it did as metrics and logs one summary', async () => {
      // Prepare
      await submitted(makeStore());
      now = T0 + 72 * HOUR + SETTLE;
      const metrics: [string, number][] = [];
      const infos: Record<string, unknown>[] = [];
      const handle = createSweepHandler({
        sweep: makeSweep(),
        log: { info: (_m, a) => infos.push(a), warn: () => undefined, debug: () => undefined },
        metrics: { addMetric: (name, _unit, value) => metrics.push([name, value]) },
      });
      // Act
      const result = await handle(60_000);
      // Assess
      expect(result).toEqual({ read: 1, due: 1, timedOut: 1, skipped: 0, failed: 0, complete: true });
      expect(metrics).toEqual([
        ['MessagesTimedOut', 1],
        ['SweepSkipped', 0],
        ['SweepFailed', 0],
      ]);
      expect(infos).toEqual([result]);
    });

    it('fails the invocation when the table cannot be read, so the Errors alarm sees it', async () => {
      const sweep = new FinalStatusSweep({ client: aws.dynamodb, tableName: uniqueName('missing-table'), clock });
      const handle = createSweepHandler({ sweep, log: { info: () => undefined, warn: () => undefined, debug: () => undefined } });
      await expect(handle(60_000)).rejects.toThrow(/8 writes or queries failed/);
    });

    it('reads TABLE_NAME and MESSAGE_TTL_DAYS, and says what is missing', () => {
      expect(sweepEnv({ TABLE_NAME: 't', MESSAGE_TTL_DAYS: '30' })).toEqual({ tableName: 't', ttlDays: 30 });
      expect(() => sweepEnv({})).toThrow('TABLE_NAME is not set; MESSAGE_TTL_DAYS must be a whole number ≥ 1 (got nothing)');
    });
  });
});
