import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Command } from 'commander';
import { BindLease } from '../aws/bind-lease.js';
import { systemClock } from '../clock.js';
import { loadConfig, type Config } from '../config.js';
import { ConfigError } from '../errors.js';
import { createLogger, type Logger } from '../logger.js';
import { resolveTarget } from './client.js';
import { checkConnection, NoBindSlotError, sendDirect, type ToolDeps } from './smpp-tool.js';

/**
 * The service's SMPP settings and its messages table, where the account's bind slots are leased:
 * the tool binds with the service's system_id, so it holds a slot like any of the service's binds.
 * The queue is not needed.
 */
function toolConfig(table: string | undefined): Readonly<Config> {
  const target = resolveTarget(table === undefined ? {} : { tableName: table });
  if (!target.tableName) {
    process.stderr.write('no table for the bind slots: pass --table, set MESSAGES_TABLE (the stack output TableName), or start the local stack with npm start\n');
    process.exit(78);
  }
  try {
    return loadConfig({ OUTBOUND_QUEUE_URL: 'http://unused.invalid', ...process.env, MESSAGES_TABLE: target.tableName, AWS_REGION: target.region });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}

/** The bind slots of the account, held by this run of the tool and given back at exit, Ctrl-C included. */
function toolSlots(config: Readonly<Config>, logger: Logger): ToolDeps & { close(): Promise<void> } {
  const dynamodb = new DynamoDBClient({ region: config.aws.region, requestHandler: { connectionTimeout: 5_000, requestTimeout: 10_000, throwOnRequestTimeout: true } });
  const lease = new BindLease({
    client: dynamodb,
    tableName: config.aws.tableName,
    accountBinds: config.accountBinds,
    owner: `smpp-tool:${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    leaseMs: config.bindLeaseSeconds * 1000,
    clock: systemClock,
    logger,
  });
  const interrupted = (signal: string) => {
    process.stderr.write(`${signal}: giving the bind slots back\n`);
    void lease.releaseAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', () => interrupted('SIGINT'));
  process.once('SIGTERM', () => interrupted('SIGTERM'));
  return {
    slots: lease,
    close: async () => {
      await lease.releaseAll();
      dynamodb.destroy();
    },
  };
}

const program = new Command('smpp')
  .description('Check and exercise the SMPP link configured by the SMPP_* variables')
  .option('--table <name>', "the messages table holding the account's bind slots (default: MESSAGES_TABLE, or the running local stack)");

program
  .command('check')
  .description('bind each configured bind type, print TLS version and cipher, measure enquire_link round trips')
  .action(async () => {
    const config = toolConfig(program.opts<{ table?: string }>().table);
    const logger = createLogger(process.env['LOG_LEVEL'] ?? 'warn', process.stderr as never);
    const deps = toolSlots(config, logger);
    const results = await checkConnection(config, logger, 5, deps);
    await deps.close();
    for (const r of results) {
      const rtt = r.enquireLinkRttMs ? `enquire_link rtt ${r.enquireLinkRttMs.join(' / ')} ms` : '';
      process.stdout.write(
        r.ok
          ? `OK    ${r.bindType.padEnd(12)} ${r.tls ? `${r.tls.protocol} ${r.tls.cipher}` : 'PLAINTEXT'}  ${rtt}\n`
          : `FAIL  ${r.bindType.padEnd(12)} ${r.error}\n`,
      );
    }
    const ok = results.length > 0 && results.every((r) => r.ok);
    process.stdout.write(`${JSON.stringify({ ok, host: config.smpp.host, port: config.smpp.port, results })}\n`);
    process.exit(ok ? 0 : 1);
  });

program
  .command('send')
  .description('submit directly (no SQS) at the configured rate through the real window and throttle')
  .requiredOption('--to <number>', 'destination')
  .requiredOption('--text <text>', 'message text')
  .option('--from <sender>', 'sender', '8x8')
  .option('--count <n>', 'messages to send', '1')
  .option('--wait-receipts', 'wait for the delivery receipts')
  .option('--receipt-timeout-ms <ms>', 'how long to wait for receipts', '30000')
  .action(async (o: { to: string; text: string; from: string; count: string; waitReceipts?: boolean; receiptTimeoutMs: string }) => {
    const config = toolConfig(program.opts<{ table?: string }>().table);
    const logger = createLogger(process.env['LOG_LEVEL'] ?? 'warn', process.stderr as never);
    const deps = toolSlots(config, logger);
    const report = await sendDirect(
      config,
      logger,
      {
        to: o.to,
        from: o.from,
        text: o.text,
        count: Math.max(1, Number(o.count)),
        waitReceipts: Boolean(o.waitReceipts),
        receiptTimeoutMs: Number(o.receiptTimeoutMs),
      },
      deps,
    ).catch(async (err: unknown) => {
      await deps.close();
      if (!(err instanceof NoBindSlotError)) throw err;
      process.stderr.write(`FAIL  ${err.message}\n`);
      process.exit(1);
    });
    await deps.close();
    process.stdout.write(
      [
        `accepted  ${report.accepted} of ${report.parts} part(s) (${report.requested} message(s))`,
        `throttled ${report.throttled} (re-sent, not failed)`,
        `failed    ${report.failed}   retryable ${report.retryable}   unknown outcome ${report.unknown}`,
        `rate      ${report.achievedRate} msg/s (configured ${config.smpp.mpsPerBind}/s per TX bind × ${config.smpp.txBinds + config.smpp.trxBinds})`,
        `latency   p50 ${report.latencyMs.p50.toFixed(1)} ms, p99 ${report.latencyMs.p99.toFixed(1)} ms`,
        ...(o.waitReceipts
          ? [
              `receipts  ${JSON.stringify(report.receipts)}: final for ${report.accepted - report.receiptsMissing} of ${report.accepted} part(s), missing ${report.receiptsMissing}`,
              `          duplicates ${report.duplicateReceipts} (extra copies, not counted above)   unmatched ${report.unmatchedReceipts} (ids this run did not send)`,
            ]
          : []),
      ].join('\n') + '\n',
    );
    process.stdout.write(`${JSON.stringify(report)}\n`);
    process.exit(report.accepted === report.parts && report.receiptsMissing === 0 ? 0 : 1);
  });

await program.parseAsync();
