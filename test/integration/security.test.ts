import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { generate } from 'selfsigned';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { StaticCredentials } from '../../service/src/aws/secrets.js';
import { systemClock } from '../../service/src/clock.js';
import { loadConfig } from '../../service/src/config.js';
import { BindError, ErrorCode } from '../../service/src/errors.js';
import { createQueues } from '../../service/src/local/emulators.js';
import { createLogger, silentLogger } from '../../service/src/logger.js';
import { generateLocalhostCertificate, type TlsKeyPair } from '../../service/src/sim/tls-cert.js';
import type { Bind } from '../../service/src/smpp/bind.js';
import { SmppClient } from '../../service/src/smpp/client.js';
import { startChildService, type ChildService } from '../support/child-service.js';
import { FuzzSmsc } from '../support/fuzz-smsc.js';
import { isDone, serviceEnv, startStack, type TestStack } from '../support/stack.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const dir = mkdtempSync(join(tmpdir(), 'security-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A self-signed certificate for a host name other than the one we connect to. */
async function certificateFor(name: string): Promise<TlsKeyPair> {
  const pems = await generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: name }] }],
  });
  return { key: pems.private, cert: pems.cert };
}

function caFile(pem: string): string {
  const file = join(dir, `ca-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(file, pem);
  return file;
}

/** An SmppClient wired from the service configuration exactly as main.ts wires it, with one transmitter. */
function clientFromEnv(port: number, env: Record<string, string>): SmppClient {
  const config = loadConfig({
    SMPP_HOST: 'localhost',
    SMPP_PORT: String(port),
    SMPP_SYSTEM_ID: 'test',
    SMPP_PASSWORD: 'secret',
    TX_BINDS: '1',
    RX_BINDS: '0',
    TRX_BINDS: '1',
    OUTBOUND_QUEUE_URL: 'http://127.0.0.1:9/unused',
    MESSAGES_TABLE: 'unused',
    AWS_REGION: 'us-east-1',
    ...env,
  });
  const c = new SmppClient({
    ...config.smpp,
    // The transceiver is not started: one bind is enough to see the handshake.
    trxBinds: 0,
    credentials: new StaticCredentials({ systemId: 'test', password: 'secret' }),
    onDeliver: () => Promise.resolve(),
    backoff: { baseMs: 50, maxMs: 200, authMinMs: 200, refusedMinMs: 200 },
    logger: silentLogger,
    clock: systemClock,
  });
  c.start();
  cleanups.push(() => c.stop(200));
  return c;
}

function firstOutcome(bind: Bind): Promise<{ bound: true } | { bound: false; error: BindError }> {
  return new Promise((resolve) => {
    bind.once('bound', () => resolve({ bound: true }));
    bind.once('bind-failed', (error: BindError) => resolve({ bound: false, error }));
  });
}

async function tlsSmsc(options: ConstructorParameters<typeof FuzzSmsc>[0] = {}): Promise<{ smsc: FuzzSmsc; port: number }> {
  const smsc = new FuzzSmsc(options);
  const port = await smsc.start();
  cleanups.push(() => smsc.stop());
  return { smsc, port };
}

describe('TLS (on by default)', () => {
  it('refuses an SMSC whose certificate it does not trust, before sending the bind', async () => {
    // Prepare: no SMPP_TLS and no SMPP_CA_FILE: the defaults.
    const { smsc, port } = await tlsSmsc({ tls: await generateLocalhostCertificate() });
    const c = clientFromEnv(port, {});
    // Act
    const outcome = await firstOutcome(c.binds[0] as Bind);
    // Assess
    expect(outcome).toMatchObject({ bound: false, error: { code: ErrorCode.SMPP_CONNECT } });
    expect(outcome.bound ? '' : outcome.error.message).toMatch(/self.signed certificate/i);
    expect(smsc.bindRequests).toHaveLength(0);
  });

  it('refuses a trusted certificate issued for another host name', async () => {
    const pair = await certificateFor('smpp.example.com');
    const { smsc, port } = await tlsSmsc({ tls: pair });
    const c = clientFromEnv(port, { SMPP_CA_FILE: caFile(pair.cert) });

    const outcome = await firstOutcome(c.binds[0] as Bind);

    expect(outcome).toMatchObject({ bound: false, error: { code: ErrorCode.SMPP_CONNECT } });
    expect(outcome.bound ? '' : outcome.error.message).toMatch(/does not match certificate's altnames/);
    expect(smsc.bindRequests).toHaveLength(0);
  });

  it('binds over TLS 1.3 to an SMSC it trusts through SMPP_CA_FILE', async () => {
    const pair = await generateLocalhostCertificate();
    const { port } = await tlsSmsc({ tls: pair });
    const c = clientFromEnv(port, { SMPP_CA_FILE: caFile(pair.cert) });

    const outcome = await firstOutcome(c.binds[0] as Bind);

    expect(outcome).toEqual({ bound: true });
    expect(c.binds[0]?.session?.tlsInfo()?.protocol).toBe('TLSv1.3');
  });

  it('refuses a server that offers only TLS 1.2 when 1.3 is required (the default), at the handshake', async () => {
    // Prepare: a TLS 1.2-only server that speaks nothing: the handshake alone must fail.
    const pair = await generateLocalhostCertificate();
    let handshakes = 0;
    const server: TlsServer = createTlsServer({ ...pair, maxVersion: 'TLSv1.2' }, () => (handshakes += 1));
    server.on('tlsClientError', () => undefined);
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const c = clientFromEnv(port, { SMPP_CA_FILE: caFile(pair.cert) });
    // Act
    const outcome = await firstOutcome(c.binds[0] as Bind);
    // Assess
    expect(outcome).toMatchObject({ bound: false, error: { code: ErrorCode.SMPP_CONNECT } });
    expect(outcome.bound ? '' : outcome.error.message).toMatch(/protocol version|unsupported protocol/i);
    expect(handshakes).toBe(0);
  });

  it('binds to a TLS 1.2 server when SMPP_TLS_MIN_VERSION=TLSv1.2', async () => {
    const pair = await generateLocalhostCertificate();
    const { port } = await tlsSmsc({ tls: { ...pair, maxVersion: 'TLSv1.2' } });
    const c = clientFromEnv(port, { SMPP_CA_FILE: caFile(pair.cert), SMPP_TLS_MIN_VERSION: 'TLSv1.2' });

    const outcome = await firstOutcome(c.binds[0] as Bind);

    expect(outcome).toEqual({ bound: true });
    expect(c.binds[0]?.session?.tlsInfo()?.protocol).toBe('TLSv1.2');
  });
});

describe('plaintext (only when asked for)', () => {
  let stack: TestStack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it('logs a warning when SMPP_TLS=false', async () => {
    // Prepare: the local stack's service configuration has SMPP_TLS=false.
    stack = await startStack();
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
    // Act
    await stack.startService({}, { logger });
    // Assess
    const warnings = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['level'] === 40);
    expect(warnings.map((w) => w['msg'])).toContain('SMPP_TLS=false: credentials and messages cross the network in plaintext');
  });
});

describe('no secrets in the logs', () => {
  const PASSWORD = 'Pw9!kQz7';
  const WRONG_PASSWORD = 'Wr0ng!pw';
  const MARKER = 'SECRET-TEXT-xyz';
  /** Destinations with digits that appear nowhere else; none may show in a log line beyond its mask. */
  const NUMBERS = ['+6591827364', '+6592736481', '+6593648172', '+6594810000', '+6595172638', '+6596283749', '+6597394851'];
  const MO_SENDER = '+6594736251';

  let stack: TestStack | undefined;
  const children: ChildService[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) await c.stop();
    await stack?.stop();
    stack = undefined;
  });

  /** Every run of 7 digits of a number: a masked number shows at most 3 in a row. */
  const digitWindows = (number: string): string[] => {
    const digits = number.replace(/\D/g, '');
    return Array.from({ length: digits.length - 6 }, (_, i) => digits.slice(i, i + 7));
  };

  it('a full run at trace level, and a bind with a wrong password, log no password, no message text and no full phone number, as pino JSON', async () => {
    // Prepare: the simulator account's password is the distinctive one.
    stack = await startStack({ accounts: [{ systemId: 'test', password: PASSWORD, maxBinds: 8, mps: 10_000 }] });
    const port = stack.sim.address?.port ?? 0;
    const env = { ...stack.aws.env, ...serviceEnv(port, stack.queueUrl, stack.tableName, { SMPP_PASSWORD: PASSWORD, LOG_LEVEL: 'trace' }) };
    const child = startChildService(env);
    children.push(child);
    // The wrong-password service gets a queue of its own, so it cannot hold the real jobs.
    const { queueUrl: otherQueue } = await createQueues(stack.aws.sqs, stack.aws.uniqueName('wrong-pw'));
    const wrong = startChildService({ ...env, SMPP_PASSWORD: WRONG_PASSWORD, OUTBOUND_QUEUE_URL: otherQueue });
    children.push(wrong);
    const stdout: string[] = [];
    for (const c of [child, wrong]) c.process.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk.toString('utf8')));
    await child.waitForLog((l) => l['msg'] === 'bound' && l['type'] === 'transmitter');
    await child.waitForLog((l) => l['msg'] === 'bound' && l['type'] === 'receiver');
    const r = Math.random().toString(36).slice(2, 8);
    const n = (i: number) => NUMBERS[i] ?? '+6590000000';

    // Act: delivered, long, UCS-2, undeliverable and metadata-carrying jobs; invalid ones; a permanent failure; an MO.
    const good = [
      { id: `sec-${r}-1`, to: n(0), from: '8x8', text: `${MARKER}-1 hello` },
      { id: `sec-${r}-2`, to: n(1), from: '8x8', text: `${MARKER}-2 ${'lorem ipsum '.repeat(30)}` },
      { id: `sec-${r}-3`, to: n(2), from: 'Shop', text: `${MARKER}-3 Привет` },
      { id: `sec-${r}-4`, to: n(3), from: '8x8', text: `${MARKER}-4 undeliverable` },
      { id: `sec-${r}-5`, to: n(4), from: '8x8', text: `${MARKER}-5 meta`, metadata: { note: `${MARKER}-meta` }, validityPeriodSeconds: 3600 },
    ];
    await stack.send(good);
    const invalidBodies = [
      `{"id":"sec-${r}-6","to":${n(5)},"from":"8x8","text":"${MARKER}-6"}`,
      JSON.stringify({ id: `sec-${r}-7`, to: n(5), from: '8x8', text: `${MARKER}-7`, colour: 'red' }),
      JSON.stringify({ id: `sec-${r}-8`, to: n(5), from: '8x8', text: `${MARKER}-8 Привет`, encoding: 'gsm7' }),
    ];
    const sqsIds: string[] = [];
    for (const body of invalidBodies) {
      const out = await stack.aws.sqs.send(new SendMessageCommand({ QueueUrl: stack.queueUrl, MessageBody: body }));
      sqsIds.push(out.MessageId ?? '');
    }
    const invalidKeys = [sqsIds[0] ?? '', `sec-${r}-7`, `sec-${r}-8`];
    const items = await stack.waitFor([...good.map((j) => j.id), ...invalidKeys], isDone, 20_000);
    stack.sim.setFaults({ submitFailRate: 1 });
    await stack.send([{ id: `sec-${r}-9`, to: n(6), from: '8x8', text: `${MARKER}-9 refused` }]);
    await stack.waitFor([`sec-${r}-9`], isDone, 10_000);
    stack.sim.setFaults({ submitFailRate: 0 });
    await stack.sim.sendMo({ from: MO_SENDER, to: '8x8', text: `${MARKER}-mo` });
    await child.waitForLog((l) => l['msg'] === 'MO message stored');
    await wrong.waitForLog((l) => l['msg'] === 'bind rejected: authentication failure');
    const exits = await Promise.all([child.signal('SIGTERM'), wrong.signal('SIGTERM')]);

    // Assess: the run really happened, at trace level.
    expect(exits.map((e) => e.code)).toEqual([0, 0]);
    expect(items.get(`sec-${r}-1`)?.status).toBe('DELIVERED');
    expect(items.get(`sec-${r}-4`)?.status).toBe('UNDELIVERED');
    expect([...invalidKeys].map((k) => items.get(k)?.status)).toEqual(['INVALID', 'INVALID', 'INVALID']);
    expect(child.logs.some((l) => l['level'] === 20)).toBe(true);
    expect(child.logs.some((l) => l['msg'] === 'submit refused permanently')).toBe(true);
    expect(child.logs.some((l) => l['msg'] === 'invalid job recorded and deleted')).toBe(true);
    expect(child.logs.some((l) => l['msg'] === 'SMPP_TLS=false: credentials and messages cross the network in plaintext')).toBe(true);
    // Nothing secret anywhere in either process's output (stdout and stderr).
    const output = child.output() + wrong.output();
    expect(output).not.toContain(PASSWORD);
    expect(output).not.toContain(WRONG_PASSWORD);
    expect(output).not.toContain('SECRET-TEXT');
    expect(output).not.toContain('lorem ipsum');
    expect(output).not.toContain('Привет');
    for (const number of [...NUMBERS, MO_SENDER]) for (const window of digitWindows(number)) expect(output, number).not.toContain(window);
    // Phone numbers are masked, not merely absent: the MO sender shows as its mask.
    expect(child.logs.find((l) => l['msg'] === 'MO message stored')?.['from']).toBe('6594****51');
    expect(child.logs.find((l) => l['msg'] === 'submit refused permanently')?.['to']).toBe('+659*****51');
    // The INVALID reason stored for the non-JSON body quotes none of it either.
    expect(items.get(sqsIds[0] ?? '')?.reason).toBe("body is not JSON: Unexpected token '+'");
    // Every line on stdout is a JSON document: a pino log line, or an EMF metrics document.
    const lines = stdout.join('').split('\n').filter((l) => l.length > 0);
    expect(lines.length).toBeGreaterThan(20);
    for (const line of lines) {
      const doc = JSON.parse(line) as Record<string, unknown>;
      if ('_aws' in doc) continue;
      expect(doc).toMatchObject({ level: expect.any(Number), time: expect.any(String), service: 'smpp-connector', msg: expect.any(String) });
    }
  });
});
