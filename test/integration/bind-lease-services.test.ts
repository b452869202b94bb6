/**
 * Issue 12, "Done when": three service processes with one bind each against an SMSC that allows
 * two binds, the account's two slots leased in DynamoDB Local. The third never sends a bind request
 * (the SMSC sees no connection from it, and refuses nothing), and takes over within seconds when
 * one of the first two stops. The services run in this process through the real composition root;
 * test/faults/scenarios-lease.ts runs the same with three child processes and a ledger.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../service/src/logger.js';
import { startService, type RunningService } from '../../service/src/main.js';
import { isDone, job, startStack, type TestStack } from '../support/stack.js';

let stack: TestStack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

/** `promise`, or a rejection naming `what` after `ms`: a test waits on events, never for ever. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('the bind lease across three services on a 2-bind account', () => {
  it('keeps the third from ever sending a bind request, and lets it take over within seconds when one stops', async () => {
    // Prepare: a system_id of this test's own (the table is the file's), allowed 2 binds by the SMSC and by ACCOUNT_BINDS.
    const systemId = `l${randomBytes(4).toString('hex')}`;
    stack = await startStack({ accounts: [{ systemId, password: 'secret', maxBinds: 2, mps: 10_000 }] });
    const s = stack;
    let opened = 0;
    let refusals = 0;
    let mostBound = 0;
    s.sim.on('session-opened', () => (opened += 1));
    s.sim.on('bind-refused', () => (refusals += 1));
    s.sim.on('bind', () => (mostBound = Math.max(mostBound, s.sim.boundCount(systemId))));
    const env = { SMPP_SYSTEM_ID: systemId, TX_BINDS: '0', RX_BINDS: '0', TRX_BINDS: '1', ACCOUNT_BINDS: '2' };
    const start = async (owner: string): Promise<RunningService> => {
      const service = await startService(s.config(env), { logger: silentLogger, owner });
      s.services.push(service);
      return service;
    };
    const a = await start('task-a');
    const b = await start('task-b');
    await within(Promise.all([a.ready(), b.ready()]), 10_000, 'tasks A and B bound');

    // Act: C starts and finds both slots held.
    const c = await start('task-c');
    const cBind = c.smpp.binds[0];
    if (!cBind) throw new Error('task C has no bind');
    await within(once(cBind, 'slot-wait'), 10_000, 'task C waiting for a slot');
    await within(once(cBind, 'slot-wait'), 10_000, 'task C waiting for a slot again');
    const openedBeforeStop = opened;
    // A stops (scale-in, or the old task of a deployment): its slot is given back after its unbind.
    await a.stop();
    const releasedAt = Date.now();
    await within(c.ready(), 10_000, 'task C bound');
    const takeOverMs = Date.now() - releasedAt;
    // C does the work it took over.
    const r = randomBytes(3).toString('hex');
    const jobs = Array.from({ length: 5 }, (_, i) => job(700 + i, { id: `lease-${r}-${i}` }));
    await s.send(jobs);
    const items = await s.waitFor(jobs.map((j) => j.id), isDone, 20_000);

    // Assess
    expect(openedBeforeStop).toBe(2);
    expect(refusals).toBe(0);
    expect(mostBound).toBe(2);
    expect(takeOverMs).toBeLessThan(6_000);
    expect(items.size).toBe(jobs.length);
    expect(c.smpp.readiness()).toEqual({ tx: 1, rx: 1 });
  });
});
