import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { JobQueue, QueueMessage } from '../core/ports.js';
import { QueueError } from '../errors.js';

/**
 * An SQS client that sends every request to its resolved endpoint (AWS_ENDPOINT_URL_SQS
 * locally, the regional endpoint on AWS). By default the SDK sends to the QueueUrl's
 * host instead, and emulators' queue URLs name hosts that do not resolve.
 */
export function createSqsClient(region?: string): SQSClient {
  return new SQSClient({
    ...(region !== undefined && { region }),
    useQueueUrlAsEndpoint: false,
    // The SDK waits forever on a socket that went silent; a long poll lasts at most 20 s.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: (SQS_MAX_WAIT_SECONDS + 10) * 1000, throwOnRequestTimeout: true },
  });
}

export type { QueueMessage } from '../core/ports.js';

/** SQS limits: 10 messages per receive or batch, 20 s long poll, 12 h visibility. */
export const SQS_MAX_BATCH = 10;
export const SQS_MAX_WAIT_SECONDS = 20;
export const SQS_MAX_VISIBILITY_SECONDS = 43_200;

/**
 * The outbound queue: long-polled receives, batched deletes and visibility
 * changes that report which entries failed (SQS batch calls succeed as a
 * whole even when entries fail — bbc/sqs-consumer reads `Failed`, so do we).
 */
export class OutboundQueue implements JobQueue {
  constructor(
    private readonly sqs: Pick<SQSClient, 'send'>,
    readonly queueUrl: string,
  ) {}

  /** `visibilitySeconds`: how long the messages stay invisible; the queue's own default when absent. */
  async receive(max: number, waitSeconds: number, signal?: AbortSignal, visibilitySeconds?: number): Promise<QueueMessage[]> {
    try {
      const out = await this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.queueUrl,
          MaxNumberOfMessages: Math.min(SQS_MAX_BATCH, Math.max(1, max)),
          WaitTimeSeconds: waitSeconds,
          ...(visibilitySeconds !== undefined && { VisibilityTimeout: Math.min(SQS_MAX_VISIBILITY_SECONDS, Math.max(0, Math.round(visibilitySeconds))) }),
          MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
        }),
        signal ? { abortSignal: signal } : {},
      );
      return (out.Messages ?? []).flatMap((m) =>
        m.MessageId && m.ReceiptHandle
          ? [
              {
                messageId: m.MessageId,
                receiptHandle: m.ReceiptHandle,
                body: m.Body ?? '',
                receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 1),
                sentAt: Number(m.Attributes?.SentTimestamp ?? Date.now()),
              },
            ]
          : [],
      );
    } catch (err) {
      if (signal?.aborted) return [];
      throw new QueueError(`ReceiveMessage failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Deletes in batches of 10; returns the receipt handles that could not be deleted. */
  delete(receiptHandles: readonly string[]): Promise<string[]> {
    return this.batched(receiptHandles, (h) => h, (entries) =>
      this.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries.map((h, n) => ({ Id: String(n), ReceiptHandle: h })) })),
    );
  }

  /** Sets the visibility timeout of each message; returns the handles that failed. */
  setVisibility(entries: readonly { receiptHandle: string; seconds: number }[]): Promise<string[]> {
    return this.batched(entries, (e) => e.receiptHandle, (chunk) =>
      this.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: chunk.map((e, n) => ({
            Id: String(n),
            ReceiptHandle: e.receiptHandle,
            VisibilityTimeout: Math.min(SQS_MAX_VISIBILITY_SECONDS, Math.max(0, Math.round(e.seconds))),
          })),
        }),
      ),
    );
  }

  /**
   * Sends entries in batches of 10. SQS batch calls succeed as a whole even when
   * entries fail, so the `Failed` list is read; a failed call fails its whole chunk.
   */
  private async batched<T>(
    entries: readonly T[],
    handleOf: (entry: T) => string,
    send: (chunk: readonly T[]) => Promise<{ Failed?: { Id?: string }[] }>,
  ): Promise<string[]> {
    const failed: string[] = [];
    for (let i = 0; i < entries.length; i += SQS_MAX_BATCH) {
      const chunk = entries.slice(i, i + SQS_MAX_BATCH);
      try {
        const out = await send(chunk);
        for (const f of out.Failed ?? []) {
          const entry = chunk[Number(f.Id)];
          if (entry !== undefined) failed.push(handleOf(entry));
        }
      } catch {
        failed.push(...chunk.map(handleOf));
      }
    }
    return failed;
  }
}
