/**
 * Opt-out (docs/architecture.md §7.5) against DynamoDB Local and the SMSC simulator: the suppression
 * list's adapter, MO keywords stored in the MO's own transaction (once, whatever is redelivered),
 * the REJECTED record, and the whole path through the real service — a STOP from a phone, then jobs
 * to it that never reach the SMSC.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fromItem } from '../../service/src/aws/item-codec.js';
import { MoStore } from '../../service/src/aws/mo-store.js';
import { StatusStore } from '../../service/src/aws/status-store/index.js';
import { SuppressionList, type SuppressionEntry } from '../../service/src/aws/suppression.js';
import { optOutId, type OptOutSettings } from '../../service/src/core/opt-out.js';
import type { Job } from '../../service/src/domain.js';
import { silentLogger } from '../../service/src/logger.js';
import { noMetrics } from '../../service/src/metrics.js';
import { InboundPipeline } from '../../service/src/pipeline/inbound.js';
import type { DeliverFields } from '../../service/src/smpp/receipt.js';
import { useLocalAws, uniqueName } from '../support/aws.js';
import { FakeClock } from '../support/fake-clock.js';
import { countCalls } from '../support/sdk-counter.js';
import { isDone, startStack, type TestStack } from '../support/stack.js';

const aws = useLocalAws();
let tableName: string;
beforeAll(async () => {
  tableName = await aws.sharedTable();
});

const SETTINGS: OptOutSettings = { stopKeywords: ['STOP', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'STOPALL'], startKeywords: ['START', 'UNSTOP'], scope: 'sender' };
const SHORT_CODE = '72345';
const OTHER_SENDER = '8x8';

/** A phone number unique to the test, digits only (the simulator delivers to numbers ending 0000 as undeliverable). */
/** Counts the BatchGetItems through `client` that read opt-out entries (the store batches its own reads too). */
function countSuppressionChecks(client: DynamoDBClient): { count(): number } {
  let n = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const items = (args.input as { RequestItems?: Record<string, { Keys?: { id?: { S?: string } }[] }> }).RequestItems ?? {};
      if (context.commandName === 'BatchGetItemCommand' && Object.values(items).some((r) => (r.Keys ?? []).some((k) => k.id?.S?.startsWith('OPTOUT#')))) n++;
      return next(args);
    },
    { step: 'initialize', name: 'suppressionChecks' },
  );
  return { count: () => n };
}

function newNumber(): string {
  return `659${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}1`;
}

async function entryOf(sender: string, number: string): Promise<SuppressionEntry | undefined> {
  const out = await aws.dynamodb.send(new GetItemCommand({ TableName: tableName, Key: { id: { S: optOutId(sender, number) } }, ConsistentRead: true }));
  return fromItem<SuppressionEntry>(out.Item);
}

/** A client that counts TransactWriteItems carrying an OPTOUT write and fails the first `fail` of them, as a network error would. */
function clientFailingOptOutWrites(fail: number): { client: DynamoDBClient; attempts: () => number } {
  const client = new DynamoDBClient({});
  let attempts = 0;
  client.middlewareStack.add(
    (next) => async (args) => {
      const items = ((args.input as Record<string, unknown>)['TransactItems'] as Array<{ Update?: { Key?: { id?: { S?: string } } } }> | undefined) ?? [];
      if (items.some((t) => t.Update?.Key?.id?.S?.startsWith('OPTOUT#'))) {
        attempts += 1;
        if (attempts <= fail) throw new Error('injected: connection reset');
      }
      return next(args);
    },
    { step: 'initialize', name: 'failOptOutWrite' },
  );
  return { client, attempts: () => attempts };
}

describe('SuppressionList on DynamoDB Local', () => {
  it('adds, lists and removes entries; removing flips the state (the service has no DeleteItem)', async () => {
    // Prepare
    const list = new SuppressionList({ client: aws.dynamodb, tableName });
    const number = newNumber();
    const sender = uniqueName('S').slice(-11).replace(/[^A-Za-z0-9]/g, 'x');
    // Act
    const added = await list.optOut(`+${number}`, sender);
    const all = await list.optOut(number, '*');
    const listed = await list.list({ sender });
    const removed = await list.optIn(number, sender);
    const missing = await list.optIn(newNumber(), sender);
    // Assess
    expect(added).toMatchObject({ id: `OPTOUT#${sender.toUpperCase()}#${number}`, kind: 'OPTOUT', number, sender: sender.toUpperCase(), state: 'out', source: 'operator', version: 1 });
    expect(all).toMatchObject({ id: `OPTOUT#*#${number}`, sender: '*', state: 'out' });
    expect(listed.map((e) => e.id)).toEqual([added.id]);
    expect(removed).toMatchObject({ id: added.id, state: 'in', version: 2 });
    expect(missing).toBeUndefined();
    expect((await list.list({ state: 'out' })).map((e) => e.id)).toContain(all.id);
    expect((await list.list({ state: 'out' })).map((e) => e.id)).not.toContain(added.id);
    // No attribute of any index: the entries stay out of byRecipient, byOriginator and openByDeadline.
    const raw = await aws.dynamodb.send(new GetItemCommand({ TableName: tableName, Key: { id: { S: added.id } } }));
    expect(Object.keys(raw.Item ?? {}).sort()).toEqual(['changedAt', 'id', 'kind', 'number', 'sender', 'source', 'state', 'version']);
  });

  it("checks the jobs of one turn (a receive's worth) with one BatchGetItem, each against its sender and every sender", async () => {
    // Prepare
    const client = new DynamoDBClient({});
    const calls = countCalls(client);
    const list = new SuppressionList({ client, tableName });
    const [a, b, c] = [newNumber(), newNumber(), newNumber()];
    await new SuppressionList({ client: aws.dynamodb, tableName }).optOut(a, SHORT_CODE);
    await new SuppressionList({ client: aws.dynamodb, tableName }).optOut(b, '*');
    // Act
    const answers = await Promise.all([
      list.isSuppressed(`+${a}`, SHORT_CODE),
      list.isSuppressed(`+${a}`, OTHER_SENDER),
      list.isSuppressed(`+${b}`, OTHER_SENDER),
      list.isSuppressed(`+${c}`, SHORT_CODE),
      ...Array.from({ length: 60 }, () => list.isSuppressed(`+${newNumber()}`, SHORT_CODE)),
    ]);
    // Assess: 64 checks of 2 keys each, at most 100 keys per call
    expect(answers.slice(0, 4)).toEqual([true, false, true, false]);
    expect(answers.slice(4).every((x) => !x)).toBe(true);
    expect(calls.snapshot()).toEqual({ BatchGetItem: 2 });
    client.destroy();
  });
});

describe('npm run optout', () => {
  const ROOT = fileURLToPath(new URL('../../', import.meta.url));
  const cli = (...args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', 'service/src/tools/optout-cli.ts', ...args, '--table', tableName], { cwd: ROOT, env: { ...process.env, ...aws.env }, timeout: 30_000 }, (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr }),
      );
    });

  it('adds, lists and removes a number for one sender or every sender, and refuses what it cannot do', async () => {
    const number = newNumber();
    const sender = '7' + String(Math.floor(Math.random() * 1e6)).padStart(6, '0');
    expect(await cli('add', `+${number}`, '--sender', sender)).toMatchObject({ code: 0, stdout: expect.stringMatching(new RegExp(`^${number}  OPTED OUT  sender ${sender}  .* by operator\n$`)) });
    expect((await cli('add', `+${number}`, '--all')).stdout).toContain('sender * (every sender)');
    const listed = await cli('list', '--sender', sender, '--json');
    expect(listed.stdout.trim().split('\n').map((l) => JSON.parse(l) as SuppressionEntry)).toEqual([expect.objectContaining({ number, sender, state: 'out', source: 'operator' })]);
    expect((await cli('remove', number, '--sender', sender)).stdout).toContain('opted in');
    expect(await entryOf(sender, number)).toMatchObject({ state: 'in', version: 2 });
    expect(await entryOf('*', number)).toMatchObject({ state: 'out' });
    expect(await cli('remove', newNumber(), '--all')).toMatchObject({ code: 1, stderr: expect.stringContaining('has no entry for every sender') });
    expect((await cli('add', number)).stderr).toContain('pass --sender <sender>, or --all');
  }, 120_000);
});

describe('MO keywords, written in the transaction that stores the MO', () => {
  const tasks: { pipeline: InboundPipeline; client: DynamoDBClient }[] = [];
  afterEach(async () => {
    for (const t of tasks.splice(0)) {
      await t.pipeline.stop();
      t.client.destroy();
    }
  });

  function task(client: DynamoDBClient, settings: OptOutSettings = SETTINGS): InboundPipeline {
    const clock = new FakeClock();
    clock.advance(Date.parse('2030-01-01T00:00:00.000Z') - clock.now());
    const list = new SuppressionList({ client, tableName, clock: () => clock.now() });
    const mo = new MoStore({ client, tableName, clock: () => clock.now(), alsoWrite: (m) => list.moWrite(m, settings) });
    const pipeline = new InboundPipeline({ store: new StatusStore({ client, tableName }), mo, logger: silentLogger, metrics: noMetrics, clock, optOut: settings });
    pipeline.start();
    tasks.push({ pipeline, client });
    return pipeline;
  }

  const deliver = (from: string, text: string): DeliverFields => ({ esmClass: 0, dataCoding: 0, shortMessage: Buffer.from(text, 'latin1'), sourceAddr: from, destinationAddr: SHORT_CODE });

  it('changes the list once for a STOP whose deliver_sm is redelivered', async () => {
    const pipeline = task(new DynamoDBClient({}));
    const number = newNumber();
    await pipeline.onDeliver(deliver(number, 'Stop.'));
    await pipeline.onDeliver(deliver(number, 'Stop.'));
    expect(await entryOf(SHORT_CODE, number)).toMatchObject({ state: 'out', source: 'mo', moId: expect.stringMatching(/^MO#/), version: 1 });
  });

  it('does not acknowledge a STOP whose write failed; its redelivery stores the MO and the opt-out once', async () => {
    const failing = clientFailingOptOutWrites(1);
    const pipeline = task(failing.client);
    const number = newNumber();
    await expect(pipeline.onDeliver(deliver(number, 'STOP'))).rejects.toThrow();
    expect(await entryOf(SHORT_CODE, number)).toBeUndefined();
    await pipeline.onDeliver(deliver(number, 'STOP'));
    expect(failing.attempts()).toBe(2);
    expect(await entryOf(SHORT_CODE, number)).toMatchObject({ state: 'out', version: 1 });
  });

  it("opts in with START, and writes nothing for other texts; scope 'all' keys the entry on every sender", async () => {
    const pipeline = task(new DynamoDBClient({}));
    const number = newNumber();
    await pipeline.onDeliver(deliver(number, 'STOP please'));
    expect(await entryOf(SHORT_CODE, number)).toBeUndefined();
    await pipeline.onDeliver(deliver(number, ' stop '));
    await pipeline.onDeliver(deliver(number, 'START'));
    expect(await entryOf(SHORT_CODE, number)).toMatchObject({ state: 'in', version: 2 });
    const all = task(new DynamoDBClient({}), { ...SETTINGS, scope: 'all' });
    await all.onDeliver(deliver(number, 'quit!'));
    expect(await entryOf('*', number)).toMatchObject({ state: 'out', sender: '*', version: 1 });
  });
});

describe('StatusStore.recordOptedOut', () => {
  const opts = (owner: string) => ({ owner, leaseMs: 60_000, sqsMessageId: uniqueName('sqs'), encoding: 'GSM7', segments: 2, concat: 'udh8', concatRef: 3 });
  const job = (): Job => ({ id: uniqueName('oo'), to: '+6591234561', from: SHORT_CODE, text: 'x'.repeat(200), encoding: 'auto', receipt: true });

  it('records a claimed, unsent job REJECTED with reason "opted out" and a history entry', async () => {
    const store = new StatusStore({ client: aws.dynamodb, tableName });
    const j = job();
    await store.claim(j, opts('task-a'));
    expect(await store.recordOptedOut(j.id, 'task-a')).toEqual({ outcome: 'rejected' });
    const item = await store.get(j.id);
    expect(item).toMatchObject({ status: 'REJECTED', statusRank: 100, reason: 'opted out', parts: {}, version: 2 });
    expect(item?.history.map((h) => h.status)).toEqual(['SUBMITTING', 'REJECTED']);
    expect(item).not.toHaveProperty('claimOwner');
  });

  it("refuses a job with an accepted part, or another owner's claim", async () => {
    const store = new StatusStore({ client: aws.dynamodb, tableName });
    const partly = job();
    await store.claim(partly, opts('task-a'));
    await store.recordAccepted(partly.id, 'task-a', [{ part: 1, smscMessageId: uniqueName('smsc'), keys: [uniqueName('k')] }], 2);
    expect(await store.recordOptedOut(partly.id, 'task-a')).toEqual({ outcome: 'unchanged', status: 'SUBMITTING' });
    const other = job();
    await store.claim(other, opts('task-b'));
    expect(await store.recordOptedOut(other.id, 'task-a')).toEqual({ outcome: 'unchanged', status: 'SUBMITTING' });
    expect((await store.get(other.id))?.status).toBe('SUBMITTING');
  });
});

describe('through the service: a STOP from a phone, then jobs to it', () => {
  let stack: TestStack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  const sentTo = (s: TestStack, number: string) => s.sim.submissions.filter((x) => x.destinationAddr === number).length;
  const jobTo = (number: string, from: string, tag: string) => ({ id: uniqueName(tag), to: `+${number}`, from, text: `Offer ${tag}` });

  it("scope 'sender': STOP to a short code holds back its jobs to that number, not another sender's; START lets them through again", async () => {
    // Prepare
    stack = await startStack();
    const client = new DynamoDBClient({});
    const suppression = countSuppressionChecks(client);
    await stack.startService({ OPT_OUT: 'true' }, { dynamodb: client });
    const number = newNumber();
    // Act: the phone sends STOP to the short code, then jobs come from it and from another sender
    await stack.sim.sendMo({ from: `+${number}`, to: SHORT_CODE, text: 'Stop' });
    const held = [jobTo(number, SHORT_CODE, 'held-1'), jobTo(number, SHORT_CODE, 'held-2')];
    const other = jobTo(number, OTHER_SENDER, 'other');
    const before = suppression.count();
    await stack.send([...held, other]);
    const items = await stack.waitFor([...held, other].map((j) => j.id), isDone);
    const checks = suppression.count() - before;
    // Assess
    for (const j of held) expect(items.get(j.id)).toMatchObject({ status: 'REJECTED', reason: 'opted out', parts: {}, attempts: 1 });
    expect(items.get(other.id)?.status).toBe('DELIVERED');
    expect(sentTo(stack, number)).toBe(1);
    expect(checks).toBeGreaterThanOrEqual(1);
    expect(checks).toBeLessThanOrEqual(3);
    // Act: START, then another job from the short code
    await stack.sim.sendMo({ from: `+${number}`, to: SHORT_CODE, text: 'START' });
    const again = jobTo(number, SHORT_CODE, 'again');
    await stack.send([again]);
    expect((await stack.waitFor([again.id], isDone)).get(again.id)?.status).toBe('DELIVERED');
    expect(sentTo(stack, number)).toBe(2);
    expect(await entryOf(SHORT_CODE, number)).toMatchObject({ state: 'in', source: 'mo', version: 2 });
    client.destroy();
  });

  it("scope 'all': STOP to one short code holds back every sender's jobs to that number", async () => {
    stack = await startStack();
    await stack.startService({ OPT_OUT: 'true', OPT_OUT_SCOPE: 'all' });
    const number = newNumber();
    await stack.sim.sendMo({ from: `+${number}`, to: SHORT_CODE, text: 'UNSUBSCRIBE' });
    const jobs = [jobTo(number, SHORT_CODE, 'all-1'), jobTo(number, OTHER_SENDER, 'all-2')];
    await stack.send(jobs);
    const items = await stack.waitFor(jobs.map((j) => j.id), isDone);
    expect(jobs.map((j) => items.get(j.id)?.reason)).toEqual(['opted out', 'opted out']);
    expect(sentTo(stack, number)).toBe(0);
    expect(await entryOf('*', number)).toMatchObject({ state: 'out' });
  });

  it('off (the default): a STOP changes nothing, jobs go, and opt-out makes no DynamoDB call', async () => {
    stack = await startStack();
    const client = new DynamoDBClient({});
    const calls = countCalls(client);
    const suppression = countSuppressionChecks(client);
    const transactItems: number[] = [];
    client.middlewareStack.add(
      (next) => async (args) => {
        const items = ((args.input as Record<string, unknown>)['TransactItems'] as Array<{ Put?: { Item?: { kind?: { S?: string } } } }> | undefined) ?? [];
        if (items.some((t) => t.Put?.Item?.kind?.S === 'MO')) transactItems.push(items.length);
        return next(args);
      },
      { step: 'initialize', name: 'transactItems' },
    );
    await stack.startService({}, { dynamodb: client });
    const number = newNumber();
    await stack.sim.sendMo({ from: `+${number}`, to: SHORT_CODE, text: 'STOP' });
    const j = jobTo(number, SHORT_CODE, 'off');
    await stack.send([j]);
    expect((await stack.waitFor([j.id], isDone)).get(j.id)?.status).toBe('DELIVERED');
    expect(sentTo(stack, number)).toBe(1);
    expect(await entryOf(SHORT_CODE, number)).toBeUndefined();
    expect(suppression.count()).toBe(0);
    expect(calls.counts['Scan']).toBeUndefined();
    // The MO's transaction holds the MO and its part item, nothing more.
    expect(transactItems).toEqual([2]);
  });

  it('records a STOP whose first write failed once: the deliver_sm is refused, the SMSC redelivers it', async () => {
    stack = await startStack();
    const failing = clientFailingOptOutWrites(1);
    await stack.startService({ OPT_OUT: 'true' }, { dynamodb: failing.client });
    const number = newNumber();
    await stack.sim.sendMo({ from: `+${number}`, to: SHORT_CODE, text: 'stop' });
    expect(failing.attempts()).toBe(2);
    expect(stack.sim.stats.moAcked).toBe(1);
    expect(await entryOf(SHORT_CODE, number)).toMatchObject({ state: 'out', version: 1 });
    const j = jobTo(number, SHORT_CODE, 'redelivered');
    await stack.send([j]);
    expect((await stack.waitFor([j.id], isDone)).get(j.id)?.reason).toBe('opted out');
    failing.client.destroy();
  });
});
