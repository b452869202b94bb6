/**
 * Priority lanes (docs/architecture.md §7.1): urgent parts go before a bulk backlog, and bulk keeps
 * its minimum share while urgent ones flood the binds. First the SmppClient against the simulator
 * (the order the SMSC saw is the order the client sent, one bind being one TCP stream), then the
 * whole service with a priority queue (fauxqs, DynamoDB Local, the simulator).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { toSmppAddress } from '../../service/src/smpp/address.js';
import { type Lane, type SmppClient, type SmppClientOptions, type SubmitResult } from '../../service/src/smpp/client.js';
import { segmentText } from '../../service/src/smpp/segment.js';
import type { OutboundPart } from '../../service/src/smpp/submit.js';
import { SmscSimulator, type SmscSimulatorOptions } from '../../service/src/sim/smsc-simulator.js';
import { startLoopbackClient } from '../support/loopback-client.js';
import { isSubmitted, job, startStack, type TestStack } from '../support/stack.js';

const fastBackoff = { baseMs: 20, maxMs: 200, authMinMs: 50, refusedMinMs: 50 };

function part(to: string): OutboundPart {
  const [segment] = segmentText('Your code is 123456', { encoding: 'auto', concat: 'udh8', reference: 1 }).segments;
  if (!segment) throw new Error('no segment');
  return { source: toSmppAddress('8x8'), destination: toSmppAddress(to), segment, receipt: false };
}

/** Destinations by lane, so the simulator's records tell the lanes apart: bulk +6594…, urgent +6595…. */
const bulkTo = (i: number) => `+6594${String(i).padStart(6, '0')}`;
const urgentTo = (i: number) => `+6595${String(i).padStart(6, '0')}`;
const laneOf = (destinationAddr: string): Lane => (destinationAddr.startsWith('6595') ? 'urgent' : 'bulk');

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function simulator(options: SmscSimulatorOptions) {
  const sim = new SmscSimulator(options);
  const ports = await sim.start();
  cleanups.push(() => sim.stop());
  return { sim, port: ports.port };
}

/** One transmitter, no receiver: the order of the submits is the order of one TCP stream. */
async function oneBind(port: number, overrides: Partial<SmppClientOptions>): Promise<SmppClient> {
  const c = startLoopbackClient(port, { txBinds: 1, rxBinds: 0, backoff: fastBackoff, ...overrides });
  cleanups.push(() => c.stop(500));
  await c.whenReady(1, 0);
  return c;
}

const account = (mps: number) => [{ systemId: 'test', password: 'secret', maxBinds: 4, mps }];

/** The lanes of the accepted submits, in the order the SMSC received them. */
const order = (sim: SmscSimulator): Lane[] => sim.submissions.map((s) => laneOf(s.destinationAddr));

describe('SmppClient lanes against the simulator', () => {
  it('sends urgent parts queued behind a bulk backlog ahead of it, on a throttled bind', async () => {
    // Prepare: one bind paced at 100/s, 200 bulk parts queued. (The SMSC shares this process's event
    // loop, so its own limit would count stalls here: it only records the order.)
    const mps = 100;
    const { sim, port } = await simulator({ accounts: account(10_000) });
    const c = await oneBind(port, { mpsPerBind: mps, windowSize: 10 });
    const bulk = Array.from({ length: 200 }, (_, i) => c.submit(part(bulkTo(i)), undefined, 'bulk'));
    await sim.waitFor(() => sim.submissions.length >= 20, 10_000, 'the backlog to start');
    const sentBefore = sim.submissions.length;
    // Act: 20 urgent parts, once the backlog is being sent.
    const urgent = Array.from({ length: 20 }, (_, i) => c.submit(part(urgentTo(i)), undefined, 'urgent'));
    const results = await Promise.all([...bulk, ...urgent]);
    // Assess
    expect(results.filter((r) => r.kind !== 'accepted')).toEqual([]);
    const lanes = order(sim);
    const lastUrgent = lanes.lastIndexOf('urgent');
    const bulkBetween = lanes.slice(sentBefore, lastUrgent).filter((l) => l === 'bulk').length;
    // The minimum share (0.1) gives bulk 2 of the 22 picks the urgent parts take; the window's 10
    // parts may have been sent already when the urgent ones arrived. In one FIFO this would be 180.
    expect(bulkBetween).toBeGreaterThanOrEqual(2);
    expect(bulkBetween).toBeLessThanOrEqual(2 + 10);
    expect(lanes.slice(lastUrgent).filter((l) => l === 'bulk').length).toBeGreaterThanOrEqual(150);
  });

  it('keeps the minimum share for bulk while urgent parts flood the bind, and reports each lane’s depth', async () => {
    // Prepare: bulkMinShare 0.25 (not the default), 300 bulk parts queued, then 900 urgent.
    const { sim, port } = await simulator({ accounts: account(10_000) });
    const c = await oneBind(port, { mpsPerBind: 2_000, windowSize: 20, bulkMinShare: 0.25 });
    // Act: every part is queued before the bind takes the first (the pump resumes after this turn).
    const bulk = Array.from({ length: 300 }, (_, i) => c.submit(part(bulkTo(i)), undefined, 'bulk'));
    const urgent = Array.from({ length: 900 }, (_, i) => c.submit(part(urgentTo(i)), undefined, 'urgent'));
    const depth = c.queuedByLane;
    const results = await Promise.all([...bulk, ...urgent]);
    // Assess
    expect(depth).toEqual({ urgent: 900, bulk: 300 });
    expect(results.filter((r) => r.kind !== 'accepted')).toEqual([]);
    const lanes = order(sim);
    // Urgent first: the first three picks are urgent, the fourth earns bulk its first.
    expect(lanes.slice(0, 4)).toEqual(['urgent', 'urgent', 'urgent', 'bulk']);
    // Over the first 800 both lanes always wait: bulk gets a quarter (exactly 200 by the counter;
    // one FIFO would give 300, urgent-only 0, the default share 80).
    const bulkShare = lanes.slice(0, 800).filter((l) => l === 'bulk').length;
    expect(bulkShare).toBeGreaterThanOrEqual(190);
    expect(bulkShare).toBeLessThanOrEqual(210);
    expect(c.queuedByLane).toEqual({ urgent: 0, bulk: 0 });
  });

  it('sends a throttled part again first in its own lane: urgent parts still go before the bulk backlog', async () => {
    // Prepare: the SMSC throttles 30 % of submits; no minimum share, so bulk waits for every urgent part.
    const { sim, port } = await simulator({ faults: { throttleRate: 0.3 }, accounts: account(10_000) });
    const c = await oneBind(port, { mpsPerBind: 500, windowSize: 10, bulkMinShare: 0 });
    // Act
    const bulk = Array.from({ length: 100 }, (_, i) => c.submit(part(bulkTo(i)), undefined, 'bulk'));
    const urgent = Array.from({ length: 20 }, (_, i) => c.submit(part(urgentTo(i)), undefined, 'urgent'));
    const results = await Promise.all([...bulk, ...urgent]);
    // Assess
    expect(results.map((r) => r.kind)).toEqual(Array(120).fill('accepted'));
    expect(sim.stats.throttled).toBeGreaterThan(0);
    const lanes = order(sim);
    // Bulk is picked only once the urgent lane is empty; a throttled urgent part then in flight goes
    // back to the front of the urgent lane, so at most a window of bulk parts overtakes it.
    expect(lanes.slice(0, lanes.lastIndexOf('urgent')).filter((l) => l === 'bulk').length).toBeLessThanOrEqual(10);
  });

  it('holds back a full destination in the urgent lane without holding back the other urgent parts', async () => {
    // Prepare: one destination whose queue at the SMSC stays full.
    const full = '6595999999';
    const { sim, port } = await simulator({ faults: { msgQFullDestinations: [full] }, accounts: account(10_000) });
    const c = await oneBind(port, { mpsPerBind: 200, windowSize: 10, destinationHoldMs: 100 });
    let queueFulls = 0;
    sim.on('submit-rejected', (e) => (queueFulls += e.status === 0x14 ? 1 : 0));
    // Act: the full destination first in the urgent lane, then 100 bulk and 10 other urgent parts.
    const stuck: Promise<SubmitResult> = c.submit(part(`+${full}`), undefined, 'urgent');
    const bulk = Array.from({ length: 100 }, (_, i) => c.submit(part(bulkTo(i)), undefined, 'bulk'));
    const urgent = Array.from({ length: 10 }, (_, i) => c.submit(part(urgentTo(i)), undefined, 'urgent'));
    const results = await Promise.all([...bulk, ...urgent]);
    const held = await stuck;
    // Assess: the other urgent parts went first (bulk: its share, 1 of 11 picks), the held one came back after 5.
    expect(results.filter((r) => r.kind !== 'accepted')).toEqual([]);
    const lanes = order(sim);
    expect(lanes.slice(0, lanes.lastIndexOf('urgent')).filter((l) => l === 'bulk').length).toBeLessThanOrEqual(2);
    expect(held).toEqual({ kind: 'retryable', name: 'ESME_RMSGQFUL', status: 0x14 });
    expect(queueFulls).toBe(5);
  });
});

describe('the service with a priority queue', () => {
  let stack: TestStack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it('submits urgent jobs sent after a bulk backlog long before the backlog drains', { timeout: 60_000 }, async () => {
    // Prepare: one bind paced at 20 messages/s, 300 bulk jobs on the outbound queue. (The SMSC
    // shares this process's event loop: its own limit would count our stalls, see the client tests.)
    const mps = 20;
    stack = await startStack({}, { priorityQueue: true });
    await stack.startService({ MPS_PER_BIND: String(mps), WINDOW_SIZE: '10' });
    const run = Math.random().toString(36).slice(2, 8);
    // No receipts: what is measured is the submit order, and DynamoDB Local is shared by every test file.
    const bulk = Array.from({ length: 300 }, (_, i) => job(i, { id: `bulk-${run}-${i}`, receipt: false }));
    const urgent = Array.from({ length: 10 }, (_, i) => job(i, { id: `otp-${run}-${i}`, to: urgentTo(i), text: `Your code is ${100_000 + i}`, receipt: false }));
    await stack.send(bulk);
    const sim = stack.sim;
    await sim.waitFor(() => sim.submissions.length >= 20, 15_000, 'the backlog to start');
    const sentBefore = sim.submissions.length;
    // Act: the urgent jobs, to the priority queue.
    await stack.sendUrgent(urgent);
    await stack.waitFor(urgent.map((j) => j.id), isSubmitted, 30_000);
    const bulkSentWhenUrgentRecorded = order(sim).filter((l) => l === 'bulk').length;
    // Assess: in the order the SMSC saw them, the urgent jobs came within a few seconds' worth of bulk
    // (receive, claim, one pacer slot each); in one queue they would have come after all 300.
    const lanes = order(sim);
    const lastUrgent = lanes.lastIndexOf('urgent');
    expect(lanes.filter((l) => l === 'urgent')).toHaveLength(10);
    expect(lanes.slice(0, lastUrgent).filter((l) => l === 'bulk').length).toBeLessThan(100);
    expect(sentBefore).toBeLessThan(100);
    // When every urgent job is SUBMITTED in the table, most of the backlog is still waiting.
    expect(bulkSentWhenUrgentRecorded).toBeLessThan(200);
  });
});
