/**
 * The deliver_sm bodies the SMSC owes the ESME (docs/architecture.md §4, Receipts; §6): the
 * delivery receipt an accepted submit earns (per its registered_delivery and the configured
 * outcome, with the id written as `receiptIdFormat` says) and one part of an MO message. Pure
 * field building, apart from `deliveries.ts`, which decides when and where each is delivered.
 */
import { renderMessageId } from './message-ids.js';
import type { MoPart } from './mo-encoder.js';
import type { ResolvedOptions } from './options.js';
import { formatReceiptText, MESSAGE_STATE, type ReceiptStat } from './receipt-text.js';
import type { SubmissionRecord } from './types.js';

/** What a receipt reports, kept with its delivery for the counters and events. */
export interface ReceiptInfo {
  /** The id as the submit_sm_resp carried it. */
  smscMessageId: string;
  /** The id as the receipt writes it. */
  receiptId: string;
  stat: ReceiptStat;
}

/** The receipt a submission earns, or undefined (none asked for, or the outcome says none). */
export function buildReceipt(
  record: SubmissionRecord,
  numericId: bigint,
  opts: Pick<ResolvedOptions, 'receiptOutcome' | 'receiptIdFormat' | 'responseDelayMs' | 'receiptDelayMs'>,
): { receipt: ReceiptInfo; fields: Record<string, unknown> } | undefined {
  // registered_delivery bits 0-1: 1 = receipt on any final outcome, 2 = on failure only.
  const wanted = record.registeredDelivery & 0x03;
  if (wanted !== 1 && wanted !== 2) return undefined;
  const stat = opts.receiptOutcome(record.destinationAddr);
  if (stat === null || (wanted === 2 && stat === 'DELIVRD')) return undefined;
  const format = opts.receiptIdFormat;
  const receiptId = format === 'same' ? record.smscMessageId : renderMessageId(numericId, format);
  const doneAt = new Date(record.receivedAt.getTime() + opts.responseDelayMs + opts.receiptDelayMs);
  const text = formatReceiptText({ id: receiptId, stat, submittedAt: record.receivedAt, doneAt, text: record.text });
  return {
    receipt: { smscMessageId: record.smscMessageId, receiptId, stat },
    fields: {
      source_addr_ton: record.destTon,
      source_addr_npi: record.destNpi,
      source_addr: record.destinationAddr,
      dest_addr_ton: record.sourceTon,
      dest_addr_npi: record.sourceNpi,
      destination_addr: record.sourceAddr,
      esm_class: 0x04,
      data_coding: 0,
      short_message: Buffer.from(text, 'latin1'),
      receipted_message_id: receiptId,
      message_state: MESSAGE_STATE[stat],
    },
  };
}

/** Address TON/NPI for an MO party: digits (with or without +) are international, anything else alphanumeric. */
export function moAddress(address: string): { addr: string; ton: number; npi: number } {
  return /^\+?\d+$/.test(address) ? { addr: address.replace(/^\+/, ''), ton: 1, npi: 1 } : { addr: address, ton: 5, npi: 0 };
}

/** The deliver_sm fields of one MO part. */
export function moPartFields(
  source: ReturnType<typeof moAddress>,
  dest: ReturnType<typeof moAddress>,
  part: MoPart,
  dataCoding: number,
): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    source_addr_ton: source.ton,
    source_addr_npi: source.npi,
    source_addr: source.addr,
    dest_addr_ton: dest.ton,
    dest_addr_npi: dest.npi,
    destination_addr: dest.addr,
    esm_class: part.esmClass,
    data_coding: dataCoding,
    short_message: part.shortMessage,
  };
  if (part.sar) {
    fields['sar_msg_ref_num'] = part.sar.refNum;
    fields['sar_total_segments'] = part.sar.total;
    fields['sar_segment_seqnum'] = part.sar.seq;
  }
  return fields;
}
