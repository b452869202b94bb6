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
    /** Mixed jobs (~70% short GSM7, ~20% UCS-2, ~10% 3-part) of the run at an unlimited SMSC rate. */
    jobs: number;
    /**
     * Mixed jobs of the run at 2 TX × 50 MPS. Its binds send 100 parts/s whatever happens, so
     * 20,000 jobs would take 4 minutes to show the same figures: sized for about a minute.
     */
    limitedJobs: number;
    /** Single-part jobs of the run that counts AWS calls per single-part job. */
    singlePartJobs: number;
    /** Mixed jobs of the run with MPS_PER_BIND far above what the store absorbs (0 = skip it). */
    overloadJobs: number;
    overloadCapMs: number;
    /** Jobs of the floor, split between its replays before and after the unlimited run (a rate: it needs a backlog, not the same count). */
    floorJobs: number;
    /** No run lasts longer: one that has not finished then reports what it delivered. */
    runCapMs: number;
    /** Bare DynamoDB calls for this long before anything is measured: DynamoDB Local's JVM is several times slower until warm. */
    warmupMs: number;
    /** Then unmeasured jobs shaped like the unlimited run, warming the service, simulator and fauxqs; their calls per job drive the first floor replay. */
    warmupJobs: number;
  };
  soak: {
    durationMs: number;
    ratePerSecond: number;
    dropEveryMs: number;
    sampleEveryMs: number;
  };
  cost: {
    /** Jobs of each single-part run (GSM-7, UCS-2; with and without receipts): units per message hardly vary, so a few hundred do. */
    jobs: number;
    /** Jobs of each 3-part run. */
    multipartJobs: number;
    /** Unmeasured single-part jobs' worth of parts at the start of every run (same kind, same tasks and table), warming them and DynamoDB Local. */
    warmupJobs: number;
    runCapMs: number;
  };
  /** The service's own CPU per job (cpu.ts): single-part jobs with receipts, at `mps` on one TX bind. */
  cpu: { jobs: number; rounds: number; mps: number; warmup: number };
}

export const PROFILES: Readonly<Record<BenchProfile['name'], BenchProfile>> = {
  quick: {
    name: 'quick',
    rate: { mpsPerBind: [50, 500], binds: [1, 2], durationMs: 5_000, responseDelayMs: 100 },
    engine: { windows: [10, 100], binds: [1, 2], submits: 10_000, warmup: 2_000, repeats: 1 },
    e2e: { jobs: 1_000, limitedJobs: 1_000, overloadJobs: 0, overloadCapMs: 0, floorJobs: 1_000, runCapMs: 120_000, singlePartJobs: 200, warmupMs: 10_000, warmupJobs: 300 },
    soak: { durationMs: 60_000, ratePerSecond: 100, dropEveryMs: 20_000, sampleEveryMs: 5_000 },
    cost: { jobs: 300, multipartJobs: 150, warmupJobs: 100, runCapMs: 90_000 },
    cpu: { jobs: 600, rounds: 3, mps: 50, warmup: 200 },
  },
  full: {
    name: 'full',
    rate: { mpsPerBind: [50, 500, 2000], binds: [1, 2], durationMs: 15_000, responseDelayMs: 100 },
    engine: { windows: [1, 10, 100], binds: [1, 2, 3, 4], submits: 30_000, warmup: 5_000, repeats: 2 },
    e2e: { jobs: 20_000, limitedJobs: 6_000, overloadJobs: 5_000, overloadCapMs: 90_000, floorJobs: 5_000, runCapMs: 300_000, singlePartJobs: 1_000, warmupMs: 30_000, warmupJobs: 1_000 },
    soak: { durationMs: 600_000, ratePerSecond: 100, dropEveryMs: 60_000, sampleEveryMs: 10_000 },
    cost: { jobs: 1_500, multipartJobs: 600, warmupJobs: 300, runCapMs: 240_000 },
    cpu: { jobs: 1_000, rounds: 3, mps: 50, warmup: 300 },
  },
};
