/**
 * "The floor the emulators impose": the AWS calls the service made per job (as counted), issued
 * directly against the same fauxqs and DynamoDB Local with the same concurrency (pollers, jobs in
 * progress, two lanes per job), with no SMPP and no service logic. Ours ÷ floor says how much of
 * the end-to-end rate the connector itself costs; near 1, the emulators are the limit.
 */
import {
  BatchExecuteStatementCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { createSqsClient } from '../../service/src/aws/queue.js';
import { sleep } from './load.js';
import { countCalls, type CallCounts } from '../support/sdk-counter.js';

/**
 * The per-job calls to replay; SQS receives are not replayed by count but done as the service does
 * them. The first in this order that a job has is its claim.
 */
export const REPLAYED = [
  'BatchExecuteStatement',
  'UpdateItem',
  'TransactWriteItems',
  'GetItem',
  'PutItem',
  'DeleteMessageBatch',
  'ChangeMessageVisibilityBatch',
] as const;
type Replayed = (typeof REPLAYED)[number];

export interface FloorPlan {
  table: string;
  queueUrl: string;
  jobs: number;
  /** Calls per job, by command, from the service's run. */
  perJob: CallCounts;
  pollers: number;
  maxInProgress: number;
  deadline: number;
}

export interface FloorOutcome {
  done: number;
  /** Jobs where a call failed (the rest of their calls were skipped). */
  failed: number;
  /** Epoch ms when the last job was done. */
  lastDoneAt: number;
  calls: { sqs: CallCounts; dynamodb: CallCounts };
  callMeanMs: CallCounts;
}

/**
 * Runs the replay until every job is done or the deadline passes. Job `n`'s calls: each command's
 * rate spread over the jobs (e.g. 2.4 per job → 2 or 3), interleaved as the service issues them.
 */
export async function runFloor(plan: FloorPlan): Promise<FloorOutcome> {
  const sqs = createSqsClient();
  const ddb = new DynamoDBClient({});
  const sqsCalls = countCalls(sqs);
  const ddbCalls = countCalls(ddb);
  const abort = new AbortController();
  let done = 0;
  let failed = 0;
  let inProgress = 0;
  let received = 0;
  let lastDone = Date.now();
  const jobs: Promise<void>[] = [];
  // A batched claim carries the claims of as many jobs as the service's averaged (1 / its rate).
  const claimsPerBatch = Math.min(25, Math.max(1, Math.round(1 / (plan.perJob.BatchExecuteStatement ?? 1))));

  const runJob = async (message: Message, n: number): Promise<void> => {
    const key = `floor-${message.MessageId ?? n}`;
    const calls = callsOfJob(plan.perJob, n).map((command, i, all) => {
      // As in the service: the first update creates the message item (the claim), later ones
      // write small items of their own (correlations, parked receipts); reads and puts are the
      // message item's read-modify-writes.
      const updatesBefore = all.slice(0, i).filter((c) => c === 'UpdateItem').length;
      return { command, target: command === 'UpdateItem' && updatesBefore > 0 ? `${key}#${updatesBefore}` : key };
    });
    // The claim first; then two lanes at once, as the service records the submit on one path while
    // the receipt, already back from an unthrottled SMSC, is stored on the other.
    const lane = async (part: typeof calls): Promise<void> => {
      for (const c of part) await issue(c.command, c.target, message);
    };
    try {
      await lane(calls.slice(0, 1));
      const rest = calls.slice(1);
      await Promise.all([lane(rest.filter((_, i) => i % 2 === 0)), lane(rest.filter((_, i) => i % 2 === 1))]);
      done += 1;
    } catch {
      failed += 1;
    }
    lastDone = Date.now();
  };

  const issue = async (command: Replayed, key: string, message: Message): Promise<void> => {
    const handle = message.ReceiptHandle ?? '';
    switch (command) {
      case 'UpdateItem':
        await ddb.send(
          new UpdateItemCommand({
            TableName: plan.table,
            Key: { id: { S: key } },
            UpdateExpression: 'SET #k = :k, #u = :u, #v = if_not_exists(#v, :z) + :one',
            ExpressionAttributeNames: { '#k': 'kind', '#u': 'updatedAt', '#v': 'version' },
            ExpressionAttributeValues: { ':k': { S: 'FLOOR' }, ':u': { S: new Date().toISOString() }, ':z': { N: '0' }, ':one': { N: '1' } },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return;
      case 'BatchExecuteStatement': {
        const now = new Date().toISOString();
        await ddb.send(
          new BatchExecuteStatementCommand({
            Statements: Array.from({ length: claimsPerBatch }, (_, j) => ({
              Statement: `INSERT INTO "${plan.table}" VALUE {'id': ?, 'kind': ?, 'status': ?, 'createdAt': ?, 'updatedAt': ?, 'version': ?}`,
              Parameters: [{ S: `${key}#claim${j}` }, { S: 'FLOOR' }, { S: 'SUBMITTING' }, { S: now }, { S: now }, { N: '1' }],
            })),
          }),
        );
        return;
      }
      case 'TransactWriteItems':
        await ddb.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              {
                Update: {
                  TableName: plan.table,
                  Key: { id: { S: `${key}#correlation` } },
                  UpdateExpression: 'SET #k = :k, #m = :m',
                  ConditionExpression: 'attribute_not_exists(#r)',
                  ExpressionAttributeNames: { '#k': 'kind', '#m': 'messageId', '#r': 'receipts' },
                  ExpressionAttributeValues: { ':k': { S: 'FLOOR' }, ':m': { S: key } },
                },
              },
              { Put: { TableName: plan.table, Item: statusLikeItem(key) } },
            ],
          }),
        );
        return;
      case 'GetItem':
        await ddb.send(new GetItemCommand({ TableName: plan.table, Key: { id: { S: key } }, ConsistentRead: true }));
        return;
      case 'PutItem':
        await ddb.send(new PutItemCommand({ TableName: plan.table, Item: statusLikeItem(key) }));
        return;
      case 'DeleteMessageBatch':
        await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: plan.queueUrl, Entries: [{ Id: '0', ReceiptHandle: handle }] }));
        return;
      case 'ChangeMessageVisibilityBatch':
        await sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: plan.queueUrl, Entries: [{ Id: '0', ReceiptHandle: handle, VisibilityTimeout: 60 }] }));
        return;
    }
  };

  const poller = async (): Promise<void> => {
    while (received < plan.jobs && Date.now() < plan.deadline) {
      if (inProgress >= plan.maxInProgress) {
        await sleep(5);
        continue;
      }
      let messages: Message[];
      try {
        const out = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: plan.queueUrl, MaxNumberOfMessages: Math.min(10, plan.maxInProgress - inProgress), WaitTimeSeconds: 20 }),
          { abortSignal: abort.signal },
        );
        messages = out.Messages ?? [];
      } catch {
        if (abort.signal.aborted) return;
        await sleep(100);
        continue;
      }
      for (const m of messages) {
        const n = received++;
        inProgress += 1;
        jobs.push(runJob(m, n).finally(() => (inProgress -= 1)));
      }
    }
  };

  try {
    const pollers = Array.from({ length: plan.pollers }, poller);
    while (done + failed < plan.jobs && Date.now() < plan.deadline) await sleep(100);
    abort.abort();
    await Promise.allSettled([...pollers, ...jobs]);
  } finally {
    sqs.destroy();
    ddb.destroy();
  }
  return { done, failed, lastDoneAt: lastDone, calls: { sqs: sqsCalls.snapshot(), dynamodb: ddbCalls.snapshot() }, callMeanMs: { ...sqsCalls.meanMs(), ...ddbCalls.meanMs() } };
}

/**
 * Bare calls for `durationMs` at the SDK's full socket pool: DynamoDB Local's JVM serves several
 * times more calls per second once its JIT has compiled the paths, which takes tens of thousands
 * of calls; unwarmed, whichever run comes first would look slow.
 */
export async function warmUpDynamoDb(table: string, durationMs: number): Promise<number> {
  const ddb = new DynamoDBClient({});
  const deadline = Date.now() + durationMs;
  let calls = 0;
  const worker = async (w: number): Promise<void> => {
    for (let i = 0; i < 100_000 && Date.now() < deadline; i++) {
      const key = `warmup-${w}-${i}`;
      await ddb.send(new PutItemCommand({ TableName: table, Item: statusLikeItem(key) }));
      await ddb.send(new GetItemCommand({ TableName: table, Key: { id: { S: key } }, ConsistentRead: true }));
      await ddb.send(
        new UpdateItemCommand({
          TableName: table,
          Key: { id: { S: `${key}#1` } },
          UpdateExpression: 'SET #k = :k',
          ExpressionAttributeNames: { '#k': 'kind' },
          ExpressionAttributeValues: { ':k': { S: 'WARMUP' } },
          ReturnValues: 'ALL_OLD',
        }),
      );
      calls += 3;
    }
  };
  try {
    await Promise.all(Array.from({ length: 50 }, (_, w) => worker(w)));
  } finally {
    ddb.destroy();
  }
  return calls;
}

/** Job n's replayed calls: ⌊(n+1)·r⌋ − ⌊n·r⌋ of each command with rate r, round-robin across commands. */
export function callsOfJob(perJob: CallCounts, n: number): Replayed[] {
  const quota = REPLAYED.map((c) => {
    const r = perJob[c] ?? 0;
    return Math.floor((n + 1) * r) - Math.floor(n * r);
  });
  const out: Replayed[] = [];
  for (let round = 0; quota.some((q) => q > round); round++) {
    REPLAYED.forEach((c, i) => {
      if ((quota[i] ?? 0) > round) out.push(c);
    });
  }
  return out;
}

/** An item the size and shape of a status item (parts, history, timestamps). */
function statusLikeItem(id: string): Record<string, AttributeValue> {
  const now = new Date().toISOString();
  return {
    id: { S: id },
    kind: { S: 'MESSAGE' },
    status: { S: 'DELIVERED' },
    statusRank: { N: '100' },
    to: { S: '+6590000001' },
    from: { S: '8x8' },
    encoding: { S: 'GSM7' },
    segments: { N: '1' },
    parts: { M: { '1': { M: { smscMessageId: { S: '1A2B3C4D5E6F7081' }, status: { S: 'DELIVERED' }, stat: { S: 'DELIVRD' }, err: { S: '000' }, doneAt: { S: now } } } } },
    createdAt: { S: now },
    updatedAt: { S: now },
    submittedAt: { S: now },
    doneAt: { S: now },
    attempts: { N: '1' },
    unknownOutcomes: { N: '0' },
    sqsMessageId: { S: '6f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0' },
    history: {
      L: ['SUBMITTING', 'SUBMITTED', 'DELIVERED'].map((s) => ({ M: { status: { S: s }, at: { S: now } } })),
    },
    stat: { S: 'DELIVRD' },
    err: { S: '000' },
    version: { N: '3' },
    expiresAt: { N: String(Math.floor(Date.now() / 1000) + 30 * 86_400) },
  };
}
