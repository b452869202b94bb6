/**
 * Priority lanes (docs/architecture.md §7.1): how long an urgent job waits behind a bulk backlog,
 * with lanes and without, measured side by side. Each run: one TX bind at 50 msg/s (the simulator,
 * in its own process, enforces the same limit and answers after 100 ms), a backlog of single-part
 * bulk jobs put on the outbound queue, then urgent jobs sent one every 200 ms. With lanes they go to
 * the priority queue; without, to the outbound queue behind the backlog (today's single lane). The
 * service and the producers run in this process; fauxqs and DynamoDB Local in another, as in e2e.ts.
 */
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../service/src/config.js';
import { createQueues } from '../../service/src/local/emulators.js';
import { silentLogger } from '../../service/src/logger.js';
import { startService, type RunningService } from '../../service/src/main.js';
import { sendSms } from '../../service/src/tools/client.js';
import { startStandIns, type StandIns } from './stand-ins.js';
import { startChild, type Child } from './children.js';
import { warmUpDynamoDb } from './floor.js';
import { readItemTimes, type ItemTimes } from './items.js';
import { pollUntil, sleep } from './load.js';
import type { BenchProfile } from './profile.js';
import { SIM_ACCOUNT, startSimProcess, type SimProcess } from './sim-process.js';
import { latencySummary, round } from './stats.js';

export interface PrioritySizes {
  /** Single-part bulk jobs queued before the first urgent one. */
  bulkJobs: number;
  urgentJobs: number;
  urgentEveryMs: number;
  /** MPS_PER_BIND of the one TX bind, and the simulator's limit per bind. */
  mps: number;
  /** Bare DynamoDB calls for this long first: DynamoDB Local is several times slower until warm. */
  warmupMs: number;
  /** No run lasts longer: one that has not finished then reports what it measured. */
  runCapMs: number;
}

/** `--quick` keeps the run near a minute: the run without lanes drains the whole backlog (1,000 / 50 per s). */
export const PRIORITY_SIZES: Readonly<Record<BenchProfile['name'], PrioritySizes>> = {
  quick: { bulkJobs: 1_000, urgentJobs: 25, urgentEveryMs: 200, mps: 50, warmupMs: 10_000, runCapMs: 120_000 },
  full: { bulkJobs: 10_000, urgentJobs: 50, urgentEveryMs: 200, mps: 50, warmupMs: 30_000, runCapMs: 400_000 },
};

type Percentiles = { p50: number | null; p95: number | null; p99: number | null; max: number | null };

export interface PriorityRun {
  name: string;
  lanes: boolean;
  bulkJobs: number;
  urgentJobs: number;
  /** Urgent jobs SUBMITTED by the end of the run. */
  urgentSubmitted: number;
  /** From the producer's send to SUBMITTED in the table. */
  urgentSendToSubmittedMs: Percentiles;
  /** Bulk jobs still unsubmitted when the last urgent job was sent. */
  bulkWaitingAtLastUrgent: number;
  /** Bulk jobs SUBMITTED per second from the first urgent send to the last urgent SUBMITTED: bulk's share meanwhile. */
  bulkPerSecondWhileUrgent: number | null;
  throttled: number;
  aborted: string | undefined;
}

export interface PriorityResult {
  sizes: PrioritySizes;
  runs: PriorityRun[];
  /** p50 and p99 without lanes ÷ with lanes. */
  p50Ratio: number | null;
  p99Ratio: number | null;
}

interface Stack {
  awsChild: Child;
  sim: SimProcess;
  admin: StandIns['admin'];
  env: Record<string, string>;
}

const TABLE = 'bench-priority';

export async function runPriority(profile: BenchProfile['name'], log: (line: string) => void): Promise<PriorityResult> {
  const sizes = PRIORITY_SIZES[profile];
  const stack = await startStack();
  try {
    const warm = await warmUpDynamoDb(TABLE, sizes.warmupMs);
    log(`priority DynamoDB Local warm-up: ${warm} calls`);
    const runs: PriorityRun[] = [];
    for (const lanes of [true, false]) {
      const run = await oneRun(stack, sizes, lanes);
      const u = run.urgentSendToSubmittedMs;
      log(`priority ${run.name}: urgent send→SUBMITTED p50 ${u.p50} ms, p99 ${u.p99} ms (${run.urgentSubmitted}/${run.urgentJobs})${run.aborted ? ` (aborted: ${run.aborted})` : ''}`);
      runs.push(run);
    }
    const [withLanes, without] = runs;
    const ratio = (a: number | null | undefined, b: number | null | undefined) => (a && b ? round(a / b, 1) : null);
    return {
      sizes,
      runs,
      p50Ratio: ratio(without?.urgentSendToSubmittedMs.p50, withLanes?.urgentSendToSubmittedMs.p50),
      p99Ratio: ratio(without?.urgentSendToSubmittedMs.p99, withLanes?.urgentSendToSubmittedMs.p99),
    };
  } finally {
    await stopStack(stack);
  }
}

async function startStack(): Promise<Stack> {
  const [awsChild, sim] = await Promise.all([startChild('test/bench/aws-child.ts'), startSimProcess()]);
  const { env, admin } = await startStandIns(awsChild, TABLE);
  return { awsChild, sim, admin, env };
}

async function stopStack(stack: Stack): Promise<void> {
  stack.admin.sqs.destroy();
  stack.admin.dynamodb.destroy();
  await Promise.allSettled([stack.sim.close(), stack.awsChild.call('stop', undefined, 15_000)]);
  await stack.awsChild.stop();
}

async function oneRun(stack: Stack, sizes: PrioritySizes, lanes: boolean): Promise<PriorityRun> {
  const id = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const name = lanes ? 'lanes (urgent on the priority queue)' : 'one lane (urgent on the outbound queue)';
  const { queueUrl } = await createQueues(stack.admin.sqs, `prio-${id}`);
  const priorityQueueUrl = lanes ? (await createQueues(stack.admin.sqs, `prio-${id}-urgent`)).queueUrl : undefined;
  const port = await stack.sim.start({ mps: sizes.mps, maxBinds: 2, responseDelayMs: 100 });
  const env: Record<string, string> = {
    ...stack.env,
    SMPP_HOST: '127.0.0.1',
    SMPP_PORT: String(port),
    SMPP_TLS: 'false',
    SMPP_SYSTEM_ID: SIM_ACCOUNT.systemId,
    SMPP_PASSWORD: SIM_ACCOUNT.password,
    TX_BINDS: '1',
    RX_BINDS: '1',
    MPS_PER_BIND: String(sizes.mps),
    WINDOW_SIZE: '10',
    OUTBOUND_QUEUE_URL: queueUrl,
    ...(priorityQueueUrl !== undefined && { OUTBOUND_PRIORITY_QUEUE_URL: priorityQueueUrl }),
    MESSAGES_TABLE: TABLE,
    HEALTH_PORT: '0',
    LOG_LEVEL: 'silent',
    SHUTDOWN_GRACE_MS: '5000',
  };
  const urgentIds = Array.from({ length: sizes.urgentJobs }, (_, i) => `u${id}-${i}`);
  const bulkPrefix = `b${id}`;
  let service: RunningService | undefined;
  try {
    service = await startService(loadConfig(env), { logger: silentLogger });
    const running = service;
    if (!(await pollUntil(() => running.smpp.readiness().tx === 1 && running.smpp.readiness().rx === 1, { everyMs: 20, deadline: Date.now() + 10_000 }))) {
      throw new Error(`${name}: binds not up`);
    }
    const deadline = Date.now() + sizes.runCapMs;
    // The backlog first, all of it on the queue before the first urgent job.
    await produceBulk(stack, queueUrl, bulkPrefix, sizes.bulkJobs);
    const urgentSentAt = await sendUrgent(stack, urgentIds, lanes ? { priority: true, priorityQueueUrl: priorityQueueUrl ?? '' } : { queueUrl }, sizes.urgentEveryMs);
    const bulkIds = Array.from({ length: sizes.bulkJobs }, (_, n) => `${bulkPrefix}-${n}`);
    const lastUrgentSent = Math.max(...urgentSentAt);
    let urgent = new Map<string, ItemTimes>();
    const done = await pollUntil(async () => {
      urgent = await readItemTimes(stack.admin.dynamodb, TABLE, urgentIds);
      return urgentIds.every((u) => submittedAt(urgent.get(u)) !== undefined);
    }, { everyMs: 250, deadline });
    const counters = await stack.sim.counters();
    await service.stop();
    service = undefined;

    const bulkItems = await readItemTimes(stack.admin.dynamodb, TABLE, bulkIds);
    const latencies = urgentIds.flatMap((u, i) => {
      const at = submittedAt(urgent.get(u));
      return at === undefined ? [] : [at - (urgentSentAt[i] ?? Number.NaN)];
    });
    const s = latencySummary(latencies);
    const firstUrgentSent = Math.min(...urgentSentAt);
    const lastUrgentSubmitted = Math.max(...urgentIds.map((u) => submittedAt(urgent.get(u)) ?? -Infinity));
    const bulkTimes = bulkIds.map((b) => submittedAt(bulkItems.get(b)));
    const windowS = (lastUrgentSubmitted - firstUrgentSent) / 1000;
    const inWindow = bulkTimes.filter((t) => t !== undefined && t >= firstUrgentSent && t <= lastUrgentSubmitted).length;
    return {
      name,
      lanes,
      bulkJobs: sizes.bulkJobs,
      urgentJobs: sizes.urgentJobs,
      urgentSubmitted: latencies.length,
      urgentSendToSubmittedMs: { p50: round(s.p50), p95: round(s.p95), p99: round(s.p99), max: round(s.max) },
      bulkWaitingAtLastUrgent: bulkTimes.filter((t) => t === undefined || t > lastUrgentSent).length,
      bulkPerSecondWhileUrgent: windowS > 0 ? round(inWindow / windowS, 1) : null,
      throttled: counters.throttled,
      aborted: done ? undefined : `urgent jobs not all SUBMITTED within ${sizes.runCapMs / 1000} s`,
    };
  } finally {
    await service?.stop();
  }
}

/**
 * Single-part jobs without receipts, batches of 10, four in flight. No receipts: what is measured is
 * the submit path, and DynamoDB Local (a few hundred writes a second at best) must not become the
 * limit in place of the bind.
 */
async function produceBulk(stack: Stack, queueUrl: string, prefix: string, count: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const from = next;
      next = Math.min(count, next + 10);
      const jobs = Array.from({ length: next - from }, (_, k) => ({
        id: `${prefix}-${from + k}`,
        to: `+659${String(from + k).padStart(7, '0')}1`,
        from: '8x8',
        text: 'Our summer sale starts today: 20% off everything until Sunday. Reply STOP to opt out.',
        receipt: false,
      }));
      await sendSms(jobs, { queueUrl, sqs: stack.admin.sqs });
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
}

/** Sends one urgent job every `everyMs` (on a schedule, not after each send); returns when each was sent, epoch ms. */
async function sendUrgent(stack: Stack, ids: string[], target: { priority: true; priorityQueueUrl: string } | { queueUrl: string }, everyMs: number): Promise<number[]> {
  const sentAt: number[] = [];
  const start = Date.now();
  for (const [i, id] of ids.entries()) {
    const wait = start + i * everyMs - Date.now();
    if (wait > 0) await sleep(wait);
    sentAt.push(Date.now());
    const job = { id, to: `+658${String(i).padStart(7, '0')}1`, from: '8x8', text: `Your code is ${100_000 + i}. It expires in 10 minutes.`, receipt: false };
    await sendSms(job, { ...target, sqs: stack.admin.sqs });
  }
  return sentAt;
}

function submittedAt(item: ItemTimes | undefined): number | undefined {
  return item === undefined ? undefined : (item.history['SUBMITTED'] ?? item.submittedAt);
}

const n = (v: number | null | undefined, digits = 0): string =>
  v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function priorityMarkdown(r: PriorityResult): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const head = ['run', 'bulk backlog', 'urgent jobs', 'urgent send→SUBMITTED p50 / p95 / p99 / max ms', 'bulk still waiting at the last urgent send', 'bulk SUBMITTED /s while urgent were sent', 'throttled'];
  return [
    `## Priority lanes (1 TX bind at ${r.sizes.mps} msg/s, 100 ms response delay; urgent jobs one every ${r.sizes.urgentEveryMs} ms after the backlog)`,
    '',
    line(head),
    line(head.map(() => '---')),
    ...r.runs.map((run) =>
      line([
        run.name,
        n(run.bulkJobs),
        run.aborted ? `${n(run.urgentSubmitted)} of ${n(run.urgentJobs)} (cut short: ${run.aborted})` : n(run.urgentJobs),
        `${n(run.urgentSendToSubmittedMs.p50)} / ${n(run.urgentSendToSubmittedMs.p95)} / ${n(run.urgentSendToSubmittedMs.p99)} / ${n(run.urgentSendToSubmittedMs.max)}`,
        n(run.bulkWaitingAtLastUrgent),
        n(run.bulkPerSecondWhileUrgent, 1),
        n(run.throttled),
      ]),
    ),
    '',
    `Without lanes ÷ with lanes: p50 ${n(r.p50Ratio, 1)}×, p99 ${n(r.p99Ratio, 1)}×. Latency runs from the producer's send to SUBMITTED in the table (receive, claim, the bind's next slot, the submit response, the record).`,
  ].join('\n');
}
