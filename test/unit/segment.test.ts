import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JobEncoding, Segment, WireEncoding } from '../../service/src/domain.js';
import { EncodingError } from '../../service/src/errors.js';
import { decodeText, firstUnencodable } from '../../service/src/smpp/encoding.js';
import { ReferenceCounter, planText, segmentText } from '../../service/src/smpp/segment.js';
import type { ConcatMode } from '../../service/src/smpp/segment.js';

const numRuns = Number(process.env['PROPERTY_RUNS'] ?? 300);

const LIMITS: Record<WireEncoding, { single: number; multi: Record<ConcatMode, number> }> = {
  GSM7: { single: 160, multi: { udh8: 153, udh16: 152, sar: 153 } },
  LATIN1: { single: 140, multi: { udh8: 134, udh16: 133, sar: 134 } },
  UCS2: { single: 70, multi: { udh8: 67, udh16: 66, sar: 67 } },
};

/** The body of a part: its short_message without the UDH. */
function bodyOf(segment: Segment): Buffer {
  if ((segment.esmClass & 0x40) === 0) return segment.shortMessage;
  return segment.shortMessage.subarray(1 + (segment.shortMessage[0] as number));
}

/** Size of a body in the encoding's units: septets / octets are bytes, UCS-2 units are byte pairs. */
function unitsOf(body: Buffer, enc: WireEncoding): number {
  return enc === 'UCS2' ? body.length / 2 : body.length;
}

function segment(text: string, encoding: JobEncoding = 'auto', concat: ConcatMode = 'udh8', reference = 7) {
  return segmentText(text, { encoding, concat, reference });
}

describe('planText', () => {
  it('picks GSM7 for é, which is in the default alphabet', () => {
    expect(planText('é', 'auto')).toEqual({ encoding: 'GSM7', dataCoding: 0, segmentCount: 1 });
  });

  it('picks UCS-2 for ą, which neither GSM7 nor Latin-1 carries', () => {
    expect(planText('ą', 'auto')).toEqual({ encoding: 'UCS2', dataCoding: 8, segmentCount: 1 });
  });

  it('picks Latin-1 for ç, which GSM7 lacks', () => {
    expect(planText('ç', 'auto')).toEqual({ encoding: 'LATIN1', dataCoding: 3, segmentCount: 1 });
  });

  it('picks Latin-1 over GSM7 when escape pairs would cost GSM7 an extra part', () => {
    // Prepare: 81 braces are 162 septets in GSM7 (2 parts) but 81 octets in Latin-1 (1 part).
    const text = '{'.repeat(81);
    // Act
    const plan = planText(text, 'auto');
    // Assess
    expect(plan).toEqual({ encoding: 'LATIN1', dataCoding: 3, segmentCount: 1 });
  });

  it('keeps GSM7 when it ties with Latin-1', () => {
    expect(planText('{'.repeat(80), 'auto').encoding).toBe('GSM7');
  });

  it('names the first offending character when an explicit encoding cannot carry the text', () => {
    expect(() => planText('abc ą x', 'gsm7')).toThrow(EncodingError);
    expect(() => planText('abc ą x', 'gsm7')).toThrow(/U\+0105 'ą' at position 4/);
    expect(() => planText('hi 😀', 'latin1')).toThrow(/U\+1F600/);
  });

  it('counts parts with the limits of the concatenation mode', () => {
    const text = 'a'.repeat(153 * 2);
    expect(planText(text, 'gsm7', 'udh8').segmentCount).toBe(2);
    expect(planText(text, 'gsm7', 'udh16').segmentCount).toBe(3);
    expect(planText(text, 'gsm7', 'sar').segmentCount).toBe(2);
  });
});

describe('segmentText', () => {
  it('sends Hello as one GSM7 part without a UDH', () => {
    // Act
    const result = segment('Hello');
    // Assess
    expect(result.encoding).toBe('GSM7');
    expect(result.segments).toEqual([{ shortMessage: Buffer.from('48656c6c6f', 'hex'), dataCoding: 0, esmClass: 0 }]);
  });

  it('sends empty text as one empty part', () => {
    expect(segment('').segments).toEqual([{ shortMessage: Buffer.alloc(0), dataCoding: 0, esmClass: 0 }]);
  });

  it('keeps 160 GSM7 characters in one part', () => {
    expect(segment('a'.repeat(160)).segments).toHaveLength(1);
  });

  it('splits 161 GSM7 characters into 153 and 8 with an 8-bit reference UDH', () => {
    // Act
    const { segments } = segment('a'.repeat(161), 'auto', 'udh8', 0x2a);
    // Assess
    expect(segments).toHaveLength(2);
    expect(segments.map((s) => s.esmClass)).toEqual([0x40, 0x40]);
    expect(segments.map((s) => s.shortMessage.subarray(0, 6).toString('hex'))).toEqual(['0500032a0201', '0500032a0202']);
    expect(segments.map((s) => bodyOf(s).length)).toEqual([153, 8]);
  });

  it('moves an escape pair that would straddle the 153rd septet to the next part', () => {
    // Prepare: the euro sign would take septets 153 and 154.
    const text = 'a'.repeat(152) + '€' + 'b'.repeat(10);
    // Act
    const { segments } = segment(text, 'gsm7');
    // Assess
    expect(bodyOf(segments[0] as Segment)).toHaveLength(152);
    expect(bodyOf(segments[1] as Segment).subarray(0, 2).toString('hex')).toBe('1b65');
  });

  it('uses a 16-bit reference UDH with 152 septets per part', () => {
    // Act
    const { segments } = segment('a'.repeat(161), 'gsm7', 'udh16', 0x1234);
    // Assess
    expect(segments.map((s) => s.shortMessage.subarray(0, 7).toString('hex'))).toEqual(['06080412340201', '06080412340202']);
    expect(segments.map((s) => bodyOf(s).length)).toEqual([152, 9]);
  });

  it('uses SAR fields without a UDH and with 153 septets per part', () => {
    // Act
    const { segments } = segment('a'.repeat(161), 'gsm7', 'sar', 0x1234);
    // Assess
    expect(segments.map((s) => s.esmClass)).toEqual([0, 0]);
    expect(segments.map((s) => s.shortMessage.length)).toEqual([153, 8]);
    expect(segments.map((s) => s.sar)).toEqual([
      { refNum: 0x1234, totalSegments: 2, segmentSeqnum: 1 },
      { refNum: 0x1234, totalSegments: 2, segmentSeqnum: 2 },
    ]);
  });

  it('masks the reference to 8 bits for the 8-bit UDH and to 16 bits otherwise', () => {
    const long = 'a'.repeat(200);
    expect(segment(long, 'gsm7', 'udh8', 0x1234ab).segments[0]?.shortMessage[3]).toBe(0xab);
    expect(segment(long, 'gsm7', 'udh16', 0x1234ab).segments[0]?.shortMessage.subarray(3, 5).toString('hex')).toBe('34ab');
    expect(segment(long, 'gsm7', 'sar', 0x1234ab).segments[0]?.sar?.refNum).toBe(0x34ab);
  });

  it('keeps 140 Latin-1 octets in one part and splits 141 into 134 and 7', () => {
    expect(segment('ç'.repeat(140), 'latin1').segments).toHaveLength(1);
    expect(segment('ç'.repeat(141), 'latin1').segments.map((s) => bodyOf(s).length)).toEqual([134, 7]);
  });

  it('keeps 70 UCS-2 units in one part and splits 71 into 67 and 4', () => {
    expect(segment('ą'.repeat(70)).segments).toHaveLength(1);
    expect(segment('ą'.repeat(71)).segments.map((s) => bodyOf(s).length / 2)).toEqual([67, 4]);
  });

  it('moves a surrogate pair that would straddle a UCS-2 part boundary to the next part', () => {
    // Prepare: the emoji would take units 67 and 68.
    const text = 'ą'.repeat(66) + '😀' + 'ą'.repeat(5);
    // Act
    const { segments } = segment(text);
    // Assess
    expect(bodyOf(segments[0] as Segment).length / 2).toBe(66);
    expect(decodeText(bodyOf(segments[1] as Segment), 8).startsWith('😀')).toBe(true);
  });

  it('accepts 255 parts and refuses 256', () => {
    expect(segment('a'.repeat(153 * 255), 'gsm7').segments).toHaveLength(255);
    expect(() => segment('a'.repeat(153 * 255 + 1), 'gsm7')).toThrow(/256 parts/);
    expect(() => segment('a'.repeat(153 * 255 + 1), 'auto')).toThrow(EncodingError);
  });

  it('reports the same part count as planText', () => {
    const text = 'ą'.repeat(500);
    expect(segment(text, 'auto', 'udh16').segments).toHaveLength(planText(text, 'auto', 'udh16').segmentCount);
  });
});

describe('segmentation properties', () => {
  // Character pools that exercise every encoding: GSM basic and extension, Latin-1 only, BMP, astral.
  const gsmBasic = fc.constantFrom('a', 'Z', ' ', '0', 'é', '@', '\n');
  const gsmExtension = fc.constantFrom('€', '{', '}', '[', ']', '^', '~', '|', '\\', '\f');
  const latin1Only = fc.constantFrom('ç', 'á', '«', '\u00a0');
  const bmp = fc.constantFrom('ą', 'ж', '中', '\u200b');
  const astral = fc.constantFrom('😀', '𝄞', '👍🏽');
  const textOf = (...pools: fc.Arbitrary<string>[]) =>
    fc.array(fc.oneof(...pools), { maxLength: 700 }).map((cs) => cs.join(''));
  const text = textOf(gsmBasic, gsmExtension, latin1Only, bmp, astral);
  const concat = fc.constantFrom<ConcatMode>('udh8', 'udh16', 'sar');
  // Each requested encoding with texts it can carry.
  const job = fc.oneof(
    fc.record({ enc: fc.constant<JobEncoding>('gsm7'), input: textOf(gsmBasic, gsmExtension) }),
    fc.record({ enc: fc.constant<JobEncoding>('latin1'), input: textOf(gsmBasic, latin1Only) }),
    fc.record({ enc: fc.constant<JobEncoding>('ucs2'), input: text }),
    fc.record({ enc: fc.constant<JobEncoding>('auto'), input: text }),
  );

  it('splits into parts that decode back to the input, each within its limit and never inside a pair', () => {
    fc.assert(
      fc.property(job, concat, fc.integer({ min: 0, max: 0xffff }), ({ enc, input }, mode, ref) => {
        // Act
        const result = segmentText(input, { encoding: enc, concat: mode, reference: ref });
        // Assess
        const bodies = result.segments.map(bodyOf);
        expect(bodies.map((b) => decodeText(b, result.dataCoding)).join('')).toBe(input);
        const limit = result.segments.length === 1 ? LIMITS[result.encoding].single : LIMITS[result.encoding].multi[mode];
        for (const body of bodies) {
          expect(unitsOf(body, result.encoding)).toBeLessThanOrEqual(limit);
          if (result.encoding === 'GSM7') {
            // Walking escape pairs from the start must land exactly on the end: no pair is cut.
            let i = 0;
            while (i < body.length) i += body[i] === 0x1b ? 2 : 1;
            expect(i).toBe(body.length);
          }
          if (result.encoding === 'UCS2' && body.length > 0) {
            const last = body.readUInt16BE(body.length - 2);
            const first = body.readUInt16BE(0);
            expect(last >= 0xd800 && last <= 0xdbff).toBe(false);
            expect(first >= 0xdc00 && first <= 0xdfff).toBe(false);
          }
        }
      }),
      { numRuns },
    );
  });

  it('never makes auto use more parts than any encoding that can carry the text', () => {
    fc.assert(
      fc.property(text, concat, (input, mode) => {
        // Act
        const auto = planText(input, 'auto', mode).segmentCount;
        // Assess
        for (const [job, wire] of [['gsm7', 'GSM7'], ['latin1', 'LATIN1'], ['ucs2', 'UCS2']] as const) {
          if (firstUnencodable(input, wire) === undefined) {
            expect(auto).toBeLessThanOrEqual(planText(input, job, mode).segmentCount);
          }
        }
      }),
      { numRuns },
    );
  });
});

describe('ReferenceCounter', () => {
  it('starts a new destination at a random reference', () => {
    // Prepare
    const counter = new ReferenceCounter({ random: () => 0.5 });
    // Act / Assess
    expect(counter.next('6591234567')).toBe(32768);
  });

  it('increments per destination independently', () => {
    // Prepare
    let r = 0;
    const counter = new ReferenceCounter({ random: () => [0, 0.25][r++] ?? 0 });
    // Act
    const refs = [counter.next('a'), counter.next('b'), counter.next('a'), counter.next('b')];
    // Assess
    expect(refs).toEqual([0, 16384, 1, 16385]);
  });

  it('wraps from 65535 to 0', () => {
    // Prepare
    const counter = new ReferenceCounter({ random: () => 65535 / 65536 });
    // Act / Assess
    expect([counter.next('a'), counter.next('a')]).toEqual([65535, 0]);
  });

  it('forgets the least recently used destination beyond its bound', () => {
    // Prepare
    const counter = new ReferenceCounter({ maxDestinations: 2, random: () => 0 });
    counter.next('a');
    counter.next('b');
    counter.next('a');
    // Act
    counter.next('c');
    // Assess: b was evicted, so it starts again from the random start; a kept counting.
    expect(counter.size).toBe(2);
    expect(counter.next('b')).toBe(0);
    expect(counter.next('c')).toBe(1);
  });
});
