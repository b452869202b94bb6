import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { pino } from 'pino';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { createSqsClient } from '../aws/queue.js';
import { FinalStatusSweep, StatusStore } from '../aws/status-store/index.js';
import { loadConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { createHandler } from '../lambdas/stream-publisher.js';
import { createLogger } from '../logger.js';
import { startService } from '../main.js';
import { SmscSimulator } from '../sim/smsc-simulator.js';
import { LOCAL_STACK_FILE, sendSms } from '../tools/client.js';
import { createMessagesTable, createQueues, localAwsEnv, startLocalAws } from './emulators.js';
import { runDemo } from './demo.js';
import { LocalEventBus, StreamRunner } from './stream-runner.js';

/**
 * `npm start`: the whole system on one machine, no AWS account — SQS (fauxqs),
 * DynamoDB Local with its stream, the SMSC simulator over TLS (or the SMSC in
 * SMPP_HOST), the service, and the downstream Lambda fed from the stream.
 */
const program = new Command('start')
  .option('--demo-only', 'run the demo batch, print the results, and exit')
  .option('--no-demo', 'skip the demo batch')
  .option('--count <n>', 'jobs in the demo batch', '50')
  .parse();
const opts = program.opts<{ demoOnly?: boolean; demo: boolean; count: string }>();

const cacheDir = fileURLToPath(new URL('../../../.cache/', import.meta.url));
mkdirSync(cacheDir, { recursive: true });
const logFile = `${cacheDir}local-service.log`;
const say = (line: string) => process.stderr.write(`${line}\n`);
const stops: Array<() => Promise<unknown>> = [];

async function stopAll(): Promise<void> {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
}

async function main(): Promise<number> {
  // The SDK is pinned to versions that support Node 20 (docs/architecture.md §6); its upgrade notice is noise here.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  say('starting SQS (fauxqs) and DynamoDB Local …');
  const aws = await startLocalAws();
  stops.push(() => aws.stop());
  const region = 'us-east-1';
  const awsEnv: Record<string, string> = { ...localAwsEnv(aws, region), AWS_ENDPOINT_URL_DYNAMODB_STREAMS: aws.dynamodbEndpoint };
  Object.assign(process.env, awsEnv);

  const sqs = createSqsClient();
  const dynamodb = new DynamoDBClient({});
  const tableName = 'smpp-messages';
  const { queueUrl, dlqUrl } = await createQueues(sqs, 'smpp-outbound');
  // The urgent lane's queue, with its own DLQ (README, Priority lanes).
  const { queueUrl: priorityQueueUrl, dlqUrl: priorityDlqUrl } = await createQueues(sqs, 'smpp-outbound-priority');
  await createMessagesTable(dynamodb, tableName);

  let smscEnv: Record<string, string> = {};
  let simulator: SmscSimulator | undefined;
  if (!process.env['SMPP_HOST']) {
    simulator = new SmscSimulator({ tls: {}, responseDelayMs: 20, receiptDelayMs: 200 });
    const ports = await simulator.start();
    stops.push(() => simulator?.stop() ?? Promise.resolve());
    const caFile = `${cacheDir}smsc-sim-ca.pem`;
    writeFileSync(caFile, simulator.caPem ?? '');
    smscEnv = {
      SMPP_HOST: 'localhost',
      SMPP_PORT: String(ports.tlsPort),
      SMPP_TLS: 'true',
      SMPP_CA_FILE: caFile,
      SMPP_SYSTEM_ID: 'test',
      SMPP_PASSWORD: 'secret',
    };
    say(`SMSC simulator: TLS 1.3 on localhost:${ports.tlsPort}, plaintext on ${ports.port} (system_id test / password secret)`);
  } else {
    say(`using the SMSC at ${process.env['SMPP_HOST']}:${process.env['SMPP_PORT'] ?? 2776}`);
  }

  let config;
  try {
    config = loadConfig({ HEALTH_PORT: '0', ...process.env, ...smscEnv, OUTBOUND_QUEUE_URL: queueUrl, OUTBOUND_PRIORITY_QUEUE_URL: priorityQueueUrl, MESSAGES_TABLE: tableName });
  } catch (err) {
    if (err instanceof ConfigError) say(err.message);
    throw err;
  }
  const logger = createLogger(config.logLevel, pino.destination({ dest: logFile, sync: false }));
  const service = await startService(config, { logger });
  stops.push(() => service.stop());
  await service.ready();

  const bus = new LocalEventBus();
  const runner = new StreamRunner({
    dynamodb,
    streams: new DynamoDBStreamsClient({}),
    tableName,
    handler: createHandler({ eventBridge: bus, busName: 'local', log: { error: (m: string, detail?: object) => logger.error({ lambda: m, ...detail }, 'stream publisher') } }),
  });
  await runner.start();
  stops.push(() => runner.stop());
  // The final-status sweep, every minute here (a scheduled Lambda every 15 minutes in AWS; docs/architecture.md §7.2).
  const sweep = new FinalStatusSweep({ client: dynamodb, tableName, ttlDays: config.messageTtlDays, logger });
  const sweeping = setInterval(() => {
    sweep.run().then((r) => r.due > 0 && logger.info(r, 'final-status sweep'), (err: Error) => logger.warn({ err: err.message }, 'final-status sweep failed'));
  }, 60_000);
  stops.push(async () => clearInterval(sweeping));

  writeFileSync(LOCAL_STACK_FILE, JSON.stringify({ queueUrl, dlqUrl, priorityQueueUrl, priorityDlqUrl, tableName, region, env: awsEnv }, null, 2));
  process.stdout.write(
    `${JSON.stringify({
      event: 'local-stack-ready',
      queueUrl,
      dlqUrl,
      priorityQueueUrl,
      priorityDlqUrl,
      tableName,
      region,
      endpoints: { sqs: aws.sqsEndpoint, dynamodb: aws.dynamodbEndpoint },
      smsc: { host: config.smpp.host, port: config.smpp.port, tls: config.smpp.tls },
      healthPort: service.healthPort,
      logFile,
    })}\n`,
  );

  let ok = true;
  if (opts.demo) {
    const store = new StatusStore({ client: dynamodb, tableName });
    ok = await runDemo({
      count: Math.max(5, Number(opts.count)),
      send: (jobs) => sendSms(jobs, { queueUrl, sqs }),
      sendRaw: async (body) => {
        await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
      },
      get: (id) => store.get(id),
      bus,
      say,
      out: (line) => process.stdout.write(`${line}\n`),
    });
  }
  if (opts.demoOnly) return ok ? 0 : 1;

  say(
    [
      '',
      'The local stack is up. In another terminal:',
      '  npm run send -- --to +6591234567 --text "Hello"      # put a job on the queue',
      '  npm run send -- --priority --to +6591234567 --text "Code 123456"   # an urgent job: ahead of bulk ones',
      '  npm run status -- <id>                               # its status record and timeline',
      `Service log: ${logFile}   Health: http://localhost:${service.healthPort}/readyz`,
      'Ctrl-C stops everything.',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  return 0;
}

main()
  .then(async (code) => {
    await stopAll();
    process.exit(code);
  })
  .catch(async (err: Error) => {
    say(`local stack failed: ${err.message}`);
    await stopAll();
    process.exit(1);
  });
