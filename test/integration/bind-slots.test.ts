/**
 * A Bind and its slot of the account's bind budget (smpp/bind-slots.ts), against the SMSC simulator
 * over real TCP: a bind never opens a connection without a slot, gives it back whenever its
 * connection ends, and closes at once when the slot is lost. The slots are an in-memory stand-in
 * for the port, except where the real DynamoDB adapter is the point (a store it cannot reach).
 */
import { once } from 'node:events';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { BindLease } from '../../service/src/aws/bind-lease.js';
import { systemClock } from '../../service/src/clock.js';
import { silentLogger } from '../../service/src/logger.js';
import type { Bind } from '../../service/src/smpp/bind.js';
import type { BindSlots, HeldSlot, SlotAttempt, SlotRequest } from '../../service/src/smpp/bind-slots.js';
import type { SmppClient, SmppClientOptions } from '../../service/src/smpp/client.js';
import { SmscSimulator } from '../../service/src/sim/smsc-simulator.js';
import { startLoopbackClient } from '../support/loopback-client.js';

/** Slot waits of 10–20 ms, so a test sees several in a few dozen milliseconds. */
const fastBackoff = { baseMs: 20, maxMs: 200, authMinMs: 50, refusedMinMs: 50, slotWaitMs: 20, slotWaitMaxMs: 20 };

interface Holder {
  owner: 'this' | 'other';
  bind: string;
  systemId?: string;
  lose?: (reason: string) => void;
}

/** The port in memory: `size` slots, some of which the test can hand to "another process". */
class TestSlots implements BindSlots {
  readonly log: string[] = [];
  private readonly holders: Array<Holder | undefined>;
  /** Called on every release by a bind, before it is recorded. */
  onRelease: () => void = () => undefined;

  constructor(readonly size: number) {
    this.holders = Array.from({ length: size }, () => undefined);
  }

  /** Slot `n` (1-based) held by another process. */
  takeByOther(n: number): void {
    this.holders[n - 1] = { owner: 'other', bind: 'tx1' };
  }

  free(n: number): void {
    this.holders[n - 1] = undefined;
  }

  /** Another process takes slot `n` over from this one: its holder learns it lost it. */
  takeOver(n: number, reason: string): void {
    const h = this.holders[n - 1];
    this.takeByOther(n);
    h?.lose?.(reason);
  }

  heldByBinds(): string[] {
    return this.holders.flatMap((h) => (h?.owner === 'this' ? [h.bind] : []));
  }

  acquire(request: SlotRequest): Promise<SlotAttempt> {
    const i = this.holders.findIndex((h) => h === undefined);
    if (i < 0) return Promise.resolve({ outcome: 'none-free', holders: this.holders.map((h, n) => ({ slot: n + 1, owner: h?.owner ?? '', bind: h?.bind ?? '', expiresAt: 0 })) });
    let lose: (reason: string) => void = () => undefined;
    const lost = new Promise<string>((resolve) => (lose = resolve));
    const holder: Holder = { owner: 'this', bind: request.bind, systemId: request.systemId, lose };
    this.holders[i] = holder;
    this.log.push(`acquire ${request.bind} ${request.systemId} slot ${i + 1}`);
    let released: Promise<void> | undefined;
    const slot: HeldSlot = {
      slot: i + 1,
      lost,
      // Idempotent, as the port says.
      release: () =>
        (released ??= (async () => {
          this.onRelease();
          if (this.holders[i] === holder) this.holders[i] = undefined;
          this.log.push(`release ${request.bind} slot ${i + 1}`);
        })()),
    };
    return Promise.resolve({ outcome: 'held', slot });
  }
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function simulator() {
  const sim = new SmscSimulator({ accounts: [{ systemId: 'test', password: 'secret', maxBinds: 4, mps: 10_000 }] });
  const { port } = await sim.start();
  cleanups.push(() => sim.stop());
  let opened = 0;
  sim.on('session-opened', () => (opened += 1));
  return { sim, port, opened: () => opened };
}

function client(port: number, slots: BindSlots, overrides: Partial<SmppClientOptions> = {}): SmppClient {
  const c = startLoopbackClient(port, { slots, backoff: fastBackoff, ...overrides });
  cleanups.push(() => c.stop(500));
  return c;
}

/** `promise`, or a rejection naming `what` after `ms`: a test waits on events, never for ever. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves with the next `count` slot waits of the bind. */
function slotWaits(bind: Bind, count: number): Promise<SlotAttempt[]> {
  return new Promise((resolve) => {
    const seen: SlotAttempt[] = [];
    const on = (attempt: SlotAttempt) => {
      seen.push(attempt);
      if (seen.length < count) return;
      bind.off('slot-wait', on);
      resolve(seen);
    };
    bind.on('slot-wait', on);
  });
}

const firstBind = (c: SmppClient): Bind => {
  const b = c.binds[0];
  if (!b) throw new Error('no bind');
  return b;
};

describe('a bind and its slot of the account', () => {
  it('never opens a connection while no slot is free, and binds within one slot wait once one frees', async () => {
    // Prepare: the only slot is held by another process.
    const { port, opened } = await simulator();
    const slots = new TestSlots(1);
    slots.takeByOther(1);
    const c = client(port, slots);
    // Act: several tries find no slot.
    const waits = await within(slotWaits(firstBind(c), 3), 2000, 'three slot waits');
    const openedWhileFull = opened();
    slots.free(1);
    await within(c.whenReady(1, 0), 2000, 'the bind bound once the slot freed');
    // Assess
    expect(waits.map((w) => w.outcome)).toEqual(['none-free', 'none-free', 'none-free']);
    expect(openedWhileFull).toBe(0);
    expect(opened()).toBe(1);
    expect(slots.log).toEqual(['acquire transmitter:tx1 test slot 1']);
  });

  it('does not connect without a slot when the slot table cannot be reached', async () => {
    // Prepare: the real DynamoDB adapter, its store unreachable (nothing listens on port 9).
    const { port, opened } = await simulator();
    const dead = new DynamoDBClient({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', maxAttempts: 1 });
    cleanups.push(async () => dead.destroy());
    const lease = new BindLease({ client: dead, tableName: 'messages', accountBinds: 4, owner: 'task-a', clock: systemClock, logger: silentLogger });
    const c = client(port, lease);
    // Act
    const waits = await within(slotWaits(firstBind(c), 2), 5000, 'two slot waits');
    // Assess
    expect(waits.map((w) => w.outcome)).toEqual(['unavailable', 'unavailable']);
    expect(opened()).toBe(0);
    expect(c.readiness()).toEqual({ tx: 0, rx: 0 });
  });

  it('closes the session at once when its slot is lost, gives it back, and binds again only with a slot', async () => {
    // Prepare: bound on the only slot.
    const { sim, port, opened } = await simulator();
    const slots = new TestSlots(1);
    const c = client(port, slots);
    await within(c.whenReady(1, 0), 2000, 'bound');
    const bind = firstBind(c);
    const lost = once(bind, 'unbound');
    const waits = slotWaits(bind, 2);
    // Act: another process takes the slot over.
    slots.takeOver(1, 'another bind holds the slot');
    const [reason] = (await within(lost, 2000, 'the session closed')) as [string];
    await within(waits, 2000, 'slot waits after the loss');
    // Assess: unbound, nothing bound at the SMSC, no new connection while the slot is the other's.
    expect(reason).toBe('unbound');
    await sim.waitFor(() => sim.boundCount() === 0, 2000, 'the SMSC saw the bind go');
    expect(opened()).toBe(1);
    expect(slots.log).toEqual(['acquire transmitter:tx1 test slot 1', 'release transmitter:tx1 slot 1']);
    // And with the slot back, it binds again.
    slots.free(1);
    await within(c.whenReady(1, 0), 2000, 'bound again');
    expect(opened()).toBe(2);
  });

  it('gives its slot back only once the SMSC has seen the unbind, on stop', async () => {
    // Prepare
    const { sim, port } = await simulator();
    const slots = new TestSlots(1);
    const c = client(port, slots);
    await within(c.whenReady(1, 0), 2000, 'bound');
    const boundAtRelease: number[] = [];
    slots.onRelease = () => boundAtRelease.push(sim.boundCount());
    // Act
    await c.stop(1000);
    // Assess: released once, when the SMSC no longer counted the bind.
    expect(boundAtRelease).toEqual([0]);
    expect(slots.heldByBinds()).toEqual([]);
  });

  it('gives its slot back when the SMSC refuses the bind, before waiting to try again', async () => {
    // Prepare: the SMSC refuses every bind (its own cap).
    const { sim, port } = await simulator();
    sim.setFaults({ refuseBinds: true });
    const slots = new TestSlots(1);
    const c = client(port, slots);
    // Act
    await within(once(firstBind(c), 'bind-failed'), 2000, 'a refused bind');
    // Assess
    expect(slots.heldByBinds()).toEqual([]);
    expect(slots.log).toEqual(['acquire transmitter:tx1 test slot 1', 'release transmitter:tx1 slot 1']);
  });
});
