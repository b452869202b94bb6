/**
 * One connector task for the cost scenario, in a process of its own (see children.ts): the
 * service as `main()` composes it, its SDK clients built here so that middleware can watch every
 * call. DynamoDB: each call's input is asked for ReturnConsumedCapacity (INDEXES), and each answer
 * is recorded with the items it wrote and the read units it billed (ddb-units.ts). SQS: each HTTP
 * exchange, with its size. Logs: the service's own pino lines at its configured level, counted and
 * dropped. CPU: this process's user + system time over the measured window. Nothing here changes
 * what the service does, so the bench runs the same on an older checkout.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createSqsClient } from '../../service/src/aws/queue.js';
import { loadConfig } from '../../service/src/config.js';
import { createLogger } from '../../service/src/logger.js';
import { startService, type RunningService } from '../../service/src/main.js';
import { serve } from './children.js';
import type { DdbCall } from './cost-bill.js';
import { callReadUnits, reportedUnits, writeTargets } from './ddb-units.js';

/** One SQS request as it went over HTTP (each attempt of a retried call is one). */
export interface SqsExchange {
  t: number;
  command: string;
  /** Billed requests: one per started 64 KB of the larger of request and response body. */
  billed: number;
  /** Request line, headers and body, plus response headers and body. */
  bytes: number;
}

/** What a task reports for the measured window. */
export interface TaskWindow {
  from: number;
  to: number;
  cpuMicros: number;
  logBytes: number;
  logLines: number;
  sqs: SqsExchange[];
  peakRssMb: number;
  /** Log lines in the window by level and message (`40 bind lost`): what went wrong, when something did. */
  logMessages: Record<string, number>;
  /** DynamoDB calls answered in the window (all of them come back from `stop`, for matching). */
  ddbCalls: number;
}

export interface TaskStatus {
  tx: number;
  rx: number;
  inFlight: number;
}

const now = (): number => performance.timeOrigin + performance.now();

/** Commands whose input takes ReturnConsumedCapacity. */
const CAPACITY_COMMANDS = new Set([
  'GetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchGetItem',
  'BatchWriteItem',
  'TransactWriteItems',
  'TransactGetItems',
  'Query',
  'Scan',
  'ExecuteStatement',
  'BatchExecuteStatement',
  'ExecuteTransaction',
]);

let service: RunningService | undefined;
let dynamodb: DynamoDBClient | undefined;
let sqs: SQSClient | undefined;
let ddbCalls: DdbCall[] = [];
let sqsExchanges: SqsExchange[] = [];
const log = { bytes: 0, lines: 0 };
let logMessages: Record<string, number> = {};
let window: { from: number; cpu: NodeJS.CpuUsage; log: { bytes: number; lines: number }; peakRss: number; sampler: NodeJS.Timeout } | undefined;

function watchDynamoDb(client: DynamoDBClient): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = (context.commandName ?? 'unknown').replace(/Command$/, '');
      const input = args.input as Record<string, unknown>;
      const asked = CAPACITY_COMMANDS.has(command) && input['ReturnConsumedCapacity'] === undefined ? { ...args, input: { ...input, ReturnConsumedCapacity: 'INDEXES' } } : args;
      try {
        const result = await next(asked);
        const output = result.output as unknown as Record<string, unknown>;
        const attempts = (output['$metadata'] as { attempts?: number } | undefined)?.attempts ?? 1;
        const call: DdbCall = { t: now(), command, ok: true, targets: writeTargets(command, input, output, undefined, attempts), readUnits: callReadUnits(command, input, output) };
        const reported = reportedUnits(output['ConsumedCapacity']);
        if (reported !== undefined) call.reported = reported;
        ddbCalls.push(call);
        return result;
      } catch (err) {
        const error = (err as Error).name;
        const attempts = (err as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1;
        ddbCalls.push({ t: now(), command, ok: false, error, targets: writeTargets(command, input, undefined, error, attempts), readUnits: 0 });
        throw err;
      }
    },
    { step: 'initialize', name: 'benchCostDynamoDb' },
  );
}

const headerBytes = (headers: Record<string, string | undefined>): number =>
  Object.entries(headers).reduce((n, [k, v]) => n + k.length + (v?.length ?? 0) + 4, 0);
const bodyBytes = (body: unknown): number => (typeof body === 'string' ? Buffer.byteLength(body) : body instanceof Uint8Array ? body.byteLength : 0);

function watchSqs(client: SQSClient): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const request = args.request as { method?: string; path?: string; headers?: Record<string, string>; body?: unknown };
      const response = result.response as { headers?: Record<string, string> };
      const reqBody = bodyBytes(request.body);
      const resBody = Number(response.headers?.['content-length'] ?? 0);
      sqsExchanges.push({
        t: now(),
        command: (context.commandName ?? 'unknown').replace(/Command$/, ''),
        billed: Math.max(1, Math.ceil(Math.max(reqBody, resBody) / 65_536)),
        bytes: (request.method?.length ?? 0) + (request.path?.length ?? 0) + 11 + headerBytes(request.headers ?? {}) + reqBody + 15 + headerBytes(response.headers ?? {}) + resBody,
      });
      return result;
    },
    { step: 'deserialize', name: 'benchCostSqs' },
  );
}

function current(): RunningService {
  if (!service) throw new Error('no service running: call start first');
  return service;
}

serve({
  /** Starts the service with this environment (AWS endpoints included); resolves once it runs. */
  async start(env: Record<string, string>): Promise<void> {
    if (service) throw new Error('a service is running already');
    Object.assign(process.env, env);
    const config = loadConfig(env);
    ddbCalls = [];
    sqsExchanges = [];
    sqs = createSqsClient(config.aws.region);
    // As main.ts builds it: the pool and deadlines change how fast, not what is called.
    const pool = { maxSockets: 256, keepAlive: true };
    dynamodb = new DynamoDBClient({
      region: config.aws.region,
      requestHandler: { httpAgent: pool, httpsAgent: pool, connectionTimeout: 5_000, requestTimeout: 10_000, throwOnRequestTimeout: true },
    });
    watchDynamoDb(dynamodb);
    watchSqs(sqs);
    const logger = createLogger(config.logLevel, {
      write(line: string) {
        log.bytes += Buffer.byteLength(line) - 1;
        log.lines += 1;
        const { level, msg } = JSON.parse(line) as { level?: number; msg?: string };
        const key = `${level ?? '?'} ${msg ?? ''}`;
        logMessages[key] = (logMessages[key] ?? 0) + 1;
      },
    });
    service = await startService(config, { logger, clients: { sqs, dynamodb } });
  },
  status(): TaskStatus {
    const s = current();
    const r = s.smpp.readiness();
    return { tx: r.tx, rx: r.rx, inFlight: s.outbound.inFlight };
  },
  /** CPU time of this process so far, µs. */
  cpu(): number {
    const c = process.cpuUsage();
    return c.user + c.system;
  },
  /** Opens the measured window. */
  begin(): number {
    const sampler = setInterval(() => {
      if (window) window.peakRss = Math.max(window.peakRss, process.memoryUsage().rss);
    }, 250);
    window = { from: now(), cpu: process.cpuUsage(), log: { ...log }, peakRss: process.memoryUsage().rss, sampler };
    logMessages = {};
    return window.from;
  },
  /** Closes it and reports it. */
  end(): TaskWindow {
    if (!window) throw new Error('no window open');
    const to = now();
    const cpu = process.cpuUsage(window.cpu);
    clearInterval(window.sampler);
    const from = window.from;
    const out: TaskWindow = {
      from,
      to,
      cpuMicros: cpu.user + cpu.system,
      logBytes: log.bytes - window.log.bytes,
      logLines: log.lines - window.log.lines,
      sqs: sqsExchanges.filter((x) => x.t >= from && x.t <= to),
      peakRssMb: Math.round((Math.max(window.peakRss, process.memoryUsage().rss) / 2 ** 20) * 10) / 10,
      logMessages,
      ddbCalls: ddbCalls.filter((c) => c.t >= from && c.t <= to).length,
    };
    window = undefined;
    return out;
  },
  /** Stops the service; every DynamoDB call it made since `start`, in order. */
  async stop(): Promise<DdbCall[]> {
    await service?.stop();
    service = undefined;
    sqs?.destroy();
    dynamodb?.destroy();
    const calls = ddbCalls;
    ddbCalls = [];
    return calls;
  },
});
