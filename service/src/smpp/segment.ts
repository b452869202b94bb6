import type { JobEncoding, Segment, WireEncoding } from '../domain.js';
import { EncodingError } from '../errors.js';
import { dataCodingOf, encodeGsm7, encodeLatin1, encodeUcs2, firstUnencodable, gsm7Septets } from './encoding.js';

/** How the parts of a long message are tied together: 8-bit or 16-bit reference UDH, or SAR TLVs. */
export type ConcatMode = 'udh8' | 'udh16' | 'sar';

/** SMS can carry at most 255 parts: the UDH and SAR totals are one octet. */
export const MAX_SEGMENTS = 255;

/** Units per message: septets (GSM7), octets (Latin-1), UTF-16 code units (UCS-2). */
interface Limits {
  single: number;
  multi: Readonly<Record<ConcatMode, number>>;
}

// Multi-part limits are the 140-octet payload minus the UDH (6 octets for an
// 8-bit reference, 7 for 16-bit). SAR carries no UDH, but SMSCs commonly
// convert SAR to a UDH towards the handset, so it keeps the 8-bit UDH limits.
const LIMITS: Readonly<Record<WireEncoding, Limits>> = {
  GSM7: { single: 160, multi: { udh8: 153, udh16: 152, sar: 153 } },
  LATIN1: { single: 140, multi: { udh8: 134, udh16: 133, sar: 134 } },
  UCS2: { single: 70, multi: { udh8: 67, udh16: 66, sar: 67 } },
};

const AUTO_ORDER: readonly WireEncoding[] = ['GSM7', 'LATIN1', 'UCS2'];

const WIRE_OF: Readonly<Record<Exclude<JobEncoding, 'auto'>, WireEncoding>> = {
  gsm7: 'GSM7',
  latin1: 'LATIN1',
  ucs2: 'UCS2',
};

/**
 * The text as indivisible pieces with their size in the encoding's units: a
 * GSM escape pair and a UTF-16 surrogate pair are one piece each, which is what
 * keeps them from being split across parts.
 */
function atoms(text: string, enc: WireEncoding): { text: string; size: number }[] {
  const out: { text: string; size: number }[] = [];
  for (const ch of text) {
    out.push({ text: ch, size: enc === 'GSM7' ? (gsm7Septets(ch) ?? 1) : enc === 'UCS2' ? ch.length : 1 });
  }
  return out;
}

/** Splits the text into part texts, greedily filling each part (optimal for an order-preserving split). */
function split(text: string, enc: WireEncoding, concat: ConcatMode): string[] {
  const pieces = atoms(text, enc);
  const limits = LIMITS[enc];
  const total = pieces.reduce((n, p) => n + p.size, 0);
  if (total <= limits.single) return [text];
  const limit = limits.multi[concat];
  const parts: string[] = [];
  let current = '';
  let used = 0;
  for (const piece of pieces) {
    if (used + piece.size > limit) {
      parts.push(current);
      current = '';
      used = 0;
    }
    current += piece.text;
    used += piece.size;
  }
  parts.push(current);
  return parts;
}

function describeChar(text: string, index: number): string {
  const cp = text.codePointAt(index) as number;
  const hex = cp.toString(16).toUpperCase().padStart(4, '0');
  return `U+${hex} '${String.fromCodePoint(cp)}' at position ${index}`;
}

function checkRepresentable(text: string, enc: WireEncoding): void {
  const bad = firstUnencodable(text, enc);
  if (bad !== undefined) {
    throw new EncodingError(`text cannot be encoded as ${enc}: ${describeChar(text, bad)}`);
  }
}

function checkCount(count: number, enc: WireEncoding): void {
  if (count > MAX_SEGMENTS) {
    throw new EncodingError(`text needs ${count} parts in ${enc}, more than the ${MAX_SEGMENTS} an SMS can have`);
  }
}

function choose(text: string, requested: JobEncoding, concat: ConcatMode): { encoding: WireEncoding; parts: string[] } {
  if (requested !== 'auto') {
    const encoding = WIRE_OF[requested];
    checkRepresentable(text, encoding);
    const parts = split(text, encoding, concat);
    checkCount(parts.length, encoding);
    return { encoding, parts };
  }
  let best: { encoding: WireEncoding; parts: string[] } | undefined;
  for (const encoding of AUTO_ORDER) {
    if (firstUnencodable(text, encoding) !== undefined) continue;
    const parts = split(text, encoding, concat);
    // Strictly fewer only: on a tie the earlier (cheaper, more widely supported) encoding stays.
    if (best === undefined || parts.length < best.parts.length) best = { encoding, parts };
  }
  // UCS-2 carries any string, so best is always set.
  const chosen = best as { encoding: WireEncoding; parts: string[] };
  checkCount(chosen.parts.length, chosen.encoding);
  return chosen;
}

/**
 * Decides the wire encoding and the number of parts without building them.
 * `auto` picks the encoding needing the fewest parts, preferring GSM7, then
 * Latin-1, then UCS-2 on ties.
 *
 * @param concat - concatenation mode, which sets the per-part limits; defaults to `udh8`.
 * @throws EncodingError when an explicit encoding cannot carry the text, or it needs more than 255 parts.
 */
export function planText(
  text: string,
  requested: JobEncoding,
  concat: ConcatMode = 'udh8',
): { encoding: WireEncoding; dataCoding: number; segmentCount: number } {
  const { encoding, parts } = choose(text, requested, concat);
  return { encoding, dataCoding: dataCodingOf(encoding), segmentCount: parts.length };
}

function encodeBody(text: string, enc: WireEncoding): Buffer {
  // Representability was checked in choose(); the fallbacks only satisfy the types.
  switch (enc) {
    case 'GSM7':
      return encodeGsm7(text) ?? Buffer.alloc(0);
    case 'LATIN1':
      return encodeLatin1(text) ?? Buffer.alloc(0);
    case 'UCS2':
      return encodeUcs2(text);
  }
}

const ESM_CLASS_UDHI = 0x40;

/**
 * Encodes and splits a text into submit_sm parts (docs/architecture.md §4). A single part
 * has no UDH; parts of a long message carry a concatenation UDH
 * (esm_class 0x40) or SAR fields, per `concat`.
 *
 * @param opts.reference - concatenation reference; masked to 8 bits for `udh8`, 16 bits otherwise.
 * @throws EncodingError when an explicit encoding cannot carry the text, or it needs more than 255 parts.
 */
export function segmentText(
  text: string,
  opts: { encoding: JobEncoding; concat: ConcatMode; reference: number },
): { encoding: WireEncoding; dataCoding: number; segments: Segment[] } {
  const { encoding, parts } = choose(text, opts.encoding, opts.concat);
  const dataCoding = dataCodingOf(encoding);
  const total = parts.length;
  const segments = parts.map((part, i): Segment => {
    const body = encodeBody(part, encoding);
    if (total === 1) return { shortMessage: body, dataCoding, esmClass: 0 };
    const seq = i + 1;
    switch (opts.concat) {
      case 'udh8': {
        const udh = Buffer.from([0x05, 0x00, 0x03, opts.reference & 0xff, total, seq]);
        return { shortMessage: Buffer.concat([udh, body]), dataCoding, esmClass: ESM_CLASS_UDHI };
      }
      case 'udh16': {
        const ref = opts.reference & 0xffff;
        const udh = Buffer.from([0x06, 0x08, 0x04, ref >> 8, ref & 0xff, total, seq]);
        return { shortMessage: Buffer.concat([udh, body]), dataCoding, esmClass: ESM_CLASS_UDHI };
      }
      case 'sar':
        return {
          shortMessage: body,
          dataCoding,
          esmClass: 0,
          sar: { refNum: opts.reference & 0xffff, totalSegments: total, segmentSeqnum: seq },
        };
    }
  });
  return { encoding, dataCoding, segments };
}

/**
 * Concatenation references per destination, so that consecutive long messages
 * to one handset never share a reference (the handset would merge their parts).
 * Memory is bounded: the least recently used destinations are forgotten.
 */
export class ReferenceCounter {
  private readonly last = new Map<string, number>();
  private readonly maxDestinations: number;
  private readonly random: () => number;

  /**
   * @param options.maxDestinations - destinations remembered; @defaultValue 10000
   * @param options.random - source of the random first reference, in [0, 1); @defaultValue Math.random
   */
  constructor(options: { maxDestinations?: number; random?: () => number } = {}) {
    this.maxDestinations = Math.max(1, options.maxDestinations ?? 10_000);
    this.random = options.random ?? Math.random;
  }

  /** The next reference (0-65535) for a destination; starts at a random value, then increments and wraps. */
  next(destination: string): number {
    const prev = this.last.get(destination);
    // A random start keeps references from colliding across restarts and tasks.
    const ref = prev === undefined ? Math.floor(this.random() * 0x10000) & 0xffff : (prev + 1) & 0xffff;
    // Re-inserting moves the destination to the end of Map order, which makes eviction least-recently-used.
    this.last.delete(destination);
    this.last.set(destination, ref);
    if (this.last.size > this.maxDestinations) {
      const oldest = this.last.keys().next().value;
      if (oldest !== undefined) this.last.delete(oldest);
    }
    return ref;
  }

  /** Destinations currently remembered. */
  get size(): number {
    return this.last.size;
  }
}
