/**
 * Scenario 4, soak: a steady 100 msg/s through the SmppClient for minutes, the link cut every
 * minute (the simulator drops every session: no unbind, TCP gone), RSS and pending requests
 * sampled on the way. Memory and backlog must stay flat, and every submit must end accepted or
 * as an unknown outcome (sent, then the link went: the pipeline retries and counts those).
 */
import { startChild } from './children.js';
import { sleep } from './load.js';
import type { BenchProfile } from './profile.js';
import { startSimProcess } from './sim-process.js';
import { recommendedWindow } from './smpp-setup.js';
import type { SoakReport, SoakRequest } from './soak-child.js';
import { round, slope } from './stats.js';

/** Headroom over the offered rate, so the backlog left by a drop drains within seconds. */
const MPS_PER_BIND = 200;
const RESPONSE_DELAY_MS = 100;

export interface SoakResult extends Omit<SoakReport, 'samples'> {
  durationS: number;
  ratePerSecond: number;
  drops: number;
  sessionsDropped: number;
  mpsPerBind: number;
  windowSize: number;
  samples: SoakReport['samples'];
  rssSlopeMbPerMin: number | null;
  /** The same over the second half only: RSS climbs in steps while the process warms up, then levels. */
  rssSlopeSecondHalfMbPerMin: number | null;
  /**
   * Second-half slope of RSS less V8's young generation. V8 doubles the young generation under
   * allocation pressure (4 → 8 → 16 → 32 MB here, then no more), and each doubling is a step of
   * RSS at a moment of its choosing; a step late in the run reads as a slope of MB per minute. What
   * is left is the memory a leak would grow.
   */
  rssLessYoungSlopeSecondHalfMbPerMin: number | null;
  heapSlopeMbPerMin: number | null;
  pendingSlopePerMin: number | null;
  rssFirstMb: number | null;
  rssLastMb: number | null;
  maxPending: number;
  /** Submits that ended neither accepted nor as an unknown outcome (should be 0). */
  lost: number;
}

export async function runSoak(profile: BenchProfile['soak'], log: (line: string) => void): Promise<SoakResult> {
  const sim = await startSimProcess();
  const child = await startChild('test/bench/soak-child.ts', { execArgv: ['--expose-gc'] });
  let drops = 0;
  let sessionsDropped = 0;
  let stopDrops = false;
  try {
    const port = await sim.start({ mps: MPS_PER_BIND, maxBinds: 2, responseDelayMs: RESPONSE_DELAY_MS });
    const windowSize = recommendedWindow(MPS_PER_BIND, RESPONSE_DELAY_MS);
    const request: SoakRequest = { port, durationMs: profile.durationMs, ratePerSecond: profile.ratePerSecond, sampleEveryMs: profile.sampleEveryMs, mpsPerBind: MPS_PER_BIND, windowSize };
    const report = child.call<SoakReport>('soak', request, profile.durationMs + 120_000);
    const dropper = (async () => {
      // Half a sampling interval off the sampling grid, so no sample falls on the instant of a cut.
      const started = Date.now() + profile.sampleEveryMs / 2;
      for (let k = 1; k * profile.dropEveryMs < profile.durationMs && !stopDrops; k++) {
        await sleep(Math.max(0, started + k * profile.dropEveryMs - Date.now()));
        if (stopDrops) break;
        sessionsDropped += await sim.drop();
        drops += 1;
        log(`soak: link drop ${drops}`);
      }
    })();
    const r = await report.finally(() => (stopDrops = true));
    await dropper;
    const minutes = r.samples.map((s) => s.t / 60);
    const secondHalf = r.samples.filter((s) => s.t >= profile.durationMs / 2000);
    const first = r.samples[0];
    const last = r.samples[r.samples.length - 1];
    return {
      durationS: profile.durationMs / 1000,
      ratePerSecond: profile.ratePerSecond,
      drops,
      sessionsDropped,
      mpsPerBind: MPS_PER_BIND,
      windowSize,
      submitted: r.submitted,
      outcomes: r.outcomes,
      reasons: r.reasons,
      samples: r.samples.map((s) => ({
        t: round(s.t, 1) ?? 0,
        rssMb: round(s.rssMb, 2) ?? 0,
        heapUsedMb: round(s.heapUsedMb, 2) ?? 0,
        externalMb: round(s.externalMb, 2) ?? 0,
        heapTotalMb: round(s.heapTotalMb, 2) ?? 0,
        newSpaceMb: round(s.newSpaceMb, 2) ?? 0,
        pending: s.pending,
      })),
      rssSlopeMbPerMin: round(slope(minutes, r.samples.map((s) => s.rssMb)), 3),
      rssSlopeSecondHalfMbPerMin: round(slope(secondHalf.map((s) => s.t / 60), secondHalf.map((s) => s.rssMb)), 3),
      rssLessYoungSlopeSecondHalfMbPerMin: round(slope(secondHalf.map((s) => s.t / 60), secondHalf.map((s) => s.rssMb - s.newSpaceMb)), 3),
      heapSlopeMbPerMin: round(slope(minutes, r.samples.map((s) => s.heapUsedMb)), 3),
      pendingSlopePerMin: round(slope(minutes, r.samples.map((s) => s.pending)), 2),
      rssFirstMb: first ? round(first.rssMb, 1) : null,
      rssLastMb: last ? round(last.rssMb, 1) : null,
      maxPending: Math.max(0, ...r.samples.map((s) => s.pending)),
      lost: r.submitted - r.outcomes.accepted - r.outcomes.unknown,
    };
  } finally {
    stopDrops = true;
    await child.stop();
    await sim.close();
  }
}
