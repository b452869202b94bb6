/**
 * Keeps `concurrency` operations in flight until `count` have started or the deadline passes,
 * whichever comes first; resolves with every result once the last one has finished. A closed
 * loop: a new operation starts only when one ends, as a pipeline that holds a bounded buffer does.
 */
export async function keepBusy<T>(op: () => Promise<T>, o: { concurrency: number; count: number; deadline: number }): Promise<T[]> {
  const results: T[] = [];
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < o.count && Date.now() < o.deadline) {
      started += 1;
      results.push(await op());
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));
  return results;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Re-checks `predicate` every `everyMs` until it holds (true) or the deadline passes (false). */
export async function pollUntil(predicate: () => Promise<boolean> | boolean, o: { everyMs: number; deadline: number }): Promise<boolean> {
  while (Date.now() < o.deadline) {
    if (await predicate()) return true;
    await sleep(o.everyMs);
  }
  return predicate();
}
