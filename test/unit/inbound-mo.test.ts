import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Segment } from '../../service/src/domain.js';
import { encodeGsm7, encodeUcs2 } from '../../service/src/smpp/encoding.js';
import { MoAssembler } from '../../service/src/smpp/inbound-mo.js';
import type { DeliverFields } from '../../service/src/smpp/receipt.js';
import { segmentText } from '../../service/src/smpp/segment.js';
import type { ConcatMode } from '../../service/src/smpp/segment.js';

const numRuns = Number(process.env['PROPERTY_RUNS'] ?? 300);
const AT = '2023-11-26T12:00:00.000Z';

function mo(shortMessage: Buffer, overrides: Partial<DeliverFields> = {}): DeliverFields {
  return { esmClass: 0, dataCoding: 0, shortMessage, sourceAddr: '6591234567', destinationAddr: '12345', ...overrides };
}

function udh8(ref: number, total: number, seq: number, body: Buffer, overrides: Partial<DeliverFields> = {}): DeliverFields {
  return mo(Buffer.concat([Buffer.from([0x05, 0x00, 0x03, ref, total, seq]), body]), { esmClass: 0x40, ...overrides });
}

const gsm = (text: string): Buffer => encodeGsm7(text) ?? Buffer.alloc(0);

/** A manual clock for expiry tests. */
function fakeClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

/** Fisher-Yates with a small seeded generator, so a failing order can be replayed. */
function shuffle<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let state = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('MoAssembler', () => {
  it('returns a single-part message at once, decoded per its DCS', () => {
    // Prepare
    const assembler = new MoAssembler();
    // Act
    const message = assembler.add(mo(gsm('Hi €5')), AT);
    // Assess
    expect(message).toEqual({ from: '6591234567', to: '12345', text: 'Hi €5', dataCoding: 0, receivedAt: AT, parts: 1 });
  });

  it('reads the text from message_payload when present', () => {
    const message = new MoAssembler().add(mo(Buffer.alloc(0), { dataCoding: 8, messagePayload: encodeUcs2('ąę') }), AT);
    expect(message?.text).toBe('ąę');
  });

  it('joins 8-bit UDH parts that arrive out of order', () => {
    // Prepare
    const assembler = new MoAssembler();
    // Act
    const first = assembler.add(udh8(9, 2, 2, gsm(' world')), AT);
    const second = assembler.add(udh8(9, 2, 1, gsm('Hello')), '2023-11-26T12:00:01.000Z');
    // Assess
    expect(first).toBeUndefined();
    expect(second).toMatchObject({ text: 'Hello world', parts: 2, receivedAt: AT });
    expect(assembler.pending).toBe(0);
  });

  it('joins 16-bit UDH parts', () => {
    // Prepare
    const assembler = new MoAssembler();
    const part = (seq: number, text: string) =>
      mo(Buffer.concat([Buffer.from([0x06, 0x08, 0x04, 0x12, 0x34, 2, seq]), gsm(text)]), { esmClass: 0x40 });
    // Act
    assembler.add(part(1, 'ab'), AT);
    const message = assembler.add(part(2, 'cd'), AT);
    // Assess
    expect(message?.text).toBe('abcd');
  });

  it('finds the concatenation element after other UDH elements', () => {
    // Prepare: a port-addressing element (IEI 0x05) comes first.
    const assembler = new MoAssembler();
    const part = (seq: number, text: string) =>
      mo(Buffer.concat([Buffer.from([0x0b, 0x05, 0x04, 0, 0, 0, 0, 0x00, 0x03, 7, 2, seq]), gsm(text)]), { esmClass: 0x40 });
    // Act
    assembler.add(part(1, 'ab'), AT);
    const message = assembler.add(part(2, 'cd'), AT);
    // Assess
    expect(message?.text).toBe('abcd');
  });

  it('joins parts tied by SAR TLVs', () => {
    // Prepare
    const assembler = new MoAssembler();
    const sar = (seq: number) => ({ sarRefNum: 300, sarTotalSegments: 2, sarSegmentSeqnum: seq });
    // Act
    assembler.add(mo(gsm('ab'), sar(1)), AT);
    const message = assembler.add(mo(gsm('cd'), sar(2)), AT);
    // Assess
    expect(message?.text).toBe('abcd');
  });

  it('decodes each part with its own data coding', () => {
    // Prepare
    const assembler = new MoAssembler();
    // Act
    assembler.add(udh8(1, 2, 1, gsm('Price: ')), AT);
    const message = assembler.add(udh8(1, 2, 2, encodeUcs2('ąę'), { dataCoding: 8 }), AT);
    // Assess
    expect(message?.text).toBe('Price: ąę');
  });

  it('keeps parts from different senders with the same reference apart', () => {
    // Prepare
    const assembler = new MoAssembler();
    // Act
    assembler.add(udh8(5, 2, 1, gsm('A1'), { sourceAddr: '111111' }), AT);
    assembler.add(udh8(5, 2, 1, gsm('B1'), { sourceAddr: '222222' }), AT);
    const a = assembler.add(udh8(5, 2, 2, gsm('A2'), { sourceAddr: '111111' }), AT);
    const b = assembler.add(udh8(5, 2, 2, gsm('B2'), { sourceAddr: '222222' }), AT);
    // Assess
    expect([a?.text, b?.text]).toEqual(['A1A2', 'B1B2']);
  });

  it('ignores a repeated part', () => {
    // Prepare
    const assembler = new MoAssembler();
    // Act
    assembler.add(udh8(2, 3, 1, gsm('a')), AT);
    const repeat = assembler.add(udh8(2, 3, 1, gsm('x')), AT);
    assembler.add(udh8(2, 3, 2, gsm('b')), AT);
    const message = assembler.add(udh8(2, 3, 3, gsm('c')), AT);
    // Assess
    expect(repeat).toBeUndefined();
    expect(message?.text).toBe('abc');
  });

  it('treats a part with an impossible sequence number as a whole message', () => {
    expect(new MoAssembler().add(udh8(1, 2, 0, gsm('odd')), AT)).toMatchObject({ text: 'odd', parts: 1 });
    expect(new MoAssembler().add(udh8(1, 1, 1, gsm('one')), AT)).toMatchObject({ text: 'one', parts: 1 });
  });

  it('keeps an incomplete message until its timeout, then returns what arrived', () => {
    // Prepare
    const clock = fakeClock();
    const assembler = new MoAssembler({ timeoutMs: 60_000, clock: clock.now });
    assembler.add(udh8(3, 3, 1, gsm('one ')), AT);
    assembler.add(udh8(3, 3, 3, gsm('three')), AT);
    // Act
    clock.advance(59_999);
    const early = assembler.expire();
    clock.advance(1);
    const late = assembler.expire();
    // Assess
    expect(early).toEqual([]);
    expect(late).toEqual([{ from: '6591234567', to: '12345', text: 'one three', dataCoding: 0, receivedAt: AT, parts: 2 }]);
    expect(assembler.pending).toBe(0);
  });

  it('accepts an explicit time in expire', () => {
    // Prepare
    const assembler = new MoAssembler({ timeoutMs: 1000, clock: () => 0 });
    assembler.add(udh8(3, 2, 1, gsm('x')), AT);
    // Act / Assess
    expect(assembler.expire(1000)).toHaveLength(1);
  });

  it('gives up the oldest incomplete message beyond its bound and hands it back on expire', () => {
    // Prepare
    const clock = fakeClock();
    const assembler = new MoAssembler({ maxGroups: 2, clock: clock.now });
    // Act
    assembler.add(udh8(1, 2, 1, gsm('first')), AT);
    assembler.add(udh8(2, 2, 1, gsm('second')), AT);
    assembler.add(udh8(3, 2, 1, gsm('third')), AT);
    const handedBack = assembler.expire();
    // Assess
    expect(assembler.pending).toBe(2);
    expect(handedBack).toMatchObject([{ text: 'first', parts: 1 }]);
    expect(assembler.expire()).toEqual([]);
  });

  it('reassembles whatever segmentText produced, in any concatenation mode and order', () => {
    const text = fc.array(fc.constantFrom('a', '€', 'é', 'ç', 'ą', '😀', ' '), { minLength: 1, maxLength: 600 }).map((cs) => cs.join(''));
    fc.assert(
      fc.property(text, fc.constantFrom<ConcatMode>('udh8', 'udh16', 'sar'), fc.integer({ min: 0, max: 0xffff }), fc.integer(), (input, concat, reference, seed) => {
        // Prepare
        const { segments } = segmentText(input, { encoding: 'auto', concat, reference });
        const asDeliver = (s: Segment): DeliverFields =>
          mo(s.shortMessage, {
            esmClass: s.esmClass,
            dataCoding: s.dataCoding,
            ...(s.sar ? { sarRefNum: s.sar.refNum, sarTotalSegments: s.sar.totalSegments, sarSegmentSeqnum: s.sar.segmentSeqnum } : {}),
          });
        const shuffled = shuffle(segments.map(asDeliver), seed);
        const assembler = new MoAssembler();
        // Act
        const results = shuffled.map((f) => assembler.add(f, AT)).filter((m) => m !== undefined);
        // Assess
        expect(results).toHaveLength(1);
        expect(results[0]?.text).toBe(input);
        expect(results[0]?.parts).toBe(segments.length);
      }),
      { numRuns },
    );
  });
});
