/**
 * Copies what the inbound parsers need out of a decoded deliver_sm / data_sm (docs/architecture.md
 * §4, Receipts): plain data, so `receipt.ts` and `inbound-mo.ts` never touch the codec's PDU
 * object. Pure, apart from the session that calls it, so it is tested on PDUs alone.
 */
import type { Pdu } from './codec.js';
import type { DeliverFields } from './receipt.js';

function bufferOf(v: unknown): Buffer | undefined {
  return Buffer.isBuffer(v) ? v : undefined;
}

function numberOf(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

/** Copies what the inbound parsers need out of a deliver_sm/data_sm PDU. */
export function deliverFields(pdu: Pdu): DeliverFields {
  const receipted = pdu['receipted_message_id'];
  const f: DeliverFields = {
    esmClass: numberOf(pdu['esm_class']) ?? 0,
    dataCoding: numberOf(pdu['data_coding']) ?? 0,
    shortMessage: bufferOf(pdu['short_message']) ?? Buffer.alloc(0),
    sourceAddr: String(pdu['source_addr'] ?? ''),
    destinationAddr: String(pdu['destination_addr'] ?? ''),
  };
  const payload = bufferOf(pdu['message_payload']);
  if (payload) f.messagePayload = payload;
  if (typeof receipted === 'string' && receipted.length > 0) f.receiptedMessageId = receipted;
  const state = numberOf(pdu['message_state']);
  if (state !== undefined) f.messageState = state;
  const nec = bufferOf(pdu['network_error_code']);
  if (nec) f.networkErrorCode = nec;
  const ref = numberOf(pdu['sar_msg_ref_num']);
  const total = numberOf(pdu['sar_total_segments']);
  const seq = numberOf(pdu['sar_segment_seqnum']);
  if (ref !== undefined && total !== undefined && seq !== undefined) {
    f.sarRefNum = ref;
    f.sarTotalSegments = total;
    f.sarSegmentSeqnum = seq;
  }
  return f;
}
