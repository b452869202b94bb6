import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { createSqsClient } from '../aws/queue.js';
import { StatusStore, type StatusItem } from '../aws/status-store/index.js';
import { jobSchema } from '../job.js';

/** What a producer passes: the job contract (README, "The job"), id optional (a UUID is made). */
export type SmsInput = Omit<import('zod').input<typeof jobSchema>, 'id'> & { id?: string };

/** Where `npm start` writes its endpoints so the tools find the local stack with no flags. */
export const LOCAL_STACK_FILE = fileURLToPath(new URL('../../../.cache/local-stack.json', import.meta.url));

export interface Target {
  region: string;
  queueUrl?: string;
  tableName?: string;
}

/**
 * Resolves queue, table and region: explicit values first, then the
 * environment (OUTBOUND_QUEUE_URL, MESSAGES_TABLE, AWS_REGION), then the running
 * local stack — whose endpoints are then set through the SDK's own variables.
 */
export function resolveTarget(explicit: Partial<Target> = {}): Target {
  const env = process.env;
  let local: { queueUrl?: string; tableName?: string; region?: string; env?: Record<string, string> } = {};
  const needLocal = !(explicit.queueUrl ?? env['OUTBOUND_QUEUE_URL']) || !(explicit.tableName ?? env['MESSAGES_TABLE']);
  if (needLocal && existsSync(LOCAL_STACK_FILE)) {
    local = JSON.parse(readFileSync(LOCAL_STACK_FILE, 'utf8')) as typeof local;
    for (const [k, v] of Object.entries(local.env ?? {})) env[k] ??= v;
  }
  const target: Target = { region: explicit.region ?? env['AWS_REGION'] ?? local.region ?? 'us-east-1' };
  const queueUrl = explicit.queueUrl ?? env['OUTBOUND_QUEUE_URL'] ?? local.queueUrl;
  const tableName = explicit.tableName ?? env['MESSAGES_TABLE'] ?? local.tableName;
  if (queueUrl) target.queueUrl = queueUrl;
  if (tableName) target.tableName = tableName;
  return target;
}

/**
 * JSON with every non-ASCII character as \uXXXX: still the same JSON value, and
 * it passes emulators that refuse characters outside the BMP (fauxqs, the local SQS).
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Validates and puts jobs on the queue (batches of 10); returns their ids. */
export async function sendSms(inputs: SmsInput | SmsInput[], opts: { queueUrl: string; sqs?: SQSClient; region?: string }): Promise<string[]> {
  const list = Array.isArray(inputs) ? inputs : [inputs];
  const jobs = list.map((input) => {
    const job = { ...input, id: input.id ?? randomUUID() };
    const parsed = jobSchema.safeParse(job);
    if (!parsed.success) throw new Error(`job ${job.id}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return job;
  });
  const sqs = opts.sqs ?? createSqsClient(opts.region ?? process.env['AWS_REGION'] ?? 'us-east-1');
  try {
    if (jobs.length === 1) {
      await sqs.send(new SendMessageCommand({ QueueUrl: opts.queueUrl, MessageBody: asciiJson(jobs[0]) }));
    } else {
      for (let i = 0; i < jobs.length; i += 10) {
        const chunk = jobs.slice(i, i + 10);
        const out = await sqs.send(
          new SendMessageBatchCommand({ QueueUrl: opts.queueUrl, Entries: chunk.map((j, n) => ({ Id: String(n), MessageBody: asciiJson(j) })) }),
        );
        if (out.Failed?.length) throw new Error(`SendMessageBatch failed for ${out.Failed.map((f) => chunk[Number(f.Id)]?.id).join(', ')}`);
      }
    }
  } finally {
    if (!opts.sqs) sqs.destroy();
  }
  return jobs.map((j) => j.id);
}

/** Reads one message's status record. */
export async function getStatus(id: string, opts: { tableName: string; dynamodb?: DynamoDBClient; region?: string }): Promise<StatusItem | undefined> {
  const client = opts.dynamodb ?? new DynamoDBClient({ region: opts.region ?? process.env['AWS_REGION'] ?? 'us-east-1' });
  try {
    return await new StatusStore({ client, tableName: opts.tableName }).get(id);
  } finally {
    if (!opts.dynamodb) client.destroy();
  }
}
