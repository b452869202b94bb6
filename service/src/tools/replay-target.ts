/**
 * Where the replay tools (README, Replay: redrive and retry) find the queues: a queue's URL and its
 * dead-letter queue's, per lane. Flags first, then the environment, then the running local stack
 * (its file names every queue), and for a DLQ, last, the source queue's own redrive policy.
 */
import { existsSync, readFileSync } from 'node:fs';
import { GetQueueAttributesCommand, GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_STACK_FILE, resolveTarget } from './client.js';

/** The two lanes (docs/architecture.md §7.1): `bulk` is the outbound queue, `priority` the urgent one. */
export type QueueLane = 'bulk' | 'priority';

export interface ReplayTarget {
  region: string;
  lane: QueueLane;
  queueUrl?: string;
  dlqUrl?: string;
  tableName?: string;
}

/** The DLQ's environment variable per lane (the source queue's is the service's own: OUTBOUND_QUEUE_URL, OUTBOUND_PRIORITY_QUEUE_URL). */
const DLQ_ENV: Record<QueueLane, string> = { bulk: 'OUTBOUND_DLQ_URL', priority: 'OUTBOUND_PRIORITY_DLQ_URL' };

interface LocalStack {
  queueUrl?: string;
  dlqUrl?: string;
  priorityQueueUrl?: string;
  priorityDlqUrl?: string;
  env?: Record<string, string>;
}

/**
 * The lane's queue, its DLQ (when named anywhere but the redrive policy), the table and the region.
 * A DLQ from the local stack's file only goes with that stack's own queue: never a local URL
 * beside a real one.
 */
export function resolveReplayTarget(explicit: { lane?: QueueLane; queueUrl?: string; dlqUrl?: string; tableName?: string; region?: string } = {}): ReplayTarget {
  const lane = explicit.lane ?? 'bulk';
  const env = process.env;
  const base = resolveTarget({
    ...(explicit.tableName !== undefined && { tableName: explicit.tableName }),
    ...(explicit.region !== undefined && { region: explicit.region }),
    ...(explicit.queueUrl !== undefined && (lane === 'bulk' ? { queueUrl: explicit.queueUrl } : { priorityQueueUrl: explicit.queueUrl })),
  });
  const local = readLocalStack();
  // resolveTarget has read the flag, the environment and the local stack.
  const queueUrl = lane === 'bulk' ? base.queueUrl : base.priorityQueueUrl;
  const localQueue = lane === 'bulk' ? local.queueUrl : local.priorityQueueUrl;
  const localDlq = lane === 'bulk' ? local.dlqUrl : local.priorityDlqUrl;
  const dlqUrl = explicit.dlqUrl ?? env[DLQ_ENV[lane]] ?? (queueUrl !== undefined && queueUrl === localQueue ? localDlq : undefined);
  // The local stack's endpoints (resolveTarget sets them only when it needed the file itself).
  if (queueUrl !== undefined && queueUrl === localQueue) for (const [k, v] of Object.entries(local.env ?? {})) env[k] ??= v;
  return {
    region: base.region,
    lane,
    ...(queueUrl !== undefined && { queueUrl }),
    ...(dlqUrl !== undefined && { dlqUrl }),
    ...(base.tableName !== undefined && { tableName: base.tableName }),
  };
}

/**
 * The URL of the dead-letter queue named by `queueUrl`'s redrive policy, or undefined when it has
 * none. Needs sqs:GetQueueAttributes on the queue and sqs:GetQueueUrl on the DLQ.
 */
export async function deadLetterQueueOf(sqs: Pick<SQSClient, 'send'>, queueUrl: string): Promise<string | undefined> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['RedrivePolicy'] }));
  const policy = out.Attributes?.['RedrivePolicy'];
  if (policy === undefined) return undefined;
  const arn = (JSON.parse(policy) as { deadLetterTargetArn?: string }).deadLetterTargetArn;
  // arn:aws:sqs:<region>:<account>:<name>
  const [, , , , account, name] = arn?.split(':') ?? [];
  if (name === undefined || name.length === 0) return undefined;
  const url = await sqs.send(new GetQueueUrlCommand({ QueueName: name, ...(account && { QueueOwnerAWSAccountId: account }) }));
  return url.QueueUrl;
}

function readLocalStack(): LocalStack {
  if (!existsSync(LOCAL_STACK_FILE)) return {};
  return JSON.parse(readFileSync(LOCAL_STACK_FILE, 'utf8')) as LocalStack;
}
