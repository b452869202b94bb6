import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { createSqsClient } from '../aws/queue.js';
import { StatusLookups, StatusStore, type LookupOptions, type MoItem, type StatusItem } from '../aws/status-store/index.js';
import { jobSchema } from '../job.js';

/** What a producer passes: the job contract (README, "The job"), id optional (a UUID is made). */
export type SmsInput = Omit<import('zod').input<typeof jobSchema>, 'id'> & { id?: string };

/** Where `npm start` writes its endpoints so the tools find the local stack with no flags. */
export const LOCAL_STACK_FILE = fileURLToPath(new URL('../../../.cache/local-stack.json', import.meta.url));

export interface Target {
  region: string;
  queueUrl?: string;
  /** The urgent lane's queue (README, Priority lanes). */
  priorityQueueUrl?: string;
  tableName?: string;
}

/**
 * Resolves queue, table and region: explicit values first, then the
 * environment (OUTBOUND_QUEUE_URL, MESSAGES_TABLE, AWS_REGION), then the running
 * local stack — whose endpoints are then set through the SDK's own variables.
 */
export function resolveTarget(explicit: Partial<Target> = {}): Target {
  const env = process.env;
  let local: { queueUrl?: string; priorityQueueUrl?: string; tableName?: string; region?: string; env?: Record<string, string> } = {};
  const needLocal = !(explicit.queueUrl ?? env['OUTBOUND_QUEUE_URL']) || !(explicit.tableName ?? env['MESSAGES_TABLE']);
  if (needLocal && existsSync(LOCAL_STACK_FILE)) {
    local = JSON.parse(readFileSync(LOCAL_STACK_FILE, 'utf8')) as typeof local;
    for (const [k, v] of Object.entries(local.env ?? {})) env[k] ??= v;
  }
  const target: Target = { region: explicit.region ?? env['AWS_REGION'] ?? local.region ?? 'us-east-1' };
  const queueUrl = explicit.queueUrl ?? env['OUTBOUND_QUEUE_URL'] ?? local.queueUrl;
  const tableName = explicit.tableName ?? env['MESSAGES_TABLE'] ?? local.tableName;
  // The local stack's priority queue only with its other queue: never a local URL beside a real one.
  const priorityQueueUrl = explicit.priorityQueueUrl ?? env['OUTBOUND_PRIORITY_QUEUE_URL'] ?? (queueUrl === local.queueUrl ? local.priorityQueueUrl : undefined);
  if (queueUrl) target.queueUrl = queueUrl;
  if (priorityQueueUrl) target.priorityQueueUrl = priorityQueueUrl;
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

export interface SendOptions {
  /** The outbound queue (bulk jobs); needed unless `priority`. */
  queueUrl?: string;
  /** The priority queue (OUTBOUND_PRIORITY_QUEUE_URL); needed with `priority`. */
  priorityQueueUrl?: string;
  /** Urgent jobs (one-time passwords): sent ahead of bulk ones (README, Priority lanes). @defaultvalue false */
  priority?: boolean;
  sqs?: SQSClient;
  region?: string;
}

/** Validates and puts jobs on the queue (batches of 10), the priority queue with `priority: true`; returns their ids. */
export async function sendSms(inputs: SmsInput | SmsInput[], opts: SendOptions): Promise<string[]> {
  const queueUrl = opts.priority === true ? opts.priorityQueueUrl : opts.queueUrl;
  if (!queueUrl) throw new Error(opts.priority === true ? 'priority: true needs priorityQueueUrl (the OUTBOUND_PRIORITY_QUEUE_URL of the stack)' : 'queueUrl is required');
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
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: asciiJson(jobs[0]) }));
    } else {
      for (let i = 0; i < jobs.length; i += 10) {
        const chunk = jobs.slice(i, i + 10);
        const out = await sqs.send(
          new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: chunk.map((j, n) => ({ Id: String(n), MessageBody: asciiJson(j) })) }),
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

/** Where a look-up reads, and what it returns (README, Look-ups by number). */
export type LookupTarget = LookupOptions & { tableName: string; dynamodb?: DynamoDBClient; region?: string };

/** The messages sent to a number (with or without its `+`), newest first; `since`/`until`/`limit` bound it (limit 50 by default). */
export async function listByRecipient(to: string, opts: LookupTarget): Promise<StatusItem[]> {
  return withLookups(opts, (l, range) => l.listByRecipient(to, range));
}

/** The MOs received from a number or sender (a number with or without its `+`), newest first. */
export async function listMoByOriginator(from: string, opts: LookupTarget): Promise<MoItem[]> {
  return withLookups(opts, (l, range) => l.listMoByOriginator(from, range));
}

async function withLookups<T>(opts: LookupTarget, read: (lookups: StatusLookups, range: LookupOptions) => Promise<T>): Promise<T> {
  const { tableName, dynamodb, region, ...range } = opts;
  const client = dynamodb ?? new DynamoDBClient({ region: region ?? process.env['AWS_REGION'] ?? 'us-east-1' });
  try {
    return await read(new StatusLookups({ client, tableName }), range);
  } finally {
    if (!dynamodb) client.destroy();
  }
}
