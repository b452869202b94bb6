import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_KEY_LENGTH, smscIdKeys } from '../../service/src/smpp/message-id.js';

const numRuns = Number(process.env['PROPERTY_RUNS'] ?? 300);

function shareAKey(a: string, b: string): boolean {
  const keys = new Set(smscIdKeys(a));
  return smscIdKeys(b).some((k) => keys.has(k));
}

describe('smscIdKeys', () => {
  it('gives a digits-only id both its decimal and its hex reading', () => {
    expect(smscIdKeys('123')).toEqual(['d:123', 'd:291']);
  });

  it('lets a hex rendering and the decimal rendering of one id share a key', () => {
    expect(smscIdKeys('1A2B')).toEqual(['d:6699']);
    expect(shareAKey('1A2B', '6699')).toBe(true);
  });

  it('ignores case and leading zeros', () => {
    expect(shareAKey('00ABC', 'abc')).toBe(true);
    expect(shareAKey('000123', '123')).toBe(true);
  });

  it('trims surrounding white space', () => {
    expect(smscIdKeys('  ff \n')).toEqual(['d:255']);
  });

  it('keeps a 64-bit id exact', () => {
    expect(smscIdKeys('FFFFFFFFFFFFFFFF')).toEqual(['d:18446744073709551615']);
    expect(smscIdKeys('18446744073709551615')[0]).toBe('d:18446744073709551615');
  });

  it('keys an opaque id by its lower-case form without leading zeros', () => {
    expect(smscIdKeys('00Msg-ABC_1')).toEqual(['s:msg-abc_1']);
    expect(shareAKey('msg-abc_1', 'MSG-ABC_1')).toBe(true);
  });

  it('bounds the key length with a stable hash suffix', () => {
    // Prepare
    const long = 'x-'.repeat(300);
    // Act
    const keys = smscIdKeys(long);
    // Assess
    expect(keys).toHaveLength(1);
    expect(keys[0]?.length).toBeLessThanOrEqual(MAX_KEY_LENGTH);
    expect(smscIdKeys(long)).toEqual(keys);
    expect(smscIdKeys(`${long}y`)).not.toEqual(keys);
  });

  it('treats numbers of 2^128 and above as opaque', () => {
    expect(smscIdKeys('1' + '0'.repeat(39))).toEqual(['s:1' + '0'.repeat(39)]);
  });

  it('lets hex and decimal renderings of the same 64-bit value share a key, whatever the case and leading zeros', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.nat({ max: 5 }),
        fc.nat({ max: 5 }),
        fc.boolean(),
        (value, hexZeros, decZeros, upper) => {
          // Prepare
          const hex = '0'.repeat(hexZeros) + value.toString(16);
          const dec = '0'.repeat(decZeros) + value.toString(10);
          // Act / Assess
          expect(shareAKey(upper ? hex.toUpperCase() : hex, dec)).toBe(true);
          expect(shareAKey(hex.toUpperCase(), hex.toLowerCase())).toBe(true);
        },
      ),
      { numRuns },
    );
  });

  it('always returns one or two deterministic keys of bounded length', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (id) => {
        const keys = smscIdKeys(id);
        expect(keys.length === 1 || keys.length === 2).toBe(true);
        expect(keys.every((k) => k.length <= MAX_KEY_LENGTH)).toBe(true);
        expect(smscIdKeys(id)).toEqual(keys);
      }),
      { numRuns },
    );
  });
});
