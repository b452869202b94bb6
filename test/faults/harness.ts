/**
 * One fault run's rig: a fresh SMSC simulator and queue (the table and the stand-ins are shared,
 * see ./environment.ts), the services under test — in this process through `startService`, or as
 * the production entry point in child processes — TCP proxies to cut AWS off, and a cleanup that
 * leaves nothing running. Also the waits a scenario uses: every one is on a condition or an event,
 * with the run's deadline; the only timers are fault durations ("DynamoDB cut for 5 s").
 */
import { randomBytes } from 'node:crypto';
import { BatchGetItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createQueues } from '../../service/src/local/emulators.js';
import { loadConfig, type Config } from '../../service/src/config.js';
import { isFinal, STATUS_RANK, type MessageStatus } from '../../service/src/domain.js';
import { createLogger, silentLogger, type Logger } from '../../service/src/logger.js';
import { startService, type RunningService } from '../../service/src/main.js';
import { SmscSimulator, type SmscAccount, type SmscSimulatorEvents, type SmscSimulatorOptions } from '../../service/src/sim/smsc-simulator.js';
import { sendSms } from '../../service/src/tools/client.js';
import { startChildService, type ChildService } from '../support/child-service.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { uniqueName, type LocalEnvironment } from './environment.js';
import { makeJobs, receiptOutcome, type FaultJob } from './jobs.js';
import { serviceEnv } from '../support/service-env.js';

export type Size = 'ci' | 'full';

export type TcpProxy = Awaited<ReturnType<typeof startTcpProxy>>;

export interface RigOptions {
  /** Simulator options on top of the matrix defaults (fresh random seed, receipt outcome). */
  sim?: SmscSimulatorOptions;
  /** The account the services bind with. @defaultvalue test/secret, 8 binds, 10,000 msg/s per bind */
  account?: Partial<SmscAccount>;
  /** The queue's redrive limit. @defaultvalue 10 (as deployed) */
  maxReceiveCount?: number;
}

export interface ServiceStart {
  /** Environment overrides (docs/architecture.md §3.3 names); a value of '' removes the variable. */
  env?: Record<string, string>;
  owner?: string;
  dynamodb?: DynamoDBClient;
  sqs?: SQSClient;
  /** Wait until one TX and one RX bind are bound. @defaultvalue true */
  ready?: boolean;
}

export class Rig {
  readonly queueName: string;
  /**
   * The account every service of this fault binds with: its own per fault, as its queue is, so bind
   * slots (leased per system_id in the shared table) left by one fault's killed tasks never hold up the next.
   */
  readonly systemId: string;
  private readonly services: RunningService[] = [];
  private readonly children: ChildService[] = [];
  private readonly proxies: TcpProxy[] = [];
  private readonly clients: Array<{ destroy(): void }> = [];
  private readonly cleanups: Array<() => Promise<void>> = [];
  /** Set by stop(): a scenario that outlived its time limit must not start anything afterwards. */
  private closed = false;

  private constructor(
    readonly env: LocalEnvironment,
    readonly sim: SmscSimulator,
    readonly smscPort: number,
    readonly queueUrl: string,
    readonly dlqUrl: string,
    queueName: string,
    systemId: string,
    private readonly logger: Logger,
    private readonly verbose: boolean,
  ) {
    this.queueName = queueName;
    this.systemId = systemId;
  }

  static async start(env: LocalEnvironment, fault: string, options: RigOptions, verbose: boolean): Promise<Rig> {
    const systemId = options.account?.systemId ?? `f${randomBytes(4).toString('hex')}`;
    const sim = new SmscSimulator({
      accounts: [{ password: 'secret', maxBinds: 8, mps: 10_000, ...options.account, systemId }],
      // A fresh seed per fault: the table is shared, and SMSC ids must not repeat across faults.
      seed: Math.floor(Math.random() * 2 ** 31),
      receiptOutcome,
      ...options.sim,
    });
    const { port } = await sim.start();
    const queueName = uniqueName(`faults-${fault}`);
    const { queueUrl, dlqUrl } = await createQueues(env.sqs, queueName, options.maxReceiveCount === undefined ? {} : { maxReceiveCount: options.maxReceiveCount });
    const logger = verbose ? createLogger('warn', process.stderr).child({ fault }) : silentLogger;
    return new Rig(env, sim, port, queueUrl, dlqUrl, queueName, systemId, logger, verbose);
  }

  get dlqName(): string {
    return `${this.queueName}-dlq`;
  }

  /** The full environment of a service process: AWS stand-ins plus service settings. */
  serviceEnv(overrides: Record<string, string> = {}): Record<string, string> {
    const env: Record<string, string> = { ...this.env.env, ...serviceEnv(this.smscPort, this.queueUrl, this.env.tableName, { SMPP_SYSTEM_ID: this.systemId }), ...overrides };
    for (const [k, v] of Object.entries(env)) if (v === '') delete env[k];
    return env;
  }

  config(overrides: Record<string, string> = {}): Readonly<Config> {
    return loadConfig(this.serviceEnv(overrides));
  }

  /** A service in this process (its clients may go through a fault proxy). */
  async startService(start: ServiceStart = {}, deadline = Date.now() + 30_000): Promise<RunningService> {
    this.assertOpen();
    const clients = { ...(start.dynamodb && { dynamodb: start.dynamodb }), ...(start.sqs && { sqs: start.sqs }) };
    const config = this.config(start.env);
    const service = await startService(config, {
      logger: this.logger,
      ...(start.owner !== undefined && { owner: start.owner }),
      ...(Object.keys(clients).length > 0 && { clients }),
    });
    this.services.push(service);
    if (this.closed) await service.stop();
    this.assertOpen();
    if (start.ready ?? true) await withDeadline(service.ready(), deadline, 'service bound (one TX and one RX)');
    return service;
  }

  /** The production entry point (`service/src/main.ts`) as its own process, as ECS runs it. */
  startChild(overrides: Record<string, string> = {}): ChildService {
    this.assertOpen();
    const child = startChildService(this.serviceEnv(overrides));
    this.children.push(child);
    return child;
  }

  /** A cuttable TCP proxy in front of a stand-in (e.g. env.dynamodbEndpoint). */
  async proxyTo(endpoint: string): Promise<TcpProxy> {
    this.assertOpen();
    const proxy = await startTcpProxy(Number(new URL(endpoint).port));
    this.proxies.push(proxy);
    return proxy;
  }

  /** A DynamoDB client whose every connection goes through `proxy`. */
  dynamodbVia(proxy: TcpProxy): DynamoDBClient {
    const client = new DynamoDBClient({ endpoint: `http://127.0.0.1:${proxy.port}` });
    this.clients.push(client);
    return client;
  }

  /** An SQS client whose every connection goes through `proxy` (requests stay on it, not on the QueueUrl's host). */
  sqsVia(proxy: TcpProxy): SQSClient {
    const client = new SQSClient({ endpoint: `http://127.0.0.1:${proxy.port}`, useQueueUrlAsEndpoint: false });
    this.clients.push(client);
    return client;
  }

  /** Puts the jobs on the queue as a producer would (direct client, never through a proxy). */
  async send(jobs: FaultJob[]): Promise<void> {
    await sendSms(
      jobs.map((j) => j.input),
      { queueUrl: this.queueUrl, sqs: this.env.sqs },
    );
  }

  /** Runs at cleanup, after the services stopped (e.g. closing a stand-in server). */
  onCleanup(fn: () => Promise<void>): void {
    this.cleanups.push(fn);
  }

  /**
   * Stops every service, gracefully where it still can: proxies are restored first so nothing
   * waits on a cut connection, children get SIGTERM (SIGKILL if they outlive their grace).
   */
  async stopServices(): Promise<void> {
    for (const p of this.proxies) p.restore();
    const deadline = Date.now() + 20_000;
    await Promise.all([
      ...this.children.splice(0).map(async (c, i) => {
        if (c.process.exitCode === null && c.process.signalCode === null) {
          await withDeadline(c.signal('SIGTERM'), deadline, 'child service exit').catch(() => undefined);
        }
        await c.stop();
        // --verbose: what the in-process services log to stderr, the children logged to their own output.
        if (this.verbose) for (const l of c.logs) if (Number(l['level']) >= 40) process.stderr.write(`[child ${i + 1}] ${JSON.stringify(l)}\n`);
      }),
      ...this.services.splice(0).map((s) => withDeadline(s.stop(), deadline, 'in-process service stop').catch(() => undefined)),
    ]);
  }

  /** Everything down: services, proxies, clients, extra servers, the simulator. Idempotent. */
  async stop(): Promise<void> {
    this.closed = true;
    await this.stopServices();
    await Promise.all(this.proxies.splice(0).map((p) => p.stop()));
    for (const c of this.clients.splice(0)) c.destroy();
    for (const fn of this.cleanups.splice(0)) await fn().catch(() => undefined);
    await this.sim.stop();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the rig is stopped (the fault ran past its time limit)');
  }
}

/**
 * What a scenario can do and record while it runs. `deadline` bounds every wait: the runner
 * gives each fault a fixed time, so a stalled service shows up as a timeout, never as a hang.
 */
export class FaultContext {
  readonly jobs: FaultJob[];
  readonly faultEnds: number[] = [];
  readonly notes: string[] = [];
  readonly problems: string[] = [];
  /** Jobs the fault is meant to end FAILED (the ledger otherwise counts any FAILED as a misclassified fault). */
  readonly expectedFailures = new Set<string>();

  constructor(
    readonly rig: Rig,
    readonly size: Size,
    jobCount: number,
    readonly deadline: number,
    runId: string,
    fault: string,
  ) {
    this.jobs = makeJobs(`${fault}-${runId}`, jobCount);
  }

  get sim(): SmscSimulator {
    return this.rig.sim;
  }

  /** CI size uses the first value, --full the second (e.g. outage length). */
  pick<T>(ci: T, full: T): T {
    return this.size === 'ci' ? ci : full;
  }

  /** The fault is over from this moment: recovery is measured from here to the next accepted submit. */
  faultEnded(at = Date.now()): void {
    this.faultEnds.push(at);
  }

  note(text: string): void {
    this.notes.push(text);
  }

  expect(condition: boolean, problem: string): void {
    if (!condition) this.problems.push(problem);
  }

  /** Resolves once `predicate` holds, re-checked on every simulator event; rejects at the deadline. */
  until(predicate: () => boolean, description: string): Promise<void> {
    return this.sim.waitFor(predicate, Math.max(1, this.deadline - Date.now()), description);
  }

  /** Resolves once the SMSC accepted at least `fraction` of the run's parts (so a fault lands under load). */
  afterAccepted(fraction: number): Promise<void> {
    const parts = this.jobs.reduce((n, j) => n + j.parts, 0);
    const target = Math.max(1, Math.floor(parts * fraction));
    return this.until(() => this.sim.submissions.length >= target, `${target} accepted submits`);
  }

  /**
   * Cuts the SMSC link `drops` times, spread over the run (after 1/(drops+1), 2/(drops+1)… of the parts
   * were accepted): each time the next submit closes the TCP connection unanswered, with the rest of
   * the window in flight. Marks each as a fault end.
   */
  async dropLinksUnderLoad(drops: number): Promise<void> {
    for (let i = 1; i <= drops; i++) {
      await this.afterAccepted(i / (drops + 1));
      this.sim.setFaults({ dropAfterSubmits: 1 });
      await this.until(() => this.sim.stats.dropped >= i, `link drop ${i}`);
      this.faultEnded();
    }
  }

  /** A fault's duration (the only fixed waits in the matrix). */
  hold(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, Math.max(0, Math.min(ms, this.deadline - Date.now()))));
  }

  /** `promise`, or a rejection at the run's deadline. */
  within<T>(promise: Promise<T>, description: string): Promise<T> {
    return withDeadline(promise, this.deadline, description);
  }
}

/**
 * Waits until every job has a final record, or the deadline; returns the ids still not final.
 * Re-checks after receipts are acknowledged (a receipt is acknowledged only after its write, so
 * that is when a record turns final), at most every 250 ms, and at least every second (a FAILED
 * record needs no receipt). Reads only id and status, in batches, to spare DynamoDB Local.
 */
export async function waitForFinal(env: LocalEnvironment, sim: SmscSimulator, jobs: FaultJob[], deadline: number): Promise<string[]> {
  const pending = new Set(jobs.map((j) => j.id));
  let lastCheck = 0;
  for (;;) {
    const since = Date.now() - lastCheck;
    if (since < 250) await new Promise((r) => setTimeout(r, 250 - since));
    lastCheck = Date.now();
    for (const id of await finalIds(env, [...pending])) pending.delete(id);
    if (pending.size === 0 || Date.now() >= deadline) return [...pending];
    await nextEvent(sim, ['receipt-acked'], Math.min(1000, deadline - Date.now()));
  }
}

async function finalIds(env: LocalEnvironment, ids: string[]): Promise<string[]> {
  const done: string[] = [];
  for (let i = 0; i < ids.length; i += 100) {
    const out = await env.dynamodb.send(
      new BatchGetItemCommand({
        RequestItems: {
          [env.tableName]: {
            Keys: ids.slice(i, i + 100).map((id) => ({ id: { S: id } })),
            ConsistentRead: true,
            ProjectionExpression: '#id, #status',
            ExpressionAttributeNames: { '#id': 'id', '#status': 'status' },
          },
        },
      }),
    );
    // UnprocessedKeys are simply looked at again on the next round.
    for (const item of out.Responses?.[env.tableName] ?? []) {
      const status = item['status']?.S;
      const id = item['id']?.S;
      if (id !== undefined && status !== undefined && status in STATUS_RANK && isFinal(status as MessageStatus)) done.push(id);
    }
  }
  return done;
}

/** Resolves on the first of `events`, or after `timeoutMs`. */
export function nextEvent(sim: SmscSimulator, events: Array<keyof SmscSimulatorEvents>, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      for (const e of events) sim.off(e, done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, timeoutMs));
    for (const e of events) sim.on(e, done);
  });
}

/** `promise`, or a rejection naming `what` once `deadline` (epoch ms) passes. */
export function withDeadline<T>(promise: Promise<T>, deadline: number, what: string): Promise<T> {
  // If the deadline wins, a later rejection of `promise` has nobody left to hear it.
  promise.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), Math.max(0, deadline - Date.now()));
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Seconds from each fault end to the first submit the SMSC accepted AND answered afterwards
 * (a swallowed submit does not count: the service never learned of it); the worst episode.
 * Undefined when nothing was submitted after the fault (e.g. every job had already gone).
 */
export function recoverySeconds(sim: SmscSimulator, faultEnds: number[]): number | undefined {
  let worst: number | undefined;
  for (const end of faultEnds) {
    const next = sim.submissions.find((s) => !s.swallowed && s.receivedAt.getTime() >= end);
    if (next === undefined) continue;
    const seconds = (next.receivedAt.getTime() - end) / 1000;
    worst = worst === undefined ? seconds : Math.max(worst, seconds);
  }
  return worst;
}

/** The longest pause between consecutive accepted submits of the run, in seconds (a stall shows here). */
export function longestGapSeconds(sim: SmscSimulator): number {
  const times = sim.submissions.filter((s) => !s.swallowed).map((s) => s.receivedAt.getTime());
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, (times[i] ?? 0) - (times[i - 1] ?? 0));
  return gap / 1000;
}
