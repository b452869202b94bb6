/**
 * Delivery receipt contents as the 8x8 SMSC writes them: the classic
 * `id:… sub:… dlvrd:… submit date:… done date:… stat:… err:… Text:…` body
 * (capital T in `Text:`) plus the receipted_message_id and message_state TLVs.
 */

/** Final (or intermediate) receipt states the simulator can report, as the `stat:` word. */
export type ReceiptStat = 'DELIVRD' | 'UNDELIV' | 'EXPIRED' | 'REJECTD' | 'DELETED' | 'UNKNOWN' | 'ACCEPTD' | 'ENROUTE';

/** SMPP 3.4 message_state values (§5.2.28) for each `stat:` word. */
export const MESSAGE_STATE: Readonly<Record<ReceiptStat, number>> = {
  ENROUTE: 1,
  DELIVRD: 2,
  EXPIRED: 3,
  DELETED: 4,
  UNDELIV: 5,
  ACCEPTD: 6,
  UNKNOWN: 7,
  REJECTD: 8,
};

/** YYMMDDhhmm in UTC, the 10-digit date most SMSCs (8x8 included) write in receipts. */
export function receiptDate(at: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return (
    two(at.getUTCFullYear() % 100) +
    two(at.getUTCMonth() + 1) +
    two(at.getUTCDate()) +
    two(at.getUTCHours()) +
    two(at.getUTCMinutes())
  );
}

export interface ReceiptTextFields {
  id: string;
  stat: ReceiptStat;
  submittedAt: Date;
  doneAt: Date;
  /** The submitted message's decoded text; only its first 20 characters are quoted. */
  text: string;
}

/**
 * The receipt body. Text outside printable ASCII is replaced by `?`, since the
 * receipt travels as data_coding 0 and its `Text:` field is informative only.
 */
export function formatReceiptText(fields: ReceiptTextFields): string {
  const delivered = fields.stat === 'DELIVRD' ? '001' : '000';
  const quoted = Array.from(fields.text).slice(0, 20).join('').replace(/[^\x20-\x7e]/g, '?');
  return (
    `id:${fields.id} sub:001 dlvrd:${delivered} submit date:${receiptDate(fields.submittedAt)} ` +
    `done date:${receiptDate(fields.doneAt)} stat:${fields.stat} err:000 Text:${quoted}`
  );
}
