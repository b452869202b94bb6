/**
 * Scenario 3, end to end: producer → fauxqs → service → simulator → receipts → DynamoDB Local,
 * with the service in this process (startService, its SDK clients injected with call counters)
 * and everything else in other processes: fauxqs, DynamoDB Local (a JVM) and the producer under
 * one helper, the simulator under another. ONE DynamoDB Local and ONE table for the whole
 * scenario (docs/architecture.md §6: it slows down with every stream-enabled table in the JVM); runs use
 * distinct ids.
 */
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createSqsClient } from '../../service/src/aws/queue.js';
import { loadConfig } from '../../service/src/config.js';
import { createQueues } from '../../service/src/local/emulators.js';
import { silentLogger } from '../../service/src/logger.js';
import { startService, type RunningService } from '../../service/src/main.js';
import { startStandIns, type StandIns } from './stand-ins.js';
import { startChild, type Child } from './children.js';
import { runFloor, warmUpDynamoDb } from './floor.js';
import { readItemTimes } from './items.js';
import { benchJobs, partsOf, type JobMix } from './jobs.js';
import { pollUntil } from './load.js';
import type { BenchProfile } from './profile.js';
import { countCalls, perJob, sumCounts, type CallCounts } from '../support/sdk-counter.js';
import { SIM_ACCOUNT, startSimProcess, type SimProcess } from './sim-process.js';
import type { ProduceResult } from './aws-child.js';
import { latencySummary, round } from './stats.js';

export interface E2eRunSpec {
  name: string;
  txBinds: number;
  rxBinds: number;
  /** The service's MPS_PER_BIND. */
  mpsPerBind: number;
  /** The simulator's limit per bind; undefined = unlimited. */
  smscMps: number | undefined;
  windowSize: number;
  jobs: number;
  mix: JobMix;
  /** Run length cap, when not the profile's. */
  capMs?: number;
}

type Percentiles = { p50: number | null; p95: number | null; p99: number | null };

export interface E2eRun {
  spec: E2eRunSpec;
  parts: number;
  delivered: number;
  /** Jobs not DELIVERED when the run ended (deadline or failure). */
  notDelivered: number;
  elapsedS: number | null;
  jobsPerSecond: number | null;
  partsPerSecond: number | null;
  /** Parts per second ÷ what the TX binds may send (TX × MPS_PER_BIND): near 1, the pacer was the limit. */
  bindUse: number | null;
  latencyMs: {
    sendToSubmitted: Percentiles;
    sendToDelivered: Percentiles;
    /** From the claim (the SUBMITTING entry): the service's own share, without the queue wait. */
    claimToSubmitted: Percentiles;
    claimToDelivered: Percentiles;
  };
  calls: { serviceSqs: CallCounts; serviceDynamodb: CallCounts; producerSqs: CallCounts };
  callsPerJob: { serviceSqs: number | null; serviceDynamodb: number | null; service: number | null; producer: number | null; byCommand: CallCounts };
  /** Mean ms from send to result per command, waiting for a socket included. */
  callMeanMs: CallCounts;
  cpuMicrosPerJob: number | null;
  producerCpuMicrosPerJob: number | null;
  rssBeforeMb: number | null;
  peakRssMb: number | null;
  maxInFlight: number;
  throttled: number;
  /** Receipts the simulator sent again because the service answered after its 5 s deadline (or refused). */
  receiptRedeliveries: number;
  /** Why the run was cut short, when it was (the jobs not delivered by then are counted as such). */
  aborted: string | undefined;
  /** Largest heap of this process during the run, MB. */
  peakHeapMb: number | null;
}

/** One replay of the service's calls (see floor.ts). */
export interface FloorRun {
  jobs: number;
  done: number;
  failed: number;
  pollers: number;
  maxInProgress: number;
  /** Calls per job replayed, by command. */
  replayedPerJob: CallCounts;
  jobsPerSecond: number | null;
  floorCallsPerJob: CallCounts;
  floorCallMeanMs: CallCounts;
}

/**
 * The floor, replayed once before our run (with the calls per job the warm-up run made) and once
 * after it (with our run's own): DynamoDB Local keeps getting faster as its JIT warms, so a single
 * replay on one side would favour whichever came second.
 */
export interface FloorResult {
  before: FloorRun;
  after: FloorRun;
  /** Mean of the two. */
  jobsPerSecond: number | null;
  /** Our jobs/s (unlimited SMSC run) ÷ the floor's. */
  oursOverFloor: number | null;
}

export interface E2eResult {
  runs: E2eRun[];
  floor: FloorResult | undefined;
}

interface Stack {
  awsChild: Child;
  sim: SimProcess;
  admin: StandIns['admin'];
  table: string;
  env: Record<string, string>;
}

const TABLE = 'bench-messages';
/**
 * A run whose service heap passes this is stopped and reported as aborted: under overload the
 * service's queued work can grow until the process dies, taking the whole bench with it.
 */
const HEAP_LIMIT_BYTES = 1.5 * 2 ** 30;

/**
 * MPS_PER_BIND of the runs at an unlimited SMSC. The service keeps up to 2 s of bind capacity in
 * progress and paces each bind to this rate, so it must be above what the emulators absorb here
 * (~200-270 parts/s), or the pacer and not the emulators would be the limit (200 was, once the
 * store saved its extra reads). The overload run shows what a much higher setting does.
 */
const UNLIMITED_SMSC_MPS_SETTING = 400;
const OVERLOAD_MPS_SETTING = 1000;

export function e2eSpecs(profile: BenchProfile['e2e']): E2eRunSpec[] {
  const base = { txBinds: 1, rxBinds: 1, mpsPerBind: UNLIMITED_SMSC_MPS_SETTING, smscMps: undefined, windowSize: 10 };
  const specs: E2eRunSpec[] = [
    { ...base, name: 'unlimited SMSC, 1 TX + 1 RX', jobs: profile.jobs, mix: 'mixed' },
    { ...base, name: 'single-part jobs, 1 TX + 1 RX', jobs: profile.singlePartJobs, mix: 'single-part' },
    { name: '2 TX × 50 MPS + 2 RX', txBinds: 2, rxBinds: 2, mpsPerBind: 50, smscMps: 50, windowSize: 10, jobs: profile.limitedJobs, mix: 'mixed' },
  ];
  // Last: it can leave DynamoDB Local busy with the backlog for a while.
  if (profile.overloadJobs > 0) {
    specs.push({ ...base, mpsPerBind: OVERLOAD_MPS_SETTING, name: 'overload, 1 TX + 1 RX', jobs: profile.overloadJobs, mix: 'mixed', capMs: profile.overloadCapMs });
  }
  return specs;
}

export async function runE2e(profile: BenchProfile['e2e'], log: (line: string) => void): Promise<E2eResult> {
  const stack = await startStack();
  try {
    const runs: E2eRun[] = [];
    let floor: FloorResult | undefined;
    const warmCalls = await warmUpDynamoDb(stack.table, profile.warmupMs);
    log(`e2e DynamoDB Local warm-up: ${warmCalls} calls`);
    const specs = e2eSpecs(profile);
    const [first] = specs;
    if (!first) throw new Error('no e2e runs');
    // The same shape as the first run, so its calls per job can drive the floor replayed before it.
    const warm = await oneRun(stack, { ...first, name: 'warm-up', jobs: profile.warmupJobs }, profile.runCapMs);
    log(`e2e warm-up (not reported): ${warm.jobsPerSecond} jobs/s`);
    for (const [i, spec] of specs.entries()) {
      const before = i === 0 ? await floorRun(stack, spec, warm.callsPerJob.byCommand, profile) : undefined;
      const run = await oneRun(stack, spec, spec.capMs ?? profile.runCapMs);
      log(`e2e ${spec.name}: ${run.jobsPerSecond} jobs/s, ${run.callsPerJob.service} AWS calls/job, ${run.delivered}/${spec.jobs} delivered${run.aborted ? ` (aborted: ${run.aborted})` : ''}`);
      runs.push(run);
      if (before) {
        const after = await floorRun(stack, spec, run.callsPerJob.byCommand, profile);
        const jobsPerSecond = ((before.jobsPerSecond ?? NaN) + (after.jobsPerSecond ?? NaN)) / 2;
        floor = { before, after, jobsPerSecond: round(jobsPerSecond, 1), oursOverFloor: round((run.jobsPerSecond ?? NaN) / jobsPerSecond, 3) };
        log(`e2e floor: ${before.jobsPerSecond} before, ${after.jobsPerSecond} after (ours ÷ floor ${floor.oursOverFloor})`);
      }
    }
    return { runs, floor };
  } finally {
    await stopStack(stack);
  }
}

async function startStack(): Promise<Stack> {
  const [awsChild, sim] = await Promise.all([startChild('test/bench/aws-child.ts'), startSimProcess()]);
  const { env, admin } = await startStandIns(awsChild, TABLE);
  return { awsChild, sim, admin, table: TABLE, env };
}

async function stopStack(stack: Stack): Promise<void> {
  stack.admin.sqs.destroy();
  stack.admin.dynamodb.destroy();
  await Promise.allSettled([stack.sim.close(), stack.awsChild.call('stop', undefined, 15_000)]);
  await stack.awsChild.stop();
}

/**
 * A full collection before each run, so "RSS before" and the heap guard see this run's memory,
 * not the previous run's garbage. `npm run bench` cannot pass --expose-gc, so it is set here.
 */
function collectGarbage(): void {
  setFlagsFromString('--expose_gc');
  (runInNewContext('gc') as () => void)();
}

const runId = (): string => `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;

function serviceEnv(stack: Stack, port: number, queueUrl: string, spec: E2eRunSpec): Record<string, string> {
  return {
    ...stack.env,
    SMPP_HOST: '127.0.0.1',
    SMPP_PORT: String(port),
    SMPP_TLS: 'false',
    SMPP_SYSTEM_ID: SIM_ACCOUNT.systemId,
    SMPP_PASSWORD: SIM_ACCOUNT.password,
    TX_BINDS: String(spec.txBinds),
    RX_BINDS: String(spec.rxBinds),
    MPS_PER_BIND: String(spec.mpsPerBind),
    WINDOW_SIZE: String(spec.windowSize),
    RESPONSE_TIMEOUT_MS: '10000',
    ENQUIRE_LINK_INTERVAL_MS: '30000',
    OUTBOUND_QUEUE_URL: queueUrl,
    MESSAGES_TABLE: stack.table,
    HEALTH_PORT: '0',
    LOG_LEVEL: 'silent',
    SHUTDOWN_GRACE_MS: '5000',
  };
}

async function oneRun(stack: Stack, spec: E2eRunSpec, capMs: number): Promise<E2eRun> {
  const id = runId();
  const jobs = benchJobs(`b${id}`, spec.jobs, spec.mix);
  const parts = jobs.reduce((n, j) => n + partsOf(j), 0);
  const { queueUrl } = await createQueues(stack.admin.sqs, `bench-${id}`);
  const port = await stack.sim.start({ mps: spec.smscMps ?? 10_000_000, maxBinds: spec.txBinds + spec.rxBinds });

  const sqs = createSqsClient();
  const dynamodb = new DynamoDBClient({});
  const sqsCalls = countCalls(sqs);
  const ddbCalls = countCalls(dynamodb);
  let service: RunningService | undefined;
  try {
    service = await startService(loadConfig(serviceEnv(stack, port, queueUrl, spec)), { logger: silentLogger, clients: { sqs, dynamodb } });
    const running = service;
    const allBound = await pollUntil(() => {
      const r = running.smpp.readiness();
      return r.tx === spec.txBinds && r.rx === spec.rxBinds;
    }, { everyMs: 20, deadline: Date.now() + 10_000 });
    if (!allBound) throw new Error(`${spec.name}: binds not up: ${JSON.stringify(running.smpp.readiness())}`);

    collectGarbage();
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    let peakHeap = 0;
    let maxInFlight = 0;
    let aborted: string | undefined;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakHeap = Math.max(peakHeap, m.heapUsed);
      maxInFlight = Math.max(maxInFlight, running.outbound.inFlight);
    }, 250);
    const cpu = process.cpuUsage();
    const deadline = Date.now() + capMs;
    const produced = stack.awsChild.call<ProduceResult>('produce', { queueUrl, prefix: `b${id}`, count: spec.jobs, mix: spec.mix, concurrency: 4 }, deadline - Date.now());
    let production: ProduceResult | undefined;
    void produced.then((p) => (production = p), () => undefined);
    // Done when every part's receipt was acknowledged (the service acknowledges only after storing
    // it) and no job is still being handled (its SQS delete included).
    const finished = await pollUntil(async () => {
      if (peakHeap > HEAP_LIMIT_BYTES) {
        aborted = `heap above ${HEAP_LIMIT_BYTES / 2 ** 30} GB`;
        return true;
      }
      if (!production) return false;
      const c = await stack.sim.counters();
      return c.receiptsAcked >= parts && running.outbound.inFlight === 0;
    }, { everyMs: 200, deadline });
    if (!finished) aborted = `not finished within ${capMs / 1000} s`;
    const used = process.cpuUsage(cpu);
    clearInterval(sampler);
    const producer = production ?? (aborted ? await produced.catch(() => emptyProduction(spec.jobs)) : await produced);
    const end = await stack.sim.counters();
    await service.stop();
    service = undefined;

    const items = await readItemTimes(stack.admin.dynamodb, stack.table, jobs.map((j) => j.id));
    return summarise(spec, {
      jobIds: jobs.map((j) => j.id),
      parts,
      producer,
      items,
      cpuMicros: used.user + used.system,
      rssBefore,
      peakRss,
      peakHeap,
      aborted,
      maxInFlight,
      throttled: end.throttled,
      receiptRedeliveries: end.receiptsSent - end.receiptsAcked,
      calls: { sqs: sqsCalls.snapshot(), dynamodb: ddbCalls.snapshot() },
      callMeanMs: { ...sqsCalls.meanMs(), ...ddbCalls.meanMs() },
    });
  } finally {
    await service?.stop();
    sqs.destroy();
    dynamodb.destroy();
  }
}

/** What a producer that could not finish reports: nothing sent (its jobs count as not delivered). */
function emptyProduction(jobs: number): ProduceResult {
  return { sentAt: new Array<number>(jobs).fill(Number.NaN), calls: {}, cpuMicros: 0 };
}

interface RawRun {
  jobIds: string[];
  parts: number;
  producer: ProduceResult;
  items: Awaited<ReturnType<typeof readItemTimes>>;
  cpuMicros: number;
  rssBefore: number;
  peakRss: number;
  peakHeap: number;
  aborted: string | undefined;
  maxInFlight: number;
  throttled: number;
  receiptRedeliveries: number;
  calls: { sqs: CallCounts; dynamodb: CallCounts };
  callMeanMs: CallCounts;
}

function summarise(spec: E2eRunSpec, raw: RawRun): E2eRun {
  const lat = { sendToSubmitted: [] as number[], sendToDelivered: [] as number[], claimToSubmitted: [] as number[], claimToDelivered: [] as number[] };
  let delivered = 0;
  let firstSend = Infinity;
  let lastDelivered = -Infinity;
  raw.jobIds.forEach((id, i) => {
    const sent = raw.producer.sentAt[i] ?? Number.NaN;
    if (Number.isFinite(sent)) firstSend = Math.min(firstSend, sent);
    const item = raw.items.get(id);
    if (!item) return;
    const claimed = item.history['SUBMITTING'];
    // A receipt that overtook the submit response is applied with it: such a job may go straight to DELIVERED.
    const submitted = item.history['SUBMITTED'] ?? item.submittedAt;
    const done = item.history['DELIVERED'];
    if (submitted !== undefined) {
      lat.sendToSubmitted.push(submitted - sent);
      if (claimed !== undefined) lat.claimToSubmitted.push(submitted - claimed);
    }
    if (item.status === 'DELIVERED' && done !== undefined) {
      delivered += 1;
      lastDelivered = Math.max(lastDelivered, done);
      lat.sendToDelivered.push(done - sent);
      if (claimed !== undefined) lat.claimToDelivered.push(done - claimed);
    }
  });
  const elapsedS = (lastDelivered - firstSend) / 1000;
  const jobs = spec.jobs;
  const pct = (values: number[]): Percentiles => {
    const s = latencySummary(values);
    return { p50: round(s.p50), p95: round(s.p95), p99: round(s.p99) };
  };
  const serviceSqs = sumCounts(raw.calls.sqs);
  const serviceDynamodb = sumCounts(raw.calls.dynamodb);
  const partsPerSecond = raw.parts / elapsedS;
  return {
    spec,
    parts: raw.parts,
    delivered,
    notDelivered: jobs - delivered,
    elapsedS: round(elapsedS, 2),
    jobsPerSecond: round(delivered / elapsedS, 1),
    partsPerSecond: round(partsPerSecond, 1),
    bindUse: round(partsPerSecond / (spec.txBinds * spec.mpsPerBind), 3),
    latencyMs: {
      sendToSubmitted: pct(lat.sendToSubmitted),
      sendToDelivered: pct(lat.sendToDelivered),
      claimToSubmitted: pct(lat.claimToSubmitted),
      claimToDelivered: pct(lat.claimToDelivered),
    },
    calls: { serviceSqs: raw.calls.sqs, serviceDynamodb: raw.calls.dynamodb, producerSqs: raw.producer.calls },
    callsPerJob: {
      serviceSqs: round(serviceSqs / jobs, 2),
      serviceDynamodb: round(serviceDynamodb / jobs, 2),
      service: round((serviceSqs + serviceDynamodb) / jobs, 2),
      producer: round(sumCounts(raw.producer.calls) / jobs, 2),
      byCommand: perJob({ ...raw.calls.sqs, ...raw.calls.dynamodb }, jobs),
    },
    callMeanMs: raw.callMeanMs,
    cpuMicrosPerJob: round(raw.cpuMicros / jobs),
    producerCpuMicrosPerJob: round(raw.producer.cpuMicros / jobs),
    rssBeforeMb: round(raw.rssBefore / 2 ** 20, 1),
    peakRssMb: round(raw.peakRss / 2 ** 20, 1),
    maxInFlight: raw.maxInFlight,
    throttled: raw.throttled,
    receiptRedeliveries: raw.receiptRedeliveries,
    aborted: raw.aborted,
    peakHeapMb: round(raw.peakHeap / 2 ** 20, 1),
  };
}

/** `perJob` calls replayed for floorJobs / 2 jobs, with the concurrency the service has under `spec`. */
async function floorRun(stack: Stack, spec: E2eRunSpec, perJobCalls: CallCounts, profile: BenchProfile['e2e']): Promise<FloorRun> {
  // The same bounds as OutboundPipeline: jobs in progress ≤ 2 s of bind capacity, ≤ 10 pollers.
  const maxInProgress = Math.max(10, Math.ceil(spec.txBinds * spec.mpsPerBind * 2));
  const pollers = Math.min(10, Math.max(1, Math.ceil(maxInProgress / 50)));
  const id = runId();
  const { queueUrl } = await createQueues(stack.admin.sqs, `floor-${id}`);
  const jobs = Math.max(1, Math.round(profile.floorJobs / 2));
  const deadline = Date.now() + profile.runCapMs;
  const produced = stack.awsChild.call<ProduceResult>('produce', { queueUrl, prefix: `f${id}`, count: jobs, mix: spec.mix, concurrency: 4 }, deadline - Date.now());
  const outcome = await runFloor({ table: stack.table, queueUrl, jobs, perJob: perJobCalls, pollers, maxInProgress, deadline });
  const producer = await produced;
  // Timed as the service's run: from the first send to the last job done.
  const firstSend = producer.sentAt.reduce((a, b) => Math.min(a, b), Infinity);
  return {
    jobs,
    done: outcome.done,
    failed: outcome.failed,
    pollers,
    maxInProgress,
    replayedPerJob: perJobCalls,
    jobsPerSecond: round(outcome.done / ((outcome.lastDoneAt - firstSend) / 1000), 1),
    floorCallsPerJob: perJob({ ...outcome.calls.sqs, ...outcome.calls.dynamodb }, jobs),
    floorCallMeanMs: outcome.callMeanMs,
  };
}
