import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Fifo } from '../../service/src/smpp/fifo.js';

const numRuns = Number(process.env['PROPERTY_RUNS'] ?? 300);

type Op = { op: 'push' | 'unshift' | 'remove'; value: number } | { op: 'shift' | 'drain' } | { op: 'pushMany'; count: number };

const ops = fc.array(
  fc.oneof(
    fc.record({ op: fc.constantFrom('push' as const, 'unshift' as const, 'remove' as const), value: fc.integer({ min: 0, max: 50 }) }),
    fc.record({ op: fc.constantFrom('shift' as const, 'drain' as const) }),
    // Long runs, so the reclaiming of taken slots (from 1024 on) happens in the middle of the other operations.
    fc.record({ op: fc.constant('pushMany' as const), count: fc.integer({ min: 0, max: 3000 }) }),
  ),
  { maxLength: 60 },
);

describe('Fifo', () => {
  it('behaves as an array used as a queue, whatever the operations', () => {
    fc.assert(
      fc.property(ops, fc.array(fc.nat(), { maxLength: 40 }), (sequence, shifts) => {
        // Prepare: the model is a plain array; objects, so remove() finds the very item.
        const fifo = new Fifo<{ v: number }>();
        const model: { v: number }[] = [];
        const made = new Map<number, { v: number }>();
        const item = (v: number) => made.get(v) ?? (made.set(v, { v }), made.get(v) as { v: number });
        let s = 0;
        for (const o of sequence as Op[]) {
          // Act
          if (o.op === 'push') {
            fifo.push(item(o.value));
            model.push(item(o.value));
          } else if (o.op === 'unshift') {
            fifo.unshift(item(o.value));
            model.unshift(item(o.value));
          } else if (o.op === 'remove') {
            const i = model.indexOf(item(o.value));
            if (i >= 0) model.splice(i, 1);
            expect(fifo.remove(item(o.value))).toBe(i >= 0);
          } else if (o.op === 'shift') {
            for (let n = 0; n <= (shifts[s++ % Math.max(1, shifts.length)] ?? 0) % 2000; n++) expect(fifo.shift()).toBe(model.shift());
          } else if (o.op === 'drain') {
            expect(fifo.drain()).toEqual(model.splice(0));
          } else if (o.op === 'pushMany') {
            for (let n = 1; n <= o.count; n++) {
              const x = { v: -n };
              fifo.push(x);
              model.push(x);
            }
          }
          // Assess
          expect(fifo.length).toBe(model.length);
        }
        expect(fifo.drain()).toEqual(model);
      }),
      { numRuns },
    );
  });

  it('takes 50,000 parts off the front in the order they were queued, and is empty after', () => {
    // Prepare
    const fifo = new Fifo<number>();
    for (let i = 0; i < 50_000; i++) fifo.push(i);
    // Act
    const out: number[] = [];
    for (let v = fifo.shift(); v !== undefined; v = fifo.shift()) out.push(v);
    // Assess
    expect(out).toEqual(Array.from({ length: 50_000 }, (_, i) => i));
    expect(fifo.length).toBe(0);
    expect(fifo.shift()).toBeUndefined();
  });
});
