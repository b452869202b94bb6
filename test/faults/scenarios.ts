/**
 * The faults of issue 6 ("Fault matrix"), one scenario each. A scenario starts the services it
 * needs, puts its jobs on the queue, injects the fault under load and returns once the fault is
 * over, marking when (recovery is measured from there). The runner then waits for every job to
 * reach a final record, stops everything and audits the ledger (./ledger.ts). A scenario may
 * return a check that runs once every job is final: it proves the fault really happened (a fault
 * that never fired would make a vacuous pass) and checks what is specific to it.
 */
import type { SmscSimulatorOptions } from '../../service/src/sim/smsc-simulator.js';
import { longestGapSeconds, type FaultContext, type RigOptions } from './harness.js';
import { startSecretsStandIn } from './secrets-stand-in.js';
import { leaseScenarios } from './scenarios-lease.js';
import { moScenarios } from './scenarios-mo.js';
import { smppScenarios } from './scenarios-smpp.js';
import { storeScenarios } from './scenarios-store.js';

export type Check = () => void | Promise<void>;

export interface Scenario {
  name: string;
  title: string;
  rig?: RigOptions;
  /** Time limit for the whole fault, ms, per size. @defaultvalue { ci: 90 s, full: 240 s } */
  timeoutMs?: { ci: number; full: number };
  run(ctx: FaultContext): Promise<Check | void>;
}

/** Responses 20 ms late keep ~10 submits outstanding per bind, so a cut always hits a full window. */
const laggingSmsc: SmscSimulatorOptions = { responseDelayMs: 20 };

/**
 * Faults after which some messages may legitimately wait out the queue's 60 s visibility timeout
 * (a receive answered into a dead connection): their limit leaves room for it.
 */
const VISIBILITY_TAIL = { ci: 150_000, full: 300_000 };

const SMPP_ESME_RBINDFAIL = 0x0d;
const SMPP_ESME_RINVPASWD = 0x0e;

export const scenarios: Scenario[] = [
  {
    name: 'link-drop',
    title: 'Link drop mid-window',
    rig: { sim: laggingSmsc },
    async run(ctx) {
      await ctx.rig.startService({}, ctx.deadline);
      await ctx.rig.send(ctx.jobs);
      const drops = ctx.pick(3, 5);
      await ctx.dropLinksUnderLoad(drops);
      return () => {
        ctx.expect(ctx.sim.stats.dropped === drops, `expected ${drops} link drops, saw ${ctx.sim.stats.dropped}`);
        ctx.note(`${drops} drops with the window full`);
      };
    },
  },
  {
    name: 'swallowed-responses',
    title: 'Swallowed responses (5 %, RESPONSE_TIMEOUT_MS=1000)',
    async run(ctx) {
      await ctx.rig.startService({ env: { RESPONSE_TIMEOUT_MS: '1000' } }, ctx.deadline);
      // Accepted and given an id, but never answered: the receipt still comes, for an id we never learned.
      ctx.sim.setFaults({ swallowRate: 0.05 });
      await ctx.rig.send(ctx.jobs);
      await ctx.afterAccepted(0.9);
      ctx.sim.setFaults({ swallowRate: 0 });
      ctx.faultEnded();
      return () => {
        ctx.expect(ctx.sim.stats.swallowed > 0, 'no response was swallowed: the fault never fired');
        ctx.note(`${ctx.sim.stats.swallowed} responses swallowed`);
      };
    },
  },
  {
    name: 'throttle-storm',
    title: 'ESME_RTHROTTLED storm',
    async run(ctx) {
      await ctx.rig.startService({}, ctx.deadline);
      await ctx.rig.send(ctx.jobs);
      await ctx.afterAccepted(0.25);
      const stormMs = ctx.pick(3000, 8000);
      // Every submit refused for the storm's length: the binds must slow down, keep the jobs, and resume after.
      ctx.sim.setFaults({ throttleRate: 1 });
      await ctx.hold(stormMs);
      ctx.sim.setFaults({ throttleRate: 0 });
      ctx.faultEnded();
      return () => {
        ctx.expect(ctx.sim.stats.throttled > 0, 'nothing was throttled: the fault never fired');
        ctx.note(`${ctx.sim.stats.throttled} ESME_RTHROTTLED in a ${stormMs / 1000} s storm`);
      };
    },
  },
  {
    name: 'msgq-full',
    title: 'ESME_RMSGQFUL (10 %)',
    async run(ctx) {
      await ctx.rig.startService({}, ctx.deadline);
      ctx.sim.setFaults({ msgQFullRate: 0.1 });
      await ctx.rig.send(ctx.jobs);
      await ctx.afterAccepted(0.6);
      ctx.sim.setFaults({ msgQFullRate: 0 });
      ctx.faultEnded();
      return () => {
        ctx.expect(ctx.sim.stats.failedByFault > 0, 'no ESME_RMSGQFUL was answered: the fault never fired');
        ctx.note(`${ctx.sim.stats.failedByFault} ESME_RMSGQFUL`);
      };
    },
  },
  {
    name: 'bind-cap',
    title: 'Bind refused: cap reached (2-bind account, 2 tasks)',
    rig: { account: { maxBinds: 2 } },
    timeoutMs: VISIBILITY_TAIL,
    async run(ctx) {
      const refusals: Array<{ status: number; at: number }> = [];
      let mostBound = 0;
      ctx.sim.on('bind-refused', (e) => refusals.push({ status: e.status, at: Date.now() }));
      ctx.sim.on('bind', () => (mostBound = Math.max(mostBound, ctx.sim.boundCount(ctx.rig.systemId))));
      // Task A holds both slots, at 10 msg/s so the work outlasts B's first two refusals (≥ 5 s apart).
      const a = await ctx.rig.startService({ owner: 'task-a', env: { MPS_PER_BIND: '10' } }, ctx.deadline);
      await ctx.rig.startService({ owner: 'task-b', ready: false }, ctx.deadline);
      await ctx.rig.send(ctx.jobs);
      // Two rounds of refusals for B's TX and RX: its backoff is exercised, not just its first try.
      await ctx.until(() => refusals.length >= 4, "task B's binds refused twice");
      await ctx.afterAccepted(0.1);
      // A scales in (graceful stop); B must take the freed slots and finish the work.
      await ctx.within(a.stop(), 'task A to stop');
      ctx.faultEnded();
      await expectHandedBack(ctx, 'task A stopped');
      const refusedWhileFull = refusals.length;
      const spanSeconds = ((refusals.at(-1)?.at ?? 0) - (refusals[0]?.at ?? 0)) / 1000;
      return () => {
        ctx.expect(
          refusals.every((r) => r.status === SMPP_ESME_RBINDFAIL),
          `unexpected bind refusals: ${[...new Set(refusals.map((r) => r.status))].join(', ')}`,
        );
        // A refused bind waits ≥ 5 s (bind.ts refusedMinMs, jitter above it); B has two binds, so ≤ 2 per 5 s.
        ctx.expect(refusedWhileFull <= 2 * (spanSeconds / 5 + 1), `task B hammered the SMSC: ${refusedWhileFull} refusals in ${spanSeconds.toFixed(1)} s`);
        ctx.expect(mostBound <= 2, `${mostBound} binds at once on a 2-bind account`);
        ctx.note(`${refusedWhileFull} refusals (ESME_RBINDFAIL) over ${spanSeconds.toFixed(1)} s before task A left`);
      };
    },
  },
  {
    name: 'rotated-secret',
    title: 'Wrong password, then the secret rotated',
    // Bind backoff after an auth failure is 30–45 s (bind.ts authMinMs 30 s × 1–1.5, doubling with each
    // further auth failure in a row) and not configurable: recovery takes ≥ 30 s, the jobs a few more.
    timeoutMs: { ci: 120_000, full: 240_000 },
    async run(ctx) {
      const secretName = 'smpp-connector/faults';
      const secrets = await startSecretsStandIn(secretName, { system_id: ctx.rig.systemId, password: 'wrong' });
      ctx.rig.onCleanup(() => secrets.stop());
      // The service's SecretsManagerClient is built from the environment, as in production.
      process.env['AWS_ENDPOINT_URL_SECRETS_MANAGER'] = secrets.endpoint;
      ctx.rig.onCleanup(async () => {
        delete process.env['AWS_ENDPOINT_URL_SECRETS_MANAGER'];
      });
      const authFailures: number[] = [];
      ctx.sim.on('bind-refused', (e) => {
        if (e.status === SMPP_ESME_RINVPASWD) authFailures.push(Date.now());
      });
      await ctx.rig.startService({ env: { SMPP_SYSTEM_ID: '', SMPP_PASSWORD: '', SMPP_CREDENTIALS_SECRET_ID: secretName }, ready: false }, ctx.deadline);
      await ctx.rig.send(ctx.jobs);
      await ctx.until(() => authFailures.length >= 1, 'an authentication failure');
      const readsBefore = secrets.reads;
      secrets.rotate({ system_id: ctx.rig.systemId, password: 'secret' });
      ctx.faultEnded();
      return () => {
        ctx.expect(secrets.reads > readsBefore, 'the secret was not read again after the authentication failure');
        // Two binds; each may fail once more if it re-read just before the rotation. More is hammering.
        ctx.expect(authFailures.length <= 4, `${authFailures.length} authentication failures: the binds did not back off`);
        ctx.note(`${authFailures.length} auth failures; secret read ${secrets.reads} times`);
      };
    },
  },
  {
    name: 'receipt-before-response',
    title: 'Receipt before submit_sm_resp',
    rig: { sim: { faults: { receiptBeforeResponse: true } } },
    async run(ctx) {
      await ctx.rig.startService({}, ctx.deadline);
      await ctx.rig.send(ctx.jobs);
      return () => {
        ctx.expect(ctx.sim.acknowledgedReceipts.length > 0, 'no receipt was acknowledged');
        ctx.note(`${ctx.sim.acknowledgedReceipts.length} receipts, each acknowledged before its submit_sm_resp was sent`);
      };
    },
  },
  {
    name: 'receipt-other-task',
    title: "Receipt on another task's bind (2 processes)",
    async run(ctx) {
      // Which task owns each SMSC session, from the order the binds happen in.
      const owner = new Map<string, string>();
      let binding = 'task-a';
      ctx.sim.on('bind', (e) => owner.set(e.sessionId, binding));
      // Task A holds at most 10 jobs at a time (2 s at 5/s), so it cannot take the whole batch
      // before task B's pollers come round: both tasks submit, whatever the timing.
      await ctx.rig.startService({ owner: 'task-a', env: { MPS_PER_BIND: '5' } }, ctx.deadline);
      binding = 'task-b';
      const b = ctx.rig.startChild();
      const bound = (type: string) => b.waitForLog((l) => l['msg'] === 'bound' && l['type'] === type, Math.max(1, ctx.deadline - Date.now()));
      await ctx.within(Promise.all([bound('transmitter'), bound('receiver')]), 'task B (child process) bound');
      await ctx.rig.send(ctx.jobs);
      return () => {
        const submittedOn = new Map(ctx.sim.submissions.map((s) => [s.smscMessageId, s.sessionId]));
        const cross = ctx.sim.acknowledgedReceipts.filter((r) => {
          const tx = submittedOn.get(r.smscMessageId);
          return tx !== undefined && owner.get(tx) !== owner.get(r.sessionId);
        }).length;
        const senders = new Set(ctx.sim.submissions.map((s) => owner.get(s.sessionId)));
        ctx.expect(senders.size === 2, `only ${[...senders].join(', ')} submitted`);
        ctx.expect(cross > 0, "no receipt arrived on the other task's bind");
        ctx.note(`${cross} of ${ctx.sim.acknowledgedReceipts.length} receipts stored by the task that did not send the message`);
      };
    },
  },
  {
    name: 'dynamodb-outage',
    title: 'DynamoDB unavailable',
    async run(ctx) {
      const proxy = await ctx.rig.proxyTo(ctx.rig.env.dynamodbEndpoint);
      await ctx.rig.startService({ dynamodb: ctx.rig.dynamodbVia(proxy) }, ctx.deadline);
      await ctx.rig.send(ctx.jobs);
      await ctx.afterAccepted(0.3);
      const outageMs = ctx.pick(5000, 10_000);
      const nackedBefore = ctx.sim.stats.receiptsNacked;
      proxy.cut();
      await ctx.hold(outageMs);
      proxy.restore();
      ctx.faultEnded();
      const nacked = ctx.sim.stats.receiptsNacked - nackedBefore;
      return () => {
        // Receipts keep coming during the cut; none answered with an error means the cut missed the service.
        ctx.expect(nacked > 0, 'no receipt was refused while DynamoDB was cut: the outage was not felt');
        ctx.note(`cut ${outageMs / 1000} s; ${nacked} receipt deliveries refused with ESME_RX_T_APPN while down, all stored on redelivery`);
      };
    },
  },
  {
    name: 'sqs-outage',
    title: 'SQS unavailable',
    timeoutMs: VISIBILITY_TAIL,
    async run(ctx) {
      const proxy = await ctx.rig.proxyTo(ctx.rig.env.sqsEndpoint);
      await ctx.rig.startService({ sqs: ctx.rig.sqsVia(proxy) }, ctx.deadline);
      // Half now, half while SQS is unreachable for the service (producers still reach it),
      // so receives, deletes and visibility changes all fail during the outage.
      const half = Math.floor(ctx.jobs.length / 2);
      await ctx.rig.send(ctx.jobs.slice(0, half));
      await ctx.afterAccepted(0.3);
      const outageMs = ctx.pick(5000, 10_000);
      proxy.cut();
      await ctx.rig.send(ctx.jobs.slice(half));
      await ctx.hold(outageMs);
      proxy.restore();
      ctx.faultEnded();
      const restoredAt = Date.now();
      const late = new Set(ctx.jobs.slice(half).map((j) => j.destination));
      return () => {
        // Jobs that arrived during the cut cannot have been received before it ended.
        const early = ctx.sim.submissions.filter((s) => late.has(s.destinationAddr) && s.receivedAt.getTime() < restoredAt).length;
        ctx.expect(early === 0, `${early} submits of jobs sent during the SQS cut happened before it ended: the cut missed the service`);
        ctx.note(`cut ${outageMs / 1000} s with ${ctx.jobs.length - half} jobs arriving meanwhile`);
        if (longestGapSeconds(ctx.sim) > 30) {
          // The receive was answered (SQS took the messages off the queue) but the answer died with the link.
          ctx.note('receives cut in flight left their messages invisible until the 60 s visibility timeout (inherent to SQS; nothing lost)');
        }
      };
    },
  },
  {
    name: 'sigterm',
    title: 'SIGTERM under load (child process), second process finishes',
    timeoutMs: VISIBILITY_TAIL,
    async run(ctx) {
      const graceMs = 5000;
      // 50 msg/s so the work outlasts the signal by seconds.
      const a = ctx.rig.startChild({ MPS_PER_BIND: '100', SHUTDOWN_GRACE_MS: String(graceMs) });
      const bound = (type: string) => a.waitForLog((l) => l['msg'] === 'bound' && l['type'] === type, Math.max(1, ctx.deadline - Date.now()));
      await ctx.within(Promise.all([bound('transmitter'), bound('receiver')]), 'task A (child process) bound');
      await ctx.rig.send(ctx.jobs);
      await ctx.afterAccepted(0.25);
      const { code, ms } = await ctx.within(a.signal('SIGTERM'), 'task A to exit after SIGTERM');
      ctx.faultEnded();
      const submittedBeforeExit = ctx.sim.submissions.length;
      await expectHandedBack(ctx, 'task A exited');
      ctx.expect(code === 0, `task A exited with ${code} after SIGTERM`);
      ctx.expect(ms <= graceMs + 2000, `task A took ${ms} ms to exit (grace ${graceMs} ms)`);
      // Its sockets are closed by the time it exits; the simulator notices within moments.
      await ctx.sim.waitFor(() => ctx.sim.boundCount() === 0, 3000, 'task A binds closed').catch(() => ctx.expect(false, 'task A left binds open'));
      ctx.note(`task A exit ${code} in ${(ms / 1000).toFixed(1)} s after ${submittedBeforeExit} submits; task B started after`);
      ctx.rig.startChild();
    },
  },
  {
    name: 'smsc-restart',
    title: 'SMSC restart',
    rig: { sim: laggingSmsc },
    async run(ctx) {
      await ctx.rig.startService({}, ctx.deadline);
      await ctx.rig.send(ctx.jobs);
      await ctx.afterAccepted(0.3);
      const downMs = ctx.pick(1000, 3000);
      const bindsBefore = ctx.sim.stats.binds;
      // Every session cut with the window full; the port refuses connections for a while.
      await ctx.sim.stop();
      await ctx.hold(downMs);
      await ctx.sim.start();
      ctx.faultEnded();
      return () => {
        ctx.expect(ctx.sim.stats.binds > bindsBefore, 'the service never bound again after the restart');
        ctx.note(`down ${downMs / 1000} s; receipts held by the SMSC delivered after the rebind`);
      };
    },
  },
  ...smppScenarios,
  ...moScenarios,
  ...storeScenarios,
  ...leaseScenarios,
];

/**
 * docs/architecture.md §5: on a graceful stop, messages not sent are made visible again at once. One still
 * invisible waits out the queue's 60 s visibility timeout — typically a receive that stop()
 * aborted in flight: SQS still hands messages to an abandoned receive (aws-sdk-js#2350).
 */
export async function expectHandedBack(ctx: FaultContext, when: string): Promise<void> {
  const now = Date.now();
  const hidden = (await ctx.rig.env.inspectQueue(ctx.rig.queueName)).filter((m) => m.state !== 'ready');
  if (hidden.length === 0) return;
  const waits = hidden.map((m) => Math.round(((m.visibleAt ?? now) - now) / 1000));
  ctx.expect(false, `${hidden.length} message(s) still invisible after ${when} (visible again in ${waits.join(', ')} s), not handed back`);
}
