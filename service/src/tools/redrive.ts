/**
 * Redrive (docs/architecture.md §7.4): moves jobs from a dead-letter queue back to its source queue,
 * ten at a time — receive, SendMessageBatch of the same bodies (and message attributes) to the
 * source, then DeleteMessageBatch of exactly the entries the send accepted. A message is deleted
 * from the DLQ only once its copy is on the source queue, so nothing is lost: a crash or a failed
 * delete between the two leaves it in both, and the copy is a duplicate job id, which the service
 * submits once (docs/architecture.md §5 rule 1). A message whose send failed stays in the DLQ and
 * is visible again after the receive's visibility timeout.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { SQS_MAX_BATCH } from '../aws/queue.js';

export interface RedriveOptions {
  sqs: Pick<SQSClient, 'send'>;
  dlqUrl: string;
  queueUrl: string;
  /** Move at most this many. @defaultvalue every message the DLQ returns until a receive comes back empty */
  count?: number;
  /** How long a received message stays hidden while it is moved; one whose send failed reappears after it. @defaultvalue 120 */
  visibilityTimeoutSeconds?: number;
  /** Long poll of each receive (long polling asks every SQS server, so an empty answer means empty). @defaultvalue 2 */
  waitSeconds?: number;
  /** Called after each batch with the totals so far. */
  onProgress?: (progress: RedriveResult) => void;
}

export interface RedriveResult {
  /** On the source queue and deleted from the DLQ. */
  moved: number;
  /** Refused by SendMessageBatch: still in the DLQ. */
  notSent: number;
  /** On the source queue but not deleted from the DLQ: they will be moved again, as duplicates the service submits once. */
  notDeleted: number;
  /** Why the run stopped early, when a call failed as a whole. */
  error?: string;
}

/** Moves messages from `dlqUrl` to `queueUrl` (see the module comment). */
export async function redrive(o: RedriveOptions): Promise<RedriveResult> {
  const limit = o.count ?? Number.POSITIVE_INFINITY;
  const result: RedriveResult = { moved: 0, notSent: 0, notDeleted: 0 };
  while (result.moved + result.notSent + result.notDeleted < limit) {
    const max = Math.min(SQS_MAX_BATCH, limit - (result.moved + result.notSent + result.notDeleted));
    let messages: Message[];
    try {
      messages = await receive(o.sqs, o.dlqUrl, max, o.visibilityTimeoutSeconds ?? 120, o.waitSeconds ?? 2);
    } catch (err) {
      return { ...result, error: `receive from the DLQ failed: ${(err as Error).message}` };
    }
    if (messages.length === 0) break;
    let sent: Message[];
    try {
      const out = await o.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: o.queueUrl,
          Entries: messages.map((m, i) => ({ Id: String(i), MessageBody: m.Body ?? '', ...attributesOf(m) })),
        }),
      );
      sent = (out.Successful ?? []).flatMap((s) => (s.Id === undefined ? [] : [messages[Number(s.Id)]].filter((m): m is Message => m !== undefined)));
      result.notSent += messages.length - sent.length;
    } catch (err) {
      // None was sent, as far as we know; all stay in the DLQ and reappear after the visibility timeout.
      result.notSent += messages.length;
      return { ...result, error: `SendMessageBatch to the queue failed: ${(err as Error).message}` };
    }
    if (sent.length > 0) {
      try {
        const out = await o.sqs.send(
          new DeleteMessageBatchCommand({ QueueUrl: o.dlqUrl, Entries: sent.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })) }),
        );
        const deleted = out.Successful?.length ?? 0;
        result.moved += deleted;
        result.notDeleted += sent.length - deleted;
      } catch (err) {
        result.notDeleted += sent.length;
        return { ...result, error: `DeleteMessageBatch on the DLQ failed: ${(err as Error).message}` };
      }
    }
    o.onProgress?.({ ...result });
  }
  return result;
}

export interface DeadLetterPreview {
  /** ApproximateNumberOfMessages: waiting in the DLQ. */
  waiting: number;
  /** ApproximateNumberOfMessagesNotVisible: received by someone and not yet deleted or visible again. */
  inFlight: number;
  /** The messages looked at, oldest receive first. */
  messages: { sqsMessageId: string; jobId: string | undefined; receiveCount: number | undefined; sentAt: string | undefined }[];
}

/**
 * How many messages the DLQ holds, and the job ids of up to `count` of them, moving nothing. A look
 * needs a receive, which hides the messages and counts a receive on them; they are made visible
 * again at once (visibility 0) after the look, and the DLQ has no redrive policy of its own, so the
 * count changes nothing. Were this stopped in between, they would be visible again after `hideSeconds`.
 */
export async function previewDeadLetters(o: { sqs: Pick<SQSClient, 'send'>; dlqUrl: string; count?: number; hideSeconds?: number; waitSeconds?: number }): Promise<DeadLetterPreview> {
  const attrs = await o.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: o.dlqUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  const waiting = Number(attrs.Attributes?.['ApproximateNumberOfMessages'] ?? 0);
  const inFlight = Number(attrs.Attributes?.['ApproximateNumberOfMessagesNotVisible'] ?? 0);
  const limit = o.count ?? 20;
  const seen: Message[] = [];
  try {
    while (seen.length < limit) {
      const batch = await receive(o.sqs, o.dlqUrl, Math.min(SQS_MAX_BATCH, limit - seen.length), o.hideSeconds ?? 30, o.waitSeconds ?? 1);
      if (batch.length === 0) break;
      seen.push(...batch);
    }
  } finally {
    for (let i = 0; i < seen.length; i += SQS_MAX_BATCH) {
      const chunk = seen.slice(i, i + SQS_MAX_BATCH);
      await o.sqs
        .send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: o.dlqUrl, Entries: chunk.map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle ?? '', VisibilityTimeout: 0 })) }))
        .catch(() => undefined); // they reappear after hideSeconds anyway
    }
  }
  return {
    waiting,
    inFlight,
    messages: seen.map((m) => ({
      sqsMessageId: m.MessageId ?? '',
      jobId: jobIdOf(m.Body ?? ''),
      receiveCount: m.Attributes?.ApproximateReceiveCount === undefined ? undefined : Number(m.Attributes.ApproximateReceiveCount),
      sentAt: m.Attributes?.SentTimestamp === undefined ? undefined : new Date(Number(m.Attributes.SentTimestamp)).toISOString(),
    })),
  };
}

/** The job id a body names, when it is a JSON object with a string `id`; never the rest of the body (it holds the text). */
export function jobIdOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body.startsWith('\uFEFF') ? body.slice(1) : body) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    const id = (parsed as Record<string, unknown>)['id'];
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** The producer's message attributes, as SendMessageBatch takes them (the list fields are reserved by SQS). */
function attributesOf(m: Message): { MessageAttributes?: Record<string, MessageAttributeValue> } {
  const entries = Object.entries(m.MessageAttributes ?? {});
  if (entries.length === 0) return {};
  return {
    MessageAttributes: Object.fromEntries(
      entries.map(([name, v]) => [name, { DataType: v.DataType, ...(v.StringValue !== undefined && { StringValue: v.StringValue }), ...(v.BinaryValue !== undefined && { BinaryValue: v.BinaryValue }) }]),
    ),
  };
}

function receive(sqs: Pick<SQSClient, 'send'>, queueUrl: string, max: number, visibilitySeconds: number, waitSeconds: number): Promise<Message[]> {
  return sqs
    .send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: max,
        VisibilityTimeout: visibilitySeconds,
        WaitTimeSeconds: waitSeconds,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
      }),
    )
    .then((out) => out.Messages ?? []);
}
