import { afterEach, describe, expect, it } from 'vitest';
import { startChildService, type ChildService } from '../support/child-service.js';
import { isDone, job, ledger, queueAttributes, serviceEnv, startStack, type TestStack } from '../support/stack.js';

let stack: TestStack | undefined;
let child: ChildService | undefined;
afterEach(async () => {
  await child?.stop();
  await stack?.stop();
});

describe('shutdown', () => {
  it('on SIGTERM under load drains, hands unsent jobs back at once, unbinds and exits 0 within the grace period', async () => {
    stack = await startStack({ responseDelayMs: 100 });
    const port = stack.sim.address?.port ?? 0;
    const graceMs = 5000;
    child = startChildService({
      ...stack.aws.env,
      ...serviceEnv(port, stack.queueUrl, stack.tableName, { MPS_PER_BIND: '20', SHUTDOWN_GRACE_MS: String(graceMs) }),
    });
    await child.waitForLog((l) => l['msg'] === 'bound' && l['type'] === 'transmitter');
    await child.waitForLog((l) => l['msg'] === 'bound' && l['type'] === 'receiver');
    const r = Math.random().toString(36).slice(2, 8);
    const jobs = Array.from({ length: 60 }, (_, i) => job(600 + i, { id: `term-${r}-${i}` }));
    await stack.send(jobs);
    await stack.sim.waitFor(() => stack!.sim.submissions.length >= 10, 15_000, 'ten submits');

    const { code, ms } = await child.signal('SIGTERM');

    expect(code).toBe(0);
    expect(ms).toBeLessThan(graceMs + 2000);
    expect(child.logs.some((l) => l['msg'] === 'stopped cleanly')).toBe(true);
    const submittedBeforeStop = stack.sim.submissions.length;
    expect(submittedBeforeStop).toBeLessThan(jobs.length);
    const attrs = await queueAttributes(stack.aws.sqs, stack.queueUrl);
    // Handed back at once: visible again, not waiting out a visibility timeout.
    expect(Number(attrs['ApproximateNumberOfMessagesNotVisible'])).toBe(0);
    expect(Number(attrs['ApproximateNumberOfMessages'])).toBeGreaterThanOrEqual(jobs.length - submittedBeforeStop);

    await stack.startService();
    const items = await stack.waitFor(jobs.map((j) => j.id), isDone, 30_000);
    const result = await ledger(stack, jobs, items);
    expect(result.problems).toEqual([]);
    expect(result.duplicates).toBe(0);
  });
});
