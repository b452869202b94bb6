import type { Clock } from '../clock.js';

/** How a windowed request ended, when it did not get its response. */
export type WindowFailure =
  | { kind: 'timeout' }
  | { kind: 'closed'; reason: string };

interface Pending<R> {
  accepts: ((response: R) => boolean) | undefined;
  resolve(value: R): void;
  reject(failure: WindowFailure): void;
  sentAt: number;
  deadline: number;
}

/**
 * The outstanding requests of one session, keyed by sequence number
 * (cloudhopper's "window"). The `smpp` package keeps response callbacks
 * forever, even after the socket closes; this store gives every request a
 * deadline and fails all of them at once when the link goes, so nothing leaks.
 * A full window means "wait for a slot", never "close the bind".
 */
export class RequestWindow<R> {
  private readonly pending = new Map<number, Pending<R>>();
  private readonly slotWaiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];
  /**
   * One timer for the whole window, due at the earliest deadline, instead of one per request:
   * setting and clearing a timer per PDU was a measurable share of the cost of a submit.
   */
  private timer: unknown;
  private timerAt = Infinity;

  constructor(
    readonly size: number,
    private readonly clock: Clock,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('window size must be a positive integer');
  }

  get outstanding(): number {
    return this.pending.size;
  }

  get free(): number {
    return this.size - this.pending.size;
  }

  /** Resolves when a slot is free (at once if one is). */
  waitForSlot(): Promise<void> {
    if (this.free > 0) return Promise.resolve();
    return new Promise((resolve) => this.slotWaiters.push(resolve));
  }

  /**
   * Resolves once no request is outstanding (at once if none is). Every request ends by its
   * deadline at the latest, so this never waits longer than the longest timeout.
   */
  idle(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Registers a request that has just been written; resolves with its response,
   * rejects with a WindowFailure on timeout or close. `accepts` tells a real
   * answer from another PDU that merely carries the same sequence number.
   */
  track(sequence: number, timeoutMs: number, accepts?: (response: R) => boolean): Promise<R> {
    if (this.pending.has(sequence)) throw new Error(`sequence ${sequence} is already outstanding`);
    if (this.free <= 0) throw new Error('window is full: wait for a slot before sending');
    return new Promise<R>((resolve, reject) => {
      const now = this.clock.now();
      const deadline = now + timeoutMs;
      this.pending.set(sequence, { accepts, resolve, reject, sentAt: now, deadline });
      if (deadline < this.timerAt) this.arm(deadline, now);
    });
  }

  /** Delivers a response; returns false for a response nobody waits for (late, unexpected, or of the wrong kind). */
  complete(sequence: number, response: R): boolean {
    const waiting = this.pending.get(sequence);
    if (!waiting || (waiting.accepts && !waiting.accepts(response))) return false;
    this.settle(sequence)?.resolve(response);
    return true;
  }

  /** Fails every outstanding request at once (the socket closed). */
  failAll(reason: string): number {
    this.disarm();
    const sequences = [...this.pending.keys()];
    for (const seq of sequences) this.settle(seq)?.reject({ kind: 'closed', reason });
    return sequences.length;
  }

  /** Age of the oldest outstanding request, for metrics. */
  oldestAgeMs(): number {
    let oldest = Infinity;
    for (const p of this.pending.values()) oldest = Math.min(oldest, p.sentAt);
    return oldest === Infinity ? 0 : this.clock.now() - oldest;
  }

  private settle(sequence: number): Pending<R> | undefined {
    const p = this.pending.get(sequence);
    if (!p) return undefined;
    this.pending.delete(sequence);
    this.slotWaiters.shift()?.();
    if (this.pending.size === 0) {
      this.disarm();
      const idle = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of idle) w();
    }
    return p;
  }

  /** Fails the requests past their deadline; re-arms for the earliest one left. */
  private sweep(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.clock.now();
    let next = Infinity;
    for (const [sequence, p] of this.pending) {
      if (p.deadline <= now) this.settle(sequence)?.reject({ kind: 'timeout' });
      else next = Math.min(next, p.deadline);
    }
    if (next < Infinity) this.arm(next, now);
  }

  private arm(at: number, now: number): void {
    this.disarm();
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => this.sweep(), Math.max(0, at - now));
  }

  private disarm(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }
}
