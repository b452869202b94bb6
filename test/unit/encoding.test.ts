import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DataCoding,
  dataCodingOf,
  decodeText,
  encodeGsm7,
  encodeLatin1,
  encodeUcs2,
  firstUnencodable,
} from '../../service/src/smpp/encoding.js';

const numRuns = Number(process.env['PROPERTY_RUNS'] ?? 300);

const GSM7_BASIC_CHARS =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM7_EXTENSION_CHARS = '\f^{}\\[~]|€';

describe('data coding', () => {
  it('maps each wire encoding to its SMPP data_coding', () => {
    expect([dataCodingOf('GSM7'), dataCodingOf('LATIN1'), dataCodingOf('UCS2')]).toEqual([0, 3, 8]);
    expect(DataCoding).toEqual({ GSM7: 0, LATIN1: 3, UCS2: 8 });
  });
});

describe('encodeGsm7', () => {
  it('encodes Hello as unpacked septets', () => {
    // Act
    const bytes = encodeGsm7('Hello');
    // Assess
    expect(bytes?.toString('hex')).toBe('48656c6c6f');
  });

  it('encodes the euro sign as an escape pair', () => {
    expect(encodeGsm7('€')?.toString('hex')).toBe('1b65');
  });

  it('places é at 0x05 of the default alphabet', () => {
    expect(encodeGsm7('é')?.toString('hex')).toBe('05');
  });

  it('encodes every extension character as escape plus its code', () => {
    // Act
    const bytes = encodeGsm7(GSM7_EXTENSION_CHARS);
    // Assess
    expect(bytes?.toString('hex')).toBe('1b0a1b141b281b291b2f1b3c1b3d1b3e1b401b65');
  });

  it('maps the whole default alphabet to septets 0x00-0x7F except the escape', () => {
    // Act
    const bytes = encodeGsm7(GSM7_BASIC_CHARS);
    // Assess
    expect([...(bytes ?? [])]).toEqual([...Array(128).keys()].filter((b) => b !== 0x1b));
  });

  it('returns undefined for a character outside the alphabet', () => {
    expect(encodeGsm7('ą')).toBeUndefined();
    expect(encodeGsm7('😀')).toBeUndefined();
    expect(encodeGsm7('ç')).toBeUndefined();
  });
});

describe('encodeLatin1 and encodeUcs2', () => {
  it('encodes Latin-1 characters as single octets', () => {
    expect(encodeLatin1('é')?.toString('hex')).toBe('e9');
  });

  it('returns undefined for Latin-1 text with a character above U+00FF', () => {
    expect(encodeLatin1('a€')).toBeUndefined();
  });

  it('encodes UCS-2 as big-endian code units with surrogate pairs kept', () => {
    expect(encodeUcs2('A😀').toString('hex')).toBe('0041d83dde00');
  });
});

describe('firstUnencodable', () => {
  it('points at the first character the encoding cannot carry', () => {
    expect(firstUnencodable('abcą', 'GSM7')).toBe(3);
    expect(firstUnencodable('a😀', 'LATIN1')).toBe(1);
    expect(firstUnencodable('a😀', 'UCS2')).toBeUndefined();
    expect(firstUnencodable('a€', 'GSM7')).toBeUndefined();
  });
});

describe('decodeText', () => {
  it('decodes DCS 0 as unpacked GSM7 with the extension table', () => {
    expect(decodeText(Buffer.from('48656c6c6f1b65', 'hex'), 0)).toBe('Hello€');
  });

  it('decodes DCS 1 as GSM7 but reads bytes from 0x80 as Latin-1', () => {
    expect(decodeText(Buffer.from([0x43, 0x61, 0x66, 0xe9]), 1)).toBe('Café');
  });

  it('decodes DCS 3 as Latin-1', () => {
    expect(decodeText(Buffer.from([0x61, 0xe7, 0x7b]), 3)).toBe('aç{');
  });

  it('decodes DCS 8 as UTF-16BE and ignores an odd trailing byte', () => {
    expect(decodeText(Buffer.from('0041d83dde0000', 'hex'), 8)).toBe('A😀');
  });

  it('decodes 8-bit binary DCS 2 and 4 as Latin-1 strings', () => {
    expect(decodeText(Buffer.from([0x00, 0xff]), 2)).toBe('\u0000\u00ff');
    expect(decodeText(Buffer.from([0x41, 0x80]), 4)).toBe('A\u0080');
  });

  it('decodes unknown codings as Latin-1', () => {
    expect(decodeText(Buffer.from([0x40, 0xe9]), 0x05)).toBe('@é');
    expect(decodeText(Buffer.from([0x40]), 0x90)).toBe('@');
  });

  it('reads the alphabet from the GSM 03.38 general coding group bits', () => {
    expect(decodeText(Buffer.from([0x00]), 0x10)).toBe('@');
    expect(decodeText(Buffer.from([0x40]), 0x14)).toBe('@');
    expect(decodeText(Buffer.from('0041', 'hex'), 0x18)).toBe('A');
    expect(decodeText(Buffer.from('0041', 'hex'), 0x48)).toBe('A');
  });

  it('reads the alphabet from the data coding / message class group 0xF0-0xFF', () => {
    expect(decodeText(Buffer.from([0x00]), 0xf0)).toBe('@');
    expect(decodeText(Buffer.from([0x00]), 0xf4)).toBe('\u0000');
  });

  it('reads message-waiting groups as GSM7 or UCS-2', () => {
    expect(decodeText(Buffer.from([0x00]), 0xc8)).toBe('@');
    expect(decodeText(Buffer.from('0041', 'hex'), 0xe0)).toBe('A');
  });

  it('drops an escape at the very end and shows an unknown extension code as its default character', () => {
    expect(decodeText(Buffer.from([0x41, 0x1b]), 0)).toBe('A');
    expect(decodeText(Buffer.from([0x1b, 0x41]), 0)).toBe('A');
  });

  it('never throws on arbitrary bytes and any data coding', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: -1, max: 300 }), (bytes, dcs) => {
        expect(typeof decodeText(Buffer.from(bytes), dcs)).toBe('string');
      }),
      { numRuns },
    );
  });
});

describe('round trips', () => {
  const gsmChar = fc.constantFrom(...GSM7_BASIC_CHARS, ...GSM7_EXTENSION_CHARS);

  it('decodes GSM7 text to what was encoded', () => {
    fc.assert(
      fc.property(fc.array(gsmChar, { maxLength: 400 }).map((cs) => cs.join('')), (text) => {
        // Act
        const bytes = encodeGsm7(text);
        // Assess
        expect(bytes).toBeDefined();
        expect(decodeText(bytes as Buffer, DataCoding.GSM7)).toBe(text);
      }),
      { numRuns },
    );
  });

  it('decodes Latin-1 text to what was encoded', () => {
    const latin1 = fc.array(fc.integer({ min: 0, max: 0xff }), { maxLength: 300 }).map((cs) => String.fromCharCode(...cs));
    fc.assert(
      fc.property(latin1, (text) => {
        const bytes = encodeLatin1(text);
        expect(decodeText(bytes as Buffer, DataCoding.LATIN1)).toBe(text);
      }),
      { numRuns },
    );
  });

  it('decodes UCS-2 text to what was encoded, astral characters included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        expect(decodeText(encodeUcs2(text), DataCoding.UCS2)).toBe(text);
      }),
      { numRuns },
    );
  });
});
