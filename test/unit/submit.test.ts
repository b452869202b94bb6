import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Segment } from '../../service/src/domain.js';
import { toSmppAddress } from '../../service/src/smpp/address.js';
import { segmentText } from '../../service/src/smpp/segment.js';
import { absoluteTime, relativeTime, submitSmFields, type OutboundPart } from '../../service/src/smpp/submit.js';

const numRuns = Number(process.env['PROPERTY_RUNS'] ?? 300);
const propertyTimeout = Math.max(30_000, numRuns * 3);

/** Reads "YYMMDDhhmmss000R" back into seconds, with SMPP's 365-day years and 30-day months. */
function secondsOfRelative(time: string): number {
  const [yy, mm, dd, hh, mi, ss] = [0, 2, 4, 6, 8, 10].map((i) => Number(time.slice(i, i + 2))) as [number, number, number, number, number, number];
  return ((yy * 365 + mm * 30 + dd) * 24 + hh) * 3600 + mi * 60 + ss;
}

function part(overrides: Partial<OutboundPart> = {}, segment?: Segment): OutboundPart {
  const single = segmentText('Hello', { encoding: 'auto', concat: 'udh8', reference: 1 }).segments[0];
  if (!single) throw new Error('no segment');
  return { source: toSmppAddress('8x8'), destination: toSmppAddress('+6591234567'), segment: segment ?? single, receipt: true, ...overrides };
}

describe('relativeTime (SMPP 3.4 §7.1.1 relative format "YYMMDDhhmmss000R")', () => {
  it.each([
    [1, '000000000001000R'],
    [61, '000000000101000R'],
    [3600, '000000010000000R'],
    [86_400, '000001000000000R'],
    [29 * 86_400 + 86_399, '000029235959000R'],
    [30 * 86_400, '000100000000000R'],
    [365 * 86_400, '010000000000000R'],
  ])('writes %i seconds as %s', (seconds, expected) => {
    expect(relativeTime(seconds)).toBe(expected);
  });

  it('drops fractions of a second', () => {
    expect(relativeTime(90.9)).toBe('000000000130000R');
  });

  it('never asks for a period of zero: anything under a second becomes one second', () => {
    expect(relativeTime(0)).toBe('000000000001000R');
  });

  it(
    'writes every validity period a job may ask for as 16 characters that add back up to it, each field in range',
    () => {
      fc.assert(
        fc.property(fc.integer({ min: 60, max: 30 * 86_400 }), (seconds) => {
          const time = relativeTime(seconds);
          // Each two-digit field stays in range, as an SMSC parsing it field by field expects.
          const [, , days, hours, minutes, secs] = [0, 2, 4, 6, 8, 10].map((i) => Number(time.slice(i, i + 2)));
          return /^\d{12}000R$/.test(time) && secondsOfRelative(time) === seconds && (days ?? 99) < 30 && (hours ?? 99) < 24 && (minutes ?? 99) < 60 && (secs ?? 99) < 60;
        }),
        { numRuns },
      );
    },
    propertyTimeout,
  );
});

describe('absoluteTime (SMPP 3.4 §7.1.1 absolute format "YYMMDDhhmmsstnnp")', () => {
  it('writes UTC with tenths of a second and a zero quarter-hour offset', () => {
    expect(absoluteTime(new Date('2030-01-02T03:04:05.678Z'))).toBe('300102030405600+');
  });

  it('converts a time given in another zone to UTC', () => {
    expect(absoluteTime(new Date('2030-01-01T10:00:00+08:00'))).toBe('300101020000000+');
  });

  it('truncates rather than rounds the tenths', () => {
    expect(absoluteTime(new Date('2030-12-31T23:59:59.999Z'))).toBe('301231235959900+');
  });

  it('writes the two-digit year of 2000 as 00', () => {
    expect(absoluteTime(new Date('2000-01-01T00:00:00.000Z'))).toBe('000101000000000+');
  });

  it(
    'always writes 16 characters ending in 00+ that read back as the same tenth of a second',
    () => {
      fc.assert(
        fc.property(fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59.999Z'), noInvalidDate: true }), (at) => {
          const time = absoluteTime(at);
          const field = (i: number, width = 2) => Number(time.slice(i, i + width));
          const back = Date.UTC(2000 + field(0), field(2) - 1, field(4), field(6), field(8), field(10), field(12, 1) * 100);
          return /^\d{13}00\+$/.test(time) && back === at.getTime() - (at.getTime() % 100);
        }),
        { numRuns },
      );
    },
    propertyTimeout,
  );
});

describe('submitSmFields', () => {
  it('sends an international destination as TON 1 / NPI 1 without the plus, and an alphanumeric sender as TON 5 / NPI 0', () => {
    expect(submitSmFields(part())).toMatchObject({
      source_addr_ton: 5,
      source_addr_npi: 0,
      source_addr: '8x8',
      dest_addr_ton: 1,
      dest_addr_npi: 1,
      destination_addr: '6591234567',
    });
  });

  it('asks for a receipt with registered_delivery 1, and for none with 0', () => {
    expect(submitSmFields(part({ receipt: true }))['registered_delivery']).toBe(1);
    expect(submitSmFields(part({ receipt: false }))['registered_delivery']).toBe(0);
  });

  it('carries the segment bytes, data_coding and esm_class unchanged', () => {
    const segment: Segment = { shortMessage: Buffer.from([0x05, 0x00, 0x03, 0x2a, 0x02, 0x01, 0x41]), dataCoding: 8, esmClass: 0x40 };

    const fields = submitSmFields(part({}, segment));

    expect(fields).toMatchObject({ short_message: segment.shortMessage, data_coding: 8, esm_class: 0x40 });
  });

  it('leaves out validity and schedule when the job has neither', () => {
    const fields = submitSmFields(part());

    expect(fields).not.toHaveProperty('validity_period');
    expect(fields).not.toHaveProperty('schedule_delivery_time');
  });

  it('writes the validity period in relative format and the schedule in absolute UTC format', () => {
    const fields = submitSmFields(part({ validityPeriodSeconds: 86_400, scheduleAt: new Date('2030-01-01T10:00:00+08:00') }));

    expect(fields).toMatchObject({ validity_period: '000001000000000R', schedule_delivery_time: '300101020000000+' });
  });

  it('adds the three SAR fields only for a SAR segment', () => {
    const sar = segmentText('y'.repeat(200), { encoding: 'gsm7', concat: 'sar', reference: 0x1234 }).segments[1];
    if (!sar) throw new Error('no second part');

    expect(submitSmFields(part({}, sar))).toMatchObject({ sar_msg_ref_num: 0x1234, sar_total_segments: 2, sar_segment_seqnum: 2, esm_class: 0 });
    expect(Object.keys(submitSmFields(part())).filter((k) => k.startsWith('sar_'))).toEqual([]);
  });
});
