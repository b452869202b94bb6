/**
 * Seeded pseudo-random numbers (mulberry32), so a simulator run with the same
 * seed makes the same fault decisions and the same message ids every time.
 * Not for anything that needs real randomness.
 */
export type Prng = () => number;

/** Returns a function yielding floats in [0, 1), fully determined by `seed`. */
export function createPrng(seed: number): Prng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A uniformly random unsigned 32-bit integer from `prng`. */
export function nextUint32(prng: Prng): number {
  return Math.floor(prng() * 4294967296) >>> 0;
}
