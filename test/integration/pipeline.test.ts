import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { isDone, isSubmitted, job, ledger, startStack, type TestStack } from '../support/stack.js';

let stack: TestStack | undefined;
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
  for (const c of cleanups.splice(0).reverse()) await c();
});

const run = () => Math.random().toString(36).slice(2, 8);

describe('SQS → SMPP → DynamoDB', () => {
  it('delivers jobs and records DELIVERED and UNDELIVERED receipts', async () => {
    stack = await startStack();
    await stack.startService();
    const r = run();
    const jobs = [job(1, { id: `ok-${r}` }), job(2, { id: `fail-${r}`, to: '+6598120000' })];

    await stack.send(jobs);
    const items = await stack.waitFor(jobs.map((j) => j.id), isDone);

    expect(items.get(`ok-${r}`)).toMatchObject({ status: 'DELIVERED', segments: 1, encoding: 'GSM7', stat: 'DELIVRD' });
    expect(items.get(`fail-${r}`)).toMatchObject({ status: 'UNDELIVERED', stat: 'UNDELIV' });
    expect(items.get(`ok-${r}`)?.history.map((h) => h.status)).toEqual(['SUBMITTING', 'SUBMITTED', 'DELIVERED']);
    expect((await ledger(stack, jobs, items)).problems).toEqual([]);
  });

  it('sends a long message as concatenated parts and derives its status from every part receipt', async () => {
    stack = await startStack({ receiptOutcome: () => 'DELIVRD' });
    await stack.startService();
    const j = job(3, { id: `long-${run()}`, text: 'x'.repeat(400) });

    await stack.send([j]);
    const items = await stack.waitFor([j.id], isDone);

    const item = items.get(j.id);
    expect(item).toMatchObject({ status: 'DELIVERED', segments: 3 });
    expect(Object.values(item?.parts ?? {}).map((p) => p.status)).toEqual(['DELIVERED', 'DELIVERED', 'DELIVERED']);
    const parts = stack.sim.submissions.filter((s) => s.destinationAddr === j.to.slice(1));
    expect(parts.map((s) => s.concat?.seq)).toEqual([1, 2, 3]);
    expect(parts.map((s) => s.text).join('')).toBe(j.text);
  });

  it('submits a job id sent twice only once', async () => {
    stack = await startStack();
    await stack.startService();
    const j = job(4, { id: `dup-${run()}` });

    await stack.send([j]);
    await stack.waitFor([j.id], isDone);
    await stack.send([j]);
    await stack.aws.sqs.send(new SendMessageCommand({ QueueUrl: stack.queueUrl, MessageBody: JSON.stringify({ ...j, text: 'changed' }) }));
    await waitUntil(async () => (await stack?.queueDepth()) === 0);

    expect(stack.sim.submissions.filter((s) => s.destinationAddr === j.to.slice(1))).toHaveLength(1);
  });

  it('submits once a job id that arrives twice in one receive', async () => {
    stack = await startStack();
    const j = job(5, { id: `twin-${run()}` });
    await stack.send([j, j]);
    // 5 MPS → room for 10 jobs → one poller, whose first receive takes both copies.
    await stack.startService({ MPS_PER_BIND: '5' });

    await stack.waitFor([j.id], isDone);
    await waitUntil(async () => (await stack?.queueDepth()) === 0);

    expect(stack.sim.submissions.filter((s) => s.destinationAddr === j.to.slice(1))).toHaveLength(1);
  });

  it('records invalid jobs as INVALID with a readable reason and deletes them', async () => {
    stack = await startStack();
    await stack.startService();
    const r = run();
    const bodies = [
      JSON.stringify({ id: `bad-to-${r}`, to: 'abc', from: '8x8', text: 'x' }),
      JSON.stringify({ id: `bad-field-${r}`, to: '+6591234567', from: '8x8', text: 'x', colour: 'red' }),
      JSON.stringify({ id: `bad-enc-${r}`, to: '+6591234567', from: '8x8', text: 'Привет', encoding: 'gsm7' }),
    ];
    for (const body of bodies) await stack.aws.sqs.send(new SendMessageCommand({ QueueUrl: stack.queueUrl, MessageBody: body }));
    const noId = await stack.aws.sqs.send(new SendMessageCommand({ QueueUrl: stack.queueUrl, MessageBody: 'not json at all' }));

    const items = await stack.waitFor([`bad-to-${r}`, `bad-field-${r}`, `bad-enc-${r}`, noId.MessageId ?? ''], isDone);
    await waitUntil(async () => (await stack?.queueDepth()) === 0);

    expect(items.get(`bad-to-${r}`)?.reason).toMatch(/^to: must be a phone number/);
    expect(items.get(`bad-field-${r}`)?.reason).toBe('unknown field(s): colour');
    expect(items.get(`bad-enc-${r}`)?.reason).toMatch(/U\+041F/);
    expect(items.get(noId.MessageId ?? '')?.reason).toMatch(/not JSON/);
    expect([...items.values()].every((i) => i.status === 'INVALID')).toBe(true);
    expect(stack.sim.submissions).toHaveLength(0);
  });

  it('sends everything when the SMSC throttles, failing nothing', async () => {
    stack = await startStack({ faults: { throttleRate: 0.3 } });
    await stack.startService();
    const r = run();
    const jobs = Array.from({ length: 30 }, (_, i) => job(100 + i, { id: `thr-${r}-${i}` }));

    await stack.send(jobs);
    const items = await stack.waitFor(jobs.map((j) => j.id), isDone, 30_000);

    expect(stack.sim.stats.throttled).toBeGreaterThan(0);
    expect([...items.values()].every((i) => i.status === 'DELIVERED')).toBe(true);
    expect(await ledger(stack, jobs, items)).toEqual({ problems: [], duplicates: 0, parked: 0 });
  });

  it('loses nothing when the link drops mid-window: every job is submitted, duplicates only where outcomes were unknown', async () => {
    stack = await startStack({ responseDelayMs: 50 });
    await stack.startService();
    stack.sim.setFaults({ dropAfterSubmits: 12 });
    const r = run();
    const jobs = Array.from({ length: 40 }, (_, i) => job(200 + i, { id: `drop-${r}-${i}` }));

    await stack.send(jobs);
    const items = await stack.waitFor(jobs.map((j) => j.id), isDone, 60_000);

    expect(stack.sim.stats.dropped).toBe(1);
    expect([...items.values()].every((i) => i.status === 'DELIVERED')).toBe(true);
    const result = await ledger(stack, jobs, items);
    expect(result.problems).toEqual([]);
    expect(result.parked).toBeGreaterThan(0);
    expect([...items.values()].reduce((n, i) => n + i.unknownOutcomes, 0)).toBeGreaterThan(0);
  });

  it('applies a receipt that arrives before its submit response', async () => {
    stack = await startStack({ faults: { receiptBeforeResponse: true } });
    await stack.startService();
    const r = run();
    const jobs = Array.from({ length: 5 }, (_, i) => job(300 + i, { id: `early-${r}-${i}` }));

    await stack.send(jobs);
    const items = await stack.waitFor(jobs.map((j) => j.id), isDone);

    expect([...items.values()].map((i) => i.status)).toEqual(Array(5).fill('DELIVERED'));
    expect((await ledger(stack, jobs, items)).problems).toEqual([]);
  });

  it("stores a receipt that arrives on another task's receiver bind", async () => {
    stack = await startStack();
    await stack.startService({}, { owner: 'task-a' });
    await stack.startService({}, { owner: 'task-b' });
    const r = run();
    const jobs = Array.from({ length: 10 }, (_, i) => job(400 + i, { id: `other-${r}-${i}` }));

    await stack.send(jobs);
    const items = await stack.waitFor(jobs.map((j) => j.id), isDone);

    const receivers = new Set(stack.sim.acknowledgedReceipts.map((a) => a.sessionId));
    expect(receivers.size).toBe(2);
    expect([...items.values()].every((i) => i.status === 'DELIVERED')).toBe(true);
    expect((await ledger(stack, jobs, items)).problems).toEqual([]);
  });

  it('answers ESME_RX_T_APPN while DynamoDB is unreachable, and stores the receipt when the SMSC retries', async () => {
    // The receipt comes 1.5 s after the response: time to cut DynamoDB off once SUBMITTED is recorded.
    stack = await startStack({ receiptRetryMs: 100, receiptDelayMs: 1500 });
    const endpoint = new URL(stack.aws.env['AWS_ENDPOINT_URL_DYNAMODB'] ?? '');
    const proxy = await startTcpProxy(Number(endpoint.port));
    cleanups.push(() => proxy.stop());
    const dynamodb = new DynamoDBClient({ endpoint: `http://127.0.0.1:${proxy.port}`, maxAttempts: 1 });
    cleanups.push(async () => dynamodb.destroy());
    await stack.startService({}, { dynamodb });
    const j = job(500, { id: `ddb-${run()}` });
    await stack.send([j]);
    await stack.waitFor([j.id], isSubmitted);

    proxy.cut();
    await stack.sim.waitFor(() => stack!.sim.stats.receiptsNacked > 0 || stack!.sim.acknowledgedReceipts.length > 0, 10_000, 'a receipt answer');
    const nackedWhileDown = stack.sim.stats.receiptsNacked;
    proxy.restore();
    const items = await stack.waitFor([j.id], isDone);

    expect(nackedWhileDown).toBeGreaterThan(0);
    expect(items.get(j.id)?.status).toBe('DELIVERED');
    expect((await ledger(stack, [j], items)).problems).toEqual([]);
    const raw = await stack.aws.dynamodb.send(new GetItemCommand({ TableName: stack.tableName, Key: { id: { S: j.id } } }));
    expect(raw.Item?.['expiresAt']?.N).toBeDefined();
  });
});

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
