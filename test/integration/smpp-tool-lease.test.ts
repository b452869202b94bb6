/**
 * The operator's tool (`npm run smpp -- check / send`) binds with the service's system_id, so it
 * holds bind slots like the service's binds: leased in DynamoDB Local, against the simulator.
 */
import { randomBytes } from 'node:crypto';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BindLease } from '../../service/src/aws/bind-lease.js';
import { systemClock } from '../../service/src/clock.js';
import { loadConfig } from '../../service/src/config.js';
import { silentLogger } from '../../service/src/logger.js';
import { SmscSimulator } from '../../service/src/sim/smsc-simulator.js';
import { checkConnection, NoBindSlotError, sendDirect } from '../../service/src/tools/smpp-tool.js';
import { useLocalAws } from '../support/aws.js';

const aws = useLocalAws();
let tableName: string;
beforeAll(async () => {
  tableName = await aws.sharedTable();
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A simulator account of the test's own (slot items are keyed by system_id), and the tool's configuration for it. */
async function account(accountBinds: number) {
  const systemId = `t${randomBytes(4).toString('hex')}`;
  const sim = new SmscSimulator({ accounts: [{ systemId, password: 'secret', maxBinds: 8, mps: 2000 }] });
  const { port } = await sim.start();
  cleanups.push(() => sim.stop());
  let opened = 0;
  sim.on('session-opened', () => (opened += 1));
  const config = loadConfig({
    SMPP_HOST: '127.0.0.1',
    SMPP_PORT: String(port),
    SMPP_TLS: 'false',
    SMPP_SYSTEM_ID: systemId,
    SMPP_PASSWORD: 'secret',
    MPS_PER_BIND: '2000',
    OUTBOUND_QUEUE_URL: 'http://unused.invalid',
    MESSAGES_TABLE: tableName,
    AWS_REGION: 'us-east-1',
    ACCOUNT_BINDS: String(accountBinds),
  });
  const lease = (owner: string) => new BindLease({ client: aws.dynamodb, tableName, accountBinds, owner, clock: systemClock, logger: silentLogger });
  return { systemId, config, lease, opened: () => opened };
}

async function leaseExpiry(systemId: string, n: number): Promise<number | undefined> {
  const out = await aws.dynamodb.send(new GetItemCommand({ TableName: tableName, Key: { id: { S: `BINDSLOT#${systemId}#${n}` } }, ConsistentRead: true }));
  const v = out.Item?.['leaseExpiresAt']?.N;
  return v === undefined ? undefined : Number(v);
}

/** The running service holds every slot of the account. */
async function serviceHoldsAll(a: Awaited<ReturnType<typeof account>>, binds: string[]) {
  const service = a.lease('task-a');
  for (const bind of binds) expect((await service.acquire({ systemId: a.systemId, bind })).outcome).toBe('held');
  cleanups.push(() => service.releaseAll());
}

const sendOpts = { to: '+6591234567', from: '8x8', text: 'Hello', count: 3, waitReceipts: true, receiptTimeoutMs: 10_000 };

describe('npm run smpp with the bind slots', () => {
  it('check binds nothing while every slot is held, and says so', async () => {
    // Prepare: a 2-bind account; the service holds both slots.
    const a = await account(2);
    await serviceHoldsAll(a, ['transmitter:tr1', 'receiver:re1']);
    // Act
    const results = await checkConnection(a.config, silentLogger, 1, { slots: a.lease('tool') });
    // Assess
    expect(results.map((r) => r.ok)).toEqual([false, false]);
    expect(results[0]?.error).toMatch(/^no bind slot free: all 2 binds of the account are held \(slot 1: task-a transmitter:tr1 until .*; slot 2: task-a receiver:re1 until/);
    expect(a.opened()).toBe(0);
  });

  it('send refuses with NoBindSlotError and opens no connection while every slot is held', async () => {
    // Prepare
    const a = await account(2);
    await serviceHoldsAll(a, ['transmitter:tr1', 'receiver:re1']);
    // Act
    const sent = sendDirect(a.config, silentLogger, sendOpts, { slots: a.lease('tool') });
    // Assess
    await expect(sent).rejects.toBeInstanceOf(NoBindSlotError);
    await expect(sent).rejects.toThrow(/no bind slot free/);
    expect(a.opened()).toBe(0);
  });

  it('check holds one slot per bind while bound and gives it back before it returns', async () => {
    // Prepare: one of two slots free.
    const a = await account(2);
    await serviceHoldsAll(a, ['transmitter:tr1']);
    // Act
    const results = await checkConnection(a.config, silentLogger, 1, { slots: a.lease('tool') });
    // Assess: both bind types checked, one after the other, on slot 2; released.
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    expect(a.opened()).toBe(2);
    expect(await leaseExpiry(a.systemId, 2)).toBe(0);
  });

  it('send binds on free slots, submits, and gives the slots back at the end', async () => {
    // Prepare
    const a = await account(4);
    // Act
    const report = await sendDirect(a.config, silentLogger, sendOpts, { slots: a.lease('tool') });
    // Assess
    expect(report).toMatchObject({ accepted: 3, receiptsMissing: 0 });
    expect([await leaseExpiry(a.systemId, 1), await leaseExpiry(a.systemId, 2)]).toEqual([0, 0]);
  });
});
