/** SMPP session faults: session resets, binds accepted then dropped. Wired into the matrix by ./scenarios.ts. */
import type { BindType } from '../../service/src/sim/smsc-simulator.js';
import type { FaultContext } from './harness.js';
import type { Scenario } from './scenarios.js';
import { serviceEnv } from '../support/service-env.js';

const SMPP_ESME_RINVBNDSTS = 0x04;
/** The service's WINDOW_SIZE in the matrix: the tests' settings (20), not the production default (10). */
const WINDOW_SIZE = Number(serviceEnv(0, '', '')['WINDOW_SIZE']);

/** Jobs whose record shows more than one claim: handed back to the queue and received again. */
async function reclaimed(ctx: FaultContext): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < ctx.jobs.length; i += 16) {
    const items = await Promise.all(ctx.jobs.slice(i, i + 16).map((j) => ctx.rig.env.store.get(j.id)));
    for (const item of items) if (item && item.attempts > 1) ids.push(item.id);
  }
  return ids;
}

/** Seconds between successive binds, rounded to 0.01 s. */
const gapsSeconds = (times: number[]): number[] => times.slice(1).map((t, i) => Math.round((t - (times[i] ?? t)) / 10) / 100);

export const smppScenarios: Scenario[] = [
  {
    name: 'session-reset',
    title: 'SMSC session reset: submits answered ESME_RINVBNDSTS, link and enquire_link still up',
    // Responses 20 ms late keep the window full, so the reset meets submits in flight.
    rig: { sim: { responseDelayMs: 20 } },
    async run(ctx) {
      await ctx.rig.startService({}, ctx.deadline);
      const notBound: number[] = [];
      const txBinds: number[] = [];
      ctx.sim.on('submit-rejected', (e) => {
        if (e.status === SMPP_ESME_RINVBNDSTS) notBound.push(Date.now());
      });
      ctx.sim.on('bind', (e) => {
        if (e.bindType === 'transmitter') txBinds.push(Date.now());
      });
      await ctx.rig.send(ctx.jobs);
      await ctx.afterAccepted(0.3);
      // The SMSC forgets every session for submits; the links stay up and enquire_link is answered.
      const resetSessions = new Set(ctx.sim.sessionInfos().map((s) => s.sessionId));
      const reset = ctx.sim.resetSessions();
      const resetAt = Date.now();
      // +1 ms: a submit accepted just before the reset, in the same millisecond, is not a recovery.
      ctx.faultEnded(resetAt + 1);
      await ctx.until(() => notBound.length > 0 && txBinds.some((t) => t > resetAt), 'an ESME_RINVBNDSTS answer and a new transmitter bind');
      return async () => {
        ctx.expect(reset > 0, 'no session was reset');
        ctx.expect(notBound.length > 0, 'no submit was answered ESME_RINVBNDSTS: the fault never fired');
        ctx.expect(txBinds.some((t) => t > resetAt), 'the transmitter never bound again after the reset');
        // One answer is enough to retire the session: only the submits already in flight can get one.
        ctx.expect(notBound.length <= WINDOW_SIZE, `${notBound.length} submits answered ESME_RINVBNDSTS: the service kept submitting on the reset session`);
        const handedBack = await reclaimed(ctx);
        ctx.expect(handedBack.length === 0, `${handedBack.length} job(s) handed back to the queue and claimed again, e.g. ${handedBack[0]}: the part should have been sent again from the client's queue`);
        const rebindMs = (txBinds.find((t) => t > resetAt) ?? resetAt) - resetAt;
        const firstAfter = ctx.sim.submissions.find((s) => !resetSessions.has(s.sessionId))?.receivedAt.getTime() ?? resetAt;
        ctx.note(
          `${reset} sessions reset; ${notBound.length} submits answered ESME_RINVBNDSTS, all re-sent from the client's queue; ` +
            `transmitter bound again ${(rebindMs / 1000).toFixed(2)} s and first submit accepted ${((firstAfter - resetAt) / 1000).toFixed(2)} s after the reset`,
        );
      };
    },
  },
  {
    name: 'accept-then-drop',
    title: 'Binds accepted, then dropped 300 ms later (5 transmitter binds)',
    async run(ctx) {
      await ctx.rig.startService({}, ctx.deadline);
      // Half now, half once the fault is over: the service must bind for good and send them.
      const half = Math.floor(ctx.jobs.length / 2);
      await ctx.rig.send(ctx.jobs.slice(0, half));
      await ctx.afterAccepted(0.2);
      const binds: Array<{ type: BindType; at: number }> = [];
      ctx.sim.on('bind', (e) => binds.push({ type: e.bindType, at: Date.now() }));
      const times = (type: BindType) => binds.filter((b) => b.type === type).map((b) => b.at);
      ctx.sim.setFaults({ acceptThenDropMs: 300 });
      ctx.sim.dropAllSessions();
      await ctx.until(() => times('transmitter').length >= 5, 'five transmitter binds while every bind is dropped');
      // Cleared: the session just bound is spared, and the binds still in backoff bind for good.
      ctx.sim.setFaults({ acceptThenDropMs: undefined });
      ctx.faultEnded();
      await ctx.rig.send(ctx.jobs.slice(half));
      const tx = gapsSeconds(times('transmitter').slice(0, 5));
      const rx = gapsSeconds(times('receiver'));
      return () => {
        // Each bind lasted 300 ms, then the backoff: it doubles (0.5–1, 1–2, 2–4, 4–8 s) since no link stayed up 60 s.
        // Before, it started from 0–0.5 s after every successful bind: a bind every 0.3–0.8 s, for ever.
        const growing = tx.every((g, i) => i === 0 || g >= (tx[i - 1] ?? 0) - 0.05);
        ctx.expect(growing, `the delay between transmitter binds did not grow: ${tx.join(', ')} s`);
        ctx.expect((tx.at(-1) ?? 0) >= 3 * (tx[0] ?? Infinity), `the delay between transmitter binds grew too little: ${tx.join(', ')} s`);
        ctx.note(`seconds between binds under the fault: transmitter ${tx.join(', ')}; receiver ${rx.join(', ')}`);
      };
    },
  },
];
