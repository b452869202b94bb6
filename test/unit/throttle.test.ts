import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Pacer } from '../../service/src/smpp/throttle.js';
import { FakeClock } from '../support/fake-clock.js';

const runs = Number(process.env.PROPERTY_RUNS ?? 50);

/** Drives a pacer as the bind's pump does, with an optional extra lateness per wake-up. */
function drive(pacer: Pacer, clock: FakeClock, sends: number, lateness: () => number = () => 0): number[] {
  const times: number[] = [];
  while (times.length < sends) {
    const d = pacer.delay();
    if (d > 0) {
      clock.advance(Math.ceil(d) + lateness());
      continue;
    }
    pacer.take();
    times.push(clock.now());
  }
  return times;
}

function maxInAnyWindow(times: number[], windowMs: number): number {
  let max = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while ((times[end] ?? 0) - (times[start] ?? 0) >= windowMs) start++;
    max = Math.max(max, end - start + 1);
  }
  return max;
}

describe('Pacer', () => {
  it('never lets more than the rate through in any 1-second window, whatever the timer lateness', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 50 }), (rate, jitter) => {
        const clock = new FakeClock();
        const pacer = new Pacer({ ratePerSecond: rate }, clock);
        let i = 0;
        const times = drive(pacer, clock, Math.min(rate * 3, 3000), () => jitter[i++ % jitter.length] ?? 0);
        expect(maxInAnyWindow(times, 1000)).toBeLessThanOrEqual(rate);
      }),
      { numRuns: runs },
    );
  });

  it('holds at least 99% of the allowed rate when timers are punctual', () => {
    for (const rate of [50, 500, 2000]) {
      const clock = new FakeClock();
      const pacer = new Pacer({ ratePerSecond: rate }, clock);
      const times = drive(pacer, clock, rate * 10);
      const elapsedS = ((times.at(-1) ?? 0) - (times[0] ?? 0)) / 1000;
      expect((times.length - 1) / elapsedS).toBeGreaterThanOrEqual(rate * 0.99);
    }
  });

  it('spreads sends evenly instead of bursting a whole second at once', () => {
    const clock = new FakeClock();
    const pacer = new Pacer({ ratePerSecond: 50 }, clock);
    const times = drive(pacer, clock, 200);
    expect(maxInAnyWindow(times, 100)).toBeLessThanOrEqual(6);
  });

  it('answers an isolated throttle by widening its window, and throttles that keep coming by pausing and slowing down', () => {
    const clock = new FakeClock();
    const pacer = new Pacer({ ratePerSecond: 100, recoveryMs: 2000 }, clock);
    drive(pacer, clock, 100);

    pacer.throttled();
    expect(pacer.currentRate).toBe(100);
    expect(pacer.currentMarginMs).toBe(16);
    clock.advance(1);
    pacer.throttled();

    expect(pacer.currentRate).toBe(90);
    expect(pacer.currentMarginMs).toBeCloseTo(32, 1);
    expect(pacer.delay()).toBeGreaterThanOrEqual(50);
    drive(pacer, clock, 300);
    expect(pacer.currentRate).toBe(100);
  });

  it('keeps widening its window while throttles keep coming, up to the cap, so jitter stops causing them', () => {
    const clock = new FakeClock();
    const pacer = new Pacer({ ratePerSecond: 50, maxMarginMs: 100 }, clock);

    for (let i = 0; i < 6; i++) {
      pacer.throttled();
      clock.advance(1);
    }

    expect(pacer.currentMarginMs).toBe(100);
    const times = drive(pacer, clock, 200);
    // the margin shrinks by 1 ms a second meanwhile: about 96 ms by the end of these 4 s
    expect(maxInAnyWindow(times, 1090)).toBeLessThanOrEqual(50);
  });

  it('reacts once to a window of submits throttled together, not once per answer', () => {
    const clock = new FakeClock();
    const pacer = new Pacer({ ratePerSecond: 100 }, clock);
    const sentAt = clock.now();
    clock.advance(100);

    for (let i = 0; i < 20; i++) pacer.throttled(sentAt);

    expect(pacer.currentRate).toBe(100);
    expect(pacer.currentMarginMs).toBe(16);
  });
});
