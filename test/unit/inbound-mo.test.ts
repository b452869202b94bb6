import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Segment } from '../../service/src/domain.js';
import { encodeGsm7, encodeUcs2 } from '../../service/src/smpp/encoding.js';
import { joinParts } from '../../service/src/aws/mo-store.js';
import { readMoPart } from '../../service/src/smpp/inbound-mo.js';
import type { DeliverFields } from '../../service/src/smpp/receipt.js';
import { segmentText } from '../../service/src/smpp/segment.js';
import type { ConcatMode } from '../../service/src/smpp/segment.js';

const numRuns = Number(process.env['PROPERTY_RUNS'] ?? 300);

function mo(shortMessage: Buffer, overrides: Partial<DeliverFields> = {}): DeliverFields {
  return { esmClass: 0, dataCoding: 0, shortMessage, sourceAddr: '6591234567', destinationAddr: '12345', ...overrides };
}

function udh8(ref: number, total: number, seq: number, body: Buffer, overrides: Partial<DeliverFields> = {}): DeliverFields {
  return mo(Buffer.concat([Buffer.from([0x05, 0x00, 0x03, ref, total, seq]), body]), { esmClass: 0x40, ...overrides });
}

const gsm = (text: string): Buffer => encodeGsm7(text) ?? Buffer.alloc(0);

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

describe('readMoPart', () => {
  it('reads a single-part message, decoded per its DCS, with no concatenation', () => {
    expect(readMoPart(mo(gsm('Hi €5')))).toEqual({ from: '6591234567', to: '12345', text: 'Hi €5', dataCoding: 0 });
  });

  it('reads the text from message_payload when present', () => {
    expect(readMoPart(mo(Buffer.alloc(0), { dataCoding: 8, messagePayload: encodeUcs2('ąę') })).text).toBe('ąę');
  });

  it('reads an 8-bit reference UDH and leaves it out of the text', () => {
    expect(readMoPart(udh8(9, 3, 2, gsm(' world')))).toEqual({
      from: '6591234567',
      to: '12345',
      text: ' world',
      dataCoding: 0,
      concat: { scheme: 'udh8', ref: 9, total: 3, seq: 2 },
    });
  });

  it('reads a 16-bit reference UDH', () => {
    const part = mo(Buffer.concat([Buffer.from([0x06, 0x08, 0x04, 0x12, 0x34, 2, 1]), gsm('ab')]), { esmClass: 0x40 });
    expect(readMoPart(part)).toMatchObject({ text: 'ab', concat: { scheme: 'udh16', ref: 0x1234, total: 2, seq: 1 } });
  });

  it('finds the concatenation element after other UDH elements', () => {
    // A port-addressing element (IEI 0x05) comes first.
    const part = mo(Buffer.concat([Buffer.from([0x0b, 0x05, 0x04, 0, 0, 0, 0, 0x00, 0x03, 7, 2, 2]), gsm('cd')]), { esmClass: 0x40 });
    expect(readMoPart(part)).toMatchObject({ text: 'cd', concat: { scheme: 'udh8', ref: 7, total: 2, seq: 2 } });
  });

  it('reads the SAR TLVs', () => {
    const part = mo(gsm('cd'), { sarRefNum: 300, sarTotalSegments: 2, sarSegmentSeqnum: 2 });
    expect(readMoPart(part)).toMatchObject({ text: 'cd', concat: { scheme: 'sar', ref: 300, total: 2, seq: 2 } });
  });

  it('decodes each part with its own data coding', () => {
    expect(readMoPart(udh8(1, 2, 2, encodeUcs2('ąę'), { dataCoding: 8 }))).toMatchObject({ text: 'ąę', dataCoding: 8 });
  });

  it('treats a part with an impossible position as a whole message, so its text is not held back', () => {
    expect(readMoPart(udh8(1, 2, 0, gsm('odd')))).toEqual({ from: '6591234567', to: '12345', text: 'odd', dataCoding: 0 });
    expect(readMoPart(udh8(1, 2, 3, gsm('odd'))).concat).toBeUndefined();
    expect(readMoPart(udh8(1, 1, 1, gsm('one'))).concat).toBeUndefined();
  });

  it('treats a truncated UDH element as no concatenation', () => {
    const part = mo(Buffer.from([0x05, 0x00, 0x03, 1]), { esmClass: 0x40 });
    expect(readMoPart(part).concat).toBeUndefined();
  });

  it('gives back whatever segmentText produced, in any concatenation mode and arrival order, once the parts are joined by position', () => {
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
        // Act
        const parts = shuffle(segments.map(asDeliver), seed).map(readMoPart);
        // Assess: one message (same key fields), every position once, the text back whole.
        const keys = new Set(parts.map((p) => JSON.stringify([p.from, p.to, p.concat?.scheme, p.concat?.ref, p.concat?.total])));
        expect(keys.size).toBe(1);
        if (segments.length === 1) {
          expect(parts[0]?.concat).toBeUndefined();
          expect(parts[0]?.text).toBe(input);
          return;
        }
        const ordered = [...parts].sort((a, b) => (a.concat?.seq ?? 0) - (b.concat?.seq ?? 0));
        expect(ordered.map((p) => p.concat?.seq)).toEqual(segments.map((_, i) => i + 1));
        expect(joinParts(ordered.map((p) => p.text))).toBe(input);
      }),
      { numRuns },
    );
  });
});
