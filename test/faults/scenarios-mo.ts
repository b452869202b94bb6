/** Long MO messages: reassembly in the store, across tasks and restarts. Wired into the matrix by ./scenarios.ts. */
import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { randomInt } from 'node:crypto';
import type { FaultContext } from './harness.js';
import type { Scenario } from './scenarios.js';

/** Items of one kind sent to `to`, as plain objects (the shared fault table holds every fault's items). */
async function itemsTo(ctx: FaultContext, kind: string, to: string): Promise<Array<Record<string, string | undefined>>> {
  const out: Array<Record<string, string | undefined>> = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await ctx.rig.env.dynamodb.send(
      new ScanCommand({
        TableName: ctx.rig.env.tableName,
        ConsistentRead: true,
        FilterExpression: '#kind = :kind AND #to = :to',
        ExpressionAttributeNames: { '#kind': 'kind', '#to': 'to' },
        ExpressionAttributeValues: { ':kind': { S: kind }, ':to': { S: to } },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      out.push(Object.fromEntries(Object.entries(item).map(([k, v]) => [k, v.S ?? v.N])));
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return out;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

/** A 3-part GSM text (400 characters: 153 + 153 + 94) unique to MO `i`. */
function moText(i: number, run: string): string {
  return `MO ${i} of run ${run}: `.padEnd(400, `${i} lorem ipsum dolor sit amet `);
}

export const moScenarios: Scenario[] = [
  {
    name: 'mo-split-sigterm',
    title: 'Long MOs split over 2 processes (child processes), one gets SIGTERM',
    // The outbound jobs of the stopped task may wait out their visibility timeout on the survivor.
    timeoutMs: { ci: 150_000, full: 300_000 },
    async run(ctx) {
      const graceMs = 5000;
      const count = ctx.pick(60, 200);
      const run = randomInt(1e6).toString().padStart(6, '0');
      // A recipient of this run alone, so the audit finds its MO items among every fault's.
      const to = `7${run}`;
      // Which process owns each SMSC session, from the order the binds happen in.
      const owner = new Map<string, string>();
      let binding = 'task-a';
      ctx.sim.on('bind', (e) => owner.set(e.sessionId, binding));
      const partsAckedBy = new Map<string, Set<string>>();
      ctx.sim.on('mo-acked', (e) => {
        const by = partsAckedBy.get(e.from) ?? new Set<string>();
        by.add(owner.get(e.sessionId) ?? '?');
        partsAckedBy.set(e.from, by);
      });

      const a = ctx.rig.startChild({ MPS_PER_BIND: '100', SHUTDOWN_GRACE_MS: String(graceMs) });
      const boundOf = (child: typeof a, type: string) =>
        child.waitForLog((l) => l['msg'] === 'bound' && l['type'] === type, Math.max(1, ctx.deadline - Date.now()));
      await ctx.within(Promise.all([boundOf(a, 'transmitter'), boundOf(a, 'receiver')]), 'task A (child process) bound');
      binding = 'task-b';
      const b = ctx.rig.startChild();
      await ctx.within(Promise.all([boundOf(b, 'transmitter'), boundOf(b, 'receiver')]), 'task B (child process) bound');
      await ctx.rig.send(ctx.jobs);

      // The simulator spreads each MO's parts round-robin over both tasks' receiver binds.
      const sentAt = new Map<string, number>();
      const texts = new Map<string, string>();
      const acked: Array<Promise<void>> = [];
      let exit: Promise<{ code: number | null; ms: number }> | undefined;
      let sigtermAt = 0;
      for (let i = 0; i < count; i++) {
        if (i === Math.floor(count / 2)) {
          sigtermAt = Date.now();
          exit = a.signal('SIGTERM');
        }
        const from = `6580${run}${String(i).padStart(3, '0')}`;
        texts.set(from, moText(i, run));
        sentAt.set(from, Date.now());
        acked.push(ctx.sim.sendMo({ from, to, text: moText(i, run) }));
        // 10 MOs (30 parts) a second: DynamoDB Local on a shared machine manages ~100 calls a second, 4 per MO.
        await ctx.hold(100);
      }
      const { code, ms } = await ctx.within(exit ?? Promise.reject(new Error('no SIGTERM sent')), 'task A to exit after SIGTERM');
      ctx.faultEnded();
      // Its exit time is the sigterm fault's to judge; here it only has to stop cleanly.
      ctx.expect(code === 0, `task A exited with ${code} after SIGTERM`);

      return async () => {
        await ctx.within(Promise.all(acked), 'every MO part acknowledged by the SMSC');
        const mos = await itemsTo(ctx, 'MO', to);
        const byFrom = new Map<string, Array<Record<string, string | undefined>>>();
        for (const mo of mos) byFrom.set(mo['from'] ?? '', [...(byFrom.get(mo['from'] ?? '') ?? []), mo]);
        const missing = [...texts.keys()].filter((from) => !byFrom.has(from));
        const twice = [...byFrom.entries()].filter(([, items]) => items.length > 1).map(([from]) => from);
        const wrong = [...byFrom.entries()].filter(([from, items]) => items.some((m) => m['text'] !== texts.get(from) || m['parts'] !== '3'));
        ctx.expect(missing.length === 0, `${missing.length} of ${count} MOs not stored, e.g. from ${missing.slice(0, 3).join(', ')}`);
        ctx.expect(twice.length === 0, `${twice.length} MOs stored more than once, e.g. from ${twice.slice(0, 3).join(', ')}`);
        ctx.expect(wrong.length === 0, `${wrong.length} MOs stored with a wrong or partial text, e.g. from ${wrong.slice(0, 3).map(([f]) => f).join(', ')}`);
        const open = (await itemsTo(ctx, 'MOPART', to)).filter((g) => g['doneAt'] === undefined);
        ctx.expect(open.length === 0, `${open.length} MO groups left open in the table`);

        if (process.env['MO_DEBUG']) {
          const { writeFileSync } = await import('node:fs');
          writeFileSync('/tmp/mo-debug.json', JSON.stringify({ a: a.logs, b: b.logs, sentAt: [...sentAt], sigtermAt }));
        }
        // Stored-at is the log time of 'MO message stored' in whichever process stored it.
        const storedAt = new Map<string, number>();
        for (const child of [a, b]) {
          for (const l of child.logs) if (l['msg'] === 'MO message stored') storedAt.set(String(l['id']), Date.parse(String(l['time'])));
        }
        const latencies = mos
          .map((m) => (storedAt.get(m['id'] ?? '') ?? NaN) - (sentAt.get(m['from'] ?? '') ?? NaN))
          .filter((x) => Number.isFinite(x))
          .sort((x, y) => x - y);
        const split = [...partsAckedBy.values()].filter((s) => s.size > 1).length;
        const afterSigterm = [...sentAt.values()].filter((t) => t >= sigtermAt).length;
        ctx.expect(split > 0, 'no MO had its parts acknowledged by both tasks: the split never happened');
        ctx.note(
          `${count} three-part MOs (${afterSigterm} sent after task A's SIGTERM), ${split} split across both tasks: ` +
            `${byFrom.size} stored, ${twice.length} twice, ${missing.length} missing; ` +
            `send → stored p50 ${percentile(latencies, 50)} ms, p95 ${percentile(latencies, 95)} ms, max ${latencies.at(-1) ?? NaN} ms` +
            // A write that lands as task A exits is never logged: its part's answer is lost too, and the redelivery finds the MO stored.
            `${latencies.length < mos.length ? ` (${mos.length - latencies.length} stored by task A as it exited, not logged)` : ''}; ` +
            `${ctx.sim.stats.moSent - ctx.sim.stats.moAcked} part deliveries redelivered; task A exit ${code} in ${(ms / 1000).toFixed(1)} s`,
        );
      };
    },
  },
];
