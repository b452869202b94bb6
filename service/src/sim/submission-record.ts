/**
 * Reads an accepted submit_sm into the `SubmissionRecord` tests and the fault matrix inspect: the
 * addresses, the user data header split from the body, concatenation from whichever carried it
 * (8/16-bit UDH element or SAR TLVs), the text decoded. Pure, apart from the submit handling
 * (`submits.ts`) that decides whether a submit is accepted at all (docs/architecture.md §6).
 */
import type { Pdu } from '../smpp/codec.js';
import { decodeText } from '../smpp/encoding.js';
import type { BindType, SubmissionRecord } from './types.js';

export const asString = (v: unknown): string => (typeof v === 'string' ? v : '');
export const asNumber = (v: unknown): number => (typeof v === 'number' ? v : 0);
export const asBuffer = (v: unknown): Buffer | undefined => (Buffer.isBuffer(v) ? v : undefined);

/** Concatenation info from a UDH's 8-bit (IEI 0x00) or 16-bit (IEI 0x08) element. */
export function udhConcat(udh: Buffer): SubmissionRecord['concat'] {
  for (let i = 1; i + 1 < udh.length; ) {
    const iei = udh[i]!;
    const len = udh[i + 1]!;
    const data = udh.subarray(i + 2, i + 2 + len);
    if (iei === 0x00 && data.length === 3) return { scheme: 'udh8', refNum: data[0]!, total: data[1]!, seq: data[2]! };
    if (iei === 0x08 && data.length === 4) return { scheme: 'udh16', refNum: data.readUInt16BE(0), total: data[2]!, seq: data[3]! };
    i += 2 + len;
  }
  return undefined;
}

/** The record of an accepted submit_sm (`swallowed` false: the caller decides it). */
export function readSubmission(
  pdu: Pdu,
  where: { sessionId: string; systemId: string; bindType: BindType },
  smscMessageId: string,
): SubmissionRecord {
  const esmClass = asNumber(pdu['esm_class']);
  const dataCoding = asNumber(pdu['data_coding']);
  let message = asBuffer(pdu['short_message']) ?? Buffer.alloc(0);
  if (message.length === 0) message = asBuffer(pdu['message_payload']) ?? message;
  let udh: Buffer | undefined;
  let body = message;
  if (esmClass & 0x40 && message.length > 0) {
    const udhLength = 1 + message[0]!;
    udh = message.subarray(0, udhLength);
    body = message.subarray(udhLength);
  }
  const sar =
    pdu['sar_msg_ref_num'] !== undefined
      ? { refNum: asNumber(pdu['sar_msg_ref_num']), total: asNumber(pdu['sar_total_segments']), seq: asNumber(pdu['sar_segment_seqnum']) }
      : undefined;
  const validity = pdu['validity_period'];
  return {
    systemId: where.systemId,
    sessionId: where.sessionId,
    bindType: where.bindType,
    sequenceNumber: pdu.sequence_number,
    serviceType: asString(pdu['service_type']),
    sourceAddr: asString(pdu['source_addr']),
    sourceTon: asNumber(pdu['source_addr_ton']),
    sourceNpi: asNumber(pdu['source_addr_npi']),
    destinationAddr: asString(pdu['destination_addr']),
    destTon: asNumber(pdu['dest_addr_ton']),
    destNpi: asNumber(pdu['dest_addr_npi']),
    esmClass,
    dataCoding,
    registeredDelivery: asNumber(pdu['registered_delivery']),
    validityPeriod: validity instanceof Date ? validity : undefined,
    udh,
    sar,
    concat: (udh && udhConcat(udh)) ?? (sar && { scheme: 'sar', ...sar }),
    body,
    text: decodeText(body, dataCoding),
    smscMessageId,
    receivedAt: new Date(),
    swallowed: false,
  };
}
