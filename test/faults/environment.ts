/**
 * The local AWS stand-ins for the whole fault matrix, started once (docs/architecture.md §6): fauxqs in this
 * process and ONE DynamoDB Local JVM with ONE messages table. A JVM costs ~3 s to start and gets
 * slower with every stream-enabled table it holds, so faults share the table and keep their data
 * apart by job-id prefix; each fault gets its own queue (fauxqs queues are free).
 *
 * Outside vitest there is no globalSetup to lean on (test/support/aws.ts uses `inject`), so this
 * module does what that pair does: start the stand-ins, point the SDK's standard environment
 * variables at them, and hand out clients configured only through that environment.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createSqsClient } from '../../service/src/aws/queue.js';
import { StatusStore } from '../../service/src/aws/status-store/index.js';
import { createMessagesTable, localAwsEnv, startLocalAws, type LocalAws } from '../../service/src/local/emulators.js';

export interface LocalEnvironment {
  /** AWS_ENDPOINT_URL_* and dummy credentials, also set on process.env (for children too). */
  env: Record<string, string>;
  sqsEndpoint: string;
  dynamodbEndpoint: string;
  /** Direct clients (never through a fault proxy): the producer's and the auditor's view. */
  sqs: SQSClient;
  dynamodb: DynamoDBClient;
  tableName: string;
  store: StatusStore;
  /** Every message (ready, delayed, in flight) of a queue, without touching visibility. */
  inspectQueue(name: string): Promise<QueuedMessage[]>;
  stop(): Promise<void>;
}

export interface QueuedMessage {
  messageId: string;
  body: string;
  state: 'ready' | 'delayed' | 'inflight';
  /** Epoch ms at which an in-flight message becomes visible again. */
  visibleAt?: number;
}

/** `<prefix>-<base36 time>-<hex>`: valid as a queue or table name and as part of a job id. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export async function startLocalEnvironment(): Promise<LocalEnvironment> {
  const aws: LocalAws = await startLocalAws();
  try {
    const env: Record<string, string> = { ...localAwsEnv(aws) };
    Object.assign(process.env, env);
    const sqs = createSqsClient();
    const dynamodb = new DynamoDBClient({});
    const tableName = uniqueName('messages-faults');
    await createMessagesTable(dynamodb, tableName);
    return {
      env,
      sqsEndpoint: aws.sqsEndpoint,
      dynamodbEndpoint: aws.dynamodbEndpoint,
      sqs,
      dynamodb,
      tableName,
      store: new StatusStore({ client: dynamodb, tableName }),
      inspectQueue: (name) => inspectQueue(aws.sqsEndpoint, name),
      async stop() {
        sqs.destroy();
        dynamodb.destroy();
        await aws.stop();
      },
    };
  } catch (err) {
    await aws.stop();
    throw err;
  }
}

interface FauxqsInspection {
  messages: {
    ready: Array<{ messageId: string; body: string }>;
    delayed: Array<{ messageId: string; body: string }>;
    inflight: Array<{ message: { messageId: string; body: string }; visibilityDeadline: number }>;
  };
}

/**
 * fauxqs' own inspection endpoint (`GET /_fauxqs/queues/<name>`). GetQueueAttributes only gives
 * counts, and receiving would change visibility; the ledger needs to know WHICH jobs are still
 * queued, so it reads the emulator's state directly. Real SQS has no such thing; this is a
 * property of the stand-in used for auditing, not of the service.
 */
async function inspectQueue(endpoint: string, name: string): Promise<QueuedMessage[]> {
  const res = await fetch(`${endpoint}/_fauxqs/queues/${encodeURIComponent(name)}`, { signal: AbortSignal.timeout(5000) });
  if (res.status === 404) return [];
  if (!res.ok) throw new Error(`fauxqs inspection of ${name} answered ${res.status}`);
  const { messages } = (await res.json()) as FauxqsInspection;
  return [
    ...messages.ready.map((m) => ({ messageId: m.messageId, body: m.body, state: 'ready' as const })),
    ...messages.delayed.map((m) => ({ messageId: m.messageId, body: m.body, state: 'delayed' as const })),
    ...messages.inflight.map((m) => ({ messageId: m.message.messageId, body: m.message.body, state: 'inflight' as const, visibleAt: m.visibilityDeadline })),
  ];
}
