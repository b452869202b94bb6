/**
 * The account's bind budget held at run time by the bind lease (issue 12, item 4). Wired into the
 * matrix by ./scenarios.ts.
 */
import { randomBytes } from 'node:crypto';
import type { ChildService } from '../support/child-service.js';
import type { FaultContext } from './harness.js';
import type { Scenario } from './scenarios.js';

const SMPP_ESME_RBINDFAIL = 0x0d;
/** A system_id of this fault's own: slot items are keyed by it, and the other faults bind as `test` in the same table. */
const SYSTEM_ID = `lease${randomBytes(3).toString('hex')}`;
/** One transceiver per process, two slots: the third process must wait for one. */
const ONE_BIND = { SMPP_SYSTEM_ID: SYSTEM_ID, TX_BINDS: '0', RX_BINDS: '0', TRX_BINDS: '1', ACCOUNT_BINDS: '2', MPS_PER_BIND: '10', SHUTDOWN_GRACE_MS: '5000' };

/** Epoch ms of a child's first log line that matches. */
async function logged(ctx: FaultContext, child: ChildService, match: (l: Record<string, unknown>) => boolean, what: string): Promise<number> {
  const line = await ctx.within(child.waitForLog(match, Math.max(1, ctx.deadline - Date.now())), what);
  return Date.parse(String(line['time']));
}

const isBound = (l: Record<string, unknown>) => l['msg'] === 'bound';

export const leaseScenarios: Scenario[] = [
  {
    name: 'bind-lease',
    title: 'Bind lease: 3 processes, 1 bind each, on a 2-bind account (ACCOUNT_BINDS=2); one stops',
    rig: { account: { systemId: SYSTEM_ID, maxBinds: 2 } },
    // A SIGTERM may abort a receive in flight, whose messages then wait out their visibility timeout.
    timeoutMs: { ci: 150_000, full: 300_000 },
    async run(ctx) {
      let opened = 0;
      let mostBound = 0;
      const refusals: number[] = [];
      const binds: Array<{ sessionId: string; at: number }> = [];
      ctx.sim.on('session-opened', () => (opened += 1));
      ctx.sim.on('bind-refused', (e) => refusals.push(e.status));
      ctx.sim.on('bind', (e) => {
        binds.push({ sessionId: e.sessionId, at: Date.now() });
        mostBound = Math.max(mostBound, ctx.sim.boundCount(SYSTEM_ID));
      });
      // A and B take both slots; C finds none and must not even connect.
      const a = ctx.rig.startChild(ONE_BIND);
      const b = ctx.rig.startChild(ONE_BIND);
      await Promise.all([logged(ctx, a, isBound, 'task A bound'), logged(ctx, b, isBound, 'task B bound')]);
      const c = ctx.rig.startChild(ONE_BIND);
      const waiting = logged(ctx, c, (l) => l['msg'] === 'no bind slot free: waiting (not connecting)', 'task C waiting for a slot').then(() => 'waiting' as const);
      waiting.catch(() => undefined);
      // Without the lease C would connect and be refused by the SMSC: say that, rather than time out.
      const connected = ctx.until(() => opened > 2, 'task C connecting').then(
        () => 'connected' as const,
        () => 'no connection' as const,
      );
      if ((await Promise.race([waiting, connected])) === 'connected') {
        throw new Error(`task C connected while both slots were held (${refusals.length} bind(s) refused by the SMSC so far)`);
      }
      await ctx.rig.send(ctx.jobs);
      await ctx.afterAccepted(0.25);
      const openedWhileFull = opened;
      const bindsWhileFull = binds.length;
      // A stops, as a task does at scale-in or at the end of a deployment: unbind, then give the slot back.
      const signalledAt = Date.now();
      const { code } = await ctx.within(a.signal('SIGTERM'), 'task A to exit after SIGTERM');
      ctx.faultEnded(signalledAt);
      const releasedAt = await logged(ctx, a, (l) => l['msg'] === 'bind slot released', "task A's slot released");
      await logged(ctx, c, isBound, 'task C bound');
      const cSession = binds[bindsWhileFull]?.sessionId;
      const cBoundAt = binds[bindsWhileFull]?.at ?? Infinity;
      const takeOverSeconds = (cBoundAt - releasedAt) / 1000;
      return () => {
        const byC = ctx.sim.submissions.filter((s) => s.sessionId === cSession).length;
        ctx.expect(code === 0, `task A exited with ${code} after SIGTERM`);
        ctx.expect(openedWhileFull === 2 && bindsWhileFull === 2, `task C reached the SMSC while both slots were held: ${openedWhileFull} connections, ${bindsWhileFull} binds`);
        ctx.expect(refusals.length === 0, `${refusals.length} bind(s) refused by the SMSC (${[...new Set(refusals)].map((s) => (s === SMPP_ESME_RBINDFAIL ? 'ESME_RBINDFAIL' : s)).join(', ')})`);
        ctx.expect(mostBound <= 2, `${mostBound} binds at once on a 2-bind account`);
        ctx.expect(takeOverSeconds >= 0 && takeOverSeconds <= 10, `task C bound ${takeOverSeconds.toFixed(1)} s after task A gave its slot back`);
        ctx.expect(byC > 0, 'task C submitted nothing after it took the slot over');
        ctx.note(
          `before the stop: ${openedWhileFull} connections, ${bindsWhileFull} binds, task C waiting without connecting; 0 refusals; at most ${mostBound} bound; ` +
            `task C bound ${takeOverSeconds.toFixed(2)} s after task A released its slot (${((cBoundAt - signalledAt) / 1000).toFixed(2)} s after SIGTERM) and submitted ${byC} of ${ctx.sim.submissions.length}`,
        );
      };
    },
  },
];
