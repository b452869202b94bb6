import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createSqsClient, OutboundQueue } from './aws/queue.js';

import { BindLease } from './aws/bind-lease.js';
import { MoStore } from './aws/mo-store.js';
import { createSecretsManagerClient, SecretCredentials, StaticCredentials } from './aws/secrets.js';
import { StatusStore, type MoItem } from './aws/status-store/index.js';
import { SuppressionList } from './aws/suppression.js';
import { systemClock, type Clock } from './clock.js';
import { loadConfig, type Config } from './config.js';
import { ConfigError } from './errors.js';
import { startHealthServer } from './health.js';
import { createLogger, type Logger } from './logger.js';
import { EmfMetrics, noMetrics, type Metrics } from './metrics.js';
import { InboundPipeline } from './pipeline/inbound.js';
import { OutboundPipeline } from './pipeline/outbound.js';
import type { CredentialsProvider } from './smpp/bind.js';
import type { BindSlots } from './smpp/bind-slots.js';
import { SmppClient } from './smpp/client.js';

export interface ServiceDeps {
  logger: Logger;
  metrics?: Metrics;
  clock?: Clock;
  /** Claim owner id; unique per process by default. */
  owner?: string;
  /** Queue visibility timeout the heartbeat works against. @defaultvalue 60 */
  visibilityTimeoutSeconds?: number;
  /** Prebuilt AWS clients (fault tests route one through a proxy); built from the environment otherwise. */
  clients?: { sqs?: SQSClient; dynamodb?: DynamoDBClient };
}

export interface RunningService {
  smpp: SmppClient;
  outbound: OutboundPipeline;
  healthPort: number;
  /** Resolves when at least one TX and one RX bind are bound. */
  ready(): Promise<void>;
  /** Graceful stop (docs/architecture.md §5): stop polling, drain within the grace period, hand back unsent, unbind. */
  stop(): Promise<void>;
}

/** The composition root: builds every client and module from the configuration and wires them. */
export async function startService(config: Readonly<Config>, deps: ServiceDeps): Promise<RunningService> {
  const { logger } = deps;
  const clock = deps.clock ?? systemClock;
  const metrics = deps.metrics ?? noMetrics;
  const owner = deps.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  if (!config.smpp.tls) logger.warn({ host: config.smpp.host, port: config.smpp.port }, 'SMPP_TLS=false: credentials and messages cross the network in plaintext');

  const sqs = deps.clients?.sqs ?? createSqsClient(config.aws.region);
  // The SDK's default of 50 sockets queues receipts behind a burst of claims (measured under overload).
  const pool = { maxSockets: 256, keepAlive: true };
  // Without a timeout a silent socket hangs the call, and with it every later write to that item
  // (the handler only logs an expired requestTimeout unless told to throw).
  // cacheMiddleware: the middleware stack is resolved once per command type, not on every call
  // (~8% of the service's CPU per job, measured); nothing adds middleware to this client after it is built.
  const dynamodb =
    deps.clients?.dynamodb ??
    new DynamoDBClient({
      region: config.aws.region,
      cacheMiddleware: true,
      requestHandler: { httpAgent: pool, httpsAgent: pool, connectionTimeout: 5_000, requestTimeout: 10_000, throwOnRequestTimeout: true },
    });
  const credentials: CredentialsProvider = config.smpp.credentialsSecretId
    ? new SecretCredentials(createSecretsManagerClient({ region: config.aws.region }), config.smpp.credentialsSecretId)
    : new StaticCredentials({ systemId: config.smpp.systemId ?? '', password: config.smpp.password ?? '' });

  const store = new StatusStore({
    client: dynamodb,
    tableName: config.aws.tableName,
    ttlDays: config.messageTtlDays,
    finalStatusTimeoutHours: config.finalStatusTimeoutHours,
    lingerMs: config.storeLingerMs,
    clock: () => clock.now(),
    logger,
  });
  // Opt-out (docs/architecture.md §7.5): off, nothing of it is built and no call is made.
  const optOut = config.optOut.enabled ? config.optOut : undefined;
  const suppression = optOut && new SuppressionList({ client: dynamodb, tableName: config.aws.tableName, clock: () => clock.now() });
  const mo = new MoStore({
    client: dynamodb,
    tableName: config.aws.tableName,
    ttlDays: config.messageTtlDays,
    reassemblyTimeoutMs: config.moReassemblyTimeoutSeconds * 1000,
    clock: () => clock.now(),
    logger,
    ...(suppression && optOut && { alsoWrite: (m: MoItem) => suppression.moWrite(m, optOut) }),
  });
  const inbound = new InboundPipeline({ store, mo, logger, metrics, clock, ...(optOut && { optOut }) });
  // The account's bind budget, leased per slot in the messages table: no bind connects without one.
  const slots: BindSlots = new BindLease({
    client: dynamodb,
    tableName: config.aws.tableName,
    accountBinds: config.accountBinds,
    owner,
    leaseMs: config.bindLeaseSeconds * 1000,
    clock,
    logger,
  });
  const smpp = new SmppClient({
    ...config.smpp,
    bulkMinShare: config.bulkMinShare,
    credentials,
    slots,
    onDeliver: inbound.onDeliver,
    logger,
    clock,
    metrics,
  });
  const outbound = new OutboundPipeline({
    queue: new OutboundQueue(sqs, config.aws.queueUrl),
    // The urgent lane (docs/architecture.md §7.1); without it, one lane as before.
    ...(config.aws.priorityQueueUrl !== undefined && { priorityQueue: new OutboundQueue(sqs, config.aws.priorityQueueUrl) }),
    store,
    sender: smpp,
    owner,
    concat: config.smpp.concat,
    shutdownGraceMs: config.shutdownGraceMs,
    sourceAddr: config.smpp.sourceAddr,
    destAddr: config.smpp.destAddr,
    visibilityTimeoutSeconds: deps.visibilityTimeoutSeconds ?? config.visibilityTimeoutSeconds,
    maxReceiveCount: config.maxReceiveCount,
    random: Math.random,
    logger,
    metrics,
    clock,
    ...(suppression && { optOut: { isSuppressed: (to: string, from: string) => suppression.isSuppressed(to, from), recordOptedOut: (id: string, o: string) => store.recordOptedOut(id, o) } }),
  });

  const isReady = () => {
    const r = smpp.readiness();
    return r.tx > 0 && r.rx > 0;
  };
  const health = await startHealthServer(config.healthPort, () => ({ ok: isReady(), detail: { binds: smpp.readiness(), inFlight: outbound.inFlight } }));
  smpp.on('readiness', () => outbound.nudge());
  smpp.start();
  inbound.start();
  outbound.start();

  let stopping: Promise<void> | undefined;
  return {
    smpp,
    outbound,
    healthPort: (health.address() as AddressInfo).port,
    ready: () => smpp.whenReady(1, 1),
    stop: () =>
      (stopping ??= (async () => {
        const started = clock.now();
        await outbound.stop(config.shutdownGraceMs);
        await smpp.stop(Math.max(0, config.shutdownGraceMs - (clock.now() - started)));
        // Past the grace: jobs whose submits just ended still write their outcome (ECS allows 10 s more).
        const unrecorded = await outbound.drained(5000);
        outbound.close();
        if (unrecorded > 0) logger.error({ unrecorded }, 'jobs still unrecorded at exit: they come back from SQS after their visibility timeout');
        await inbound.stop();
        await new Promise((r) => health.close(r));
        if (!deps.clients?.sqs) sqs.destroy();
        if (!deps.clients?.dynamodb) dynamodb.destroy();
      })()),
  };
}

/** The production process: `npm run service`. */
async function main(): Promise<void> {
  let config: Readonly<Config>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const metrics = await EmfMetrics.create('SmppConnector', { Service: process.env['SERVICE_NAME'] ?? 'smpp-connector' });
  metrics.start();
  const service = await startService(config, { logger, metrics });
  logger.info({ host: config.smpp.host, port: config.smpp.port, tls: config.smpp.tls, healthPort: service.healthPort }, 'service started');

  const shutdown = (signal: string) => {
    logger.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down');
    service
      .stop()
      .then(() => metrics.stop())
      .then(
        () => {
          logger.info({}, 'stopped cleanly');
          process.exit(0);
        },
        (err: Error) => {
          logger.error({ err: err.message }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main();
}
