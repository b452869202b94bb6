import type { MoMessage } from '../domain.js';
import { decodeText } from './encoding.js';
import { messageBody } from './receipt.js';
import type { DeliverFields } from './receipt.js';

/** Where a part sits in its long message, from a UDH or the SAR TLVs. */
interface PartInfo {
  /** Which mechanism and reference: parts of one message share it. */
  ref: string;
  total: number;
  seq: number;
}

/** Reads a concatenation IE (8-bit 0x00 or 16-bit 0x08) from a UDH; undefined when there is none. */
function concatFromUdh(udh: Buffer): PartInfo | undefined {
  // udh[0] is the UDH length; information elements follow as IEI, length, data.
  let i = 1;
  while (i + 1 < udh.length) {
    const iei = udh[i] as number;
    const len = udh[i + 1] as number;
    const data = udh.subarray(i + 2, i + 2 + len);
    if (data.length < len) return undefined;
    if (iei === 0x00 && len === 3) {
      return { ref: `u8:${data[0] as number}`, total: data[1] as number, seq: data[2] as number };
    }
    if (iei === 0x08 && len === 4) {
      return { ref: `u16:${data.readUInt16BE(0)}`, total: data[2] as number, seq: data[3] as number };
    }
    i += 2 + len;
  }
  return undefined;
}

function partInfo(f: DeliverFields, udh: Buffer | undefined): PartInfo | undefined {
  const fromUdh = udh === undefined ? undefined : concatFromUdh(udh);
  const info =
    fromUdh ??
    (f.sarRefNum !== undefined && f.sarTotalSegments !== undefined && f.sarSegmentSeqnum !== undefined
      ? { ref: `sar:${f.sarRefNum}`, total: f.sarTotalSegments, seq: f.sarSegmentSeqnum }
      : undefined);
  // A malformed or one-part header is treated as a whole message, so its text is not held back.
  if (info === undefined || info.total < 2 || info.seq < 1 || info.seq > info.total) return undefined;
  return info;
}

interface Group {
  from: string;
  to: string;
  total: number;
  dataCoding: number;
  firstReceivedAt: string;
  createdMs: number;
  parts: Map<number, string>;
}

/** Options for {@link MoAssembler}. */
export interface MoAssemblerOptions {
  /** How long an incomplete long message waits for its missing parts, in ms. @defaultValue 300000 (5 min) */
  timeoutMs?: number;
  /** Incomplete long messages held at once; beyond it the oldest is given up. @defaultValue 1000 */
  maxGroups?: number;
  /** Milliseconds since the epoch. @defaultValue Date.now */
  clock?: () => number;
}

/**
 * Reassembles concatenated MO messages (UDH with an 8-bit or 16-bit reference,
 * or SAR TLVs), keyed by sender, recipient and reference. Each part is decoded
 * per its own data_coding. Incomplete messages are never dropped silently:
 * {@link MoAssembler.expire} hands back what arrived of those that timed out
 * or were evicted to bound memory.
 */
export class MoAssembler {
  private readonly groups = new Map<string, Group>();
  private evicted: MoMessage[] = [];
  private readonly timeoutMs: number;
  private readonly maxGroups: number;
  private readonly clock: () => number;

  constructor(options: MoAssemblerOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 5 * 60_000;
    this.maxGroups = Math.max(1, options.maxGroups ?? 1000);
    this.clock = options.clock ?? Date.now;
  }

  /**
   * Adds one deliver_sm (not a receipt). Returns the whole message when it is
   * complete: at once for a single-part message, else with its last part.
   * A repeated part (the SMSC retrying) is ignored.
   *
   * @param receivedAt - when this part arrived (ISO-8601); a reassembled message carries the first part's time.
   */
  add(f: DeliverFields, receivedAt: string): MoMessage | undefined {
    const { udh, body } = messageBody(f);
    const text = decodeText(body, f.dataCoding);
    const info = partInfo(f, udh);
    if (info === undefined) {
      return { from: f.sourceAddr, to: f.destinationAddr, text, dataCoding: f.dataCoding, receivedAt, parts: 1 };
    }
    const key = JSON.stringify([f.sourceAddr, f.destinationAddr, info.ref, info.total]);
    let group = this.groups.get(key);
    if (group === undefined) {
      if (this.groups.size >= this.maxGroups) this.evictOldest();
      group = {
        from: f.sourceAddr,
        to: f.destinationAddr,
        total: info.total,
        dataCoding: f.dataCoding,
        firstReceivedAt: receivedAt,
        createdMs: this.clock(),
        parts: new Map(),
      };
      this.groups.set(key, group);
    }
    if (!group.parts.has(info.seq)) group.parts.set(info.seq, text);
    if (group.parts.size < group.total) return undefined;
    this.groups.delete(key);
    return toMessage(group);
  }

  /**
   * Gives up on incomplete messages older than the timeout and returns their
   * partial texts (`parts` = parts received), together with any evicted since
   * the last call.
   */
  expire(nowMs: number = this.clock()): MoMessage[] {
    const out = this.evicted;
    this.evicted = [];
    for (const [key, group] of this.groups) {
      if (nowMs - group.createdMs >= this.timeoutMs) {
        this.groups.delete(key);
        out.push(toMessage(group));
      }
    }
    return out;
  }

  /** Incomplete messages currently held. */
  get pending(): number {
    return this.groups.size;
  }

  private evictOldest(): void {
    // Map order is insertion order, so the first group is the oldest.
    const first = this.groups.entries().next().value;
    if (first === undefined) return;
    this.groups.delete(first[0]);
    this.evicted.push(toMessage(first[1]));
  }
}

function toMessage(group: Group): MoMessage {
  const seqs = [...group.parts.keys()].sort((a, b) => a - b);
  return {
    from: group.from,
    to: group.to,
    text: seqs.map((s) => group.parts.get(s) ?? '').join(''),
    dataCoding: group.dataCoding,
    receivedAt: group.firstReceivedAt,
    parts: group.parts.size,
  };
}
