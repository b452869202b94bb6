/**
 * The simulator's public vocabulary (docs/architecture.md §6): the statuses it answers with, what it
 * records (submissions, acknowledged receipts, counters, sessions) and the events it emits. Types
 * and one constant table, apart from the behaviour so tests and the fault matrix can read what the
 * SMSC saw without reading how it works; `smsc-simulator.ts` re-exports all of it.
 */
import type { MoConcat, MoDataCoding } from './mo-encoder.js';
import type { ReceiptStat } from './receipt-text.js';

/**
 * The command_status values the simulator answers with. Its own table, not the
 * connector's: the simulator stands for the other side of the wire.
 */
export const SimStatus = {
  ESME_ROK: 0x00,
  ESME_RINVCMDID: 0x03,
  ESME_RINVBNDSTS: 0x04,
  ESME_RALYBND: 0x05,
  ESME_RSYSERR: 0x08,
  ESME_RBINDFAIL: 0x0d,
  ESME_RINVPASWD: 0x0e,
  ESME_RINVSYSID: 0x0f,
  ESME_RMSGQFUL: 0x14,
  ESME_RSUBMITFAIL: 0x45,
  ESME_RTHROTTLED: 0x58,
} as const;

/** The three SMPP 3.4 bind kinds. */
export type BindType = 'transmitter' | 'receiver' | 'transceiver';
/** Which listener a session came in on. */
export type Transport = 'tcp' | 'tls';

/** One accepted submit_sm, as the SMSC saw it. */
export interface SubmissionRecord {
  systemId: string;
  sessionId: string;
  bindType: BindType;
  sequenceNumber: number;
  serviceType: string;
  sourceAddr: string;
  sourceTon: number;
  sourceNpi: number;
  destinationAddr: string;
  destTon: number;
  destNpi: number;
  esmClass: number;
  dataCoding: number;
  registeredDelivery: number;
  /** As the smpp package decodes it: relative periods become absolute dates. */
  validityPeriod: Date | undefined;
  /** The user data header (length octet included) when esm_class has UDHI (0x40). */
  udh: Buffer | undefined;
  /** The SAR TLVs, when present. */
  sar: { refNum: number; total: number; seq: number } | undefined;
  /** Concatenation info from whichever carried it: an 8/16-bit UDH element or SAR TLVs. */
  concat: { scheme: 'udh8' | 'udh16' | 'sar'; refNum: number; total: number; seq: number } | undefined;
  /** short_message (or message_payload) without the UDH. */
  body: Buffer;
  /** `body` decoded per data_coding. */
  text: string;
  smscMessageId: string;
  receivedAt: Date;
  /** Accepted but never answered (`swallowRate` fault). */
  swallowed: boolean;
}

/** A receipt the ESME answered with status 0. */
export interface AcknowledgedReceipt {
  /** The id as the submit_sm_resp carried it. */
  smscMessageId: string;
  /** The id as the receipt wrote it (differs when `receiptIdFormat` differs from `idFormat`). */
  receiptId: string;
  stat: ReceiptStat;
  sessionId: string;
  at: Date;
}

/** Counters, updated live. */
export interface SmscStats {
  accepted: number;
  /** Every ESME_RTHROTTLED answer, from the rate limit or the `throttleRate` fault. */
  throttled: number;
  /** ESME_RMSGQFUL, ESME_RSUBMITFAIL and (after `resetSessions()`) ESME_RINVBNDSTS answers injected by faults. */
  failedByFault: number;
  swallowed: number;
  /** Connections closed by `dropAfterSubmits`. */
  dropped: number;
  /** deliver_sm receipts written, retries included. */
  receiptsSent: number;
  receiptsAcked: number;
  /** Receipts answered with a non-zero status. */
  receiptsNacked: number;
  /** Receipts left unanswered past `deliverTimeoutMs`. */
  receiptsTimedOut: number;
  moSent: number;
  moAcked: number;
  binds: number;
  bindRefusals: number;
}

/** An open session; systemId and bindType are undefined until it binds. */
export interface SessionInfo {
  sessionId: string;
  transport: Transport;
  systemId: string | undefined;
  bindType: BindType | undefined;
}

/** Payload of the 'bind' event. */
export interface BindEvent {
  sessionId: string;
  transport: Transport;
  systemId: string;
  bindType: BindType;
}

/** A mobile-originated message to deliver to the ESME. */
export interface MoRequest {
  from: string;
  to: string;
  text: string;
  /** 0: GSM 7-bit unpacked (ASCII text only), 3: Latin-1, 8: UCS-2. @defaultvalue 0 */
  dataCoding?: MoDataCoding;
  /** Concatenation of long texts. @defaultvalue 'udh8' */
  concat?: MoConcat;
  /** Account whose receivers get it. @defaultvalue the first account */
  systemId?: string;
}

/** Why a deliver_sm attempt did not end in an acknowledgement. */
export type DeliveryFailure = 'nack' | 'timeout' | 'closed';

/** Events, each with its single payload. `waitFor` re-checks on every one of them. */
export type SmscSimulatorEvents = {
  'session-opened': [SessionInfo];
  bind: [BindEvent];
  'bind-refused': [{ sessionId: string; systemId: string; status: number }];
  submit: [SubmissionRecord];
  'submit-rejected': [{ sessionId: string; sequenceNumber: number; status: number }];
  'submit-dropped': [{ sessionId: string; sequenceNumber: number }];
  'submit-responded': [{ sessionId: string; sequenceNumber: number; status: number; smscMessageId: string | undefined }];
  'receipt-sent': [{ smscMessageId: string; sessionId: string; attempt: number }];
  'receipt-acked': [AcknowledgedReceipt];
  'receipt-failed': [{ smscMessageId: string; sessionId: string; failure: DeliveryFailure; status: number | undefined }];
  'mo-acked': [{ sessionId: string; from: string; part: number; total: number }];
  /** A receipt (smscMessageId set) or MO part waits for a receiver bind of the system_id. */
  'delivery-held': [{ systemId: string; smscMessageId: string | undefined; held: number }];
  'session-closed': [{ sessionId: string; systemId: string | undefined; bindType: BindType | undefined; reason: string }];
};
