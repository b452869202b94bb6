/**
 * The service's own CPU per job (issue 14, "lean process"): the service in a process of its own
 * (cpu-child.ts), fauxqs + DynamoDB Local + the producer in another (aws-child.ts), the simulator
 * in a third (sim-child.ts). The e2e scenario's cpuMicrosPerJob is the bench process's, which also
 * holds the bench's own polling and the SDK call counters; this one is the service's alone.
 *
 * Each round: per source tree (--trees; one by default) a fresh queue, simulator process and service
 * process, its idle CPU rate measured while bound with nothing queued, then a window of N single-part
 * jobs with receipts (produced at once, paced by MPS_PER_BIND), closed when every receipt is
 * acknowledged and nothing is in hand. Reported: (window CPU − idle rate × window length) ÷ N. The
 * trees run side by side in the same window on the same DynamoDB Local and fauxqs, so before and
 * after see the same machine load (this machine is shared: CPU time per job drifts by ±20% between
 * rounds, far more than between trees in one round).
 *
 *   npx tsx test/bench/cpu.ts [--jobs 1500] [--rounds 3] [--mps 150] [--tls]
 *     [--trees /work/main,/tmp/before] [--profile /tmp/cpu.cpuprofile] [--own-core] [--receipt-delay 1000]
 *
 * A tree may carry its own rate, `<path>@<mps>` (e.g. `--trees .@50,.@300`): the same code at two
 * rates in the same windows, for how the CPU per job falls as batches fill. Settings of its own follow
 * `+` (e.g. `.+STORE_LINGER_MS=100`): the same code with two settings side by side.
 *
 * `npm run bench -- --only cpu [--before <rev>]` runs it too (runCpu), this checkout beside a
 * worktree of <rev> (cost-before.ts) when given.
 *
 * --profile samples the window of one extra round with the V8 profiler and writes one profile per
 * tree (<path>.0, <path>.1, …); cpu-attribute.ts sums one by category.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createQueues } from '../../service/src/local/emulators.js';
import type { ProduceResult } from './aws-child.js';
import { startStandIns } from './stand-ins.js';
import { startChild, type Child } from './children.js';
import type { CpuWindow } from './cpu-child.js';
import { warmUpDynamoDb } from './floor.js';
import { pollUntil } from './load.js';
import type { SimCounters, SimSettings } from './sim-child.js';
import { SIM_ACCOUNT } from './sim-process.js';

/** What a CPU run does: rounds of `jobs` single-part jobs per tree, all trees in the same window. */
export interface CpuOptions {
  jobs: number;
  rounds: number;
  /** MPS_PER_BIND of each service (one TX bind each). */
  mps: number;
  tls: boolean;
  /** Checkouts whose service runs (their test/bench/cpu-child.ts), each `path` or `path@mps`; the first is "after" in ratios. */
  trees: string[];
  /** Jobs of the unreported warm-up round. */
  warmup: number;
  /** How long after its submit_sm_resp the simulator sends a part's receipt (1 s by default). */
  receiptDelayMs?: number;
  /** Where to write one more round's V8 profile per tree (`<path>.<n>`). */
  profile?: string;
  /**
   * Pins each service to CPU 0 and everything else (this bench, the stand-ins, the simulators) to the
   * last CPU, as on Fargate, where the task's vCPU is not shared with DynamoDB, SQS or the SMSC.
   */
  ownCore?: boolean;
}

export interface CpuResult {
  options: CpuOptions;
  rounds: Round[];
  /** Per tree: the median µs per job over the rounds. */
  medians: Record<string, number>;
  /** trees[0] ÷ trees[1]: of the medians, and per round (each pair ran in the same window). */
  ratio?: { ofMedians: number; paired: number[] };
}

const IDLE_MS = 2_000;
const TABLE = 'cpu-messages';

/** Every thread of `pid` on CPU `cpu` only (Linux `taskset`). */
function pin(pid: number, cpu: number): void {
  execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}

/** `<path>[@<mps>][+KEY=VALUE…]`: a checkout, its rate and settings of its own. */
export function treeSpec(spec: string): { tree: string; rate: string | undefined; env: Record<string, string> } {
  const [head = spec, ...settings] = spec.split('+');
  const [tree = head, rate] = head.split('@');
  const env: Record<string, string> = {};
  for (const setting of settings) {
    const at = setting.indexOf('=');
    if (at < 1) throw new Error(`a tree's setting is KEY=VALUE, got ${setting} in ${spec}`);
    env[setting.slice(0, at)] = setting.slice(at + 1);
  }
  return { tree, rate, env };
}

export interface Round {
  tree: string;
  jobs: number;
  windowMs: number;
  cpuMicros: number;
  /** Share of the window's CPU spent in the kernel. */
  systemShare: number;
  idleMicrosPerS: number;
  /** Times per job the event loop slept and was woken, beyond its idle rate. */
  sleepsPerJob?: number;
  /** Times per second the event loop slept and was woken while idle (bound, nothing queued). */
  idleSleepsPerS?: number;
  microsPerJob: number;
  callsPerJob: Record<string, number>;
}

const runId = (): string => `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const caFile = join(tmpdir(), `bench-cpu-ca-${process.pid}.pem`);

export async function runCpu(o: CpuOptions, log: (line: string) => void): Promise<CpuResult> {
  const TREES = o.trees;
  // Before any helper starts: they inherit this process's CPU.
  if (o.ownCore) pin(process.pid, cpus().length - 1);
  // One simulator process per tree: each service gets its own SMSC, so no receipt crosses over.
  const [aws, ...sims] = await Promise.all([startChild('test/bench/aws-child.ts'), ...TREES.map(() => startChild('test/bench/sim-child.ts'))]);
  if (!aws) throw new Error('no aws child');
  try {
    const { env: awsEnv, admin } = await startStandIns(aws, TABLE);
    await warmUpDynamoDb(TABLE, 10_000);
    // One unreported round warms the stand-ins (and the simulators' JIT).
    await oneRound(o.warmup);
    const rounds: Round[] = [];
    for (let r = 0; r < o.rounds; r++) {
      for (const round of await oneRound(o.jobs)) {
        rounds.push(round);
        log(`cpu ${round.tree}: ${round.microsPerJob.toFixed(0)} µs/job (window ${round.windowMs.toFixed(0)} ms, ${round.cpuMicros} µs CPU, ${(100 * round.systemShare).toFixed(0)}% system, idle ${round.idleMicrosPerS.toFixed(0)} µs/s${round.idleSleepsPerS === undefined ? '' : ` in ${round.idleSleepsPerS.toFixed(0)} wake-ups/s`}${round.sleepsPerJob === undefined ? '' : `, ${round.sleepsPerJob.toFixed(1)} wake-ups/job`}) calls/job ${JSON.stringify(round.callsPerJob)}`);
      }
    }
    if (o.profile !== undefined) {
      await oneRound(o.jobs, o.profile);
      log(`cpu: profile of one more round written to ${o.profile} (tree n: ${o.profile}.n)`);
    }
    admin.sqs.destroy();
    admin.dynamodb.destroy();
    return { options: o, ...summarise(o, rounds) };

    /** Every tree at once, each with its own queue and simulator, on the same DynamoDB Local and fauxqs: the same load on each. */
    async function oneRound(jobs: number, profile?: string): Promise<Round[]> {
      const tasks: Child[] = [];
      try {
        const setups = await Promise.all(
          TREES.map(async (spec, n) => {
            const { tree, rate, env: extra } = treeSpec(spec);
            const sim = sims[n];
            if (!sim) throw new Error('no simulator');
            const id = runId();
            const { queueUrl } = await createQueues(admin.sqs, `cpu-${id}`);
            const started = await sim.call<{ port: number; tlsPort?: number; caPem?: string }>('start', {
              mps: 10_000_000,
              maxBinds: 2,
              responseDelayMs: 0,
              // A receipt a second after its submit, as the cost scenario has it: one that overtakes the
              // record of its submit (receipts from a real SMSC take seconds) is parked, and that path
              // is not what a job usually costs.
              receiptDelayMs: o.receiptDelayMs ?? 1_000,
              seed: Math.floor(Math.random() * 2 ** 31),
              recordAcceptances: false,
              tls: o.tls,
            } satisfies SimSettings);
            if (o.tls) await writeFile(`${caFile}.${n}`, started.caPem ?? '');
            const env: Record<string, string> = {
              ...awsEnv,
              SMPP_HOST: '127.0.0.1',
              SMPP_PORT: String(o.tls ? started.tlsPort : started.port),
              SMPP_TLS: String(o.tls),
              ...(o.tls && { SMPP_CA_FILE: `${caFile}.${n}` }),
              SMPP_SYSTEM_ID: SIM_ACCOUNT.systemId,
              SMPP_PASSWORD: SIM_ACCOUNT.password,
              TX_BINDS: '1',
              RX_BINDS: '1',
              MPS_PER_BIND: rate ?? String(o.mps),
              WINDOW_SIZE: '10',
              OUTBOUND_QUEUE_URL: queueUrl,
              MESSAGES_TABLE: TABLE,
              HEALTH_PORT: '0',
              LOG_LEVEL: 'info',
              SHUTDOWN_GRACE_MS: '5000',
              // The bind slots are leased in the shared table: room for every tree's two binds.
              ACCOUNT_BINDS: String(2 * TREES.length),
              ...extra,
            };
            const task = await startChild(join(tree, 'test/bench/cpu-child.ts'));
            tasks.push(task);
            if (o.ownCore) pin(task.pid, 0);
            await task.call('start', env, 60_000);
            const bound = await pollUntil(async () => {
              const st = await task.call<{ tx: number; rx: number }>('status');
              return st.tx === 1 && st.rx === 1;
            }, { everyMs: 50, deadline: Date.now() + 30_000 });
            if (!bound) throw new Error(`${spec}: binds not up`);
            return { tree: spec, n, sim, task, queueUrl, id };
          }),
        );
        const idles = await Promise.all(setups.map((x) => x.task.call<CpuWindow>('idle', IDLE_MS, IDLE_MS + 10_000)));
        const ackedBefore = await Promise.all(setups.map(async (x) => (await x.sim.call<SimCounters>('counters')).receiptsAcked));
        await Promise.all(setups.map((x) => x.task.call('begin', profile === undefined ? undefined : `${profile}.${x.n}`)));
        const windows = await Promise.all(
          setups.map(async (x) => {
            const produced = aws.call<ProduceResult>('produce', { queueUrl: x.queueUrl, prefix: `c${x.id}`, count: jobs, mix: 'single-part', concurrency: 2 }, 120_000);
            let production: ProduceResult | undefined;
            void produced.then((p) => (production = p), () => undefined);
            const done = await pollUntil(async () => {
              if (!production) return false;
              const c = await x.sim.call<SimCounters>('counters');
              const st = await x.task.call<{ inFlight: number }>('status');
              return c.receiptsAcked - (ackedBefore[x.n] ?? 0) >= jobs && st.inFlight === 0;
            }, { everyMs: 100, deadline: Date.now() + 180_000 });
            const window = await x.task.call<CpuWindow>('end');
            if (!done) throw new Error(`${x.tree}: round not finished in time`);
            return window;
          }),
        );
        return setups.map((x) => {
          const idle = idles[x.n];
          const window = windows[x.n];
          if (!idle || !window) throw new Error('missing window');
          const idleMicrosPerS = idle.cpuMicros / (idle.wallMs / 1000);
          const microsPerJob = (window.cpuMicros - idleMicrosPerS * (window.wallMs / 1000)) / jobs;
          const callsPerJob = Object.fromEntries(Object.entries(window.calls).map(([k, c]) => [k.replace(/^.*\./, ''), Math.round((100 * c) / jobs) / 100]));
          // Wake-ups beyond the idle rate's (a tree without the count reports none).
          const sleepsPerJob = window.sleeps === undefined || idle.sleeps === undefined ? undefined : (window.sleeps - (idle.sleeps / idle.wallMs) * window.wallMs) / jobs;
          return {
            tree: x.tree,
            jobs,
            windowMs: window.wallMs,
            cpuMicros: window.cpuMicros,
            systemShare: window.systemMicros / window.cpuMicros,
            idleMicrosPerS,
            microsPerJob,
            callsPerJob,
            ...(sleepsPerJob !== undefined && { sleepsPerJob }),
            ...(idle.sleeps !== undefined && { idleSleepsPerS: idle.sleeps / (idle.wallMs / 1000) }),
          };
        });
      } finally {
        await Promise.all(
          tasks.map(async (task) => {
            await task.call('stop', undefined, 20_000).catch(() => undefined);
            await task.stop();
          }),
        );
      }
    }
  } finally {
    await Promise.allSettled([...sims.map((sim) => sim.call('stop', undefined, 10_000)), aws.call('stop', undefined, 15_000)]);
    await Promise.allSettled([aws.stop(), ...sims.map((sim) => sim.stop())]);
    await Promise.all(TREES.map((_, n) => rm(`${caFile}.${n}`, { force: true })));
  }
}

/** Medians per tree and, for two trees, their ratio: of the medians and paired by round. */
export function summarise(o: Pick<CpuOptions, 'trees'>, rounds: Round[]): Omit<CpuResult, 'options'> {
  const by = new Map<string, number[]>();
  for (const r of rounds) by.set(r.tree, [...(by.get(r.tree) ?? []), r.microsPerJob]);
  const medians: Record<string, number> = {};
  for (const [tree, v] of by) {
    const s = [...v].sort((a, b) => a - b);
    medians[tree] = s.length % 2 ? (s[(s.length - 1) / 2] ?? NaN) : ((s[s.length / 2 - 1] ?? NaN) + (s[s.length / 2] ?? NaN)) / 2;
  }
  const [a, b] = o.trees;
  if (a === undefined || b === undefined) return { rounds, medians };
  // Paired by round: each pair ran in the same window on the same stand-ins.
  const pb = by.get(b) ?? [];
  const paired = (by.get(a) ?? []).map((x, i) => x / (pb[i] ?? NaN));
  return { rounds, medians, ratio: { ofMedians: (medians[a] ?? NaN) / (medians[b] ?? NaN), paired } };
}

/** The CPU table: µs per job per tree, rounds, and the ratio. */
export function cpuMarkdown(r: CpuResult, labels: Record<string, string> = {}): string {
  const name = (tree: string): string => labels[tree] ?? tree;
  const lines = ['| tree | median µs CPU per job | rounds (µs per job) | wake-ups per job (rounds) | AWS requests per job (last round) |', '| --- | --- | --- | --- | --- |'];
  for (const tree of r.options.trees) {
    const own = r.rounds.filter((x) => x.tree === tree);
    const calls = own.at(-1)?.callsPerJob ?? {};
    const wakeUps = own.map((x) => (x.sleepsPerJob === undefined ? '–' : x.sleepsPerJob.toFixed(1))).join(', ');
    lines.push(`| ${name(tree)} | ${Math.round(r.medians[tree] ?? NaN)} | ${own.map((x) => Math.round(x.microsPerJob)).join(', ')} | ${wakeUps} | ${Object.entries(calls).map(([k, v]) => `${k} ${v}`).join(' · ')} |`);
  }
  if (r.ratio) lines.push('', `${name(r.options.trees[0] ?? '')} ÷ ${name(r.options.trees[1] ?? '')}: ${r.ratio.ofMedians.toFixed(3)} of the medians; per round ${r.ratio.paired.map((x) => x.toFixed(3)).join(', ')}.`);
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values: args } = parseArgs({
    options: {
      jobs: { type: 'string', default: '1500' },
      rounds: { type: 'string', default: '3' },
      mps: { type: 'string', default: '150' },
      tls: { type: 'boolean', default: false },
      trees: { type: 'string', default: resolve('.') },
      profile: { type: 'string' },
      warmup: { type: 'string', default: '500' },
      'receipt-delay': { type: 'string', default: '1000' },
      'own-core': { type: 'boolean', default: false },
    },
  });
  const options: CpuOptions = {
    jobs: Number(args.jobs),
    rounds: Number(args.rounds),
    mps: Number(args.mps),
    tls: args.tls,
    // The path made absolute; its rate and settings as given.
    trees: args.trees.split(',').map((t) => t.replace(/^[^@+]*/, (path) => resolve(path))),
    warmup: Number(args.warmup),
    receiptDelayMs: Number(args['receipt-delay']),
    ...(args.profile !== undefined && { profile: args.profile }),
    ownCore: args['own-core'],
  };
  const result = await runCpu(options, (line) => console.log(line));
  console.log(cpuMarkdown(result));
}
