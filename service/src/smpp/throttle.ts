import type { Clock } from '../clock.js';

export interface PacerOptions {
  /** Allowed submits per second on this bind (MPS_PER_BIND). */
  ratePerSecond: number;
  /**
   * Extra milliseconds added to the 1-second window. The SMSC counts arrivals,
   * we count departures; a few ms absorb jitter between the two (the SMSC's
   * event loop, TLS records). @defaultvalue 8
   */
  marginMs?: number;
  /** Largest margin the pacer widens to after throttle answers. @defaultvalue 250 */
  maxMarginMs?: number;
  /** Time for the rate to climb back to the limit after a throttle answer. @defaultvalue 5000 */
  recoveryMs?: number;
}

/**
 * Paces one transmitting bind. Two rules hold together:
 * - a sliding log of the last `rate` departures guarantees that no window of
 *   1 second (plus margin) ever holds more than `rate` submits, whatever the SMSC's
 *   window alignment;
 * - a token bucket holding ~10 ms of tokens (at least 2) spreads them evenly, so the
 *   SMSC never sees a burst at the start of its second (Kannel sends a whole
 *   second's worth at once, then stalls), and a timer that fires late is made up.
 * A throttle answer means the SMSC saw more than we sent in some window: our
 * departures were bunched on arrival (jitter), or its limit is lower than
 * configured. The pacer doubles the window margin (which only costs
 * rate/(1000+margin)); if throttles keep coming it also pauses and trims the rate
 * by a tenth each time. The rate climbs back over `recoveryMs` and the margin
 * shrinks by 1 ms per quiet second.
 */
export class Pacer {
  readonly limit: number;
  private readonly baseMarginMs: number;
  private readonly maxMarginMs: number;
  private readonly recoveryMs: number;
  private readonly departures: Float64Array;
  private head = 0;
  private marginMs: number;
  private effectiveRate: number;
  private tokens: number;
  private lastRefill: number;
  private pausedUntil = 0;
  private consecutiveThrottles = 0;
  private lastReactionAt = -Infinity;

  constructor(
    options: PacerOptions,
    private readonly clock: Clock,
  ) {
    if (!(options.ratePerSecond >= 1)) throw new RangeError('ratePerSecond must be at least 1');
    this.limit = Math.floor(options.ratePerSecond);
    this.baseMarginMs = options.marginMs ?? 8;
    this.maxMarginMs = Math.max(this.baseMarginMs, options.maxMarginMs ?? 250);
    this.marginMs = this.baseMarginMs;
    this.recoveryMs = options.recoveryMs ?? 5000;
    this.departures = new Float64Array(this.limit).fill(-Infinity);
    this.effectiveRate = this.limit;
    this.tokens = 1;
    this.lastRefill = clock.now();
  }

  /** Milliseconds until the next submit may leave; 0 means now. */
  delay(): number {
    const now = this.clock.now();
    this.refill(now);
    return Math.max(
      0,
      this.pausedUntil - now,
      // the departure `limit` sends ago must have left the window
      (this.departures[this.head] ?? -Infinity) + 1000 + this.marginMs - now,
      this.tokens >= 1 ? 0 : ((1 - this.tokens) * 1000) / this.effectiveRate,
    );
  }

  /** Records a departure; call only when delay() is 0. */
  take(): void {
    const now = this.clock.now();
    this.refill(now);
    this.tokens -= 1;
    this.departures[this.head] = now;
    this.head = (this.head + 1) % this.limit;
  }

  /**
   * The SMSC said ESME_RTHROTTLED or ESME_RMSGQFUL to a submit sent at `sentAt`.
   * A whole window of submits already in flight is often throttled together: only
   * the first answer after our last reaction counts, the others were sent before it.
   */
  throttled(sentAt: number = this.clock.now()): void {
    const now = this.clock.now();
    if (sentAt < this.lastReactionAt) return;
    this.lastReactionAt = now;
    this.refill(now);
    this.consecutiveThrottles += 1;
    this.marginMs = Math.min(this.maxMarginMs, this.marginMs * 2);
    this.tokens = Math.min(this.tokens, 0);
    // An isolated throttle is jitter at the window's edge: the wider margin is the answer.
    // Throttles that keep coming mean the SMSC's limit is lower than ours: slow down too.
    if (this.consecutiveThrottles > 1) {
      this.effectiveRate = Math.max(1, this.effectiveRate * 0.9);
      const pause = Math.min(1000, 50 * 2 ** Math.min(this.consecutiveThrottles - 2, 5));
      this.pausedUntil = Math.max(this.pausedUntil, now + pause);
    }
  }

  /** A submit was accepted: the SMSC is not complaining any more. */
  accepted(): void {
    this.consecutiveThrottles = 0;
  }

  get currentRate(): number {
    return this.effectiveRate;
  }

  /** Current widening of the 1-second window, in ms. */
  get currentMarginMs(): number {
    return this.marginMs;
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.lastRefill);
    this.lastRefill = now;
    if (now >= this.pausedUntil) {
      if (this.effectiveRate < this.limit) {
        this.effectiveRate = Math.min(this.limit, this.effectiveRate + (elapsed * this.limit) / this.recoveryMs);
      }
      if (this.marginMs > this.baseMarginMs) this.marginMs = Math.max(this.baseMarginMs, this.marginMs - elapsed / 1000);
    }
    const capacity = Math.max(2, this.effectiveRate / 100);
    this.tokens = Math.min(capacity, this.tokens + (elapsed * this.effectiveRate) / 1000);
  }
}
