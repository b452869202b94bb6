import { systemClock, type Clock } from '../clock.js';

/**
 * Gathers single items into batch calls: a batch leaves when it holds `max` items or
 * `lingerMs` after its first item, whichever comes first. SQS bills per request and a
 * batch of 10 costs one, so deleting each job on its own would be the largest share of
 * the connector's SQS calls.
 */
export class Batcher<T> {
  private pending: Array<{ item: T; resolve: (ok: boolean) => void }> = [];
  private timer: unknown;

  constructor(
    /** Sends one batch; returns the items that failed. */
    private readonly send: (items: T[]) => Promise<T[]>,
    private readonly max = 10,
    private readonly lingerMs = 20,
    private readonly clock: Pick<Clock, 'setTimeout' | 'clearTimeout'> = systemClock,
  ) {}

  /** Resolves true once the item's batch succeeded for it, false if it failed. */
  add(item: T): Promise<boolean> {
    return new Promise((resolve) => {
      this.pending.push({ item, resolve });
      if (this.pending.length >= this.max) this.flush();
      else this.timer ??= this.clock.setTimeout(() => this.flush(), this.lingerMs);
    });
  }

  /** Sends whatever is waiting now. */
  flush(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending.splice(0, this.max);
    if (this.pending.length > 0) this.timer = this.clock.setTimeout(() => this.flush(), 0);
    if (batch.length === 0) return;
    this.send(batch.map((b) => b.item)).then(
      (failed) => {
        const bad = new Set(failed);
        for (const b of batch) b.resolve(!bad.has(b.item));
      },
      () => {
        for (const b of batch) b.resolve(false);
      },
    );
  }
}
