import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../service/src/config.js';
import { ConfigError, ErrorCode } from '../../service/src/errors.js';

/** The smallest valid environment: host, local credentials and the AWS names. */
function env(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {
    SMPP_HOST: 'smpp.8x8.com',
    SMPP_SYSTEM_ID: 'acme',
    SMPP_PASSWORD: 'pw',
    OUTBOUND_QUEUE_URL: 'https://sqs.ap-southeast-1.amazonaws.com/123456789012/outbound',
    MESSAGES_TABLE: 'messages',
    AWS_REGION: 'ap-southeast-1',
  };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete e[k];
    else e[k] = v;
  }
  return e;
}

/** The problems a ConfigError lists, or fails the test when the environment loads. */
function problemsOf(e: NodeJS.ProcessEnv): readonly string[] {
  try {
    loadConfig(e);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const dir = mkdtempSync(join(tmpdir(), 'config-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadConfig defaults', () => {
  it('connects with TLS 1.3 or later to port 2776', () => {
    const config = loadConfig(env());

    expect(config.smpp).toMatchObject({ host: 'smpp.8x8.com', port: 2776, tls: true, tlsMinVersion: 'TLSv1.3' });
  });

  it('opens one transmitter and one receiver, no transceiver', () => {
    expect(loadConfig(env()).smpp).toMatchObject({ txBinds: 1, rxBinds: 1, trxBinds: 0 });
  });

  it('sends 50 messages per second per bind with a window of 10', () => {
    expect(loadConfig(env()).smpp).toMatchObject({ mpsPerBind: 50, windowSize: 10 });
  });

  it('uses the documented timeouts, concatenation, health port, log level and retention', () => {
    const config = loadConfig(env());

    expect(config.smpp).toMatchObject({ responseTimeoutMs: 10_000, enquireLinkIntervalMs: 30_000, concat: 'udh8', systemType: '' });
    expect(config).toMatchObject({ healthPort: 8080, logLevel: 'info', shutdownGraceMs: 20_000, messageTtlDays: 30 });
  });

  it('lets a status read or write wait 20 ms for others to share its batch, 0 to 1000 ms when set', () => {
    expect(loadConfig(env()).storeLingerMs).toBe(20);
    expect(loadConfig(env({ STORE_LINGER_MS: '0' })).storeLingerMs).toBe(0);
    expect(() => loadConfig(env({ STORE_LINGER_MS: '1001' }))).toThrow(ConfigError);
    expect(() => loadConfig(env({ STORE_LINGER_MS: '-1' }))).toThrow(ConfigError);
  });

  it('derives TON/NPI from each address unless SOURCE_/DEST_ADDR_TON/NPI force them', () => {
    expect(loadConfig(env()).smpp).toMatchObject({ sourceAddr: {}, destAddr: {} });
    expect(loadConfig(env({ SOURCE_ADDR_TON: '5', DEST_ADDR_NPI: '1' })).smpp).toMatchObject({ sourceAddr: { ton: 5 }, destAddr: { npi: 1 } });
  });

  it('returns a frozen object, all the way down', () => {
    const config = loadConfig(env());

    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.smpp)).toBe(true);
    expect(Object.isFrozen(config.aws)).toBe(true);
  });

  it('reads local credentials and leaves the secret id out', () => {
    const config = loadConfig(env());

    expect(config.smpp).toMatchObject({ systemId: 'acme', password: 'pw' });
    expect(config.smpp).not.toHaveProperty('credentialsSecretId');
  });

  it('reads a Secrets Manager secret id instead of local credentials', () => {
    const config = loadConfig(env({ SMPP_SYSTEM_ID: undefined, SMPP_PASSWORD: undefined, SMPP_CREDENTIALS_SECRET_ID: 'smpp/8x8' }));

    expect(config.smpp.credentialsSecretId).toBe('smpp/8x8');
    expect(config.smpp).not.toHaveProperty('password');
  });
});

describe('loadConfig booleans', () => {
  it.each([
    ['true', true],
    ['1', true],
    ['yes', true],
    ['false', false],
    ['0', false],
    ['no', false],
    ['TRUE', true],
    ['False', false],
  ])('reads SMPP_TLS=%s as %s', (value, expected) => {
    expect(loadConfig(env({ SMPP_TLS: value })).smpp.tls).toBe(expected);
  });

  it.each(['on', 'off', 'maybe', ''])('refuses SMPP_TLS=%j rather than guessing', (value) => {
    expect(problemsOf(env({ SMPP_TLS: value }))).toEqual(['SMPP_TLS must be true or false']);
  });
});

describe('loadConfig problems', () => {
  it('throws a ConfigError with the CONFIG_INVALID code', () => {
    expect(() => loadConfig(env({ SMPP_HOST: undefined }))).toThrow(ConfigError);
    expect(() => loadConfig(env({ SMPP_HOST: undefined }))).toThrow(expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }));
  });

  it('lists every bad variable in one error, so one restart fixes them all', () => {
    // Prepare
    const bad = env({
      SMPP_HOST: '',
      SMPP_PORT: 'abc',
      SMPP_TLS: 'maybe',
      SMPP_TLS_MIN_VERSION: 'TLSv1.1',
      TX_BINDS: '-1',
      MPS_PER_BIND: '1.5',
      WINDOW_SIZE: '0',
      OUTBOUND_QUEUE_URL: 'not a url',
      LOG_LEVEL: 'loud',
      AWS_REGION: undefined,
    });
    // Act
    const problems = problemsOf(bad);
    // Assess
    expect(problems).toEqual([
      'SMPP_HOST is required',
      'SMPP_PORT must be a number',
      'SMPP_TLS must be true or false',
      'SMPP_TLS_MIN_VERSION Invalid option: expected one of "TLSv1.2"|"TLSv1.3"',
      'TX_BINDS must be at least 0',
      'MPS_PER_BIND must be a whole number',
      'WINDOW_SIZE must be at least 1',
      'OUTBOUND_QUEUE_URL must be a URL',
      expect.stringMatching(/^AWS_REGION /),
      expect.stringMatching(/^LOG_LEVEL Invalid option/),
    ]);
  });

  it('puts every problem in the error message too, one per line', () => {
    expect(() => loadConfig(env({ SMPP_PORT: '70000', WINDOW_SIZE: '1001' }))).toThrow(
      'invalid configuration:\n  - SMPP_PORT must be at most 65535\n  - WINDOW_SIZE must be at most 1000',
    );
  });

  it.each([
    ['SMPP_PASSWORD', '123456789', 'SMPP_PASSWORD is at most 8 characters (SMPP 3.4 password)'],
    ['SMPP_SYSTEM_ID', 'a'.repeat(16), 'SMPP_SYSTEM_ID is at most 15 characters (SMPP 3.4 system_id)'],
    ['SMPP_PORT', '0', 'SMPP_PORT must be at least 1'],
    ['RESPONSE_TIMEOUT_MS', '99', 'RESPONSE_TIMEOUT_MS must be at least 100'],
    ['SMPP_CONCAT', 'udh7', 'SMPP_CONCAT Invalid option: expected one of "udh8"|"udh16"|"sar"'],
  ])('refuses %s=%s', (name, value, problem) => {
    expect(problemsOf(env({ [name]: value }))).toEqual([problem]);
  });

  // Every problem at once: a bad variable must not hide the cross-field rules, or the operator needs a second restart.
  it('lists a cross-field problem together with a bad variable', () => {
    // Prepare: a bad port AND no receiving bind: both must be fixed.
    const bad = env({ SMPP_PORT: 'abc', RX_BINDS: '0' });
    // Act
    const problems = problemsOf(bad);
    // Assess
    expect(problems).toEqual(['SMPP_PORT must be a number', 'RX_BINDS + TRX_BINDS must be at least 1 (receipts would be lost)']);
  });
});

describe('loadConfig cross-field rules', () => {
  it('requires the enquire_link interval to exceed the response timeout, so a dead link is noticed before the next one', () => {
    expect(problemsOf(env({ ENQUIRE_LINK_INTERVAL_MS: '10000', RESPONSE_TIMEOUT_MS: '10000' }))).toEqual([
      'ENQUIRE_LINK_INTERVAL_MS must be greater than RESPONSE_TIMEOUT_MS',
    ]);
  });

  it('accepts an enquire_link interval just above the response timeout', () => {
    expect(loadConfig(env({ ENQUIRE_LINK_INTERVAL_MS: '10001', RESPONSE_TIMEOUT_MS: '10000' })).smpp.enquireLinkIntervalMs).toBe(10_001);
  });

  it('refuses a configuration that could not send: no transmitter and no transceiver', () => {
    expect(problemsOf(env({ TX_BINDS: '0' }))).toEqual(['TX_BINDS + TRX_BINDS must be at least 1 (nothing could be sent)']);
  });

  it('refuses a configuration that would lose receipts: no receiver and no transceiver', () => {
    expect(problemsOf(env({ RX_BINDS: '0' }))).toEqual(['RX_BINDS + TRX_BINDS must be at least 1 (receipts would be lost)']);
  });

  it('lists both bind problems at once', () => {
    expect(problemsOf(env({ TX_BINDS: '0', RX_BINDS: '0' }))).toHaveLength(2);
  });

  it('accepts a single transceiver in place of a transmitter and a receiver', () => {
    expect(loadConfig(env({ TX_BINDS: '0', RX_BINDS: '0', TRX_BINDS: '1' })).smpp).toMatchObject({ txBinds: 0, rxBinds: 0, trxBinds: 1 });
  });

  it('refuses local credentials and a secret id together', () => {
    expect(problemsOf(env({ SMPP_CREDENTIALS_SECRET_ID: 'smpp/8x8' }))).toEqual([
      'set either SMPP_SYSTEM_ID + SMPP_PASSWORD or SMPP_CREDENTIALS_SECRET_ID, not both',
    ]);
  });

  it.each([
    ['neither credentials nor a secret id', { SMPP_SYSTEM_ID: undefined, SMPP_PASSWORD: undefined }],
    ['a system id without a password', { SMPP_PASSWORD: undefined }],
    ['a password without a system id', { SMPP_SYSTEM_ID: undefined }],
  ])('refuses %s', (_name, overrides) => {
    expect(problemsOf(env(overrides))).toEqual(['credentials: set SMPP_SYSTEM_ID and SMPP_PASSWORD, or SMPP_CREDENTIALS_SECRET_ID']);
  });

  it('reads the extra CA certificate from SMPP_CA_FILE', () => {
    const file = join(dir, 'ca.pem');
    writeFileSync(file, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');

    expect(loadConfig(env({ SMPP_CA_FILE: file })).smpp.ca).toContain('BEGIN CERTIFICATE');
  });

  it('names an SMPP_CA_FILE that cannot be read, with the reason', () => {
    const missing = join(dir, 'missing.pem');

    expect(problemsOf(env({ SMPP_CA_FILE: missing }))).toEqual([`SMPP_CA_FILE cannot be read: ENOENT: no such file or directory, open '${missing}'`]);
  });

  it('names an SMPP_CA_FILE that is a directory', () => {
    expect(problemsOf(env({ SMPP_CA_FILE: dir }))).toEqual([expect.stringMatching(/^SMPP_CA_FILE cannot be read: EISDIR/)]);
  });

  it('lists every cross-field problem together', () => {
    const problems = problemsOf(
      env({ SMPP_CREDENTIALS_SECRET_ID: 'smpp/8x8', TX_BINDS: '0', RX_BINDS: '0', ENQUIRE_LINK_INTERVAL_MS: '5000', SMPP_CA_FILE: join(dir, 'nope.pem') }),
    );

    expect(problems).toHaveLength(5);
  });
});

describe('the bind budget settings', () => {
  it("default to 8x8's 4 binds per system_id and a 30-second lease", () => {
    expect(loadConfig(env())).toMatchObject({ accountBinds: 4, bindLeaseSeconds: 30 });
  });

  it('read ACCOUNT_BINDS and BIND_LEASE_SECONDS', () => {
    expect(loadConfig(env({ ACCOUNT_BINDS: '2', BIND_LEASE_SECONDS: '60', TRX_BINDS: '0' }))).toMatchObject({ accountBinds: 2, bindLeaseSeconds: 60 });
  });

  it('refuse a process with more binds than the account allows: it could never bind them all', () => {
    expect(problemsOf(env({ TX_BINDS: '2', RX_BINDS: '2', TRX_BINDS: '1', ACCOUNT_BINDS: '4' }))).toEqual([
      'TX_BINDS + RX_BINDS + TRX_BINDS (5) must not exceed ACCOUNT_BINDS (4), the binds the account allows',
    ]);
  });

  it('accept a process that uses the whole budget', () => {
    expect(loadConfig(env({ TX_BINDS: '1', RX_BINDS: '0', TRX_BINDS: '1', ACCOUNT_BINDS: '2' })).accountBinds).toBe(2);
  });

  it.each([
    ['ACCOUNT_BINDS', '0', 'ACCOUNT_BINDS must be at least 1'],
    ['BIND_LEASE_SECONDS', '9', 'BIND_LEASE_SECONDS must be at least 10'],
    ['BIND_LEASE_SECONDS', '301', 'BIND_LEASE_SECONDS must be at most 300'],
  ])('refuse %s=%s', (name, value, problem) => {
    expect(problemsOf(env({ [name]: value }))).toEqual([problem]);
  });
});
