/**
 * Scenario 5, cost per message (issue 14; README "Cost per million messages"): the default
 * deployment, two tasks of 1 TX + 1 RX at 50 msg/s each, each in a process of its own
 * (cost-child.ts), over TLS through a counting proxy (cost-link.ts) to the simulator, against
 * fauxqs and DynamoDB Local. One run per message type, with and without receipts, each on a fresh
 * table whose stream is read back after the run: its images give every write's billed units (with
 * the calls recorded in the tasks, cost-bill.ts), the MESSAGE item's size after each write, the
 * records the stream publisher would get and the events the real handler would put. Prices and
 * the deployment are in prices.ts; every dollar figure is a counted unit times a price.
 */
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteTableCommand, DescribeTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand, type _Record } from '@aws-sdk/client-dynamodb-streams';
import { createSqsClient } from '../../service/src/aws/queue.js';
import { createMessagesTable, createQueues, localAwsEnv, type LocalAwsEndpoints } from '../../service/src/local/emulators.js';
import type { ProduceResult } from './aws-child.js';
import { startChild, type Child } from './children.js';
import { prepareBefore, type BeforeTree } from './cost-before.js';
import type { TaskStatus, TaskWindow } from './cost-child.js';
import { billCalls, type DdbBill, type DdbCall, type StreamRec } from './cost-bill.js';
import { startCountingLink, type LinkCounts } from './cost-link.js';
import { priceMessage, type Priced, type UnitsPerMessage } from './cost-price.js';
import { FINAL_STATUSES, publishing, type PublisherUnits } from './cost-publish.js';
import { indexEntryBytes, itemSize, type Image, type IndexDef } from './ddb-units.js';
import { partsOf, benchJob, type JobMix } from './jobs.js';
import { warmUpDynamoDb } from './floor.js';
import { pollUntil, sleep } from './load.js';
import { ASSUMPTIONS, DEPLOYMENT, PRICES } from './prices.js';
import type { BenchProfile } from './profile.js';
import type { SimCounters, SimSettings } from './sim-child.js';
import { SIM_ACCOUNT } from './sim-process.js';
import { percentile, round } from './stats.js';

export interface CostSpec {
  /** Key in the JSON and column of the tables. */
  key: string;
  label: string;
  mix: JobMix;
  jobs: number;
  receipts: boolean;
}

export function costSpecs(profile: BenchProfile['cost']): CostSpec[] {
  const kinds = [
    { kind: 'gsm7', label: 'GSM-7, 1 part', jobs: profile.jobs },
    { kind: 'gsm7-3part', label: 'GSM-7, 3 parts', jobs: profile.multipartJobs },
    { kind: 'ucs2', label: 'UCS-2, 1 part', jobs: profile.jobs },
  ] as const;
  return kinds.flatMap((k) => [
    { key: k.kind, label: `${k.label}, receipt`, mix: k.kind, jobs: k.jobs, receipts: true },
    { key: `${k.kind}-no-receipt`, label: `${k.label}, no receipt`, mix: `${k.kind}-no-receipt` as const, jobs: k.jobs, receipts: false },
  ]);
}

/** Bytes of the MESSAGE item after its n-th write, over the run's messages. */
export interface ItemStep {
  write: number;
  /** The status most messages had after this write. */
  status: string;
  messages: number;
  bytes: { min: number; median: number; max: number };
}

export interface CostRun {
  spec: CostSpec;
  parts: number;
  /** Jobs whose item ended DELIVERED (receipts) or SUBMITTED (none). */
  done: number;
  aborted: string | undefined;
  windowS: number;
  /** Parts accepted per second over the window ÷ what the deployment may send: near 1, the binds were the limit. */
  bindUse: number | null;
  receiptRedeliveries: number;
  /** Mean time of a consistent GetItem on DynamoDB Local just before the run: how loaded the stand-in was. */
  dynamoDbLocalMs: number | null;
  units: UnitsPerMessage;
  priced: Priced;
  /**
   * The same run priced as if cdk.json had `publishStatuses` = the final statuses only: the
   * publisher's units recounted over the records that filter lets through (the rest as `units`).
   */
  publishFinal: { statuses: readonly string[]; units: PublisherUnits; priced: Priced };
  /** Per message, beside the units. */
  detail: {
    dynamodbCalls: Record<string, number>;
    indexWriteUnits: Record<string, number>;
    refusedWrites: number;
    sqsRequests: { service: Record<string, number>; producer: number };
    streamRecords: number;
    putEventsCalls: number;
    smpp: LinkCounts;
  };
  /** DynamoDB Local's own ConsumedCapacity for the calls it returned one for, against ours for the same calls (1 = agree). */
  crossCheck: Record<string, { calls: number; reported: number; ours: number; ratio: number | null }>;
  /** Pairing of writes with stream records: writes that timed out (and how many the stream shows applied), and what did not pair up. */
  matching: { unknownWrites: number; unknownApplied: number; unmatchedWrites: number; unmatchedRecords: number };
  messageItem: { steps: ItemStep[]; final: { min: number; median: number; max: number } };
  /**
   * CPU of the tasks' processes on this machine: per job over the window less their idle rate
   * (measured just before it), the window's own total per job, the idle rate, and what a task of
   * DEPLOYMENT.taskVcpu would use at the full rate (idle + per job × jobs/s).
   */
  cpu: { msPerJob: number | null; windowMsPerJob: number | null; idleMsPerTaskSecond: number | null; taskShareAtFullRate: number | null };
  peakRssMb: number[];
  /** The tasks' log lines in the window by level and message (40 = warn, 50 = error). */
  logMessages: Record<string, number>;
}

export interface CostResult {
  prices: typeof PRICES;
  deployment: typeof DEPLOYMENT;
  assumptions: typeof ASSUMPTIONS;
  runs: CostRun[];
  /** With `--before <rev>`: the commit whose service the `before` runs ran (each just before its run in `runs`, same spec). */
  beforeRev?: { rev: string; commit: string };
  before?: CostRun[];
}

interface Stack {
  /** fauxqs and DynamoDB Local (restarted for every run) and the producer. */
  aws: Child;
  sim: Child;
  caFile: string;
}

/** One run's stand-ins: their endpoints and the bench's own clients. */
interface LocalAws {
  admin: { sqs: ReturnType<typeof createSqsClient>; dynamodb: DynamoDBClient; streams: DynamoDBStreamsClient };
  awsEnv: Record<string, string>;
}

/** Simulator timing: a WAN round trip, and a handset's receipt a second after acceptance (a longer wait only lengthens the run's idle tail). */
const RESPONSE_DELAY_MS = 100;
const RECEIPT_DELAY_MS = 1_000;
/**
 * How long the simulator waits for a receipt's answer before sending it again. Its default, 5 s, is
 * shorter than a write can take on DynamoDB Local under the full rate here: redeliveries would then
 * feed on themselves and price the stand-in's slowness, not the connector.
 */
const DELIVER_TIMEOUT_MS = 30_000;
/** How long the tasks' CPU is measured idle (bound, nothing queued) before each window. */
const IDLE_MS = 2_000;
/** Bare DynamoDB calls on a fresh DynamoDB Local before each run: its JVM is several times slower until warm. */
const DYNAMODB_WARMUP_MS = 5_000;

const runId = (): string => `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;

/**
 * All runs, or those whose keys are given. With `before` (a git revision), each spec runs twice,
 * one after the other: first with the tasks forked from a worktree of that revision (cost-before.ts;
 * its service, this checkout's bench code), then with this checkout's; everything else, the
 * stand-ins and the analysis included, is this checkout's for both.
 */
export async function runCost(profile: BenchProfile['cost'], log: (line: string) => void, keys?: readonly string[], opts: { before?: string } = {}): Promise<CostResult> {
  let tree: BeforeTree | undefined;
  let stack: Stack | undefined;
  try {
    if (opts.before !== undefined) {
      tree = await prepareBefore(opts.before);
      log(`cost: before = ${opts.before} (${tree.commit.slice(0, 9)}), worktree ${tree.root}`);
    }
    stack = await startStack();
    const runs: CostRun[] = [];
    const before: CostRun[] = [];
    const logRun = (run: CostRun, side: string): void =>
      log(`cost ${run.spec.label}${side} (DynamoDB Local ${run.dynamoDbLocalMs} ms before): $${round(run.priced.total, 2)} per million (${round(run.units.tableWriteUnits + run.units.indexWriteUnits, 2)} WRU/msg), ${run.done}/${run.spec.jobs} done${run.aborted ? ` (aborted: ${run.aborted})` : ''}`);
    for (const spec of costSpecs(profile).filter((s) => keys === undefined || keys.includes(s.key))) {
      if (tree) {
        const old = await oneRun(stack, spec, profile, tree.root);
        logRun(old, ` [before ${tree.rev}]`);
        before.push(old);
      }
      const run = await oneRun(stack, spec, profile);
      logRun(run, tree ? ' [after]' : '');
      runs.push(run);
    }
    return { prices: PRICES, deployment: DEPLOYMENT, assumptions: ASSUMPTIONS, runs, ...(tree && { beforeRev: { rev: tree.rev, commit: tree.commit }, before }) };
  } finally {
    if (stack) await stopStack(stack);
    tree?.remove();
  }
}

async function startStack(): Promise<Stack> {
  const [aws, sim] = await Promise.all([startChild('test/bench/aws-child.ts'), startChild('test/bench/sim-child.ts')]);
  return { aws, sim, caFile: join(tmpdir(), `bench-cost-ca-${process.pid}.pem`) };
}

/**
 * Fresh stand-ins for one run, DynamoDB Local warmed on a table of its own. A JVM that has held
 * many stream-enabled tables slows down (docs/architecture.md §6) until its writes time out, and
 * one run overloaded by another's leftovers would price the overload.
 */
async function startLocalAws(stack: Stack): Promise<LocalAws> {
  const endpoints = await stack.aws.call<LocalAwsEndpoints>('start');
  const awsEnv: Record<string, string> = { ...localAwsEnv(endpoints) };
  Object.assign(process.env, awsEnv);
  await stack.aws.call('env', awsEnv);
  const admin = { sqs: createSqsClient(), dynamodb: new DynamoDBClient({}), streams: new DynamoDBStreamsClient({ endpoint: endpoints.dynamodbEndpoint }) };
  const warm = `warm-${runId()}`;
  await createMessagesTable(admin.dynamodb, warm);
  await warmUpDynamoDb(warm, DYNAMODB_WARMUP_MS);
  await admin.dynamodb.send(new DeleteTableCommand({ TableName: warm }));
  return { admin, awsEnv };
}

async function stopLocalAws(stack: Stack, local: LocalAws): Promise<void> {
  local.admin.sqs.destroy();
  local.admin.dynamodb.destroy();
  local.admin.streams.destroy();
  await stack.aws.call('stop', undefined, 15_000);
}

async function stopStack(stack: Stack): Promise<void> {
  await Promise.allSettled([stack.sim.call('stop', undefined, 10_000), stack.aws.call('stop', undefined, 15_000)]);
  await Promise.allSettled([stack.aws.stop(), stack.sim.stop()]);
  await rm(stack.caFile, { force: true });
}

/** Produces `count` jobs and waits until they are done: every part accepted, every receipt acknowledged (the task answers once it is stored), nothing in hand. */
async function produceAndWait(
  stack: Stack,
  tasks: Child[],
  o: { queueUrl: string; prefix: string; count: number; mix: JobMix; parts: number; receipts: boolean; deadline: number },
): Promise<{ producer: ProduceResult; finished: boolean }> {
  const before = await stack.sim.call<SimCounters>('counters');
  let producer: ProduceResult | undefined;
  const produced = stack.aws.call<ProduceResult>('produce', { queueUrl: o.queueUrl, prefix: o.prefix, count: o.count, mix: o.mix, concurrency: 4 }, Math.max(1, o.deadline - Date.now()));
  void produced.then((p) => (producer = p), () => undefined);
  const finished = await pollUntil(async () => {
    if (!producer) return false;
    const c = await stack.sim.call<SimCounters>('counters');
    if (c.accepted - before.accepted < o.parts || (o.receipts && c.receiptsAcked - before.receiptsAcked < o.parts)) return false;
    return (await Promise.all(tasks.map((t) => t.call<TaskStatus>('status')))).every((s) => s.inFlight === 0);
  }, { everyMs: 100, deadline: o.deadline });
  return { producer: producer ?? (await produced.catch(() => ({ sentAt: [], calls: {}, cpuMicros: 0 }))), finished };
}

/**
 * One run on a fresh table and queue, with fresh task processes (work a task still retries after
 * its stop must not reach the next run): warm-up jobs of the same kind first, unmeasured; then the
 * tasks' idle CPU for IDLE_MS; then the measured window.
 */
async function oneRun(stack: Stack, spec: CostSpec, profile: BenchProfile['cost'], root?: string): Promise<CostRun> {
  const local = await startLocalAws(stack);
  try {
    return await measure(stack, local, spec, profile, root);
  } finally {
    await stopLocalAws(stack, local);
  }
}

/** `root`: the checkout whose test/bench/cost-child.ts (and so whose service) the tasks run; this one by default. */
async function measure(stack: Stack, local: LocalAws, spec: CostSpec, profile: BenchProfile['cost'], root?: string): Promise<CostRun> {
  const id = runId();
  const prefix = `c${id}`;
  const table = `cost-${id}`;
  const jobs = Array.from({ length: spec.jobs }, (_, n) => benchJob(prefix, n, spec.mix));
  const parts = jobs.reduce((n, j) => n + partsOf(j), 0);
  const warmJobs = Math.max(1, Math.round((profile.warmupJobs * spec.jobs) / parts));
  const warmParts = Array.from({ length: warmJobs }, (_, n) => partsOf(benchJob(`${prefix}w`, n, spec.mix))).reduce((a, b) => a + b, 0);
  await createMessagesTable(local.admin.dynamodb, table);
  const probeMs = await probeDynamoDb(local.admin.dynamodb, table);
  const { queueUrl } = await createQueues(local.admin.sqs, `cost-${id}`);
  const { queueUrl: priorityQueueUrl } = await createQueues(local.admin.sqs, `cost-${id}-priority`);
  const sim = await stack.sim.call<{ port: number; tlsPort?: number; caPem?: string }>('start', {
    mps: DEPLOYMENT.mpsPerBind,
    maxBinds: 4,
    responseDelayMs: RESPONSE_DELAY_MS,
    receiptDelayMs: RECEIPT_DELAY_MS,
    deliverTimeoutMs: DELIVER_TIMEOUT_MS,
    seed: Math.floor(Math.random() * 2 ** 31),
    recordAcceptances: false,
    tls: true,
  } satisfies SimSettings);
  if (sim.tlsPort === undefined) throw new Error('the simulator has no TLS listener');
  await writeFile(stack.caFile, sim.caPem ?? '');
  const link = await startCountingLink(sim.tlsPort);
  // Production defaults for everything else: binds, rate, window, log level (README, Configuration).
  const env: Record<string, string> = {
    ...local.awsEnv,
    SMPP_HOST: '127.0.0.1',
    SMPP_PORT: String(link.port),
    SMPP_TLS: 'true',
    SMPP_CA_FILE: stack.caFile,
    SMPP_SYSTEM_ID: SIM_ACCOUNT.systemId,
    SMPP_PASSWORD: SIM_ACCOUNT.password,
    OUTBOUND_QUEUE_URL: queueUrl,
    OUTBOUND_PRIORITY_QUEUE_URL: priorityQueueUrl,
    MESSAGES_TABLE: table,
    HEALTH_PORT: '0',
  };
  const tasks = await Promise.all(Array.from({ length: DEPLOYMENT.tasks }, () => startChild('test/bench/cost-child.ts', root === undefined ? {} : { root })));
  let idleCpuMicros = 0;
  let calls: DdbCall[] = [];
  let windows: TaskWindow[] = [];
  let aborted: string | undefined;
  let producer: ProduceResult;
  let smpp: LinkCounts;
  let end: SimCounters;
  try {
    await Promise.all(tasks.map((t) => t.call('start', env, 60_000)));
    const bound = await pollUntil(
      async () => (await Promise.all(tasks.map((t) => t.call<TaskStatus>('status')))).every((s) => s.tx >= DEPLOYMENT.txBindsPerTask && s.rx >= DEPLOYMENT.rxBindsPerTask),
      { everyMs: 50, deadline: Date.now() + 20_000 },
    );
    if (!bound) throw new Error(`${spec.key}: binds not up within 20 s`);
    const warm = await produceAndWait(stack, tasks, { queueUrl, prefix: `${prefix}w`, count: warmJobs, mix: spec.mix, parts: warmParts, receipts: spec.receipts, deadline: Date.now() + profile.runCapMs });
    if (!warm.finished) aborted = `warm-up not finished within ${profile.runCapMs / 1000} s`;

    const idleFrom = await Promise.all(tasks.map((t) => t.call<number>('cpu')));
    await sleep(IDLE_MS);
    const idleTo = await Promise.all(tasks.map((t) => t.call<number>('cpu')));
    idleCpuMicros = idleTo.reduce((n, c, i) => n + c - (idleFrom[i] ?? c), 0);
    link.reset();
    const before = await stack.sim.call<SimCounters>('counters');
    await Promise.all(tasks.map((t) => t.call<number>('begin')));
    const measured = await produceAndWait(stack, tasks, { queueUrl, prefix, count: spec.jobs, mix: spec.mix, parts, receipts: spec.receipts, deadline: Date.now() + profile.runCapMs });
    if (!measured.finished) aborted ??= `not finished within ${profile.runCapMs / 1000} s`;
    windows = await Promise.all(tasks.map((t) => t.call<TaskWindow>('end')));
    smpp = link.counts();
    const after = await stack.sim.call<SimCounters>('counters');
    end = { ...after, accepted: after.accepted - before.accepted, receiptsSent: after.receiptsSent - before.receiptsSent, receiptsAcked: after.receiptsAcked - before.receiptsAcked };
    producer = measured.producer;
  } finally {
    const stopped = await Promise.allSettled(tasks.map((t) => t.call<DdbCall[]>('stop', undefined, 30_000)));
    calls = stopped.flatMap((s) => (s.status === 'fulfilled' ? s.value : []));
    await Promise.allSettled([link.stop(), ...tasks.map((t) => t.stop())]);
  }

  const { indexes, records } = await readStream(local.admin.dynamodb, local.admin.streams, table);
  await local.admin.dynamodb.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
  const window = { from: Math.min(...windows.map((w) => w.from)), to: Math.max(...windows.map((w) => w.to)) };
  const bill = billCalls(calls, records.map(toStreamRec), indexes, window);
  const jobIds = new Set(jobs.map((j) => j.id));
  // The measured jobs' items: their MESSAGE items and the correlation items pointing at them.
  const ours = records.filter((r) => {
    const image = (r.dynamodb?.NewImage ?? r.dynamodb?.OldImage) as Image | undefined;
    const owner = image?.['messageId']?.['S'];
    return jobIds.has(keyId(r)) || (typeof owner === 'string' && jobIds.has(owner));
  });
  return summarise(spec, { probeMs, jobIds: [...jobIds], parts, aborted, windows, window, idleCpuMicrosPerSecond: idleCpuMicros / (IDLE_MS / 1000), bill, records: ours, indexes, smpp, sim: end, producer });
}

/** Mean ms of 20 consistent GetItems, one after the other. */
async function probeDynamoDb(dynamodb: Pick<DynamoDBClient, 'send'>, table: string): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < 20; i++) await dynamodb.send(new GetItemCommand({ TableName: table, Key: { id: { S: `PROBE#${i}` } }, ConsistentRead: true }));
  return (performance.now() - started) / 20;
}

/** Every record of the table's stream, shard by shard (parents first), and the table's indexes. */
export async function readStream(
  dynamodb: Pick<DynamoDBClient, 'send'>,
  streams: Pick<DynamoDBStreamsClient, 'send'>,
  table: string,
): Promise<{ indexes: IndexDef[]; records: _Record[] }> {
  const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: table }));
  const indexes: IndexDef[] = (Table?.GlobalSecondaryIndexes ?? []).map((ix) => ({
    name: ix.IndexName ?? '',
    keys: (ix.KeySchema ?? []).map((k) => k.AttributeName ?? ''),
    projection: (ix.Projection?.ProjectionType ?? 'KEYS_ONLY') as IndexDef['projection'],
    include: ix.Projection?.NonKeyAttributes ?? [],
  }));
  const streamArn = Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`table ${table} has no stream`);
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  const shards = [...(StreamDescription?.Shards ?? [])].sort((a, b) =>
    BigInt(a.SequenceNumberRange?.StartingSequenceNumber ?? '0') < BigInt(b.SequenceNumberRange?.StartingSequenceNumber ?? '0') ? -1 : 1,
  );
  const records: _Record[] = [];
  for (const shard of shards) {
    let iterator = (await streams.send(new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    let empty = 0;
    // An open shard always hands back a next iterator: stop once it has nothing more, twice.
    while (iterator && empty < 2) {
      const out = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      const got = out.Records ?? [];
      records.push(...got);
      empty = got.length === 0 ? empty + 1 : 0;
      iterator = out.NextShardIterator;
    }
  }
  return { indexes, records };
}

const keyId = (r: _Record): string => {
  const k = r.dynamodb?.Keys?.['id'];
  return k && 'S' in k && typeof k.S === 'string' ? k.S : '';
};
const kindOf = (image: Image | undefined): string | undefined => (image?.['kind']?.['S'] as string | undefined) ?? undefined;

export function toStreamRec(r: _Record): StreamRec {
  const rec: StreamRec = { id: keyId(r), eventName: r.eventName ?? '' };
  if (r.dynamodb?.OldImage) rec.oldImage = r.dynamodb.OldImage as unknown as Image;
  if (r.dynamodb?.NewImage) rec.newImage = r.dynamodb.NewImage as unknown as Image;
  return rec;
}

interface RawRun {
  probeMs: number;
  jobIds: string[];
  parts: number;
  aborted: string | undefined;
  windows: TaskWindow[];
  window: { from: number; to: number };
  /** Of both tasks together, before the window. */
  idleCpuMicrosPerSecond: number;
  bill: DdbBill;
  records: _Record[];
  indexes: IndexDef[];
  smpp: LinkCounts;
  sim: SimCounters;
  producer: ProduceResult;
}

const spread = (values: number[]): { min: number; median: number; max: number } => ({
  min: values.length ? Math.min(...values) : Number.NaN,
  median: percentile(values, 50),
  max: values.length ? Math.max(...values) : Number.NaN,
});

async function summarise(spec: CostSpec, raw: RawRun): Promise<CostRun> {
  const jobs = spec.jobs;
  const per = (v: number): number => v / jobs;
  const partsPerMessage = raw.parts / jobs;

  // The MESSAGE item after each of its writes, and the last image of every item (storage).
  const sizes = new Map<string, { status: string; bytes: number }[]>();
  const last = new Map<string, Image | undefined>();
  for (const r of raw.records) {
    const id = keyId(r);
    const image = r.dynamodb?.NewImage as Image | undefined;
    last.set(id, image);
    if (kindOf(image) !== 'MESSAGE') continue;
    const list = sizes.get(id) ?? [];
    list.push({ status: (image?.['status']?.['S'] as string | undefined) ?? '?', bytes: itemSize(image) });
    sizes.set(id, list);
  }
  const expected = spec.receipts ? 'DELIVERED' : 'SUBMITTED';
  const done = raw.jobIds.filter((id) => sizes.get(id)?.at(-1)?.status === expected).length;
  const steps: ItemStep[] = [];
  for (let i = 0; ; i++) {
    const at = raw.jobIds.map((id) => sizes.get(id)?.[i]).filter((s): s is { status: string; bytes: number } => s !== undefined);
    if (at.length === 0) break;
    const counts = new Map<string, number>();
    for (const s of at) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
    const status = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '?';
    steps.push({ write: i + 1, status, messages: at.length, bytes: spread(at.map((s) => s.bytes)) });
  }
  const finals = raw.jobIds.map((id) => sizes.get(id)?.at(-1)?.bytes).filter((b): b is number => b !== undefined);

  let storageTable = 0;
  let storageIndex = 0;
  for (const [id, image] of last) {
    if (image === undefined || id.startsWith('BINDSLOT#')) continue;
    storageTable += itemSize(image) + 100;
    for (const ix of raw.indexes) storageIndex += indexEntryBytes(image, ix);
  }

  // The publisher at the default (every status), and with publishStatuses = the final statuses.
  const published = await publishing(raw.records, jobs, partsPerMessage);
  const publishedFinal = (await publishing(raw.records, jobs, partsPerMessage, FINAL_STATUSES)).units;

  const serviceSqs: Record<string, number> = {};
  let serviceSqsBilled = 0;
  let sqsBytes = 0;
  for (const x of raw.windows.flatMap((w) => w.sqs)) {
    serviceSqs[x.command] = (serviceSqs[x.command] ?? 0) + per(x.billed);
    serviceSqsBilled += x.billed;
    sqsBytes += x.bytes;
  }
  const producerRequests = Object.values(raw.producer.calls).reduce((a, b) => a + b, 0);

  const indexWriteUnits = Object.values(raw.bill.indexWriteUnits).reduce((a, b) => a + b, 0);
  const units: UnitsPerMessage = {
    parts: partsPerMessage,
    tableWriteUnits: per(raw.bill.tableWriteUnits),
    indexWriteUnits: per(indexWriteUnits),
    readUnits: per(raw.bill.readUnits),
    storageTableBytes: per(storageTable),
    storageIndexBytes: per(storageIndex),
    sqsRequests: per(serviceSqsBilled + producerRequests),
    ...published.units,
    smppBytes: per(raw.smpp.upBytes + raw.smpp.downBytes),
    smppTlsRecords: per(raw.smpp.upRecords + raw.smpp.downRecords),
    sqsBytes: per(sqsBytes),
    logBytes: per(raw.windows.reduce((n, w) => n + w.logBytes, 0)),
    logLines: per(raw.windows.reduce((n, w) => n + w.logLines, 0)),
  };
  const windowS = (raw.window.to - raw.window.from) / 1000;
  const cpuMs = raw.windows.reduce((c, w) => c + w.cpuMicros, 0) / 1000;
  // The tasks' own idle cost (timers, keep-alives, leases), measured before the window, is taken out of the per-job figure.
  const idleMsPerTaskSecond = raw.idleCpuMicrosPerSecond / 1000 / DEPLOYMENT.tasks;
  const cpuMsPerJob = (cpuMs - idleMsPerTaskSecond * DEPLOYMENT.tasks * windowS) / jobs;
  const jobsPerTaskSecond = (DEPLOYMENT.txBindsPerTask * DEPLOYMENT.mpsPerBind) / partsPerMessage;
  const r4 = (v: number): number => round(v, 4) ?? Number.NaN;
  return {
    spec,
    parts: raw.parts,
    done,
    aborted: raw.aborted,
    windowS: round(windowS, 2) ?? Number.NaN,
    bindUse: round(raw.sim.accepted / windowS / (DEPLOYMENT.tasks * DEPLOYMENT.txBindsPerTask * DEPLOYMENT.mpsPerBind), 3),
    receiptRedeliveries: raw.sim.receiptsSent - raw.sim.receiptsAcked,
    dynamoDbLocalMs: round(raw.probeMs, 2),
    units: Object.fromEntries(Object.entries(units).map(([k, v]) => [k, r4(v)])) as unknown as UnitsPerMessage,
    priced: priceMessage(units),
    publishFinal: {
      statuses: FINAL_STATUSES,
      units: Object.fromEntries(Object.entries(publishedFinal).map(([k, v]) => [k, r4(v)])) as unknown as PublisherUnits,
      priced: priceMessage({ ...units, ...publishedFinal }),
    },
    detail: {
      dynamodbCalls: Object.fromEntries(Object.entries(raw.bill.byCommand).map(([c, b]) => [c, r4(per(b.calls))])),
      indexWriteUnits: Object.fromEntries(Object.entries(raw.bill.indexWriteUnits).map(([c, u]) => [c, r4(per(u))])),
      refusedWrites: r4(per(raw.bill.refusedWrites)),
      sqsRequests: { service: Object.fromEntries(Object.entries(serviceSqs).map(([c, u]) => [c, r4(u)])), producer: r4(per(producerRequests)) },
      streamRecords: r4(per(raw.records.length)),
      putEventsCalls: r4(published.putEventsCalls),
      smpp: raw.smpp,
    },
    crossCheck: Object.fromEntries(
      Object.entries(raw.bill.byCommand)
        .filter(([, b]) => b.crossCheck.calls > 0)
        .map(([c, b]) => [c, { calls: b.crossCheck.calls, reported: b.crossCheck.reported, ours: b.crossCheck.ours, ratio: round(b.crossCheck.ours / b.crossCheck.reported, 4) }]),
    ),
    matching: {
      unknownWrites: raw.bill.unknownWrites,
      unknownApplied: raw.bill.unknownApplied,
      unmatchedWrites: raw.bill.unmatchedWrites,
      unmatchedRecords: raw.bill.unmatchedRecords,
    },
    messageItem: { steps, final: spread(finals) },
    cpu: {
      msPerJob: round(cpuMsPerJob, 3),
      windowMsPerJob: round(cpuMs / jobs, 3),
      idleMsPerTaskSecond: round(idleMsPerTaskSecond, 3),
      taskShareAtFullRate: round((idleMsPerTaskSecond + cpuMsPerJob * jobsPerTaskSecond) / 1000 / DEPLOYMENT.taskVcpu, 4),
    },
    peakRssMb: raw.windows.map((w) => w.peakRssMb),
    logMessages: raw.windows.reduce<Record<string, number>>((all, w) => {
      for (const [k, v] of Object.entries(w.logMessages)) all[k] = (all[k] ?? 0) + v;
      return all;
    }, {}),
  };
}
