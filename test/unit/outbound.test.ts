/**
 * OutboundPipeline with in-memory fakes of its three ports (queue, store, sender) and a fake clock:
 * the retry policy at the end of a message's life, and polling while the store is down. The same
 * paths against the real local stack are in the fault matrix (retries-exhausted, dynamodb-outage-long).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { QueueMessage } from '../../service/src/aws/queue.js';
import type { ClaimOptions, SubmitPlan } from '../../service/src/aws/status-store.js';
import type { ErrorDetail, Job } from '../../service/src/domain.js';
import { StoreError } from '../../service/src/errors.js';
import { silentLogger } from '../../service/src/logger.js';
import { noMetrics } from '../../service/src/metrics.js';
import { OutboundPipeline, type JobQueue, type OutboundStore, type Sender } from '../../service/src/pipeline/outbound.js';
import type { SubmitResult } from '../../service/src/smpp/client.js';
import { FakeClock } from '../support/fake-clock.js';

/** Lets every promise chain that can run, run (the pipeline awaits several calls per step). */
async function settle(): Promise<void> {
  for (let i = 0; i < 30; i++) await new Promise((r) => setImmediate(r));
}

class FakeQueue implements JobQueue {
  /** Receives started while `during()` held. */
  receivesDuring = 0;
  during: () => boolean = () => false;
  deleted: string[] = [];
  visibility: Array<{ receiptHandle: string; seconds: number }> = [];
  readonly waiting: QueueMessage[][];
  constructor(
    private readonly clock: FakeClock,
    batches: QueueMessage[][],
  ) {
    this.waiting = batches;
  }
  async receive(_max: number, waitSeconds: number, signal?: AbortSignal): Promise<QueueMessage[]> {
    if (this.during()) this.receivesDuring += 1;
    const next = this.waiting.shift();
    if (next !== undefined) return next;
    // An empty long poll: ends after its wait on the fake clock, or when the pipeline stops.
    await new Promise<void>((resolve) => {
      this.clock.setTimeout(resolve, waitSeconds * 1000);
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
    return [];
  }
  async delete(handles: readonly string[]): Promise<string[]> {
    this.deleted.push(...handles);
    return [];
  }
  async setVisibility(entries: readonly { receiptHandle: string; seconds: number }[]): Promise<string[]> {
    this.visibility.push(...entries);
    return [];
  }
}

class FakeStore implements OutboundStore {
  down = false;
  claims = 0;
  probes = 0;
  failed: Array<{ id: string; error: ErrorDetail }> = [];
  released: string[] = [];
  accepted: string[] = [];
  private outage(): void {
    if (this.down) throw new StoreError('DynamoDB unreachable', { cause: Object.assign(new Error('connect ECONNREFUSED'), { name: 'Error' }) });
  }
  async claim(_job: Job, opts: ClaimOptions): Promise<{ outcome: 'claimed'; acceptedParts: Record<number, string>; plan: SubmitPlan }> {
    this.claims += 1;
    this.outage();
    return { outcome: 'claimed', acceptedParts: {}, plan: opts };
  }
  async extendClaim(): Promise<{ outcome: 'extended' }> {
    this.outage();
    return { outcome: 'extended' };
  }
  async recordAccepted(id: string): Promise<void> {
    this.outage();
    this.accepted.push(id);
  }
  expectAccepted(): void {}
  async recordFailed(id: string, _owner: string, error: ErrorDetail): Promise<void> {
    this.outage();
    this.failed.push({ id, error });
  }
  async releaseClaim(id: string): Promise<void> {
    this.outage();
    this.released.push(id);
  }
  async recordInvalid(): Promise<void> {
    this.outage();
  }
  async probe(): Promise<void> {
    this.probes += 1;
    this.outage();
  }
}

function sender(result: () => SubmitResult): Sender {
  return { submit: async () => result(), capacityPerSecond: 50, readiness: () => ({ tx: 1, rx: 1 }) };
}

function message(id: string, receiveCount: number): QueueMessage {
  const body = JSON.stringify({ id, to: '+6591234567', from: '8x8', text: 'Your code is 1234' });
  return { messageId: `sqs-${id}`, receiptHandle: `handle-${id}`, body, receiveCount, sentAt: 0 };
}

const systemError: SubmitResult = { kind: 'retryable', reason: 'ESME_RSYSERR', status: 0x08 };
const accepted: SubmitResult = { kind: 'accepted', smscMessageId: 'abc123', latencyMs: 5 };

let running: { pipeline: OutboundPipeline; clock: FakeClock } | undefined;
afterEach(async () => {
  if (running === undefined) return;
  const { pipeline, clock } = running;
  running = undefined;
  let stopped = false;
  const stopping = pipeline.stop(0).then(() => (stopped = true));
  // Its long polls are cut by a timer on the fake clock.
  for (let i = 0; i < 100 && !stopped; i++) {
    clock.advance(1000);
    await settle();
  }
  await stopping;
  pipeline.close();
});

function start(queue: FakeQueue, store: FakeStore, result: () => SubmitResult, clock: FakeClock): OutboundPipeline {
  const pipeline = new OutboundPipeline({
    queue,
    store,
    sender: sender(result),
    owner: 'task-a',
    concat: 'udh8',
    maxReceiveCount: 3,
    visibilityTimeoutSeconds: 15,
    logger: silentLogger,
    metrics: noMetrics,
    clock,
    random: () => 0.5,
  });
  pipeline.start();
  running = { pipeline, clock };
  return pipeline;
}

describe('OutboundPipeline: retries at the end of a message’s life', () => {
  it('records FAILED on the last attempt and leaves the message for the dead-letter queue', async () => {
    // Prepare
    const clock = new FakeClock();
    const queue = new FakeQueue(clock, [[message('otp-1', 3)]]);
    const store = new FakeStore();
    // Act
    start(queue, store, () => systemError, clock);
    await settle();
    // Assess
    expect(store.failed).toEqual([{ id: 'otp-1', error: expect.objectContaining({ name: 'ESME_RSYSERR', description: expect.stringContaining('retries exhausted after 3 attempts') }) }]);
    expect(queue.visibility).toEqual([{ receiptHandle: 'handle-otp-1', seconds: 0 }]);
    expect(queue.deleted).toEqual([]);
  });

  it('retries an earlier attempt later, without recording a failure', async () => {
    // Prepare
    const clock = new FakeClock();
    const queue = new FakeQueue(clock, [[message('otp-2', 2)]]);
    const store = new FakeStore();
    // Act
    start(queue, store, () => systemError, clock);
    await settle();
    // Assess
    expect(store.failed).toEqual([]);
    expect(store.released).toEqual(['otp-2']);
    expect(queue.visibility).toEqual([{ receiptHandle: 'handle-otp-2', seconds: 4 }]);
  });
});

describe('OutboundPipeline: while the store is down', () => {
  it('keeps the job in hand, takes no new messages, and resumes once a probe succeeds', async () => {
    // Prepare
    const clock = new FakeClock();
    const queue = new FakeQueue(clock, [[message('otp-3', 1)]]);
    const store = new FakeStore();
    store.down = true;
    start(queue, store, () => accepted, clock);
    await settle();
    // Act: a minute of outage, in one-second steps; a job arrives meanwhile
    queue.waiting.push([message('otp-4', 1)]);
    // Long polls already waiting when the claim failed end on their own (up to 10 s); none may start after.
    clock.advance(10_000);
    await settle();
    queue.during = () => store.down;
    for (let t = 0; t < 60; t++) {
      clock.advance(1000);
      await settle();
    }
    const claimsWhileDown = store.claims;
    store.down = false;
    for (let t = 0; t < 10; t++) {
      clock.advance(1000);
      await settle();
    }
    // Assess
    expect(queue.receivesDuring).toBe(0);
    expect(claimsWhileDown).toBeGreaterThan(5);
    expect(store.probes).toBeGreaterThan(5);
    // Never handed back with a retry delay (each receive would count towards the DLQ); kept invisible instead.
    expect(queue.visibility.filter((v) => v.receiptHandle === 'handle-otp-3').length).toBeGreaterThan(0);
    expect(queue.visibility.filter((v) => v.seconds !== 15)).toEqual([]);
    expect([...store.accepted].sort()).toEqual(['otp-3', 'otp-4']);
  });
});
