/**
 * Look-ups by number (docs/architecture.md §7.3) through the real SDK against DynamoDB Local: the
 * sparse, keys-only indexes `byRecipient` and `byOriginator`, queried and then read with
 * BatchGetItem. And the rule that makes them safe: no writer of any item kind ever gives an index
 * key attribute a wrong type or an empty string, which DynamoDB would refuse the whole write for.
 * Every test uses numbers of its own (the table is shared by the file).
 */
import { randomInt } from 'node:crypto';
import { BatchGetItemCommand, QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MoStore } from '../../service/src/aws/mo-store.js';
import { StatusLookups, StatusStore, type ClaimOptions } from '../../service/src/aws/status-store/index.js';
import type { Job } from '../../service/src/domain.js';
import { listByRecipient, listMoByOriginator } from '../../service/src/tools/client.js';
import { useLocalAws, uniqueName } from '../support/aws.js';
import { isDone, startStack, type TestStack } from '../support/stack.js';

const aws = useLocalAws();
let tableName: string;
beforeAll(async () => {
  tableName = await aws.sharedTable();
});

let stack: TestStack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

const T0 = Date.parse('2030-03-01T00:00:00.000Z');
const MINUTE = 60_000;

/** A number no other test uses, without its `+`. */
const number = (): string => `65${randomInt(10_000_000, 99_999_999)}`;

function makeJob(to: string, overrides: Partial<Job> = {}): Job {
  return { id: uniqueName('lk'), to, from: '8x8', text: 'Hello', encoding: 'auto', receipt: true, ...overrides };
}

function claimOpts(): ClaimOptions {
  return { owner: 'task-a', leaseMs: 60_000, sqsMessageId: uniqueName('sqs'), encoding: 'GSM7', segments: 1, concat: 'udh8', concatRef: 1 };
}

/** Claims `job` as the service does, at `ms` (its `createdAt`); returns its id. */
async function messageAt(job: Job, ms: number): Promise<string> {
  await new StatusStore({ client: aws.dynamodb, tableName, clock: () => ms }).claim(job, claimOpts());
  return job.id;
}

/** Stores a one-part MO from `from` to `to` received at `ms`; returns its id. */
async function moAt(from: string, to: string, ms: number, text = uniqueName('mo')): Promise<string> {
  const result = await new MoStore({ client: aws.dynamodb, tableName, clock: () => ms }).addPart({ from, to, text, dataCoding: 0, receivedAt: new Date(ms).toISOString() });
  const mo = result.recorded[0];
  if (mo === undefined) throw new Error('no MO recorded');
  return mo.id;
}

function lookups(options: { pageSize?: number; client?: Pick<DynamoDBClient, 'send'> } = {}): StatusLookups {
  return new StatusLookups({ client: options.client ?? aws.dynamodb, tableName, ...(options.pageSize !== undefined && { pageSize: options.pageSize }) });
}

/** Ids of the index entries under `value`, as DynamoDB holds them. */
async function indexIds(index: 'byRecipient' | 'byOriginator', value: string): Promise<string[]> {
  const attribute = index === 'byRecipient' ? 'to' : 'from';
  const out = await aws.dynamodb.send(
    new QueryCommand({ TableName: tableName, IndexName: index, KeyConditionExpression: '#k = :v', ExpressionAttributeNames: { '#k': attribute }, ExpressionAttributeValues: { ':v': { S: value } } }),
  );
  return (out.Items ?? []).map((i) => i['id']?.S ?? '');
}

describe('look-ups by number (DynamoDB Local)', () => {
  it('lists the messages sent to a number newest first, in both stored forms (with and without +), and no other number\'s', async () => {
    // Prepare: five to A, alternating the forms, one minute apart; two to B
    const a = number();
    const b = number();
    const toA: string[] = [];
    for (let i = 0; i < 5; i++) toA.push(await messageAt(makeJob(i % 2 === 0 ? `+${a}` : a), T0 + i * MINUTE));
    await messageAt(makeJob(`+${b}`), T0 + 10 * MINUTE);
    await messageAt(makeJob(b), T0 + 11 * MINUTE);

    // Act
    const withPlus = await lookups().listByRecipient(`+${a}`);
    const withoutPlus = await listByRecipient(a, { tableName, dynamodb: aws.dynamodb });

    // Assess
    const newestFirst = [...toA].reverse();
    expect(withPlus.map((m) => m.id)).toEqual(newestFirst);
    expect(withoutPlus.map((m) => m.id)).toEqual(newestFirst);
    expect(withPlus.map((m) => m.to)).toEqual([`+${a}`, a, `+${a}`, a, `+${a}`]);
    expect(withPlus[0]).toMatchObject({ kind: 'MESSAGE', status: 'SUBMITTING', createdAt: new Date(T0 + 4 * MINUTE).toISOString(), from: '8x8' });
    expect((await lookups().listByRecipient(b)).map((m) => m.to)).toEqual([b, `+${b}`]);
  });

  it('bounds a look-up by since and until (inclusive) and by limit, across both forms', async () => {
    const a = number();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await messageAt(makeJob(i % 2 === 0 ? a : `+${a}`), T0 + i * MINUTE));
    const l = lookups();

    const since = await l.listByRecipient(a, { since: T0 + 3 * MINUTE });
    const until = await l.listByRecipient(a, { until: new Date(T0 + 1 * MINUTE) });
    const between = await l.listByRecipient(a, { since: new Date(T0 + MINUTE).toISOString(), until: T0 + 4 * MINUTE });
    const newest = await l.listByRecipient(a, { limit: 2 });
    const backwards = await l.listByRecipient(a, { since: T0 + 4 * MINUTE, until: T0 });

    expect(since.map((m) => m.id)).toEqual([ids[5], ids[4], ids[3]]);
    expect(until.map((m) => m.id)).toEqual([ids[1], ids[0]]);
    expect(between.map((m) => m.id)).toEqual([ids[4], ids[3], ids[2], ids[1]]);
    expect(newest.map((m) => m.id)).toEqual([ids[5], ids[4]]);
    expect(backwards).toEqual([]);
  });

  it('reads the index a page at a time, merging both forms\' pages in order (equal times by id)', async () => {
    const a = number();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await messageAt(makeJob(i < 5 ? `+${a}` : a), T0 + i * MINUTE));
    const tieA = await messageAt(makeJob(a, { id: `${uniqueName('tie')}-a` }), T0 + 10 * MINUTE);
    const tieB = await messageAt(makeJob(`+${a}`, { id: tieA.replace(/-a$/, '-b') }), T0 + 10 * MINUTE);

    const found = await lookups({ pageSize: 2 }).listByRecipient(a, { limit: 6 });

    expect(found.map((m) => m.id)).toEqual([tieB, tieA, ids[6], ids[5], ids[4], ids[3]]);
  });

  it('asks BatchGetItem again for the keys it left unprocessed (throttling), keeping the order', async () => {
    const a = number();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await messageAt(makeJob(`+${a}`), T0 + i * MINUTE));
    // DynamoDB Local never throttles: the first BatchGetItem goes to it with one key only, the others come back unprocessed, as throttled keys do.
    let batchGets = 0;
    const throttling: Pick<DynamoDBClient, 'send'> = {
      send: ((command: unknown) => {
        if (!(command instanceof BatchGetItemCommand)) return aws.dynamodb.send(command as QueryCommand);
        batchGets++;
        const request = command.input.RequestItems?.[tableName];
        const keys = request?.Keys ?? [];
        if (batchGets > 1 || keys.length < 2) return aws.dynamodb.send(command);
        return aws.dynamodb
          .send(new BatchGetItemCommand({ RequestItems: { [tableName]: { ...request, Keys: keys.slice(0, 1) } } }))
          .then((out) => ({ ...out, UnprocessedKeys: { [tableName]: { Keys: keys.slice(1) } } }));
      }) as DynamoDBClient['send'],
    };

    const found = await lookups({ client: throttling }).listByRecipient(a);

    expect(batchGets).toBe(2);
    expect(found.map((m) => m.id)).toEqual([...ids].reverse());
  });

  it('lists the MOs received from a number, as the SMSC wrote it or with +, newest first', async () => {
    const a = number();
    const first = await moAt(a, '8x8', T0);
    const second = await moAt(`+${a}`, '8x8', T0 + MINUTE);
    const third = await moAt(a, '12345', T0 + 2 * MINUTE, 'STOP');
    await moAt(number(), '8x8', T0 + 3 * MINUTE);

    const found = await listMoByOriginator(`+${a}`, { tableName, dynamodb: aws.dynamodb });
    const recent = await lookups().listMoByOriginator(a, { since: T0 + MINUTE, limit: 1 });

    expect(found.map((m) => m.id)).toEqual([third, second, first]);
    expect(found[0]).toMatchObject({ kind: 'MO', from: a, to: '12345', text: 'STOP', parts: 1, receivedAt: new Date(T0 + 2 * MINUTE).toISOString() });
    expect(recent.map((m) => m.id)).toEqual([third]);
  });

  it('keeps each index to its own kind: an MO to a number is no message sent to it, a message from a number no MO from it', async () => {
    // Prepare: C receives a message and sends... an MO *to* C; D is a message's sender and an MO's originator
    const c = number();
    const d = number();
    const message = await messageAt(makeJob(`+${c}`, { from: `+${d}` }), T0);
    await moAt(number(), `+${c}`, T0 + MINUTE);
    const mo = await moAt(`+${d}`, '8x8', T0 + 2 * MINUTE);

    // Assess: the indexes themselves hold only the right kind (MO and MOPART items carry `to`, MESSAGE and MOPART items `from`)
    expect(await indexIds('byRecipient', `+${c}`)).toEqual([message]);
    expect(await indexIds('byOriginator', `+${d}`)).toEqual([mo]);
    expect((await lookups().listByRecipient(c)).map((m) => m.id)).toEqual([message]);
    expect((await lookups().listMoByOriginator(d)).map((m) => m.id)).toEqual([mo]);
    expect(await lookups().listByRecipient(d)).toEqual([]);
  });

  it('refuses what is not a number to look up, and a limit out of bounds', async () => {
    await expect(lookups().listByRecipient('abc')).rejects.toThrow(RangeError);
    await expect(lookups().listByRecipient('+6591234567', { limit: 0 })).rejects.toThrow(/limit must be a whole number from 1 to 1000/);
    await expect(lookups().listMoByOriginator('+6591234567', { since: 'yesterday' })).rejects.toThrow(/since is not a date-time/);
  });
});

describe('index key attributes always have their declared type', () => {
  it('records jobs whose to or from is a number, empty or an object INVALID, where DynamoDB would refuse an index key', async () => {
    stack = await startStack();
    await stack.startService();
    const r = uniqueName('bad');
    const bodies = {
      [`${r}-to-number`]: { to: 6591234567, from: '8x8', text: 'x' },
      [`${r}-to-empty`]: { to: '', from: '8x8', text: 'x' },
      [`${r}-to-object`]: { to: { S: '+6591234567' }, from: '8x8', text: 'x' },
      [`${r}-from-empty`]: { to: '+6591234567', from: '', text: 'x' },
      [`${r}-from-number`]: { to: '+6591234567', from: 8, text: 'x' },
    };
    for (const [id, body] of Object.entries(bodies)) {
      await stack.aws.sqs.send(new SendMessageCommand({ QueueUrl: stack.queueUrl, MessageBody: JSON.stringify({ id, ...body }) }));
    }

    const items = await stack.waitFor(Object.keys(bodies), isDone);

    expect([...items.values()].map((i) => i.status)).toEqual(Object.keys(bodies).map(() => 'INVALID'));
    expect(items.get(`${r}-to-number`)?.reason).toMatch(/^to: /);
    expect(items.get(`${r}-from-number`)?.reason).toMatch(/^from: /);
    for (const item of items.values()) expect(item).not.toHaveProperty('to');
    await waitUntil(async () => (await stack?.queueDepth()) === 0);
    expect(stack.sim.submissions).toHaveLength(0);
  });

  it('stores an MO whose SMSC addresses are empty (an empty index key would be refused), leaving them out of the item', async () => {
    // Direct: the MO store writes the part and the MO without the empty addresses.
    const direct = await new MoStore({ client: aws.dynamodb, tableName }).addPart({ from: '', to: '', text: uniqueName('anon'), dataCoding: 0, receivedAt: new Date().toISOString() });
    const stored = await new StatusStore({ client: aws.dynamodb, tableName }).getMo(direct.recorded[0]?.id ?? '');
    expect(direct.recorded[0]).toMatchObject({ from: '', to: '' });
    expect(stored).toMatchObject({ kind: 'MO', parts: 1 });
    expect(stored).not.toHaveProperty('from');
    expect(stored).not.toHaveProperty('to');

    // End to end: the SMSC's deliver_sm is answered (only after its write), and an MO from a number is found by it.
    stack = await startStack();
    await stack.startService();
    const a = number();
    await stack.sim.sendMo({ from: '', to: '', text: uniqueName('anon') });
    await stack.sim.sendMo({ from: `+${a}`, to: '8x8', text: 'hello' });
    const found = await lookups().listMoByOriginator(`+${a}`);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ from: a, to: '8x8', text: 'hello' });
  });
});

/** Re-checks (not a fixed sleep) until `check` holds, or throws at the deadline. */
async function waitUntil(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
