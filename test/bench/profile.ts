/** Every size and duration of a bench run, in one place: `--quick` (about a minute) or full (under 15). */
export interface BenchProfile {
  name: 'quick' | 'full';
  rate: {
    mpsPerBind: number[];
    binds: number[];
    /** Submitting lasts this long per configuration; what is still in flight then is let finish. */
    durationMs: number;
    /** The simulator's response delay: a WAN round trip. */
    responseDelayMs: number;
  };
  engine: {
    windows: number[];
    binds: number[];
    /** Measured submits per run, after `warmup` unmeasured ones on the same binds. */
    submits: number;
    warmup: number;
    /** Each measured run is repeated, implementations interleaved; the best repetition counts. */
    repeats: number;
  };
  e2e: {
    /** Mixed jobs (~70% short GSM7, ~20% UCS-2, ~10% 3-part) per run. */
    jobs: number;
    /** Single-part jobs of the run that counts AWS calls per single-part job. */
    singlePartJobs: number;
  };
  soak: {
    durationMs: number;
    ratePerSecond: number;
    dropEveryMs: number;
    sampleEveryMs: number;
  };
}

export const PROFILES: Readonly<Record<BenchProfile['name'], BenchProfile>> = {
  quick: {
    name: 'quick',
    rate: { mpsPerBind: [50, 500], binds: [1, 2], durationMs: 5_000, responseDelayMs: 100 },
    engine: { windows: [10, 100], binds: [1, 2], submits: 5_000, warmup: 1_000, repeats: 1 },
    e2e: { jobs: 1_000, singlePartJobs: 200 },
    soak: { durationMs: 60_000, ratePerSecond: 100, dropEveryMs: 20_000, sampleEveryMs: 5_000 },
  },
  full: {
    name: 'full',
    rate: { mpsPerBind: [50, 500, 2000], binds: [1, 2], durationMs: 15_000, responseDelayMs: 100 },
    engine: { windows: [1, 10, 100], binds: [1, 2, 3, 4], submits: 20_000, warmup: 3_000, repeats: 2 },
    e2e: { jobs: 20_000, singlePartJobs: 1_000 },
    soak: { durationMs: 600_000, ratePerSecond: 100, dropEveryMs: 60_000, sampleEveryMs: 10_000 },
  },
};
