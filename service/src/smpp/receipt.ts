import type { Receipt, ReceiptStatus } from '../domain.js';
import { alphabetOf, decodeText } from './encoding.js';
import { smscIdKeys } from '../core/receipt-keys.js';

/** The deliver_sm fields receipts and MO handling need, copied out of the PDU. */
export interface DeliverFields {
  esmClass: number;
  dataCoding: number;
  shortMessage: Buffer;
  messagePayload?: Buffer;
  sourceAddr: string;
  destinationAddr: string;
  receiptedMessageId?: string;
  messageState?: number;
  networkErrorCode?: Buffer;
  sarRefNum?: number;
  sarTotalSegments?: number;
  sarSegmentSeqnum?: number;
}

/** esm_class bits 2-5 (SMPP 3.4 §5.2.12): the message type of a deliver_sm. */
const ESM_TYPE_MASK = 0x3c;
const ESM_TYPE_SMSC_RECEIPT = 0x04;
const ESM_TYPE_SME_ACK = 0x08;
const ESM_TYPE_INTERMEDIATE = 0x20;
/** esm_class UDH indicator. */
export const ESM_UDHI = 0x40;

/**
 * Whether a deliver_sm is a receipt rather than an MO message: an SMSC
 * delivery receipt, an SME delivery acknowledgement or an intermediate
 * delivery notification.
 */
export function isReceipt(f: DeliverFields): boolean {
  const type = f.esmClass & ESM_TYPE_MASK;
  return type === ESM_TYPE_SMSC_RECEIPT || type === ESM_TYPE_SME_ACK || type === ESM_TYPE_INTERMEDIATE;
}

/**
 * The user data of a deliver_sm without its UDH: message_payload when it has
 * content, else short_message. A UDH length running past the end leaves nothing.
 */
export function messageBody(f: DeliverFields): { udh: Buffer | undefined; body: Buffer } {
  const data = f.messagePayload !== undefined && f.messagePayload.length > 0 ? f.messagePayload : f.shortMessage;
  if ((f.esmClass & ESM_UDHI) === 0 || data.length === 0) return { udh: undefined, body: data };
  const end = 1 + (data[0] as number);
  return { udh: data.subarray(0, Math.min(end, data.length)), body: data.subarray(Math.min(end, data.length)) };
}

/** SMPP 3.4 §5.2.28 message_state values. */
const MESSAGE_STATE: Readonly<Record<number, ReceiptStatus>> = {
  1: 'ENROUTE',
  2: 'DELIVERED',
  3: 'EXPIRED',
  4: 'DELETED',
  5: 'UNDELIVERED',
  6: 'ACCEPTED',
  7: 'UNKNOWN',
  8: 'REJECTED',
};

/**
 * Status words: the SMPP 3.4 Appendix B abbreviations and the full words some SMSCs send. Only
 * these are understood; every other word (`BUFFRED`, `SENT`, `ACKED`…) is some SMSC's
 * intermediate state, never a final one.
 */
const STAT_WORDS: Readonly<Record<string, ReceiptStatus>> = {
  DELIVRD: 'DELIVERED',
  DELIVERED: 'DELIVERED',
  EXPIRED: 'EXPIRED',
  DELETED: 'DELETED',
  UNDELIV: 'UNDELIVERED',
  UNDELIVERED: 'UNDELIVERED',
  UNDELIVERABLE: 'UNDELIVERED',
  ACCEPTD: 'ACCEPTED',
  ACCEPTED: 'ACCEPTED',
  UNKNOWN: 'UNKNOWN',
  REJECTD: 'REJECTED',
  REJECTED: 'REJECTED',
  ENROUTE: 'ENROUTE',
};

/**
 * Maps a status word to a status, case-insensitively. A word it does not know is ENROUTE:
 * a final status is final for good, so only a known final word may finalise a message —
 * a finalised `BUFFRED` would make the SMSC's real `DELIVRD` that follows count for nothing.
 */
export function statusOfStat(word: string): ReceiptStatus {
  return STAT_WORDS[word.trim().toUpperCase()] ?? 'ENROUTE';
}

/** Whether a token is a status word we know (for a status given without its `stat:` label). */
function isStatusWord(token: string): boolean {
  return Object.hasOwn(STAT_WORDS, token.toUpperCase());
}

/** The Appendix B text fields, as parseReceiptText names them. */
export type ReceiptTextField = 'id' | 'sub' | 'dlvrd' | 'submitDate' | 'doneDate' | 'stat' | 'err' | 'text';

// A key starts the text or follows a separator, so "id" inside "msgid:" or a word is not a key.
const KEY = /(?:^|[\s,;])(id|sub|dlvrd|submit[\s_]*date|done[\s_]*date|stat|err|text)\s*:/gi;

function fieldOf(key: string): ReceiptTextField {
  const k = key.toLowerCase().replace(/[\s_]+/g, '');
  switch (k) {
    case 'submitdate':
      return 'submitDate';
    case 'donedate':
      return 'doneDate';
    default:
      return k as ReceiptTextField;
  }
}

/**
 * Reads the Appendix B receipt text leniently: any field order, any case,
 * missing fields, extra spaces. The first occurrence of a field wins, so a
 * `text:` echo of the original message cannot override the real fields.
 * Without a `stat:` label, a known status word standing on its own
 * (`... done date:2311261201 DELIVRD err:000`) is taken as `stat`; words
 * inside `err:` and `text:` never are.
 */
export function parseReceiptText(text: string): Partial<Record<ReceiptTextField, string>> {
  const matches = [...text.matchAll(KEY)];
  const names = matches.map((m) => fieldOf(m[1] as string));
  const fields: Partial<Record<ReceiptTextField, string>> = {};
  // The text: echo is the customer's message: no status word is looked for from there on.
  const echoAt = matches[names.indexOf('text')]?.index ?? text.length;
  // Tokens that belong to no field: before the first key, or after a one-token field's value.
  const loose = text.slice(0, Math.min(matches[0]?.index ?? text.length, echoAt)).split(/[\s,;]+/);
  matches.forEach((m, i) => {
    const field = names[i] as ReceiptTextField;
    if (fields[field] !== undefined) return;
    const start = (m.index ?? 0) + m[0].length;
    const next = matches[i + 1];
    const end = field === 'text' || next === undefined ? text.length : (next.index ?? text.length);
    const raw = text.slice(start, end).trim();
    if (field === 'err' || field === 'text') {
      // err may be a phrase.
      fields[field] = raw;
      return;
    }
    // The other fields are single tokens, and trailing junk is not part of them.
    const [value = '', ...rest] = raw.split(/\s+/);
    fields[field] = value;
    if ((m.index ?? 0) < echoAt) loose.push(...rest);
  });
  if (fields.stat === undefined) {
    const bare = loose.find(isStatusWord);
    if (bare !== undefined) fields.stat = bare;
  }
  return fields;
}

/**
 * Receipt dates: YYMMDDhhmm (Appendix B), YYMMDDhhmmss or YYYYMMDDhhmmss, as
 * ISO-8601 local date-time without an offset (the receipt gives none). Other
 * values are kept as they came, so nothing is lost.
 */
export function normalizeReceiptDate(value: string): string {
  if (!/^(\d{10}|\d{12}|\d{14})$/.test(value)) return value;
  // Appendix B years have two digits; receipts are about recent messages, so 20YY.
  const [year, rest] = value.length === 14 ? [value.slice(0, 4), value.slice(4)] : [`20${value.slice(0, 2)}`, value.slice(2)];
  const [month, day, hour, minute, second = '00'] = rest.match(/\d{2}/g) ?? [];
  const n = (s: string | undefined): number => Number(s);
  if (n(month) < 1 || n(month) > 12 || n(day) < 1 || n(day) > 31 || n(hour) > 23 || n(minute) > 59 || n(second) > 59) {
    return value;
  }
  return `${year}-${month}-${day}T${hour}:${minute}:${second}`;
}

/**
 * The receipt body as text. Appendix B receipts are ASCII, and many SMSCs send
 * them as ASCII bytes under DCS 0, where a strict GSM7 reading would turn
 * `_` into `§` and `@` into `¡`. So a GSM7-coded body of printable ASCII only
 * is read as ASCII; one with septets outside that range (a real GSM7 `_` is
 * 0x11) is read as GSM7. Only the `text:` excerpt can differ, and it is not kept.
 */
function receiptText(body: Buffer, dataCoding: number): string {
  if (alphabetOf(dataCoding) === 'gsm7' && printableAscii(body)) return body.toString('latin1');
  return decodeText(body, dataCoding);
}

/** Only printable ASCII, CR and LF. */
function printableAscii(body: Buffer): boolean {
  for (let i = 0; i < body.length; i++) {
    const b = body[i] as number;
    if (!((b >= 0x20 && b <= 0x7e) || b === 0x0a || b === 0x0d)) return false;
  }
  return true;
}

function networkErrorOf(buf: Buffer | undefined): string | undefined {
  if (buf === undefined || buf.length < 3) return undefined;
  return `${buf[0] as number}:${buf.readUInt16BE(1)}`;
}

function clean(value: string | undefined): string | undefined {
  // C-octet strings may reach us with their terminator or padding.
  const v = value?.replace(/\0+$/, '').trim();
  return v === undefined || v === '' ? undefined : v;
}

/** A message id ends at the first control character: what follows is a terminator's leftovers. */
function cleanId(value: string | undefined): string | undefined {
  const v = value?.trim();
  if (v === undefined) return undefined;
  let end = 0;
  while (end < v.length && v.charCodeAt(end) >= 0x20 && v.charCodeAt(end) !== 0x7f) end++;
  return clean(v.slice(0, end));
}

/** The receipted_message_id TLV, cleaned as parseReceipt reads it. */
function tlvMessageId(f: DeliverFields): string | undefined {
  return cleanId(f.receiptedMessageId);
}

/** The message_state TLV as a status; undefined when absent or outside SMPP 3.4's states. */
function tlvMessageState(f: DeliverFields): ReceiptStatus | undefined {
  return f.messageState === undefined ? undefined : MESSAGE_STATE[f.messageState];
}

/**
 * The id and status a receipt's TLVs give, when it has both receipted_message_id and a known
 * message_state: parseReceipt would return these two (the TLVs take precedence over the text),
 * so a caller that needs no more can skip reading the text. Undefined otherwise.
 */
export function receiptFromTlvs(f: DeliverFields): { smscMessageId: string; status: ReceiptStatus } | undefined {
  const smscMessageId = tlvMessageId(f);
  const status = tlvMessageState(f);
  return smscMessageId === undefined || status === undefined ? undefined : { smscMessageId, status };
}

/** Whether two renderings may be the same SMSC id (they share a correlation key). */
function sameId(a: string, b: string): boolean {
  if (a === b) return true;
  const keys = new Set(smscIdKeys(a));
  return smscIdKeys(b).some((k) => keys.has(k));
}

/**
 * Decodes a delivery receipt. The body is decoded per data_coding first
 * (GSM7-coded ASCII is read as ASCII, see receiptText); the
 * receipted_message_id, message_state and network_error_code TLVs take
 * precedence over the text fields, and a text `id:` naming another id is kept
 * as `alternativeMessageId`. Only a final state finalises: no state, or a state
 * word we do not know, is ENROUTE. Never throws: a receipt without any message
 * id comes back as `{ error }`.
 *
 * @param receivedAt - when the connector received it (ISO-8601).
 */
export function parseReceipt(f: DeliverFields, receivedAt: string): Receipt | { error: string } {
  try {
    const text = receiptText(messageBody(f).body, f.dataCoding);
    const fields = parseReceiptText(text);

    const tlvId = tlvMessageId(f);
    const textId = cleanId(fields.id);
    const smscMessageId = tlvId ?? textId;
    if (smscMessageId === undefined) {
      return { error: `receipt carries no message id (no receipted_message_id TLV, no id: field): ${JSON.stringify(text.slice(0, 80))}` };
    }

    const stat = clean(fields.stat);
    const tlvStatus = tlvMessageState(f);
    // No state we can read (none at all, or a message_state outside SMPP 3.4's): still on its way.
    // Guessing a final state here would lock out the real one when it comes.
    const status = tlvStatus ?? (stat !== undefined ? statusOfStat(stat) : 'ENROUTE');

    const receipt: Receipt = { smscMessageId, status, receivedAt };
    // Two different ids: this parser cannot tell which one is wrong, the store can (one matches a submit).
    if (tlvId !== undefined && textId !== undefined && !sameId(tlvId, textId)) receipt.alternativeMessageId = textId;
    if (stat !== undefined) receipt.stat = stat;
    const err = clean(fields.err);
    if (err !== undefined) receipt.err = err;
    const networkError = networkErrorOf(f.networkErrorCode);
    if (networkError !== undefined) receipt.networkError = networkError;
    const submitDate = clean(fields.submitDate);
    if (submitDate !== undefined) receipt.submitDate = normalizeReceiptDate(submitDate);
    const doneDate = clean(fields.doneDate);
    if (doneDate !== undefined) receipt.doneDate = normalizeReceiptDate(doneDate);
    return receipt;
  } catch (cause) {
    // Defensive: the SMSC must always get an answer, so a parser bug becomes a readable error, not a crash.
    return { error: `receipt could not be parsed: ${cause instanceof Error ? cause.message : String(cause)}` };
  }
}
