import type { Clock } from '../clock.js';
import { Delays, isStoreOutage, storeRetryDelayMs } from '../core/retry-policy.js';
import type { Logger } from '../logger.js';
import { MetricName, type Metrics } from '../metrics.js';

export interface StoreGuardOptions {
  /** A cheap read that succeeds once the store answers again. */
  probe(): Promise<void>;
  /** Called when the store answers again. */
  onRecovered(): void;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  random: () => number;
}

/**
 * Store writes that must land, and the store's health. A write is retried for as long as its job
 * is in hand (the heartbeat keeps its message invisible, so no other task can take the job): a
 * record given up after a submit would resend the SMS. While writes fail, `down` is true and the
 * pollers take nothing new; a probe read once a second ends that.
 */
export class StoreGuard {
  private probing: Promise<void> | undefined;
  private abandoned = false;

  constructor(private readonly o: StoreGuardOptions) {}

  /** True while the store is failing (until a probe succeeds). */
  get down(): boolean {
    return this.probing !== undefined;
  }

  /** Gives up every write still retrying (shutdown is over; their jobs come back from SQS). */
  abandon(): void {
    this.abandoned = true;
  }

  /**
   * Runs `write` until it succeeds. Gives up (rethrows) on an error no retry can cure, once
   * abandoned, or when `giveUp()` says so (e.g. shutdown, for a write made before anything was sent).
   */
  async durably<T>(write: () => Promise<T>, giveUp: () => boolean = () => false): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await write();
      } catch (err) {
        if (!isStoreOutage(err) || this.abandoned || giveUp()) throw err;
        this.failing();
        const delay = storeRetryDelayMs(attempt, this.o.random);
        if (attempt % 10 === 0) this.o.logger.warn({ err: (err as Error).message, attempt, retryInMs: Math.round(delay) }, 'status write failed: retrying');
        await new Promise<void>((r) => this.o.clock.setTimeout(r, delay));
      }
    }
  }

  private failing(): void {
    if (this.probing !== undefined) return;
    this.o.metrics.increment(MetricName.StoreUnavailable);
    this.o.logger.warn({}, 'status store failing: polling paused');
    this.probing = (async () => {
      while (!this.abandoned) {
        await new Promise<void>((r) => this.o.clock.setTimeout(r, Delays.storeProbeMs));
        try {
          await this.o.probe();
          break;
        } catch {
          // still down
        }
      }
      this.probing = undefined;
      this.o.logger.info({}, 'status store answers again: polling resumed');
      this.o.onRecovered();
    })();
  }
}
