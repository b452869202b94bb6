import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import { ConfigError } from '../errors.js';
import { SmscSimulator } from './smsc-simulator.js';

/**
 * `npm run smsc-sim`: the simulator as a process. Prints one JSON line
 * `{"event":"smsc-sim-ready",…}` on stdout once it listens (scripts wait for it),
 * then pino logs; SIGINT / SIGTERM stop it cleanly.
 */

function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

const program = new Command('smsc-sim')
  .description('SMPP 3.4 SMSC simulator that behaves like the 8x8 service (auth, bind cap, rate limit, receipts)')
  .option('--host <host>', 'interface to listen on', '127.0.0.1')
  .option('--port <port>', 'plaintext SMPP port (0 = ephemeral)', integer(0, 65535), 2775)
  .option('--tls-port <port>', 'also listen with TLS (self-signed certificate for localhost) on this port', integer(0, 65535))
  .option('--ca-out <file>', 'where to write the TLS certificate PEM for clients to trust', '.cache/smsc-sim-ca.pem')
  .addOption(new Option('--tls-min-version <version>', 'lowest TLS version accepted').choices(['TLSv1.2', 'TLSv1.3']).default('TLSv1.3'))
  .option('--system-id <id>', 'system_id to accept', 'test')
  .option('--password <password>', 'password to accept', 'secret')
  .option('--max-binds <n>', 'concurrent binds per system_id', integer(1), 4)
  .option('--mps <n>', 'accepted submit_sm per bind per second', integer(1), 50)
  .addOption(new Option('--id-format <format>', 'message id format in submit_sm_resp').choices(['hex', 'decimal']).default('hex'))
  .addOption(new Option('--receipt-id-format <format>', 'message id format in receipts').choices(['same', 'hex', 'decimal']).default('same'))
  .option('--response-delay-ms <ms>', 'delay before each submit_sm_resp', integer(0), 0)
  .option('--receipt-delay-ms <ms>', 'delay between the response and the receipt', integer(0), 0)
  .option('--receipt-retry-ms <ms>', 'wait before redelivering a refused or unanswered receipt', integer(0), 250)
  .option('--enquire-link-interval-ms <ms>', 'send enquire_link on bound sessions at this interval', integer(1))
  .option('--seed <n>', 'PRNG seed (fault decisions, id start)', integer(0), 1)
  .addOption(
    new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default(process.env['LOG_LEVEL'] ?? 'info'),
  );

interface CliOptions {
  host: string;
  port: number;
  tlsPort?: number;
  caOut: string;
  tlsMinVersion: 'TLSv1.2' | 'TLSv1.3';
  systemId: string;
  password: string;
  maxBinds: number;
  mps: number;
  idFormat: 'hex' | 'decimal';
  receiptIdFormat: 'same' | 'hex' | 'decimal';
  responseDelayMs: number;
  receiptDelayMs: number;
  receiptRetryMs: number;
  enquireLinkIntervalMs?: number;
  seed: number;
  logLevel: string;
}

async function main(): Promise<void> {
  const opts = program.parse().opts<CliOptions>();
  const logger = pino({ level: opts.logLevel });
  const sim = new SmscSimulator({
    host: opts.host,
    port: opts.port,
    tls: opts.tlsPort === undefined ? false : { port: opts.tlsPort, minVersion: opts.tlsMinVersion },
    accounts: [{ systemId: opts.systemId, password: opts.password, maxBinds: opts.maxBinds, mps: opts.mps }],
    idFormat: opts.idFormat,
    receiptIdFormat: opts.receiptIdFormat,
    responseDelayMs: opts.responseDelayMs,
    receiptDelayMs: opts.receiptDelayMs,
    receiptRetryMs: opts.receiptRetryMs,
    ...(opts.enquireLinkIntervalMs === undefined ? {} : { enquireLinkIntervalMs: opts.enquireLinkIntervalMs }),
    seed: opts.seed,
    logger,
  });
  const { port, tlsPort } = await sim.start();
  let caFile: string | undefined;
  if (tlsPort !== undefined && sim.caPem) {
    caFile = resolve(opts.caOut);
    await mkdir(dirname(caFile), { recursive: true });
    await writeFile(caFile, sim.caPem);
  }
  process.stdout.write(
    `${JSON.stringify({ event: 'smsc-sim-ready', host: opts.host, port, tlsPort: tlsPort ?? null, caFile: caFile ?? null, systemId: opts.systemId })}\n`,
  );

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, stats: sim.stats }, 'smsc-sim stopping');
    sim.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'smsc-sim stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof ConfigError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
