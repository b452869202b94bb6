/**
 * A per-session FIFO of delayed actions: each runs no earlier than its due
 * time and never before the ones queued ahead of it. That keeps a session's
 * responses in arrival order under a response delay without one session's
 * queue holding up another's.
 */
export class OrderedOutbox {
  private readonly queue: Array<{ dueAt: number; run: () => Promise<void> | void }> = [];
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private closed = false;

  constructor(private readonly onError: (err: unknown) => void) {}

  /** Queues `run` to happen at `dueAt` (a `performance.now()` time) or after everything queued before it. */
  push(dueAt: number, run: () => Promise<void> | void): void {
    if (this.closed) return;
    this.queue.push({ dueAt, run });
    if (this.queue.length === 1 && !this.busy) this.schedule();
  }

  /** Drops everything still queued; later pushes are ignored. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    const head = this.queue[0];
    if (!head || this.closed) return;
    const wait = head.dueAt - performance.now();
    if (wait <= 0) {
      void this.runHead();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runHead();
    }, wait);
  }

  private async runHead(): Promise<void> {
    const head = this.queue.shift();
    if (!head || this.closed) return;
    this.busy = true;
    try {
      await head.run();
    } catch (err) {
      this.onError(err);
    } finally {
      this.busy = false;
    }
    this.schedule();
  }
}
