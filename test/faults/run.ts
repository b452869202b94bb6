/**
 * The fault matrix (issue 6, part 1):
 *   npm run test:faults [-- --full] [--only a,b] [--jobs N] [--timeout S] [--verbose] [--list]
 *
 * Each fault runs its jobs through the real local stack — SMSC simulator, fauxqs, DynamoDB Local,
 * the service in this process or as the production entry point in child processes — and the
 * ledger is audited afterwards. Prints a markdown table, writes bench-results/faults-<date>.json,
 * and exits non-zero when any job is lost or any invariant breaks (the reasons are listed).
 *
 * Sizes: the default fits CI (150 jobs per fault, shorter outages); --full runs 400 jobs per fault
 * with 10 s outages. Everything listens on loopback; every fault has a time limit; the DynamoDB
 * Local JVM is started once and stopped at the end, whatever happens.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { startLocalEnvironment, type LocalEnvironment } from './environment.js';
import { FaultContext, longestGapSeconds, recoverySeconds, Rig, waitForFinal, withDeadline, type Size } from './harness.js';
import { checkLedger } from './ledger.js';
import { receiptOutcome } from './jobs.js';
import { details, environmentInfo, LEGEND, markdownTable, writeJson, type FaultResult, type MatrixReport } from './report.js';
import { scenarios, type Check, type Scenario } from './scenarios.js';

const JOBS: Record<Size, number> = { ci: 150, full: 400 };
const DEFAULT_TIMEOUT_MS: Record<Size, number> = { ci: 90_000, full: 240_000 };

/** Rejections nobody awaited (a fault's late work after its time limit, say): reported, never fatal. */
const stray: string[] = [];
process.on('unhandledRejection', (reason) => stray.push(reason instanceof Error ? reason.message : String(reason)));

interface RunOptions {
  size: Size;
  jobs: number;
  runId: string;
  verbose: boolean;
  /** Overrides every fault's own time limit (ms). */
  limitMs: number | undefined;
}

async function runFault(env: LocalEnvironment, scenario: Scenario, o: RunOptions): Promise<FaultResult> {
  const { size, jobs, runId, verbose } = o;
  const started = Date.now();
  const limitMs = o.limitMs ?? scenario.timeoutMs?.[size] ?? DEFAULT_TIMEOUT_MS[size];
  const deadline = started + limitMs;
  const rig = await Rig.start(env, scenario.name, scenario.rig ?? {}, verbose);
  const ctx = new FaultContext(rig, size, jobs, deadline, runId, scenario.name);
  let finishedAt = deadline;
  try {
    const check: Check | void = await withDeadline(scenario.run(ctx), deadline, `${scenario.name}: fault injection`);
    const pending = await waitForFinal(env, rig.sim, ctx.jobs, deadline);
    finishedAt = Date.now();
    if (pending.length > 0) ctx.expect(false, `${pending.length} job(s) not final within the ${limitMs / 1000} s limit, e.g. ${pending.slice(0, 3).join(', ')}`);
    await check?.();
  } catch (err) {
    finishedAt = Math.min(finishedAt, Date.now());
    ctx.expect(false, `run aborted: ${(err as Error).message}`);
  }
  // Stopped first, so the queue and the SMSC's records are settled when the ledger reads them.
  const stopping = Date.now();
  await rig.stopServices();
  const auditing = Date.now();
  try {
    const ledger = await checkLedger({ env, sim: rig.sim, jobs: ctx.jobs, queueName: rig.queueName, dlqName: rig.dlqName, outcome: receiptOutcome, expectedFailures: ctx.expectedFailures });
    if (verbose) console.error(`[${scenario.name}] stop ${((auditing - stopping) / 1000).toFixed(1)} s, audit ${((Date.now() - auditing) / 1000).toFixed(1)} s`);
    const problems = [...ctx.problems, ...ledger.problems, ...stray.splice(0).map((s) => `unhandled rejection: ${s}`)];
    return {
      name: scenario.name,
      title: scenario.title,
      ledger,
      recoverySeconds: recoverySeconds(rig.sim, ctx.faultEnds),
      longestGapSeconds: longestGapSeconds(rig.sim),
      wallSeconds: (finishedAt - started) / 1000,
      notes: ctx.notes,
      problems,
      smsc: { ...rig.sim.stats },
    };
  } finally {
    await rig.stop();
  }
}

/** A fault whose audit itself failed (e.g. the table could not be read): reported as failed, never skipped. */
function unaudited(scenario: Scenario, jobs: number, err: unknown): FaultResult {
  return {
    name: scenario.name,
    title: scenario.title,
    ledger: { jobs, states: {}, queued: 0, dlq: 0, lost: 0, duplicates: 0, unknownOutcomes: 0, parked: 0, leftoverMessages: 0, problems: [] },
    recoverySeconds: undefined,
    longestGapSeconds: 0,
    wallSeconds: 0,
    notes: [],
    problems: [`could not be run or audited: ${err instanceof Error ? err.message : String(err)}`],
    smsc: { accepted: 0, throttled: 0, failedByFault: 0, swallowed: 0, dropped: 0, receiptsSent: 0, receiptsAcked: 0, receiptsNacked: 0, receiptsTimedOut: 0, moSent: 0, moAcked: 0, binds: 0, bindRefusals: 0 },
  };
}

function select(only: string[] | undefined): Scenario[] {
  if (!only || only.length === 0) return scenarios;
  const names = only.flatMap((o) => o.split(',')).map((n) => n.trim()).filter(Boolean);
  const unknown = names.filter((n) => !scenarios.some((s) => s.name === n));
  if (unknown.length > 0) throw new Error(`unknown fault(s): ${unknown.join(', ')}; known: ${scenarios.map((s) => s.name).join(', ')}`);
  return scenarios.filter((s) => names.includes(s.name));
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      full: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      jobs: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      timeout: { type: 'string' },
      list: { type: 'boolean', default: false },
    },
  });
  const size: Size = values.full ? 'full' : 'ci';
  if (values.list) {
    for (const s of scenarios) console.log(`${s.name.padEnd(24)} ${s.title}`);
    return 0;
  }
  const selected = select(values.only);
  const jobs = values.jobs === undefined ? JOBS[size] : Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 10) throw new Error('--jobs must be a whole number ≥ 10');
  const limitMs = values.timeout === undefined ? undefined : Number(values.timeout) * 1000;
  if (limitMs !== undefined && !(limitMs > 0)) throw new Error('--timeout must be a number of seconds');

  const startedAt = new Date();
  const runId = startedAt.getTime().toString(36) + randomBytes(2).toString('hex');
  console.log(`fault matrix (${size}): ${selected.length} fault(s), ${jobs} jobs each; starting the local stand-ins…`);
  const env = await startLocalEnvironment();
  const stopEnv = (): void => {
    void env.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopEnv);
  process.once('SIGTERM', stopEnv);

  const results: FaultResult[] = [];
  try {
    for (const scenario of selected) {
      process.stdout.write(`- ${scenario.name} … `);
      const result = await runFault(env, scenario, { size, jobs, runId, verbose: values.verbose, limitMs }).catch((err: unknown) => unaudited(scenario, jobs, err));
      results.push(result);
      console.log(`${result.problems.length === 0 ? 'ok' : 'FAIL'} (${result.wallSeconds.toFixed(1)} s, lost ${result.ledger.lost})`);
    }
  } finally {
    await env.stop();
  }

  const report: MatrixReport = {
    startedAt: startedAt.toISOString(),
    size,
    ...environmentInfo(),
    totalWallSeconds: (Date.now() - startedAt.getTime()) / 1000,
    passed: results.every((r) => r.problems.length === 0),
    results,
  };
  console.log(`\n${markdownTable(results)}\n\n${LEGEND}\n`);
  const more = details(results);
  if (more) console.log(`${more}\n`);
  const path = await writeJson(report);
  console.log(`total ${report.totalWallSeconds.toFixed(0)} s; results in ${path}`);
  const lost = results.reduce((n, r) => n + r.ledger.lost, 0);
  if (!report.passed) console.log(`FAILED: ${results.filter((r) => r.problems.length > 0).map((r) => r.name).join(', ')} (lost ${lost})`);
  return report.passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  },
);
