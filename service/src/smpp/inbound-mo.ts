import { decodeText } from './encoding.js';
import { messageBody } from './receipt.js';
import type { DeliverFields } from './receipt.js';

/**
 * Where a part sits in its long message, from a UDH or the SAR TLVs. Parts of one message share
 * the scheme and reference (and the sender, recipient and total); the phone picks the reference.
 */
export interface ConcatInfo {
  scheme: 'udh8' | 'udh16' | 'sar';
  ref: number;
  /** 2..255 */
  total: number;
  /** 1..total */
  seq: number;
}

/** One mobile-originated deliver_sm, decoded: a whole message, or one part of a long one. */
export interface MoPart {
  from: string;
  to: string;
  /** This part's text, decoded per its own data_coding, without the UDH. */
  text: string;
  dataCoding: number;
  /** Absent for a whole (single-part) message. */
  concat?: ConcatInfo;
}

/** Reads a concatenation IE (8-bit 0x00 or 16-bit 0x08) from a UDH; undefined when there is none. */
function concatFromUdh(udh: Buffer): ConcatInfo | undefined {
  // udh[0] is the UDH length; information elements follow as IEI, length, data.
  let i = 1;
  while (i + 1 < udh.length) {
    const iei = udh[i] as number;
    const len = udh[i + 1] as number;
    const data = udh.subarray(i + 2, i + 2 + len);
    if (data.length < len) return undefined;
    if (iei === 0x00 && len === 3) {
      return { scheme: 'udh8', ref: data[0] as number, total: data[1] as number, seq: data[2] as number };
    }
    if (iei === 0x08 && len === 4) {
      return { scheme: 'udh16', ref: data.readUInt16BE(0), total: data[2] as number, seq: data[3] as number };
    }
    i += 2 + len;
  }
  return undefined;
}

function concatOf(f: DeliverFields, udh: Buffer | undefined): ConcatInfo | undefined {
  const fromUdh = udh === undefined ? undefined : concatFromUdh(udh);
  const info: ConcatInfo | undefined =
    fromUdh ??
    (f.sarRefNum !== undefined && f.sarTotalSegments !== undefined && f.sarSegmentSeqnum !== undefined
      ? { scheme: 'sar', ref: f.sarRefNum, total: f.sarTotalSegments, seq: f.sarSegmentSeqnum }
      : undefined);
  // A malformed or one-part header is treated as a whole message, so its text is not held back.
  if (info === undefined || info.total < 2 || info.seq < 1 || info.seq > info.total) return undefined;
  return info;
}

/**
 * Decodes an MO deliver_sm (not a receipt): its text per its data_coding (message_payload when
 * present), and its place in a long message (8-bit or 16-bit reference UDH, or SAR TLVs). Pure:
 * reassembly is the store's, since the parts of one message may reach any task.
 */
export function readMoPart(f: DeliverFields): MoPart {
  const { udh, body } = messageBody(f);
  const concat = concatOf(f, udh);
  return {
    from: f.sourceAddr,
    to: f.destinationAddr,
    text: decodeText(body, f.dataCoding),
    dataCoding: f.dataCoding,
    ...(concat === undefined ? {} : { concat }),
  };
}
