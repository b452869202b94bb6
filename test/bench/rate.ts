/**
 * Scenario 1, rate fidelity: does every bind run at the rate the SMSC allows, without one
 * ESME_RTHROTTLED? The simulator (own process) enforces a strict sliding 1-second limit per bind
 * and answers after a WAN-like delay; the connector's SmppClient runs in this process with the
 * window our rule gives. Achieved rate is counted where it matters: acceptances at the SMSC.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { SubmitResult } from '../../service/src/smpp/client.js';
import { keepBusy } from './load.js';
import type { BenchProfile } from './profile.js';
import { startSimProcess, type SimProcess } from './sim-process.js';
import { benchPart, bound, recommendedWindow, startClient } from './smpp-setup.js';
import { latencySummary, perSecond, round, steadyRate } from './stats.js';

export interface RateRun {
  mpsPerBind: number;
  binds: number;
  window: number;
  allowedPerSecond: number;
  accepted: number;
  /** Acceptances after the first ÷ time from the first to the last acceptance. */
  achievedPerSecond: number | null;
  ratio: number | null;
  throttled: number;
  /** Submits that did not end accepted (should be 0). */
  notAccepted: number;
  latencyMs: { p50: number | null; p99: number | null };
  /** Acceptances per second from the first one, for the chart. */
  perSecond: number[];
  /** Longest event-loop stall during the run, ms: of the simulator, and of the process running the client. */
  loopDelayMaxMs: { smsc: number; client: number };
}

export async function runRate(profile: BenchProfile['rate'], log: (line: string) => void): Promise<RateRun[]> {
  const sim = await startSimProcess();
  const runs: RateRun[] = [];
  try {
    await warmUp(sim);
    for (const mps of profile.mpsPerBind) {
      for (const binds of profile.binds) {
        const run = await oneRun(sim, { mps, binds, durationMs: profile.durationMs, responseDelayMs: profile.responseDelayMs });
        log(`rate ${mps} MPS × ${binds} bind(s): ${run.achievedPerSecond} of ${run.allowedPerSecond}/s, throttled ${run.throttled}`);
        runs.push(run);
      }
    }
  } finally {
    await sim.close();
  }
  return runs;
}

/**
 * A simulator fresh from start compiles its code paths while the first submits arrive and stamps
 * some of them tens of ms late, which a strict 1-second window reads as a burst. A real SMSC has
 * no JIT: warm both processes once, unthrottled, before measuring.
 */
async function warmUp(sim: SimProcess): Promise<void> {
  const port = await sim.start({ mps: 1_000_000 });
  const client = startClient(port, { txBinds: 1, mpsPerBind: 100_000, windowSize: 50 });
  try {
    await bound(client, 1);
    const part = benchPart();
    await keepBusy(() => client.submit(part), { concurrency: 100, count: 3000, deadline: Date.now() + 10_000 });
  } finally {
    await client.stop(2000);
  }
}

async function oneRun(
  sim: SimProcess,
  o: { mps: number; binds: number; durationMs: number; responseDelayMs: number },
): Promise<RateRun> {
  const window = recommendedWindow(o.mps, o.responseDelayMs);
  const port = await sim.start({ mps: o.mps, maxBinds: o.binds, responseDelayMs: o.responseDelayMs, recordAcceptances: true });
  const client = startClient(port, { txBinds: o.binds, mpsPerBind: o.mps, windowSize: window });
  const allowed = o.mps * o.binds;
  const clientLoop = monitorEventLoopDelay({ resolution: 1 });
  let results: SubmitResult[];
  try {
    clientLoop.enable();
    await bound(client, o.binds);
    const part = benchPart();
    // Enough waiting work that the client's queue never runs dry: full windows plus a quarter second.
    results = await keepBusy(() => client.submit(part), {
      concurrency: window * o.binds + Math.ceil(allowed / 4),
      count: Math.ceil((allowed * o.durationMs) / 1000) * 2,
      deadline: Date.now() + o.durationMs,
    });
  } finally {
    clientLoop.disable();
    await client.stop(2000);
  }
  const counters = await sim.counters();
  const times = await sim.takeAcceptances();
  const steady = steadyRate(times);
  const latencies = results.flatMap((r) => (r.kind === 'accepted' ? [r.latencyMs] : []));
  const lat = latencySummary(latencies);
  return {
    mpsPerBind: o.mps,
    binds: o.binds,
    window,
    allowedPerSecond: allowed,
    accepted: counters.accepted,
    achievedPerSecond: round(steady.perSecond, 1),
    ratio: round(steady.perSecond / allowed, 4),
    throttled: counters.throttled,
    notAccepted: results.length - latencies.length,
    latencyMs: { p50: round(lat.p50, 1), p99: round(lat.p99, 1) },
    perSecond: perSecond(times),
    loopDelayMaxMs: { smsc: round(counters.loopDelayMaxMs, 1) ?? 0, client: round(clientLoop.max / 1e6, 1) ?? 0 },
  };
}
