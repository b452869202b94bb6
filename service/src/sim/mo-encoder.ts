/**
 * Encodes a mobile-originated message into deliver_sm parts. Deliberately
 * small and independent of the connector's own encoder, so a test of the
 * connector's decoder is not a test of the same code against itself.
 */

/** Data codings the simulator can originate: GSM 7-bit unpacked, Latin-1, UCS-2. */
export type MoDataCoding = 0 | 3 | 8;

/** How a long MO is split: 8-bit-reference concatenation UDH, or SAR TLVs. */
export type MoConcat = 'udh8' | 'sar';

/** One deliver_sm worth of MO: the short_message bytes and what goes with them. */
export interface MoPart {
  shortMessage: Buffer;
  esmClass: number;
  sar?: { refNum: number; total: number; seq: number };
}

// ASCII characters whose GSM 03.38 code differs from their ASCII code, and the
// ones that need the escape to the extension table. Other printable ASCII maps 1:1.
const GSM_BASIC: Readonly<Record<string, number>> = { '@': 0x00, $: 0x02, _: 0x11 };
const GSM_EXTENSION: Readonly<Record<string, number>> = {
  '^': 0x14,
  '{': 0x28,
  '}': 0x29,
  '\\': 0x2f,
  '[': 0x3c,
  '~': 0x3d,
  ']': 0x3e,
  '|': 0x40,
};
const ESC = 0x1b;

/** GSM 7-bit, one septet per octet, for ASCII text (the only text DCS 0 MOs need here). */
function encodeGsmAscii(text: string): Buffer {
  const out: number[] = [];
  for (const ch of text) {
    const basic = GSM_BASIC[ch];
    const extension = GSM_EXTENSION[ch];
    const code = ch.charCodeAt(0);
    if (basic !== undefined) out.push(basic);
    else if (extension !== undefined) out.push(ESC, extension);
    else if (ch === '\n' || ch === '\r' || (code >= 0x20 && code < 0x7f && ch !== '`')) out.push(code);
    else throw new RangeError(`sendMo: ${JSON.stringify(ch)} cannot be sent with data_coding 0 (ASCII only here)`);
  }
  return Buffer.from(out);
}

function encodeLatin1(text: string): Buffer {
  for (const ch of text) {
    if (ch.codePointAt(0)! > 0xff) throw new RangeError(`sendMo: ${JSON.stringify(ch)} is not Latin-1`);
  }
  return Buffer.from(text, 'latin1');
}

function encodeUcs2(text: string): Buffer {
  const out = Buffer.alloc(text.length * 2);
  for (let i = 0; i < text.length; i++) out.writeUInt16BE(text.charCodeAt(i), i * 2);
  return out;
}

export function encodeMoText(text: string, dataCoding: MoDataCoding): Buffer {
  if (dataCoding === 0) return encodeGsmAscii(text);
  if (dataCoding === 3) return encodeLatin1(text);
  return encodeUcs2(text);
}

/** Where to cut `bytes` at or before `limit` without splitting an escape pair or a surrogate pair. */
function safeCut(bytes: Buffer, start: number, limit: number, dataCoding: MoDataCoding): number {
  let end = Math.min(start + limit, bytes.length);
  if (end === bytes.length) return end;
  if (dataCoding === 0 && bytes[end - 1] === ESC) end -= 1;
  if (dataCoding === 8) {
    const unit = bytes.readUInt16BE(end - 2);
    if (unit >= 0xd800 && unit <= 0xdbff) end -= 2;
  }
  return end;
}

function chunk(bytes: Buffer, size: number, dataCoding: MoDataCoding): Buffer[] {
  const parts: Buffer[] = [];
  for (let start = 0; start < bytes.length; ) {
    const end = safeCut(bytes, start, size, dataCoding);
    parts.push(bytes.subarray(start, end));
    start = end;
  }
  return parts;
}

/**
 * Splits an encoded MO into parts: one part up to 160 septets / 140 octets;
 * beyond that 153 / 134 per part with a UDH, or 160 / 140 with SAR TLVs.
 */
export function encodeMoParts(text: string, dataCoding: MoDataCoding, concat: MoConcat, refNum: number): MoPart[] {
  const bytes = encodeMoText(text, dataCoding);
  const single = dataCoding === 0 ? 160 : 140;
  if (bytes.length <= single) return [{ shortMessage: bytes, esmClass: 0 }];
  const ref = refNum & 0xff;
  if (concat === 'sar') {
    const pieces = chunk(bytes, single, dataCoding);
    return pieces.map((shortMessage, i) => ({
      shortMessage,
      esmClass: 0,
      sar: { refNum: refNum & 0xffff, total: pieces.length, seq: i + 1 },
    }));
  }
  const pieces = chunk(bytes, dataCoding === 0 ? 153 : 134, dataCoding);
  if (pieces.length > 255) throw new RangeError('sendMo: text needs more than 255 parts');
  return pieces.map((piece, i) => ({
    shortMessage: Buffer.concat([Buffer.from([0x05, 0x00, 0x03, ref, pieces.length, i + 1]), piece]),
    esmClass: 0x40,
  }));
}
