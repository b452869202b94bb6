import type { WireEncoding } from '../domain.js';

/** SMPP data_coding values for the encodings we send (docs/architecture.md §4). */
export const DataCoding = { GSM7: 0, LATIN1: 3, UCS2: 8 } as const;
export type DataCoding = (typeof DataCoding)[keyof typeof DataCoding];

/** The data_coding value that goes with a wire encoding. */
export function dataCodingOf(enc: WireEncoding): number {
  return DataCoding[enc];
}

const ESC = 0x1b;

/**
 * GSM 03.38 default alphabet, indexed by septet. 0x1B is the escape to the
 * extension table, so its slot is never used for encoding.
 */
const GSM7_BASIC: readonly string[] = [
  ...'@£$¥èéùìòÇ\nØø\rÅå',
  ...'\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\u001bÆæßÉ',
  ...' !"#¤%&\'()*+,-./',
  ...'0123456789:;<=>?',
  ...'¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§',
  ...'¿abcdefghijklmnopqrstuvwxyzäöñüà',
];

/** GSM 03.38 extension table: character → septet that follows the escape. */
const GSM7_EXTENSION: ReadonlyMap<string, number> = new Map([
  ['\f', 0x0a],
  ['^', 0x14],
  ['{', 0x28],
  ['}', 0x29],
  ['\\', 0x2f],
  ['[', 0x3c],
  ['~', 0x3d],
  [']', 0x3e],
  ['|', 0x40],
  ['€', 0x65],
]);

const GSM7_BASIC_CODE: ReadonlyMap<string, number> = new Map(
  GSM7_BASIC.flatMap((ch, code) => (code === ESC ? [] : [[ch, code] as const])),
);
const GSM7_EXTENSION_CHAR: ReadonlyMap<number, string> = new Map(
  [...GSM7_EXTENSION].map(([ch, code]) => [code, ch] as const),
);

/**
 * Septets one UTF-16 code unit takes in GSM7: 1 for the default alphabet, 2 for
 * an escape pair, undefined when GSM7 cannot carry it.
 */
export function gsm7Septets(char: string): 1 | 2 | undefined {
  if (GSM7_BASIC_CODE.has(char)) return 1;
  if (GSM7_EXTENSION.has(char)) return 2;
  return undefined;
}

/**
 * GSM7 text as SMPP carries it with data_coding 0: unpacked, one septet per
 * octet. Undefined when a character is outside the alphabet and its extension.
 */
export function encodeGsm7(text: string): Buffer | undefined {
  const out: number[] = [];
  for (const ch of text) {
    const basic = GSM7_BASIC_CODE.get(ch);
    if (basic !== undefined) {
      out.push(basic);
      continue;
    }
    const ext = GSM7_EXTENSION.get(ch);
    if (ext === undefined) return undefined;
    out.push(ESC, ext);
  }
  return Buffer.from(out);
}

/** ISO-8859-1 bytes (data_coding 3); undefined when a character is above U+00FF. */
export function encodeLatin1(text: string): Buffer | undefined {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0xff) return undefined;
  }
  return Buffer.from(text, 'latin1');
}

/** UTF-16BE (data_coding 8). Characters outside the BMP stay as their surrogate pairs. */
export function encodeUcs2(text: string): Buffer {
  return Buffer.from(text, 'utf16le').swap16();
}

/**
 * Index of the first character (code point) the encoding cannot carry, or
 * undefined when all of the text fits.
 */
export function firstUnencodable(text: string, enc: WireEncoding): number | undefined {
  if (enc === 'UCS2') return undefined;
  let i = 0;
  for (const ch of text) {
    const ok = enc === 'GSM7' ? gsm7Septets(ch) !== undefined : ch.length === 1 && ch.charCodeAt(0) <= 0xff;
    if (!ok) return i;
    i += ch.length;
  }
  return undefined;
}

function decodeGsm7(bytes: Buffer): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    // Bytes with the top bit set are not septets; some SMSCs send Latin-1 under
    // DCS 0/1, so keep them readable rather than dropping them.
    if (b >= 0x80) {
      out += String.fromCharCode(b);
      continue;
    }
    if (b !== ESC) {
      out += GSM7_BASIC[b] as string;
      continue;
    }
    const next = bytes[i + 1];
    if (next === undefined) break;
    i++;
    // 03.38: an unknown extension code is shown as its default-alphabet character.
    out += GSM7_EXTENSION_CHAR.get(next) ?? (next < 0x80 && next !== ESC ? (GSM7_BASIC[next] as string) : ' ');
  }
  return out;
}

function decodeUcs2(bytes: Buffer): string {
  const even = bytes.length - (bytes.length % 2);
  return Buffer.from(bytes.subarray(0, even)).swap16().toString('utf16le');
}

/** The character sets decodeText reads; 8-bit binary and unknown codings read as Latin-1. */
export type Alphabet = 'gsm7' | 'latin1' | 'ucs2';

/** Which alphabet a data_coding value means, per SMPP 3.4 §5.2.19 and GSM 03.38 coding groups. */
export function alphabetOf(dataCoding: number): Alphabet {
  const dcs = dataCoding & 0xff;
  if (dcs <= 0x0f) {
    // SMPP's own values: 0 SMSC default, 1 IA5, 3 Latin-1, 8 UCS-2; 2/4 binary and the rest as bytes.
    if (dcs === 0x00 || dcs === 0x01) return 'gsm7';
    if (dcs === 0x08) return 'ucs2';
    return 'latin1';
  }
  // General data coding (0x10-0x3F) and automatic-deletion (0x40-0x7F) groups: bits 3-2 name the alphabet.
  if (dcs <= 0x7f) {
    const alphabet = (dcs >> 2) & 0x03;
    if (alphabet === 0) return 'gsm7';
    if (alphabet === 2) return 'ucs2';
    return 'latin1';
  }
  if (dcs >= 0xc0 && dcs <= 0xdf) return 'gsm7'; // message waiting, discard / store
  if (dcs >= 0xe0 && dcs <= 0xef) return 'ucs2'; // message waiting, store, UCS-2
  if (dcs >= 0xf0) return dcs & 0x04 ? 'latin1' : 'gsm7';
  return 'latin1';
}

/**
 * Decodes a received message body per its data_coding. Never throws: unknown
 * or reserved codings come back as Latin-1 so no byte is lost.
 */
export function decodeText(bytes: Buffer, dataCoding: number): string {
  switch (alphabetOf(dataCoding)) {
    case 'gsm7':
      return decodeGsm7(bytes);
    case 'ucs2':
      return decodeUcs2(bytes);
    case 'latin1':
      return bytes.toString('latin1');
  }
}
