import { Command } from 'commander';
import { loadConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { createLogger } from '../logger.js';
import { checkConnection, sendDirect } from './smpp-tool.js';

/** The service's SMPP settings; queue and table are not needed for these commands. */
function smppConfig() {
  try {
    return loadConfig({ OUTBOUND_QUEUE_URL: 'http://unused.invalid', MESSAGES_TABLE: 'unused', AWS_REGION: 'us-east-1', ...process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}

const program = new Command('smpp').description('Check and exercise the SMPP link configured by the SMPP_* variables');

program
  .command('check')
  .description('bind each configured bind type, print TLS version and cipher, measure enquire_link round trips')
  .action(async () => {
    const config = smppConfig();
    const logger = createLogger(process.env['LOG_LEVEL'] ?? 'warn', process.stderr as never);
    const results = await checkConnection(config, logger);
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
    const config = smppConfig();
    const logger = createLogger(process.env['LOG_LEVEL'] ?? 'warn', process.stderr as never);
    const report = await sendDirect(config, logger, {
      to: o.to,
      from: o.from,
      text: o.text,
      count: Math.max(1, Number(o.count)),
      waitReceipts: Boolean(o.waitReceipts),
      receiptTimeoutMs: Number(o.receiptTimeoutMs),
    });
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
