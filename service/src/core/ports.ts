/**
 * What the pipeline and its adapters exchange, in plain terms: the queue port (`aws/queue.ts`
 * implements it) and the outcome of a submit (`smpp/client.ts` produces it). The pipeline's unit
 * tests fake them. The store and sender ports live beside the pipeline that uses them.
 */

/** One received SQS message, in plain terms. */
export interface QueueMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  /** ApproximateReceiveCount: 1 on the first delivery. */
  receiveCount: number;
  /** SentTimestamp, epoch ms. */
  sentAt: number;
}

/** The queue as the pipeline uses it (OutboundQueue implements it). */
export interface JobQueue {
  /** `visibilitySeconds`: how long the received messages stay invisible (the queue's default when absent). */
  receive(max: number, waitSeconds: number, signal?: AbortSignal, visibilitySeconds?: number): Promise<QueueMessage[]>;
  /** Returns the receipt handles that could not be deleted. */
  delete(receiptHandles: readonly string[]): Promise<string[]>;
  /** Returns the receipt handles whose visibility could not be changed. */
  setVisibility(entries: readonly { receiptHandle: string; seconds: number }[]): Promise<string[]>;
}

/**
 * The two outbound lanes (docs/architecture.md §7.1): urgent jobs come from the priority queue and
 * are sent first; bulk jobs from the outbound queue get what is left, never less than their minimum share.
 */
export type Lane = 'urgent' | 'bulk';

/** Why a part was handed back unsent: nothing reached the SMSC, so it is no attempt at all. */
export type HandBackReason = 'client stopped' | 'shutting down' | 'aborted';

/** The outcome of one submit_sm, as the pipeline sees it. */
export type SubmitResult =
  | { kind: 'accepted'; smscMessageId: string; latencyMs: number }
  /** Never sent (the client is stopping, or the caller aborted): the job goes back to the queue at once. */
  | { kind: 'handed-back'; reason: HandBackReason }
  /** Refused for a reason that may pass (`name`: the status name, e.g. ESME_RSYSERR), or not sent because the link failed. */
  | { kind: 'retryable'; name: string; status?: number }
  /** The SMSC judged the message itself: sending it again fails again. */
  | { kind: 'permanent'; status: number; name: string; description: string }
  /** Sent but no answer (timeout or link lost): it may have been accepted. */
  | { kind: 'unknown'; reason: string };
