/**
 * Retry (docs/architecture.md §7.4): re-queues the job of a FAILED message as a new attempt under
 * the same id. First the store makes the message SUBMITTING again (conditional on FAILED and the
 * version read, refused when it may have reached the handset unless forced), then the job kept on
 * the FAILED item goes on the queue; if that send fails, the message is put back to FAILED. The
 * service's claim of the re-queued job is an ordinary one: it sends only the parts not accepted,
 * by the stored split (docs/architecture.md §5 rules 1 and 4).
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { RetryRefusal } from '../core/message-state.js';
import { RetryStore } from '../aws/status-store/index.js';
import { asciiJson } from './client.js';

export interface RetryJobOptions {
  dynamodb: Pick<DynamoDBClient, 'send'>;
  sqs: Pick<SQSClient, 'send'>;
  tableName: string;
  /** The queue the job goes to (the bulk queue, or the priority one). */
  queueUrl: string;
  /** Retry even when the message may have reached the handset; only the parts not accepted are sent. @defaultvalue false */
  force?: boolean;
  /** Item lifetime after the write, as the service's MESSAGE_TTL_DAYS. @defaultvalue 30 */
  ttlDays?: number;
  /** Epoch milliseconds. @defaultvalue Date.now */
  clock?: () => number;
}

export type RetryJobResult =
  /** On the queue; `retries` is this retry's number, `acceptedParts` the parts that will not be sent again. */
  | { outcome: 'queued'; id: string; retries: number; acceptedParts: number[]; sqsMessageId: string | undefined }
  | { outcome: 'refused'; id: string; refusal: RetryRefusal; message: string }
  /** The send failed; `restored`: FAILED again (else the message changed meanwhile: the job may have been queued after all). */
  | { outcome: 'not-queued'; id: string; error: string; restored: boolean };

/** Re-queues the FAILED job `id` (see the module comment). */
export async function retryJob(id: string, o: RetryJobOptions): Promise<RetryJobResult> {
  const store = new RetryStore({
    client: o.dynamodb,
    tableName: o.tableName,
    ...(o.ttlDays !== undefined && { ttlDays: o.ttlDays }),
    ...(o.clock !== undefined && { clock: o.clock }),
  });
  const started = await store.start(id, { force: o.force ?? false });
  if (started.outcome === 'refused') return { outcome: 'refused', id, refusal: started.refusal, message: started.message };
  try {
    const out = await o.sqs.send(new SendMessageCommand({ QueueUrl: o.queueUrl, MessageBody: asciiJson(started.job) }));
    return { outcome: 'queued', id, retries: started.after.retries ?? 1, acceptedParts: started.acceptedParts, sqsMessageId: out.MessageId };
  } catch (err) {
    // Not queued as far as we know. Were it queued after all, the claim finds FAILED and deletes it unsent.
    const undone = await store.undo(started);
    return { outcome: 'not-queued', id, error: (err as Error).message, restored: undone.outcome === 'undone' };
  }
}
