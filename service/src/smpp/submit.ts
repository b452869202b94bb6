import type { Segment } from '../domain.js';
import type { SmppAddress } from './address.js';

/** One part of an outbound message, in SMPP terms but without PDU objects. */
export interface OutboundPart {
  source: SmppAddress;
  destination: SmppAddress;
  segment: Segment;
  /** Ask for a delivery receipt (registered_delivery = 1). */
  receipt: boolean;
  validityPeriodSeconds?: number;
  /** Absolute UTC time for scheduled delivery. */
  scheduleAt?: Date;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** SMPP 3.4 §7.1.1 relative time "YYMMDDhhmmss000R"; each field has two digits, so days spill into 30-day months. */
export function relativeTime(totalSeconds: number): string {
  let s = Number.isFinite(totalSeconds) ? Math.max(1, Math.floor(totalSeconds)) : 1;
  const days = Math.floor(s / 86_400);
  s -= days * 86_400;
  const hours = Math.floor(s / 3600);
  s -= hours * 3600;
  const minutes = Math.floor(s / 60);
  s -= minutes * 60;
  const years = Math.min(99, Math.floor(days / 365));
  const months = Math.floor((days - years * 365) / 30);
  const restDays = days - years * 365 - months * 30;
  return `${pad(years)}${pad(months)}${pad(restDays)}${pad(hours)}${pad(minutes)}${pad(s)}000R`;
}

/** SMPP 3.4 §7.1.1 absolute time in UTC: "YYMMDDhhmmsst00+". */
export function absoluteTime(at: Date): string {
  return (
    pad(at.getUTCFullYear() % 100) +
    pad(at.getUTCMonth() + 1) +
    pad(at.getUTCDate()) +
    pad(at.getUTCHours()) +
    pad(at.getUTCMinutes()) +
    pad(at.getUTCSeconds()) +
    String(Math.floor(at.getUTCMilliseconds() / 100)) +
    '00+'
  );
}

/** The submit_sm parameters for one part (the codec turns them into bytes). */
export function submitSmFields(part: OutboundPart): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    source_addr_ton: part.source.ton,
    source_addr_npi: part.source.npi,
    source_addr: part.source.addr,
    dest_addr_ton: part.destination.ton,
    dest_addr_npi: part.destination.npi,
    destination_addr: part.destination.addr,
    esm_class: part.segment.esmClass,
    registered_delivery: part.receipt ? 1 : 0,
    data_coding: part.segment.dataCoding,
    short_message: part.segment.shortMessage,
  };
  if (part.validityPeriodSeconds !== undefined) fields['validity_period'] = relativeTime(part.validityPeriodSeconds);
  if (part.scheduleAt !== undefined) fields['schedule_delivery_time'] = absoluteTime(part.scheduleAt);
  if (part.segment.sar) {
    fields['sar_msg_ref_num'] = part.segment.sar.refNum;
    fields['sar_total_segments'] = part.segment.sar.totalSegments;
    fields['sar_segment_seqnum'] = part.segment.sar.segmentSeqnum;
  }
  return fields;
}
