/**
 * `npm run bench [-- --quick] [-- --only rate,engine,e2e,soak,cost,priority,tool,cpu] [-- --before <rev>]`: the
 * four scenarios of issue 5, the cost per message (cost.ts), the operator tool beside a bare loop (tool.ts) and the
 * service's own CPU per job (cpu.ts) of issue 14, and the urgent lane's latency of issue 13 (priority.ts),
 * measured side by side in one run. Prints markdown tables; writes every figure to
 * bench-results/bench-<date>.json and the rate-over-time chart to bench-results/rate.svg.
 *
 * Rate fidelity and engine capacity run first, alone. The soak then runs in processes of its own
 * (its client and its simulator each in a child) beside end to end: it takes 10 minutes at a light,
 * steady 100 msg/s, and running it alone would make the full run exceed 15 minutes. Its own figures
 * (RSS of its own process, pending, outcomes) are untouched by end to end; end to end bears a
 * constant ~100 msg/s of extra load, on its run and on its floor alike.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { costSpecs, runCost, type CostResult } from './cost.js';
import { prepareBefore } from './cost-before.js';
import { cpuMarkdown, runCpu, type CpuResult } from './cpu.js';
import { costMarkdown } from './cost-report.js';
import { runE2e, type E2eResult } from './e2e.js';
import { runEngine, type EngineMeasure, type EngineRow } from './engine.js';
import { priorityMarkdown, runPriority, type PriorityResult } from './priority.js';
import { runTool, toolMarkdown, type ToolResult } from './tool.js';
import { PROFILES, type BenchProfile } from './profile.js';
import { runRate, type RateRun } from './rate.js';
import { e2eMarkdown, engineMarkdown, headerMarkdown, rateMarkdown, soakMarkdown, targetsMarkdown, type BenchHeader } from './report.js';
import { runSoak, type SoakResult } from './soak.js';
import { round } from './stats.js';
import { rateChart } from './svg.js';
import { checkTargets } from './targets.js';

const SCENARIOS = ['rate', 'engine', 'e2e', 'soak', 'cost', 'priority', 'tool', 'cpu'] as const;
type Scenario = (typeof SCENARIOS)[number];

const OUT_DIR = fileURLToPath(new URL('../../bench-results/', import.meta.url));

interface Args {
  profile: BenchProfile;
  only: Set<Scenario>;
  /** Cost and cpu scenarios: also run the service of this git revision, beside this checkout's (cost-before.ts). */
  before?: string;
  /** Cost scenario: only these specs (keys of costSpecs). */
  costOnly?: string[];
}

function parseArgs(argv: string[]): Args {
  let quick = false;
  const only = new Set<Scenario>();
  let before: string | undefined;
  let costOnly: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') quick = true;
    else if (arg === '--before') {
      before = argv[++i];
      if (!before || before.startsWith('--')) throw new Error('--before takes a git revision (a commit, tag or branch)');
    } else if (arg === '--cost-only') costOnly = (argv[++i] ?? '').split(',').filter((k) => k !== '');
    else if (arg === '--only') {
      for (const name of (argv[++i] ?? '').split(',')) {
        if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`--only takes ${SCENARIOS.join(', ')} (comma-separated); got "${name}"`);
        only.add(name as Scenario);
      }
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write('usage: npm run bench -- [--quick] [--only rate,engine,e2e,soak,cost,priority,tool,cpu] [--before <git-rev>] [--cost-only <cost keys>]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${arg} (try --help)`);
  }
  const profile = quick ? PROFILES.quick : PROFILES.full;
  if (costOnly !== undefined) {
    const keys = costSpecs(profile.cost).map((s) => s.key);
    const wrong = costOnly.filter((k) => !keys.includes(k));
    if (costOnly.length === 0 || wrong.length > 0) throw new Error(`--cost-only takes ${keys.join(', ')} (comma-separated); got "${wrong.join(',')}"`);
  }
  const scenarios = only.size > 0 ? only : new Set(SCENARIOS);
  if (costOnly !== undefined && !scenarios.has('cost')) throw new Error('--cost-only is for the cost scenario: add it to --only');
  if (before !== undefined && !scenarios.has('cost') && !scenarios.has('cpu')) throw new Error('--before is for the cost and cpu scenarios: add one to --only');
  return { profile, only: scenarios, ...(before !== undefined && { before }), ...(costOnly !== undefined && { costOnly }) };
}

function header(profile: BenchProfile): BenchHeader {
  let commit: string | undefined;
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    commit = undefined;
  }
  return {
    date: new Date().toISOString(),
    profile: profile.name,
    cpu: cpus()[0]?.model ?? 'unknown CPU',
    cores: cpus().length,
    node: process.version,
    loadAverage: loadavg(),
    commit,
  };
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');

/** cpu.ts on this checkout, beside a worktree of `before` when given (removed afterwards). */
async function cpuRun(p: BenchProfile['cpu'], before: string | undefined): Promise<CpuResult> {
  const tree = before === undefined ? undefined : await prepareBefore(before);
  try {
    return await runCpu({ ...p, tls: false, trees: tree === undefined ? [ROOT] : [ROOT, tree.root] }, log);
  } finally {
    tree?.remove();
  }
}

const log = (line: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

interface BenchResults {
  header: BenchHeader;
  durationS: number | null;
  rate?: RateRun[];
  engine?: { rows: EngineRow[]; all: EngineMeasure[] };
  e2e?: E2eResult;
  soak?: SoakResult;
  cost?: CostResult;
  priority?: PriorityResult;
  tool?: ToolResult;
  cpu?: CpuResult;
  targets: ReturnType<typeof checkTargets>;
}

async function main(): Promise<void> {
  const { profile, only, before, costOnly } = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const head = header(profile);
  log(`${profile.name} run: ${[...only].join(', ')}`);
  const results: BenchResults = { header: head, durationS: null, targets: [] };

  // Timing- and CPU-sensitive scenarios first, with the machine to themselves (see above).
  if (only.has('rate')) results.rate = await runRate(profile.rate, log);
  if (only.has('engine')) results.engine = await runEngine(profile.engine, log);
  // The operator tool beside the bare loop (issue 14, item 4): a throughput ratio, so alone too.
  if (only.has('tool')) results.tool = await runTool(profile.name, log);
  // The service's own CPU per job (issue 14, item 3), beside the service of --before in the same windows.
  if (only.has('cpu')) results.cpu = await cpuRun(profile.cpu, before);
  const soak = only.has('soak') ? runSoak(profile.soak, log) : undefined;
  // Keep a failure of the background soak from surfacing as an unhandled rejection before we await it.
  soak?.catch(() => undefined);
  if (only.has('e2e')) results.e2e = await runE2e(profile.e2e, log);
  // Counts, not timings: beside the soak's light load, as end to end.
  if (only.has('cost')) results.cost = await runCost(profile.cost, log, costOnly, before === undefined ? {} : { before });
  // Latencies of seconds against tens of seconds, paced by the bind: the soak's light load does not move them.
  if (only.has('priority')) results.priority = await runPriority(profile.name, log);
  if (soak) {
    log('waiting for the soak to finish');
    results.soak = await soak;
  }
  results.durationS = round((Date.now() - started) / 1000, 1);
  results.targets = checkTargets({
    ...(results.rate && { rate: results.rate }),
    ...(results.engine && { engine: results.engine.rows }),
    ...(results.e2e && { e2e: results.e2e }),
    ...(results.soak && { soak: results.soak }),
  });

  const sections = [headerMarkdown(head)];
  if (results.rate) sections.push(rateMarkdown(results.rate));
  if (results.engine) sections.push(engineMarkdown(results.engine.rows));
  if (results.tool) sections.push(toolMarkdown(results.tool));
  if (results.cpu) sections.push(`## The service's CPU per job\n\n${cpuMarkdown(results.cpu, { [ROOT]: 'this checkout', ...(before !== undefined && Object.fromEntries(results.cpu.options.trees.slice(1).map((t) => [t, before]))) })}`);
  if (results.e2e) sections.push(e2eMarkdown(results.e2e));
  if (results.soak) sections.push(soakMarkdown(results.soak));
  if (results.cost) sections.push(costMarkdown(results.cost));
  if (results.priority) sections.push(priorityMarkdown(results.priority));
  sections.push(targetsMarkdown(results.targets), `Total: ${results.durationS} s.`);
  process.stdout.write(`${sections.join('\n\n')}\n`);

  await mkdir(OUT_DIR, { recursive: true });
  const jsonFile = `${OUT_DIR}bench-${head.date.replace(/[:.]/g, '-')}.json`;
  await writeFile(jsonFile, `${JSON.stringify(results, null, 2)}\n`);
  log(`figures written to ${jsonFile}`);
  if (results.rate) {
    const series = results.rate.map((r) => ({ label: `${r.mpsPerBind} MPS × ${r.binds} bind${r.binds > 1 ? 's' : ''}`, values: r.perSecond.map((v) => v / r.allowedPerSecond) }));
    await writeFile(`${OUT_DIR}rate.svg`, rateChart(series, `Rate fidelity: accepted per second ÷ allowed (${head.date.slice(0, 10)}, ${profile.name})`));
    log(`chart written to ${OUT_DIR}rate.svg`);
  }
}

// Children (simulators, fauxqs, DynamoDB Local) are killed by their own exit hooks.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
