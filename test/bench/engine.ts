/**
 * Scenario 2, engine capacity: how fast the connector's SMPP engine submits when nothing holds it
 * back (simulator unthrottled, no delay, in its own process), and what each submit costs in CPU
 * of this process — beside two loops on the bare `smpp` package, measured in the same run, with
 * the same submit_sm bytes, against the same simulator process.
 */
import type { SmppClient } from '../../service/src/smpp/client.js';
import { submitSmFields } from '../../service/src/smpp/submit.js';
import { bareBinds, bareWindowedLoop, closeBare } from './baselines.js';
import { keepBusy } from './load.js';
import type { BenchProfile } from './profile.js';
import { startSimProcess, type SimProcess } from './sim-process.js';
import { benchPart, bound, startClient } from './smpp-setup.js';
import { round } from './stats.js';

export type EngineImpl = 'ours' | 'bare-windowed' | 'stop-and-wait';

export interface EngineMeasure {
  impl: EngineImpl;
  binds: number;
  window: number;
  submits: number;
  perSecond: number | null;
  /** CPU (user + system) of this process per submit, µs. */
  cpuMicrosPerSubmit: number | null;
  /** CPU of the simulator process per submit, µs: shows when the SMSC side is the limit. */
  simCpuMicrosPerSubmit: number | null;
}

export interface EngineRow {
  binds: number;
  window: number;
  ours: EngineMeasure;
  bareWindowed: EngineMeasure;
  stopAndWait: EngineMeasure;
  oursOverBareWindowed: number | null;
  oursOverStopAndWait: number | null;
}

/** Far above anything loopback reaches, and within what MPS_PER_BIND accepts: the pacer never waits. */
const UNPACED_MPS = 100_000;

export async function runEngine(profile: BenchProfile['engine'], log: (line: string) => void): Promise<{ rows: EngineRow[]; all: EngineMeasure[] }> {
  const sim = await startSimProcess();
  const all: EngineMeasure[] = [];
  try {
    const port = await sim.start({ mps: 10_000_000, maxBinds: 8 });
    const fields = submitSmFields(benchPart());
    const sizes = { submits: profile.submits, warmup: profile.warmup };
    // Every implementation runs once per repeat, in alternating order, so that a noisy spell on
    // the shared machine is not pinned on one of them; the best repeat of each counts.
    for (let rep = 0; rep < profile.repeats; rep++) {
      for (const binds of profile.binds) {
        const stopAndWait = await measureBare(sim, port, fields, { binds, window: 1, impl: 'stop-and-wait', ...sizes });
        log(`engine stop-and-wait binds ${binds}: ${stopAndWait.perSecond}/s, ${stopAndWait.cpuMicrosPerSubmit} µs/submit`);
        all.push(stopAndWait);
        for (const window of profile.windows) {
          // A bare windowed loop with window 1 is stop-and-wait, measured just above.
          const pair = [
            ...(window > 1 ? [() => measureBare(sim, port, fields, { binds, window, impl: 'bare-windowed', ...sizes })] : []),
            () => measureOurs(sim, port, { binds, window, ...sizes }),
          ];
          if (rep % 2 === 1) pair.reverse();
          for (const run of pair) {
            const m = await run();
            log(`engine ${m.impl} binds ${binds} window ${window}: ${m.perSecond}/s, ${m.cpuMicrosPerSubmit} µs/submit`);
            all.push(m);
          }
        }
      }
    }
  } finally {
    await sim.close();
  }
  return { rows: tabulate(profile, all), all };
}

function tabulate(profile: BenchProfile['engine'], all: EngineMeasure[]): EngineRow[] {
  const best = (impl: EngineImpl, binds: number, window: number): EngineMeasure => {
    const runs = all.filter((m) => m.impl === impl && m.binds === binds && m.window === window);
    return runs.reduce((a, b) => ((b.perSecond ?? 0) > (a.perSecond ?? 0) ? b : a));
  };
  const rows: EngineRow[] = [];
  for (const binds of profile.binds) {
    const stopAndWait = best('stop-and-wait', binds, 1);
    for (const window of profile.windows) {
      const ours = best('ours', binds, window);
      const bareWindowed = window === 1 ? stopAndWait : best('bare-windowed', binds, window);
      rows.push({
        binds,
        window,
        ours,
        bareWindowed,
        stopAndWait,
        oursOverBareWindowed: round((ours.perSecond ?? NaN) / (bareWindowed.perSecond ?? NaN), 3),
        oursOverStopAndWait: round((ours.perSecond ?? NaN) / (stopAndWait.perSecond ?? NaN), 2),
      });
    }
  }
  return rows;
}

interface RunShape {
  binds: number;
  window: number;
  submits: number;
  warmup: number;
}

/** Times `work` (which must complete `count` submits) in wall clock and in CPU of both processes. */
async function timed(sim: SimProcess, impl: EngineImpl, shape: RunShape, work: () => Promise<void>): Promise<EngineMeasure> {
  const simBefore = await sim.counters();
  const cpu = process.cpuUsage();
  const started = performance.now();
  await work();
  const elapsedMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const simAfter = await sim.counters();
  const n = shape.submits;
  return {
    impl,
    binds: shape.binds,
    window: shape.window,
    submits: n,
    perSecond: round((n * 1000) / elapsedMs),
    cpuMicrosPerSubmit: round((used.user + used.system) / n, 1),
    simCpuMicrosPerSubmit: round((simAfter.cpuMicros - simBefore.cpuMicros) / n, 1),
  };
}

async function measureBare(sim: SimProcess, port: number, fields: Record<string, unknown>, shape: RunShape & { impl: EngineImpl }): Promise<EngineMeasure> {
  const sessions = await bareBinds(port, shape.binds);
  try {
    await bareWindowedLoop(sessions, fields, { count: shape.warmup, window: shape.window });
    return await timed(sim, shape.impl, shape, async () => {
      const { accepted } = await bareWindowedLoop(sessions, fields, { count: shape.submits, window: shape.window });
      if (accepted !== shape.submits) throw new Error(`${shape.impl}: ${shape.submits - accepted} submits not accepted`);
    });
  } finally {
    await closeBare(sessions);
  }
}

async function measureOurs(sim: SimProcess, port: number, shape: RunShape): Promise<EngineMeasure> {
  const client = startClient(port, { txBinds: shape.binds, mpsPerBind: UNPACED_MPS, windowSize: shape.window });
  try {
    await bound(client, shape.binds);
    const part = benchPart();
    // Twice the windows' worth waiting, so a freed slot always finds work (as the pipeline's buffer does).
    const drive = (count: number): Promise<number> => submitAll(client, part, count, 2 * shape.binds * shape.window + 16);
    await drive(shape.warmup);
    return await timed(sim, 'ours', shape, async () => {
      const accepted = await drive(shape.submits);
      if (accepted !== shape.submits) throw new Error(`ours: ${shape.submits - accepted} submits not accepted`);
    });
  } finally {
    await client.stop(2000);
  }
}

async function submitAll(client: SmppClient, part: ReturnType<typeof benchPart>, count: number, concurrency: number): Promise<number> {
  const results = await keepBusy(() => client.submit(part), { concurrency, count, deadline: Date.now() + 120_000 });
  return results.filter((r) => r.kind === 'accepted').length;
}
