/**
 * Types shared by the SMPP layer, the AWS adapters and the pipeline. Plain data
 * only: nothing here knows of PDUs or of AWS SDK shapes.
 */

/** Text encodings a job may ask for (docs/architecture.md §3.1). */
export const JobEncoding = { auto: 'auto', gsm7: 'gsm7', latin1: 'latin1', ucs2: 'ucs2' } as const;
export type JobEncoding = (typeof JobEncoding)[keyof typeof JobEncoding];

/** The encoding actually used on the wire, recorded in the status item. */
export const WireEncoding = { GSM7: 'GSM7', LATIN1: 'LATIN1', UCS2: 'UCS2' } as const;
export type WireEncoding = (typeof WireEncoding)[keyof typeof WireEncoding];

/** Outbound job as producers put it on SQS (docs/architecture.md §3.1), after validation. */
export interface Job {
  id: string;
  to: string;
  from: string;
  text: string;
  encoding: JobEncoding;
  receipt: boolean;
  validityPeriodSeconds?: number;
  scheduleAt?: string;
  metadata?: Record<string, unknown>;
}

/**
 * Message statuses (docs/architecture.md §3.2). Rank orders them: a write only succeeds when
 * it raises the rank, which is how "status moves only forward" is enforced.
 */
export const MessageStatus = {
  SUBMITTING: 'SUBMITTING',
  SUBMITTED: 'SUBMITTED',
  ENROUTE: 'ENROUTE',
  ACCEPTED: 'ACCEPTED',
  DELIVERED: 'DELIVERED',
  UNDELIVERED: 'UNDELIVERED',
  EXPIRED: 'EXPIRED',
  REJECTED: 'REJECTED',
  DELETED: 'DELETED',
  UNKNOWN: 'UNKNOWN',
  FAILED: 'FAILED',
  INVALID: 'INVALID',
} as const;
export type MessageStatus = (typeof MessageStatus)[keyof typeof MessageStatus];

export const STATUS_RANK: Readonly<Record<MessageStatus, number>> = {
  SUBMITTING: 10,
  SUBMITTED: 20,
  ENROUTE: 30,
  ACCEPTED: 40,
  DELIVERED: 100,
  UNDELIVERED: 100,
  EXPIRED: 100,
  REJECTED: 100,
  DELETED: 100,
  UNKNOWN: 100,
  FAILED: 100,
  INVALID: 100,
};

export function isFinal(status: MessageStatus): boolean {
  return STATUS_RANK[status] >= 100;
}

/** Receipt state as carried by message_state / the `stat:` field, mapped to our statuses. */
export type ReceiptStatus = Extract<
  MessageStatus,
  'ENROUTE' | 'ACCEPTED' | 'DELIVERED' | 'UNDELIVERED' | 'EXPIRED' | 'REJECTED' | 'DELETED' | 'UNKNOWN'
>;

/** A delivery receipt, decoded from a deliver_sm (TLVs first, then the text). */
export interface Receipt {
  /** SMSC message id as the receipt carried it: the receipted_message_id TLV, else the text's `id:`. */
  smscMessageId: string;
  /**
   * The text's `id:` when the receipt also has a receipted_message_id TLV and the two are
   * different ids (no correlation key in common). Some SMSCs fill one of them wrongly; the
   * store keeps the one that matches a known submit.
   */
  alternativeMessageId?: string;
  status: ReceiptStatus;
  /** The raw `stat:` word (e.g. DELIVRD), when present. */
  stat?: string;
  /** The `err:` field as given (may be a number or a string). */
  err?: string;
  /** network_error_code TLV as "type:code", when present. */
  networkError?: string;
  submitDate?: string;
  doneDate?: string;
  /** When the connector received it (ISO-8601). */
  receivedAt: string;
}

/** A mobile-originated message, decoded per DCS and reassembled from its parts. */
export interface MoMessage {
  from: string;
  to: string;
  text: string;
  dataCoding: number;
  receivedAt: string;
  /** Number of SMS parts it was reassembled from. */
  parts: number;
}

/** One encoded segment ready for submit_sm (bytes already include any UDH). */
export interface Segment {
  shortMessage: Buffer;
  dataCoding: number;
  esmClass: number;
  /** SAR TLVs when concatenation uses them instead of a UDH. */
  sar?: { refNum: number; totalSegments: number; segmentSeqnum: number };
}

/** Error detail recorded on a failed or retried message. */
export interface ErrorDetail {
  code: string;
  name: string;
  description: string;
}
