/** Small statistics helpers; every function takes plain numbers and never mutates its input. */

/** Nearest-rank percentile (p in 0..100) of an ascending array; NaN when empty. */
function rank(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1;
  return sorted[i] ?? Number.NaN;
}

/** Nearest-rank percentile (p in 0..100) of the values; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  return rank(Float64Array.from(values).sort(), p);
}

/** p50/p95/p99 and the maximum, from one sort. */
export function latencySummary(values: readonly number[]): { n: number; p50: number; p95: number; p99: number; max: number } {
  const sorted = Float64Array.from(values).sort();
  return { n: sorted.length, p50: rank(sorted, 50), p95: rank(sorted, 95), p99: rank(sorted, 99), max: rank(sorted, 100) };
}

/** Least-squares slope of y over x (units of y per unit of x); NaN with fewer than two points. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return Number.NaN;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += xs[i] ?? 0;
    sy += ys[i] ?? 0;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] ?? 0) - mx;
    num += dx * ((ys[i] ?? 0) - my);
    den += dx * dx;
  }
  return den === 0 ? Number.NaN : num / den;
}

/**
 * Steady-state rate of a series of event times (ms): events after the first, divided by the
 * time from the first to the last. Nothing else is excluded.
 */
export function steadyRate(times: readonly number[]): { count: number; spanMs: number; perSecond: number } {
  if (times.length < 2) return { count: times.length, spanMs: 0, perSecond: Number.NaN };
  const { first, last } = bounds(times);
  const spanMs = last - first;
  return { count: times.length, spanMs, perSecond: spanMs > 0 ? ((times.length - 1) * 1000) / spanMs : Number.NaN };
}

/** Events per whole second from the first event (the last, partial second is left out). */
export function perSecond(times: readonly number[]): number[] {
  if (times.length === 0) return [];
  const { first, last } = bounds(times);
  const seconds = Math.floor((last - first) / 1000);
  const buckets = new Array<number>(seconds).fill(0);
  for (const t of times) {
    const i = Math.floor((t - first) / 1000);
    if (i < seconds) buckets[i] = (buckets[i] ?? 0) + 1;
  }
  return buckets;
}

/** Smallest and largest value (a loop: spreading 10^5 values into Math.min overflows the stack). */
function bounds(values: readonly number[]): { first: number; last: number } {
  let first = Infinity;
  let last = -Infinity;
  for (const v of values) {
    if (v < first) first = v;
    if (v > last) last = v;
  }
  return { first, last };
}

/** Rounds for display and JSON (keeps NaN out of JSON as null). */
export function round(value: number, digits = 0): number | null {
  if (!Number.isFinite(value)) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
