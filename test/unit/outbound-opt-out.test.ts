/**
 * The outbound path's opt-out check (docs/architecture.md §7.5), through OutboundJobs with fakes of
 * its ports and a fake clock: which jobs are checked, what a suppressed one becomes, and that a job
 * some of whose parts were accepted is completed, never rejected. The same against the real local
 * stack is test/integration/opt-out.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { ClaimOptions } from '../../service/src/aws/status-store/index.js';
import type { QueueMessage, SubmitResult } from '../../service/src/core/ports.js';
import type { Job } from '../../service/src/domain.js';
import { StoreError } from '../../service/src/errors.js';
import { silentLogger } from '../../service/src/logger.js';
import { noMetrics } from '../../service/src/metrics.js';
import { OutboundJobs, type OptOutGate, type OutboundStore } from '../../service/src/pipeline/outbound-job.js';
import { StoreGuard } from '../../service/src/pipeline/store-guard.js';
import { FakeClock } from '../support/fake-clock.js';

type ClaimAnswer = Awaited<ReturnType<OutboundStore['claim']>>;

/** Records what the job did to each port. */
function harness(options: { claim?: (opts: ClaimOptions) => ClaimAnswer; gate?: Partial<OptOutGate> | 'off' } = {}) {
  const clock = new FakeClock();
  const log = { checks: [] as [string, string][], rejected: [] as string[], accepted: [] as string[], sent: 0, deleted: [] as string[], visibility: [] as [string, number][] };
  const store: OutboundStore = {
    claim: async (_job: Job, opts: ClaimOptions) => options.claim?.(opts) ?? { outcome: 'claimed', acceptedParts: {}, plan: opts },
    extendClaim: async () => ({ outcome: 'extended' }),
    recordAccepted: async (id: string) => void log.accepted.push(id),
    expectAccepted: () => undefined,
    recordFailed: async () => undefined,
    releaseClaim: async () => undefined,
    recordInvalid: async () => undefined,
    probe: async () => undefined,
  };
  const gate: OptOutGate | undefined =
    options.gate === 'off'
      ? undefined
      : {
          isSuppressed: async (to, from) => {
            log.checks.push([to, from]);
            return true;
          },
          recordOptedOut: async (id) => {
            log.rejected.push(id);
            return { outcome: 'rejected' };
          },
          ...options.gate,
        };
  const accepted: SubmitResult = { kind: 'accepted', smscMessageId: 'abc', latencyMs: 1 };
  const jobs = new OutboundJobs({
    store,
    sender: {
      submit: async () => {
        log.sent += 1;
        return accepted;
      },
      capacityPerSecond: 50,
      readiness: () => ({ tx: 1, rx: 1 }),
    },
    queue: {
      delete: async (m) => void log.deleted.push(m.messageId),
      setVisibility: async (m, seconds) => void log.visibility.push([m.messageId, seconds]),
    },
    guard: new StoreGuard({ probe: async () => undefined, onRecovered: () => undefined, logger: silentLogger, metrics: noMetrics, clock, random: () => 0.5 }),
    owner: 'task-a',
    concat: 'udh8',
    leaseSeconds: 15,
    maxReceiveCount: 10,
    shutdown: new AbortController().signal,
    running: () => true,
    logger: silentLogger,
    metrics: noMetrics,
    random: () => 0.5,
    ...(gate !== undefined && { optOut: gate }),
  });
  return { jobs, log, clock };
}

function message(id: string, text = 'Your code is 1234'): QueueMessage {
  return { messageId: `sqs-${id}`, receiptHandle: `h-${id}`, body: JSON.stringify({ id, to: '+6591234567', from: '72345', text }), receiveCount: 1, sentAt: 0 };
}

describe('OutboundJobs: opt-out', () => {
  it('records a job to an opted-out number REJECTED and deletes it, sending nothing', async () => {
    const { jobs, log } = harness();
    await jobs.handle(message('o-1'));
    expect(log.checks).toEqual([['+6591234567', '72345']]);
    expect(log.rejected).toEqual(['o-1']);
    expect(log.sent).toBe(0);
    expect(log.deleted).toEqual(['sqs-o-1']);
  });

  it('sends a job whose number is not suppressed, as before', async () => {
    const { jobs, log } = harness({ gate: { isSuppressed: async () => false } });
    await jobs.handle(message('o-2'));
    expect(log.rejected).toEqual([]);
    expect(log.sent).toBe(1);
    expect(log.accepted).toEqual(['o-2']);
    expect(log.deleted).toEqual(['sqs-o-2']);
  });

  it('completes a job some of whose parts were accepted before, without asking the list', async () => {
    // A retry of a long message whose first part went out before the number opted out.
    const { jobs, log } = harness({ claim: (opts) => ({ outcome: 'claimed', acceptedParts: { 1: 'first' }, plan: opts }) });
    await jobs.handle(message('o-3', 'A long message. '.repeat(20)));
    expect(log.checks).toEqual([]);
    expect(log.rejected).toEqual([]);
    expect(log.sent).toBe(2); // parts 2 and 3 of 3
    expect(log.deleted).toEqual(['sqs-o-3']);
  });

  it('leaves the job to the next receive when its claim went elsewhere before the rejection landed', async () => {
    const { jobs, log } = harness({ gate: { recordOptedOut: async () => ({ outcome: 'unchanged', status: 'SUBMITTING' }) } });
    await jobs.handle(message('o-4'));
    expect(log.sent).toBe(0);
    expect(log.deleted).toEqual([]);
    expect(log.visibility).toEqual([['sqs-o-4', 0]]);
  });

  it('keeps checking while the store fails, and sends nothing meanwhile', async () => {
    let failures = 3;
    const { jobs, log, clock } = harness({
      gate: {
        isSuppressed: async () => {
          if (failures-- > 0) throw new StoreError('suppression check failed', { cause: new Error('socket hang up') });
          return true;
        },
      },
    });
    const done = jobs.handle(message('o-5'));
    for (let i = 0; i < 50 && log.deleted.length === 0; i++) {
      clock.advance(1000);
      await new Promise((r) => setImmediate(r));
    }
    await done;
    expect(failures).toBe(-1);
    expect(log.sent).toBe(0);
    expect(log.rejected).toEqual(['o-5']);
  });

  it('asks nothing when opt-out is off', async () => {
    const { jobs, log } = harness({ gate: 'off' });
    await jobs.handle(message('o-6'));
    expect(log.checks).toEqual([]);
    expect(log.sent).toBe(1);
  });
});
