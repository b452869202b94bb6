import { describe, expect, it } from 'vitest';
import { Batcher } from '../../service/src/pipeline/batcher.js';

describe('Batcher', () => {
  it('sends a full batch at once and reports each item’s own result', async () => {
    const calls: string[][] = [];
    const batcher = new Batcher<string>(async (items) => {
      calls.push(items);
      return items.filter((i) => i === 'b');
    }, 3, 60_000);

    const results = await Promise.all(['a', 'b', 'c'].map((i) => batcher.add(i)));

    expect(calls).toEqual([['a', 'b', 'c']]);
    expect(results).toEqual([true, false, true]);
  });

  it('sends a partial batch after the linger time', async () => {
    const calls: string[][] = [];
    const batcher = new Batcher<string>(async (items) => {
      calls.push(items);
      return [];
    }, 10, 5);

    await Promise.all([batcher.add('a'), batcher.add('b')]);

    expect(calls).toEqual([['a', 'b']]);
  });

  it('reports every item of a batch whose call failed as failed', async () => {
    const batcher = new Batcher<string>(() => Promise.reject(new Error('SQS down')), 2, 5);

    expect(await Promise.all([batcher.add('a'), batcher.add('b')])).toEqual([false, false]);
  });
});
