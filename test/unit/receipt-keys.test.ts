import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bestMatch, candidateExactKeys, exactKey, KeyIndex, keysOfExact, matchKeys, MAX_KEY_LENGTH, smscIdKeys } from '../../service/src/core/receipt-keys.js';

const numRuns = Number(process.env['PROPERTY_RUNS'] ?? 300);

function shareAKey(a: string, b: string): boolean {
  const keys = new Set(smscIdKeys(a));
  return smscIdKeys(b).some((k) => keys.has(k));
}

describe('smscIdKeys', () => {
  it('gives a digits-only id its decimal reading first (exact) and its hex reading after it', () => {
    expect(smscIdKeys('123')).toEqual(['d:123', 'd:291']);
  });

  it('gives an id with hex letters its hex form first (exact) and its numeric value after it', () => {
    expect(smscIdKeys('1A2B')).toEqual(['x:1a2b', 'd:6699']);
  });

  it('lets a hex rendering and the decimal rendering of one id share a key', () => {
    expect(shareAKey('1A2B', '6699')).toBe(true);
  });

  it('tells colliding ids apart by their exact key: 000186A0 (hex 186A0 = 100000) and 00100000', () => {
    // Act
    const hexId = smscIdKeys('000186A0');
    const decimalId = smscIdKeys('00100000');
    // Assess: they share d:100000, which is 00100000's exact key and only a secondary reading of 000186A0.
    expect(hexId).toEqual(['x:186a0', 'd:100000']);
    expect(decimalId).toEqual(['d:100000', 'd:1048576']);
    expect(hexId[0]).not.toBe(decimalId[0]);
    expect(hexId.slice(1)).toContain(decimalId[0]);
  });

  it('gives two ids the same exact key only when they are the same id up to case, white space and leading zeros', () => {
    const normalised = (s: string) => s.trim().toLowerCase().replace(/^0+(?=.)/, '');
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.boolean(),
        fc.nat({ max: 3 }),
        (value, other, sameValue, zeros) => {
          // Prepare: a hex rendering, and a decimal rendering of the same value or of another one.
          const hex = '0'.repeat(zeros) + value.toString(16).toUpperCase();
          const decimal = (sameValue ? value : other).toString(10);
          // Act / Assess
          expect(smscIdKeys(hex)[0] === smscIdKeys(decimal)[0]).toBe(normalised(hex) === normalised(decimal));
          expect(smscIdKeys(hex)[0]).toBe(smscIdKeys(hex.toLowerCase().replace(/^0+(?=.)/, ''))[0]);
        },
      ),
      { numRuns },
    );
  });

  it('ignores case and leading zeros', () => {
    expect(shareAKey('00ABC', 'abc')).toBe(true);
    expect(shareAKey('000123', '123')).toBe(true);
  });

  it('trims surrounding white space', () => {
    expect(smscIdKeys('  ff \n')).toEqual(['x:ff', 'd:255']);
  });

  it('keeps a 64-bit id exact', () => {
    expect(smscIdKeys('FFFFFFFFFFFFFFFF')).toEqual(['x:ffffffffffffffff', 'd:18446744073709551615']);
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

describe('matchKeys', () => {
  it('says exact for the same id, whatever its case and leading zeros', () => {
    expect(matchKeys(smscIdKeys('00abc'), smscIdKeys('ABC'))).toBe('exact');
  });

  it('says reading for a hex receipt of a decimal response, and for a decimal receipt of a hex response', () => {
    expect(matchKeys(smscIdKeys('186A0'), smscIdKeys('100000'))).toBe('reading');
    expect(matchKeys(smscIdKeys('100000'), smscIdKeys('186A0'))).toBe('reading');
  });

  it('says nothing for ids that share no key', () => {
    expect(matchKeys(smscIdKeys('abc'), smscIdKeys('abd'))).toBeUndefined();
    expect(matchKeys(smscIdKeys('abc'), [])).toBeUndefined();
  });

  it('agrees with the keys: exact exactly when the first keys are equal, a match exactly when they share one', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 1n << 20n }), fc.bigInt({ min: 0n, max: 1n << 20n }), fc.boolean(), fc.boolean(), (a, b, aHex, bHex) => {
        // Prepare: small values, so that readings collide often
        const receipt = smscIdKeys(a.toString(aHex ? 16 : 10));
        const part = smscIdKeys(b.toString(bHex ? 16 : 10));
        // Act
        const match = matchKeys(receipt, part);
        // Assess
        expect(match === 'exact').toBe(receipt[0] === part[0]);
        expect(match !== undefined).toBe(receipt.some((k) => part.includes(k)));
      }),
      { numRuns },
    );
  });
});

describe('bestMatch', () => {
  const parts = (...ids: string[]) => ids.map((id) => ({ id, keys: smscIdKeys(id) }));

  it('takes the exact match over a reading that comes first: 00100000 and 000186A0 share d:100000', () => {
    // Prepare
    const candidates = parts('000186A0', '00100000');
    // Act
    const found = bestMatch(smscIdKeys('100000'), candidates, (c) => c.keys);
    // Assess
    expect(found).toEqual({ value: candidates[1], match: 'exact' });
  });

  it("prefers a part whose exact key is the receipt's reading over one that only shares a reading", () => {
    // Prepare: receipt 100000 reads as d:1048576 (hex 100000), which is part 1048576's exact key; 186A0 only reads as d:100000.
    const candidates = parts('186A0', '1048576');
    // Act
    const found = bestMatch(smscIdKeys('100000'), candidates, (c) => c.keys);
    // Assess
    expect(found).toEqual({ value: candidates[1], match: 'reading' });
  });

  it('keeps the first of equal matches, and finds nothing among parts that share no key', () => {
    const twice = parts('abc', 'ABC');
    expect(bestMatch(smscIdKeys('abc'), twice, (c) => c.keys)?.value).toBe(twice[0]);
    expect(bestMatch(smscIdKeys('xyz'), twice, (c) => c.keys)).toBeUndefined();
  });
});

describe('exactKey', () => {
  it('is smscIdKeys(id)[0] for any id: decimal or hex around 2^128, leading zeros, case, white space, anything else', () => {
    const value = fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: (1n << 127n) - 1000n, max: (1n << 129n) + 1000n }));
    const rendering = fc.tuple(value, fc.constantFrom(10, 16), fc.boolean(), fc.nat({ max: 40 }), fc.constantFrom('', ' ', '\t', ' \n')).map(
      ([v, radix, upper, zeros, pad]) => `${pad}${'0'.repeat(zeros)}${upper ? v.toString(radix).toUpperCase() : v.toString(radix)}${pad}`,
    );
    fc.assert(
      fc.property(fc.oneof(rendering, fc.string({ maxLength: 60 }), fc.string({ minLength: 190, maxLength: 260 })), (id) => {
        expect(exactKey(id)).toBe(smscIdKeys(id)[0]);
      }),
      { numRuns: numRuns * 3 },
    );
  });
});

describe('candidateExactKeys and keysOfExact', () => {
  /** Ids as SMSCs render them: one value in hex (either case) or decimal, with leading zeros, near the 2^128 bound, or opaque. */
  const ids = fc.oneof(
    fc.tuple(fc.bigInt({ min: 0n, max: (1n << 130n) }), fc.constantFrom(10, 16), fc.nat({ max: 3 }), fc.boolean()).map(([v, radix, zeros, upper]) => {
      const s = '0'.repeat(zeros) + v.toString(radix);
      return upper ? s.toUpperCase() : s;
    }),
    fc.constantFrom('123', '291', '1A2B', '6699', '186A0', '100000', '00100000', '1048576', 'abc', 'ABC', '2748'),
    fc.string({ maxLength: 12 }),
  );

  it('finds a part by its exact key exactly when the receipt matches it, whatever the renderings', () => {
    fc.assert(
      fc.property(ids, ids, (part, receipt) => {
        // Act
        const candidates = candidateExactKeys(smscIdKeys(receipt));
        // Assess: one stored key per part loses no match and finds no false one.
        expect(candidates.includes(smscIdKeys(part)[0] as string)).toBe(matchKeys(smscIdKeys(receipt), smscIdKeys(part)) !== undefined);
        expect(candidates.length).toBeLessThanOrEqual(4);
      }),
      { numRuns: numRuns * 10 },
    );
  });

  it('gives back every key of a part from its exact key', () => {
    fc.assert(
      fc.property(ids, (id) => {
        expect(keysOfExact(smscIdKeys(id)[0] as string)).toEqual(smscIdKeys(id));
      }),
      { numRuns: numRuns * 10 },
    );
  });

  it('looks for a hex response under the hex rendering of a decimal receipt', () => {
    // 0x1A2B = 6699: the receipt's own keys, then the exact key of 1a2b; 26265 is 0x6699, whose exact key is d:6699 again.
    expect(candidateExactKeys(smscIdKeys('6699'))).toEqual(['d:6699', 'd:26265', 'x:1a2b']);
    expect(candidateExactKeys(smscIdKeys('1A2B'))).toEqual(['x:1a2b', 'd:6699']);
    expect(candidateExactKeys(smscIdKeys('order-7'))).toEqual(['s:order-7']);
    // Keys a caller made up are looked under as they are, never read as numbers.
    expect(candidateExactKeys(['d:x1', 'plain'])).toEqual(['d:x1', 'plain']);
  });
});

describe('KeyIndex', () => {
  it('finds each receipt its own part when two ids share a reading, in whichever order they were added', () => {
    for (const order of [['000186A0', '00100000'], ['00100000', '000186A0']]) {
      // Prepare
      const index = new KeyIndex<string>();
      for (const id of order) index.add(smscIdKeys(id), id);
      // Act / Assess
      expect(index.find(smscIdKeys('186a0'))).toEqual({ value: '000186A0', match: 'exact' });
      expect(index.find(smscIdKeys('100000'))).toEqual({ value: '00100000', match: 'exact' });
    }
  });

  it('matches another rendering of an id by its reading, and nothing else', () => {
    // Prepare
    const index = new KeyIndex<string>();
    index.add(smscIdKeys('186A0'), 'hex response');
    // Act / Assess
    expect(index.find(smscIdKeys('100000'))).toEqual({ value: 'hex response', match: 'reading' });
    expect(index.find(smscIdKeys('100001'))).toBeUndefined();
  });

  it('answers as bestMatch over every part it holds', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.bigInt({ min: 0n, max: 300n }), fc.boolean()), { maxLength: 20 }), fc.bigInt({ min: 0n, max: 300n }), fc.boolean(), (ids, r, rHex) => {
        // Prepare
        const all = ids.map(([v, hex], i) => ({ i, keys: smscIdKeys(v.toString(hex ? 16 : 10)) }));
        const index = new KeyIndex<number>();
        for (const p of all) index.add(p.keys, p.i);
        const receipt = smscIdKeys(r.toString(rHex ? 16 : 10));
        // Act
        const found = index.find(receipt);
        const expected = bestMatch(receipt, all, (p) => p.keys);
        // Assess: the same match, and a part as good (equal keys when both match exactly)
        expect(found?.match).toBe(expected?.match);
        if (found !== undefined && expected !== undefined) expect(matchKeys(receipt, all[found.value]?.keys ?? [])).toBe(expected.match);
      }),
      { numRuns },
    );
  });
});
