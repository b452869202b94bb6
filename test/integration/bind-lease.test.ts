/**
 * BindLease (aws/bind-lease.ts) through the real SDK client against DynamoDB Local: the bind slots
 * every bind must hold before it connects. Each lease runs on a fake clock of its own (processes
 * with their own time), so expiry and renewal are driven without sleeping; every test uses a
 * system_id of its own in the file's table.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { BindLease, type LeaseAttempt, type SlotLease } from '../../service/src/aws/bind-lease.js';
import { silentLogger } from '../../service/src/logger.js';
import { useLocalAws, uniqueName } from '../support/aws.js';
import { FakeClock } from '../support/fake-clock.js';

const aws = useLocalAws();
let tableName: string;

beforeAll(async () => {
  tableName = await aws.sharedTable();
});

const LEASE_MS = 30_000;
/** Where the fake clocks start: in the future, so DynamoDB Local's TTL sweep never removes a slot item mid-test. */
const T0 = Date.parse('2030-01-01T00:00:00.000Z');

/** A process's clock, standing at `T0 + offsetMs`. */
function clockAt(offsetMs = 0): FakeClock {
  const clock = new FakeClock();
  clock.advance(T0 + offsetMs - clock.now());
  return clock;
}

/** A process's view of the slots: its own owner id and clock. */
function leaseFor(owner: string, options: { clock?: FakeClock; accountBinds?: number; client?: Pick<DynamoDBClient, 'send'> } = {}) {
  const clock = options.clock ?? clockAt();
  const lease = new BindLease({
    client: options.client ?? aws.dynamodb,
    tableName,
    accountBinds: options.accountBinds ?? 2,
    owner,
    leaseMs: LEASE_MS,
    clock,
    logger: silentLogger,
  });
  return { lease, clock };
}

function held(attempt: LeaseAttempt): SlotLease {
  if (attempt.outcome !== 'held') throw new Error(`expected a slot, got ${JSON.stringify(attempt)}`);
  return attempt.slot;
}

async function slotItem(systemId: string, n: number): Promise<Record<string, unknown>> {
  const out = await aws.dynamodb.send(new GetItemCommand({ TableName: tableName, Key: { id: { S: `BINDSLOT#${systemId}#${n}` } }, ConsistentRead: true }));
  const item = out.Item ?? {};
  return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, v.S ?? (v.N === undefined ? undefined : Number(v.N))]));
}

/** Resolves with the reason if `lost` has resolved by now (after pending promise callbacks ran). */
async function lostYet(slot: SlotLease): Promise<string | undefined> {
  let reason: string | undefined;
  void slot.lost.then((r) => (reason = r));
  await new Promise((r) => setImmediate(r));
  return reason;
}

/** A client that answers like the store until it is cut, then fails every call as a network error would. */
function cuttable(): { client: Pick<DynamoDBClient, 'send'>; cut(): void } {
  let down = false;
  return {
    client: { send: ((command: never) => (down ? Promise.reject(new Error('connect ECONNREFUSED')) : aws.dynamodb.send(command))) as DynamoDBClient['send'] },
    cut: () => (down = true),
  };
}

describe('BindLease against DynamoDB Local', () => {
  it('takes the first free slot with a conditional write, recording owner, bind and expiry', async () => {
    // Prepare
    const systemId = uniqueName('sys');
    const { lease, clock } = leaseFor('task-a');
    // Act
    const slot = held(await lease.acquire({ systemId, bind: 'tx1' }));
    // Assess
    expect(slot.slot).toBe(1);
    expect(await slotItem(systemId, 1)).toMatchObject({ kind: 'BINDSLOT', systemId, slot: 1, owner: 'task-a', bind: 'tx1', leaseExpiresAt: clock.now() + LEASE_MS });
    await slot.release();
  });

  it('refuses a slot when every one is held by another bind, naming the holders', async () => {
    // Prepare: task A holds both slots of a 2-bind account.
    const systemId = uniqueName('sys');
    const a = leaseFor('task-a');
    const tx = held(await a.lease.acquire({ systemId, bind: 'tx1' }));
    const rx = held(await a.lease.acquire({ systemId, bind: 'rx1' }));
    const b = leaseFor('task-b', { clock: a.clock });
    // Act
    const attempt = await b.lease.acquire({ systemId, bind: 'tx1' });
    // Assess
    expect(attempt).toEqual({
      outcome: 'none-free',
      holders: [
        { slot: 1, owner: 'task-a', bind: 'tx1', expiresAt: a.clock.now() + LEASE_MS },
        { slot: 2, owner: 'task-a', bind: 'rx1', expiresAt: a.clock.now() + LEASE_MS },
      ],
    });
    expect(await slotItem(systemId, 1)).toMatchObject({ owner: 'task-a', bind: 'tx1' });
    await Promise.all([tx.release(), rx.release()]);
  });

  it('gives a bind back the slot it still holds (a release that never landed), but no second one', async () => {
    // Prepare: one slot held by tx1 of task A; its release is lost with the process.
    const systemId = uniqueName('sys');
    const { lease } = leaseFor('task-a', { accountBinds: 1 });
    held(await lease.acquire({ systemId, bind: 'tx1' }));
    // Act
    const again = await lease.acquire({ systemId, bind: 'tx1' });
    const other = await lease.acquire({ systemId, bind: 'rx1' });
    // Assess
    expect(held(again).slot).toBe(1);
    expect(other.outcome).toBe('none-free');
    await held(again).release();
  });

  it('lets another process take over a slot whose lease expired, and the old holder then finds it lost', async () => {
    // Prepare: task A takes slot 1 and never renews (its clock stands still); B's clock is past A's expiry.
    const systemId = uniqueName('sys');
    const a = leaseFor('task-a', { accountBinds: 1 });
    const old = held(await a.lease.acquire({ systemId, bind: 'tx1' }));
    const bClock = clockAt(LEASE_MS + 1);
    const b = leaseFor('task-b', { accountBinds: 1, clock: bClock });
    // Act
    const taken = held(await b.lease.acquire({ systemId, bind: 'tx1' }));
    const renewal = await old.renew();
    // Assess
    expect(taken.slot).toBe(1);
    expect(await slotItem(systemId, 1)).toMatchObject({ owner: 'task-b', leaseExpiresAt: bClock.now() + LEASE_MS });
    expect(renewal).toBe('lost');
    expect(await lostYet(old)).toMatch(/another bind holds the slot/);
    // A's release is conditional on its own lease: it cannot free B's.
    await old.release();
    expect(await slotItem(systemId, 1)).toMatchObject({ owner: 'task-b', leaseExpiresAt: bClock.now() + LEASE_MS });
    await taken.release();
  });

  it('renews every third of the lease, so a live holder is never taken over', async () => {
    // Prepare
    const systemId = uniqueName('sys');
    const a = leaseFor('task-a', { accountBinds: 1 });
    const slot = held(await a.lease.acquire({ systemId, bind: 'tx1' }));
    const firstExpiry = slot.expiresAt;
    // Act: three renewal periods, each renewal landing before the next.
    for (let i = 0; i < 3; i++) {
      a.clock.advance(LEASE_MS / 3);
      await slot.idle();
    }
    // Assess: the expiry moved a whole period on each time; past the first expiry, B finds it held.
    expect(slot.expiresAt).toBe(firstExpiry + LEASE_MS);
    expect(await slotItem(systemId, 1)).toMatchObject({ leaseExpiresAt: firstExpiry + LEASE_MS });
    const bClock = clockAt(LEASE_MS + 1);
    expect((await leaseFor('task-b', { accountBinds: 1, clock: bClock }).lease.acquire({ systemId, bind: 'tx1' })).outcome).toBe('none-free');
    expect(await lostYet(slot)).toBeUndefined();
    await slot.release();
  });

  it('frees the slot on release (no DeleteItem: the item stays, expired), so another process takes it at once', async () => {
    // Prepare
    const systemId = uniqueName('sys');
    const a = leaseFor('task-a', { accountBinds: 1 });
    const slot = held(await a.lease.acquire({ systemId, bind: 'tx1' }));
    // Act
    await slot.release();
    const bClock = clockAt(a.clock.now() - T0);
    const b = leaseFor('task-b', { accountBinds: 1, clock: bClock });
    const next = await b.lease.acquire({ systemId, bind: 'rx1' });
    // Assess
    expect(held(next).slot).toBe(1);
    expect(await slotItem(systemId, 1)).toMatchObject({ kind: 'BINDSLOT', owner: 'task-b', bind: 'rx1' });
    expect(a.clock.pendingTimers).toBe(0);
    await held(next).release();
    expect(await slotItem(systemId, 1)).toMatchObject({ leaseExpiresAt: 0, releasedAt: bClock.now() });
  });

  it('declares the slot lost a sixth of the lease before its expiry when renewals keep failing, and not earlier', async () => {
    // Prepare: the holder's link to the store is cut right after it took the slot.
    const systemId = uniqueName('sys');
    const link = cuttable();
    const a = leaseFor('task-a', { accountBinds: 1, client: link.client });
    const slot = held(await a.lease.acquire({ systemId, bind: 'tx1' }));
    const expiry = slot.expiresAt;
    link.cut();
    // Act: every renewal up to just before the margin fails.
    const lostAt = expiry - LEASE_MS / 6;
    while (a.clock.now() < lostAt - 1) {
      a.clock.advance(Math.min(500, lostAt - 1 - a.clock.now()));
      await slot.idle();
    }
    const before = await lostYet(slot);
    a.clock.advance(1);
    const after = await lostYet(slot);
    // Assess
    expect(before).toBeUndefined();
    expect(after).toMatch(/not renewed in time/);
    expect(a.clock.now()).toBe(expiry - 5_000);
    expect(a.clock.pendingTimers).toBe(0);
  });

  it('keeps a slot through a store outage shorter than the lease: a renewal that succeeds in time moves the deadline', async () => {
    // Prepare
    const systemId = uniqueName('sys');
    let down = false;
    const client = { send: ((command: never) => (down ? Promise.reject(new Error('timeout')) : aws.dynamodb.send(command))) as DynamoDBClient['send'] };
    const a = leaseFor('task-a', { accountBinds: 1, client });
    const slot = held(await a.lease.acquire({ systemId, bind: 'tx1' }));
    const expiry = slot.expiresAt;
    // Act: the store is away from the first renewal until 2 s before the deadline.
    down = true;
    while (a.clock.now() < expiry - LEASE_MS / 6 - 2_000) {
      a.clock.advance(500);
      await slot.idle();
    }
    down = false;
    while (slot.expiresAt === expiry && a.clock.now() < expiry) {
      a.clock.advance(500);
      await slot.idle();
    }
    // Assess
    expect(slot.expiresAt).toBeGreaterThan(expiry);
    expect(await lostYet(slot)).toBeUndefined();
    await slot.release();
  });

  it('answers unavailable, never a slot, when the store cannot be reached', async () => {
    // Prepare: nothing listens on port 9 of loopback.
    const dead = new DynamoDBClient({ endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
    const { lease } = leaseFor('task-a', { client: dead });
    // Act
    const attempt = await lease.acquire({ systemId: uniqueName('sys'), bind: 'tx1' });
    // Assess
    expect(attempt.outcome).toBe('unavailable');
    dead.destroy();
  });
});
