/**
 * Replay (docs/architecture.md §7.4) against the real stand-ins: redrive moves jobs from a DLQ back to
 * its queue on fauxqs, and retry re-queues a FAILED job, which the real service then sends over SMPP to
 * the simulator and records in DynamoDB Local. The CLIs are thin; one refusal runs `npm run retry`'s
 * script as a process, for its message and exit code.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StatusStore, type ClaimOptions, type StatusItem } from '../../service/src/aws/status-store/index.js';
import { createQueues } from '../../service/src/local/emulators.js';
import type { ErrorDetail, Job } from '../../service/src/domain.js';
import { previewDeadLetters, redrive } from '../../service/src/tools/redrive.js';
import { deadLetterQueueOf } from '../../service/src/tools/replay-target.js';
import { retryJob } from '../../service/src/tools/retry.js';
import { useLocalAws, uniqueName } from '../support/aws.js';
import { isDone, isSubmitted, job, startStack, type TestStack } from '../support/stack.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
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

const REFUSED: ErrorDetail = { code: '0x00000045', name: 'ESME_RSUBMITFAIL', description: 'submit_sm failed' };

async function depth(sqs: SQSClient, queueUrl: string): Promise<{ visible: number; hidden: number }> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  return { visible: Number(out.Attributes?.['ApproximateNumberOfMessages']), hidden: Number(out.Attributes?.['ApproximateNumberOfMessagesNotVisible']) };
}

/** Every message on the queue, received once each (hidden for a minute). */
async function drain(sqs: SQSClient, queueUrl: string) {
  const all = [];
  for (;;) {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60, MessageAttributeNames: ['All'] }));
    if (!out.Messages?.length) return all;
    all.push(...out.Messages);
  }
}

async function putOnDlq(dlqUrl: string, bodies: string[], attribute?: string): Promise<void> {
  for (const body of bodies) {
    await aws.sqs.send(
      new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: body, ...(attribute && { MessageAttributes: { producer: { DataType: 'String', StringValue: attribute } } }) }),
    );
  }
}

const jobBody = (id: string) => JSON.stringify({ id, to: '+6591234567', from: '8x8', text: 'hello' });

describe('redrive (fauxqs)', () => {
  it('previews the DLQ without moving anything: how many wait, and the job ids of some', async () => {
    const { queueUrl, dlqUrl } = await createQueues(aws.sqs, uniqueName('rd'));
    const ids = [uniqueName('j'), uniqueName('j'), uniqueName('j')];
    await putOnDlq(dlqUrl, [...ids.map(jobBody), 'not json']);

    const preview = await previewDeadLetters({ sqs: aws.sqs, dlqUrl, count: 10 });

    expect(preview.waiting).toBe(4);
    expect(preview.messages.map((m) => m.jobId).sort()).toEqual([...ids, undefined].sort());
    // Visible again at once, and nothing reached the source queue.
    expect(await depth(aws.sqs, dlqUrl)).toEqual({ visible: 4, hidden: 0 });
    expect(await depth(aws.sqs, queueUrl)).toEqual({ visible: 0, hidden: 0 });
    expect((await previewDeadLetters({ sqs: aws.sqs, dlqUrl, count: 2 })).messages).toHaveLength(2);
  });

  it('moves N, then all the rest, with their bodies and attributes, deleting from the DLQ what reached the queue', async () => {
    const { queueUrl, dlqUrl } = await createQueues(aws.sqs, uniqueName('rd'));
    const bodies = Array.from({ length: 5 }, () => jobBody(uniqueName('j')));
    await putOnDlq(dlqUrl, bodies, 'billing');

    const some = await redrive({ sqs: aws.sqs, dlqUrl, queueUrl, count: 2 });
    const afterSome = { dlq: await depth(aws.sqs, dlqUrl), queue: await depth(aws.sqs, queueUrl) };
    const rest = await redrive({ sqs: aws.sqs, dlqUrl, queueUrl });

    expect(some).toEqual({ moved: 2, notSent: 0, notDeleted: 0 });
    expect(afterSome).toEqual({ dlq: { visible: 3, hidden: 0 }, queue: { visible: 2, hidden: 0 } });
    expect(rest).toEqual({ moved: 3, notSent: 0, notDeleted: 0 });
    expect(await depth(aws.sqs, dlqUrl)).toEqual({ visible: 0, hidden: 0 });
    const moved = await drain(aws.sqs, queueUrl);
    expect(moved.map((m) => m.Body).sort()).toEqual([...bodies].sort());
    expect(moved.every((m) => m.MessageAttributes?.['producer']?.StringValue === 'billing')).toBe(true);
  });

  it('deletes nothing when the queue refuses the send: the messages stay in the DLQ', async () => {
    const { dlqUrl } = await createQueues(aws.sqs, uniqueName('rd'));
    await putOnDlq(dlqUrl, [jobBody(uniqueName('j')), jobBody(uniqueName('j'))]);
    const missing = dlqUrl.replace(/[^/]+$/, uniqueName('no-such-queue'));

    const result = await redrive({ sqs: aws.sqs, dlqUrl, queueUrl: missing, visibilityTimeoutSeconds: 1 });

    expect(result).toMatchObject({ moved: 0, notSent: 2, notDeleted: 0, error: expect.stringMatching(/^SendMessageBatch to the queue failed/) });
    const left = await depth(aws.sqs, dlqUrl);
    expect(left.visible + left.hidden).toBe(2);
  });

  it("finds a queue's DLQ from its redrive policy", async () => {
    const { queueUrl, dlqUrl } = await createQueues(aws.sqs, uniqueName('rd'));
    expect(await deadLetterQueueOf(aws.sqs, queueUrl)).toBe(dlqUrl);
    expect(await deadLetterQueueOf(aws.sqs, dlqUrl)).toBeUndefined();
  });

  it('hands redriven jobs to the service, which sends a new one and deletes one it already handled unsent', async () => {
    stack = await startStack();
    await stack.startService();
    const r = uniqueName('rdv');
    const handled = job(1, { id: `${r}-handled` });
    await stack.send([handled]);
    await stack.waitFor([handled.id], isDone);
    const fresh = job(2, { id: `${r}-fresh` });
    await putOnDlq(stack.dlqUrl, [JSON.stringify(fresh), JSON.stringify(handled)]);

    const result = await redrive({ sqs: aws.sqs, dlqUrl: stack.dlqUrl, queueUrl: stack.queueUrl });
    const items = await stack.waitFor([fresh.id], isDone);
    await waitUntil(async () => (await stack?.queueDepth()) === 0);

    expect(result.moved).toBe(2);
    expect(items.get(fresh.id)?.status).toBe('DELIVERED');
    expect(stack.sim.submissions.filter((s) => s.destinationAddr === handled.to.slice(1))).toHaveLength(1);
  });
});

describe('retry', () => {
  const store = () => new StatusStore({ client: aws.dynamodb, tableName });

  function claimOpts(segments = 1): ClaimOptions {
    return { owner: 'task-a', leaseMs: 60_000, sqsMessageId: uniqueName('sqs'), encoding: 'GSM7', segments, concat: 'udh8', concatRef: 77 };
  }

  function makeJob(overrides: Partial<Job> = {}): Job {
    return { id: uniqueName('rt'), to: '+6591234567', from: '8x8', text: 'Hello', encoding: 'auto', receipt: true, ...overrides };
  }

  async function item(id: string): Promise<StatusItem> {
    const found = await store().get(id);
    if (found === undefined) throw new Error(`no item ${id}`);
    return found;
  }

  it('re-queues a job the SMSC refused: the service sends it again and it is DELIVERED, with both attempts in its history', async () => {
    stack = await startStack();
    await stack.startService();
    stack.sim.setFaults({ submitFailRate: 1 });
    const j = job(10, { id: uniqueName('rt'), text: 'Your code is 1234' });
    await stack.send([j]);
    const failed = (await stack.waitFor([j.id], isDone)).get(j.id);
    stack.sim.setFaults({ submitFailRate: 0 });

    const result = await retryJob(j.id, { dynamodb: aws.dynamodb, sqs: aws.sqs, tableName: stack.tableName, queueUrl: stack.queueUrl });
    const delivered = (await stack.waitFor([j.id], (i) => i.status === 'DELIVERED')).get(j.id);

    expect(failed).toMatchObject({ status: 'FAILED', lastError: { name: 'ESME_RSUBMITFAIL' }, job: { id: j.id, to: j.to, from: '8x8', text: 'Your code is 1234', encoding: 'auto', receipt: true } });
    expect(result).toMatchObject({ outcome: 'queued', retries: 1, acceptedParts: [] });
    expect(delivered?.history.map((h) => (h.note ? `${h.status} (${h.note})` : h.status))).toEqual(['SUBMITTING', 'FAILED', 'SUBMITTING (retry)', 'SUBMITTED', 'DELIVERED']);
    expect(delivered).toMatchObject({ retries: 1, attempts: 2, unknownOutcomes: 0 });
    expect(delivered).not.toHaveProperty('job');
    expect(stack.sim.submissions.filter((s) => s.destinationAddr === j.to.slice(1))).toHaveLength(1);
  });

  it('refuses, changing nothing and queueing nothing: not FAILED, no stored job, an unknown outcome or an accepted part (without force)', async () => {
    const { queueUrl } = await createQueues(aws.sqs, uniqueName('rt'));
    const s = store();
    const submitting = makeJob();
    await s.claim(submitting, claimOpts());
    const noJob = makeJob();
    await s.claim(noJob, claimOpts());
    await s.recordFailed(noJob.id, 'task-a', REFUSED);
    const unknown = makeJob();
    await s.claim(unknown, claimOpts());
    await s.releaseClaim(unknown.id, 'task-a', { unknownOutcome: true });
    await s.claim(unknown, claimOpts());
    await s.recordFailed(unknown.id, 'task-a', REFUSED, unknown);
    const partly = makeJob({ text: 'x'.repeat(200) });
    await s.claim(partly, claimOpts(2));
    await s.recordAccepted(partly.id, 'task-a', [{ part: 1, smscMessageId: uniqueName('smsc'), keys: [uniqueName('k')] }], 2);
    await s.recordFailed(partly.id, 'task-a', REFUSED, partly);
    const ids = [submitting.id, noJob.id, unknown.id, partly.id, uniqueName('missing')];
    const before = await Promise.all(ids.slice(0, 4).map(item));

    const results = [];
    for (const id of ids) results.push(await retryJob(id, { dynamodb: aws.dynamodb, sqs: aws.sqs, tableName, queueUrl }));

    expect(results.map((r) => (r.outcome === 'refused' ? r.refusal : r.outcome))).toEqual(['not-failed', 'no-job', 'may-have-been-sent', 'may-have-been-sent', 'not-found']);
    expect(await Promise.all(ids.slice(0, 4).map(item))).toEqual(before);
    expect(await depth(aws.sqs, queueUrl)).toEqual({ visible: 0, hidden: 0 });
  });

  it('with force, sends only the parts the SMSC has not accepted, by the stored split and reference', async () => {
    stack = await startStack();
    await stack.startService();
    const s = store();
    const j = makeJob({ to: '+6598000077', text: 'y'.repeat(400) });
    await s.claim(j, claimOpts(3));
    await s.recordAccepted(j.id, 'task-a', [{ part: 1, smscMessageId: uniqueName('smsc'), keys: [uniqueName('k')] }], 3);
    await s.recordFailed(j.id, 'task-a', REFUSED, j);

    const result = await retryJob(j.id, { dynamodb: aws.dynamodb, sqs: aws.sqs, tableName: stack.tableName, queueUrl: stack.queueUrl, force: true });
    const done = (await stack.waitFor([j.id], (i) => isSubmitted(i) && i.parts['2']?.status === 'DELIVERED' && i.parts['3']?.status === 'DELIVERED')).get(j.id);

    expect(result).toMatchObject({ outcome: 'queued', acceptedParts: [1] });
    const sent = stack.sim.submissions.filter((sub) => sub.destinationAddr === j.to.slice(1));
    expect(sent.map((sub) => sub.concat)).toEqual([
      { scheme: 'udh8', refNum: 77, total: 3, seq: 2 },
      { scheme: 'udh8', refNum: 77, total: 3, seq: 3 },
    ]);
    expect(done).toMatchObject({ status: 'SUBMITTED', segments: 3, concatRef: 77, retries: 1, attempts: 2 });
  });

  it('puts the message back to FAILED, job and all, when its job cannot be queued; a later retry queues it', async () => {
    const { queueUrl } = await createQueues(aws.sqs, uniqueName('rt'));
    const s = store();
    const j = makeJob();
    await s.claim(j, claimOpts());
    await s.recordFailed(j.id, 'task-a', REFUSED, j);
    const failed = await item(j.id);

    const notQueued = await retryJob(j.id, { dynamodb: aws.dynamodb, sqs: aws.sqs, tableName, queueUrl: queueUrl.replace(/[^/]+$/, uniqueName('no-such-queue')) });
    const restored = await item(j.id);
    const queued = await retryJob(j.id, { dynamodb: aws.dynamodb, sqs: aws.sqs, tableName, queueUrl });

    expect(notQueued).toMatchObject({ outcome: 'not-queued', restored: true });
    expect(restored).toMatchObject({ status: 'FAILED', statusRank: 100, doneAt: failed.doneAt, job: j, version: failed.version + 2 });
    expect(restored).not.toHaveProperty('retries');
    expect(restored.history.slice(-2).map((h) => `${h.status} (${h.note})`)).toEqual(['SUBMITTING (retry)', 'FAILED (retry not queued)']);
    expect(queued).toMatchObject({ outcome: 'queued', retries: 1 });
    expect((await drain(aws.sqs, queueUrl)).map((m) => JSON.parse(m.Body ?? '{}') as unknown)).toEqual([j]);
  });

  it('npm run retry says why it refuses, and exits 1', async () => {
    const s = store();
    const j = makeJob();
    await s.claim(j, claimOpts());
    const { queueUrl } = await createQueues(aws.sqs, uniqueName('rt'));

    const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', 'service/src/tools/retry-cli.ts', j.id, '--table', tableName, '--queue-url', queueUrl], { cwd: ROOT, env: { ...process.env, ...aws.env }, timeout: 30_000 }, (err, _stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stderr }),
      );
    });

    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`${j.id}: not retried: it is SUBMITTING; only a FAILED message is retried\n`);
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
