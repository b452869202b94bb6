import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../service/src/config.js';
import { ConfigError } from '../../service/src/errors.js';

/** The smallest valid environment, plus `overrides`. */
function env(overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    SMPP_HOST: 'smpp.8x8.com',
    SMPP_SYSTEM_ID: 'acme',
    SMPP_PASSWORD: 'pw',
    OUTBOUND_QUEUE_URL: 'https://sqs.ap-southeast-1.amazonaws.com/123456789012/outbound',
    MESSAGES_TABLE: 'messages',
    AWS_REGION: 'ap-southeast-1',
    ...overrides,
  };
}

function problemsOf(e: NodeJS.ProcessEnv): readonly string[] {
  try {
    loadConfig(e);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

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
