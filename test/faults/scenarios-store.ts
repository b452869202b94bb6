/** Store and queue edges: long outages, exhausted retries, crashed tasks, retried long messages. Wired into the matrix by ./scenarios.ts. */
import type { SubmissionRecord } from '../../service/src/sim/smsc-simulator.js';
import type { FaultContext } from './harness.js';
import type { FaultJob } from './jobs.js';
import type { Scenario } from './scenarios.js';

/** Accepted submits beyond one per part, per job (a copy sent twice). */
function duplicateSubmits(ctx: FaultContext): number {
  const perDestination = new Map<string, number>();
  for (const s of ctx.sim.submissions) perDestination.set(s.destinationAddr, (perDestination.get(s.destinationAddr) ?? 0) + 1);
  return ctx.jobs.reduce((n, j) => n + Math.max(0, (perDestination.get(j.destination) ?? 0) - j.parts), 0);
}

/** 400 GSM-7 characters: three concatenated parts (153 + 153 + 94). */
const THREE_PARTS = 'A long message retried after a link drop must reach the handset under one reference. '.repeat(5).slice(0, 400);

/** The run's jobs, every one a three-part message (same ids and destinations). */
function threePartJobs(jobs: FaultJob[]): FaultJob[] {
  return jobs.map((j) => ({ ...j, parts: 3, input: { ...j.input, text: `${j.id} ${THREE_PARTS}`.slice(0, 400) } }));
}

/** Jobs whose parts the SMSC received under more than one reference, or with a part missing. */
function brokenGroups(ctx: FaultContext): string[] {
  const byDestination = new Map<string, SubmissionRecord[]>();
  for (const s of ctx.sim.submissions) byDestination.set(s.destinationAddr, [...(byDestination.get(s.destinationAddr) ?? []), s]);
  const broken: string[] = [];
  for (const j of ctx.jobs) {
    const parts = byDestination.get(j.destination) ?? [];
    const refs = new Set(parts.map((p) => `${p.concat?.scheme}:${p.concat?.refNum}`));
    const seqs = new Set(parts.map((p) => p.concat?.seq));
    const complete = [1, 2, 3].every((n) => seqs.has(n));
    if (refs.size !== 1 || !complete) broken.push(`${j.id} (references ${[...refs].join(', ')}; parts ${[...seqs].join(', ')})`);
  }
  return broken;
}

/** Resolves once every id in `ids` has a message on queue `name`, re-reading a few times a second; rejects at the deadline. */
async function untilQueued(ctx: FaultContext, name: string, ids: string[]): Promise<void> {
  for (;;) {
    const bodies = (await ctx.rig.env.inspectQueue(name)).map((m) => m.body);
    if (ids.every((id) => bodies.some((b) => b.includes(`"${id}"`)))) return;
    if (Date.now() >= ctx.deadline) throw new Error(`timed out waiting for ${ids.length} job(s) on ${name}`);
    await ctx.hold(250);
  }
}

export const storeScenarios: Scenario[] = [
  {
    name: 'retries-exhausted',
    title: 'Retries exhausted (ESME_RSYSERR for 1 in 15 destinations, maxReceiveCount 3)',
    rig: { maxReceiveCount: 3 },
    async run(ctx) {
      const poisoned = ctx.jobs.filter((_, n) => n % 15 === 7);
      for (const j of poisoned) ctx.expectedFailures.add(j.id);
      // A route that always answers a temporary error: every attempt is retried until the last one.
      ctx.sim.setFaults({ systemErrorDestinations: poisoned.map((j) => j.destination) });
      await ctx.rig.startService({ env: { MAX_RECEIVE_COUNT: '3' } }, ctx.deadline);
      await ctx.rig.send(ctx.jobs);
      return async () => {
        const items = await Promise.all(poisoned.map((j) => ctx.rig.env.store.get(j.id)));
        const wrong = items.filter((i) => i?.status !== 'FAILED' || !(i.lastError?.description ?? '').includes('retries exhausted after 3 attempts'));
        ctx.expect(wrong.length === 0, `${wrong.length} poisoned job(s) not FAILED with "retries exhausted", e.g. ${JSON.stringify(wrong[0] ?? null)}`);
        ctx.expect(
          items.every((i) => i?.lastError?.name === 'ESME_RSYSERR' && i.attempts === 3),
          `poisoned jobs should show ESME_RSYSERR after 3 attempts: ${JSON.stringify(items.map((i) => [i?.lastError?.name, i?.attempts]))}`,
        );
        // FAILED is recorded before the message leaves: the next receive moves it to the DLQ.
        await untilQueued(ctx, ctx.rig.dlqName, poisoned.map((j) => j.id));
        ctx.note(`${poisoned.length} jobs answered ESME_RSYSERR on every attempt: FAILED recorded on the 3rd, then moved to the DLQ`);
      };
    },
  },
  {
    name: 'dynamodb-outage-long',
    title: 'DynamoDB unavailable longer than the lease and the old retry budget (90 s)',
    // 90 s cut, then every job final: the limit leaves two minutes after the store is back.
    timeoutMs: { ci: 240_000, full: 300_000 },
    async run(ctx) {
      const proxy = await ctx.rig.proxyTo(ctx.rig.env.dynamodbEndpoint);
      await ctx.rig.startService({ dynamodb: ctx.rig.dynamodbVia(proxy), env: { MPS_PER_BIND: '20' } }, ctx.deadline);
      await ctx.rig.send(ctx.jobs);
      await ctx.afterAccepted(0.2);
      const outageMs = 90_000;
      const acceptedAtCut = ctx.sim.submissions.length;
      proxy.cut();
      await ctx.hold(outageMs);
      const acceptedDuringCut = ctx.sim.submissions.length - acceptedAtCut;
      proxy.restore();
      const restoredAt = Date.now();
      ctx.faultEnded(restoredAt);
      return () => {
        const finalAfter = (Date.now() - restoredAt) / 1000;
        const duplicates = duplicateSubmits(ctx);
        // Submits accepted while the store was down had their records retried until it came back.
        ctx.expect(acceptedDuringCut > 0, 'nothing was submitted while DynamoDB was cut: the outage did not catch a submit in flight');
        ctx.expect(duplicates === 0, `${duplicates} part(s) submitted twice after a ${outageMs / 1000} s outage`);
        ctx.expect(finalAfter <= 120, `jobs final only ${finalAfter.toFixed(0)} s after DynamoDB came back`);
        ctx.note(`cut ${outageMs / 1000} s; ${acceptedDuringCut} submits accepted during the cut, recorded after it; 0 duplicates; all final ${finalAfter.toFixed(1)} s after the store came back`);
      };
    },
  },
  {
    name: 'sigkill',
    title: 'A task killed with SIGKILL (2 processes)',
    async run(ctx) {
      // A at 30 msg/s holds jobs when it dies; B, at full speed, must resume them once A's
      // visibility and leases (15 s) run out.
      const a = ctx.rig.startChild({ MPS_PER_BIND: '30' });
      const bound = (type: string) => a.waitForLog((l) => l['msg'] === 'bound' && l['type'] === type, Math.max(1, ctx.deadline - Date.now()));
      await ctx.within(Promise.all([bound('transmitter'), bound('receiver')]), 'task A bound');
      await ctx.rig.send(ctx.jobs);
      await ctx.afterAccepted(0.2);
      const { ms } = await ctx.within(a.signal('SIGKILL'), 'task A killed');
      const killedAt = Date.now();
      ctx.faultEnded(killedAt);
      await ctx.rig.startService({ owner: 'task-b' }, ctx.deadline);
      return () => {
        const resumedIn = (Date.now() - killedAt) / 1000;
        // Visibility and lease are 15 s; B needs a few seconds to bind and finish.
        ctx.expect(resumedIn <= 40, `the killed task's jobs were final only ${resumedIn.toFixed(0)} s after the kill`);
        ctx.note(`task A killed (${ms} ms); every job final ${resumedIn.toFixed(1)} s after the kill`);
      };
    },
  },
  {
    name: 'long-mt-retry',
    title: 'Three-part messages retried after link drops (one reference per message)',
    rig: { sim: { responseDelayMs: 20 } },
    async run(ctx) {
      ctx.jobs.splice(0, ctx.jobs.length, ...threePartJobs(ctx.jobs));
      await ctx.rig.startService({}, ctx.deadline);
      await ctx.rig.send(ctx.jobs);
      const drops = ctx.pick(3, 5);
      // Cut with the window full: parts of one message end accepted, unknown and not yet sent.
      await ctx.dropLinksUnderLoad(drops);
      return () => {
        const broken = brokenGroups(ctx);
        ctx.expect(ctx.sim.stats.dropped === drops, `expected ${drops} link drops, saw ${ctx.sim.stats.dropped}`);
        ctx.expect(broken.length === 0, `${broken.length} message(s) reached the SMSC incomplete or under two references, e.g. ${broken.slice(0, 2).join('; ')}`);
        ctx.note(`${drops} drops; every message's parts under one reference, all present`);
      };
    },
  },
];
