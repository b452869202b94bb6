/**
 * OutboundPipeline with in-memory fakes of its three ports (queue, store, sender) and a fake clock:
 * the retry policy at the end of a message's life, and polling while the store is down. The same
 * paths against the real local stack are in the fault matrix (retries-exhausted, dynamodb-outage-long).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { QueueMessage } from '../../service/src/core/ports.js';
import type { ClaimOptions } from '../../service/src/aws/status-store/index.js';
import type { ErrorDetail, Job } from '../../service/src/domain.js';
import { StoreError } from '../../service/src/errors.js';
import { silentLogger } from '../../service/src/logger.js';
import { noMetrics } from '../../service/src/metrics.js';
import { OutboundPipeline, type JobQueue, type OutboundStore, type Sender } from '../../service/src/pipeline/outbound.js';
import type { SubmitResult } from '../../service/src/smpp/client.js';
import type { OutboundPart } from '../../service/src/smpp/submit.js';
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
  invalid: string[] = [];
  /** What claim answers; by default a first claim of the plan it is given. */
  claimAnswer: (opts: ClaimOptions) => Awaited<ReturnType<OutboundStore['claim']>> = (opts) => ({ outcome: 'claimed', acceptedParts: {}, plan: opts });
  extendAnswer: 'extended' | 'lost' = 'extended';
  async claim(_job: Job, opts: ClaimOptions): Promise<Awaited<ReturnType<OutboundStore['claim']>>> {
    this.claims += 1;
    this.outage();
    return this.claimAnswer(opts);
  }
  async extendClaim(): Promise<{ outcome: 'extended' | 'lost' }> {
    this.outage();
    return { outcome: this.extendAnswer };
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
  async recordInvalid(key: string): Promise<void> {
    this.outage();
    this.invalid.push(key);
  }
  async probe(): Promise<void> {
    this.probes += 1;
    this.outage();
  }
}

function sender(result: (part: OutboundPart, signal?: AbortSignal) => SubmitResult | Promise<SubmitResult>): Sender {
  return { submit: async (part, signal) => result(part, signal), capacityPerSecond: 50, readiness: () => ({ tx: 1, rx: 1 }) };
}

function message(id: string, receiveCount: number, text = 'Your code is 1234'): QueueMessage {
  const body = JSON.stringify({ id, to: '+6591234567', from: '8x8', text });
  return { messageId: `sqs-${id}`, receiptHandle: `handle-${id}`, body, receiveCount, sentAt: 0 };
}

const systemError: SubmitResult = { kind: 'retryable', name: 'ESME_RSYSERR', status: 0x08 };
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

function start(queue: FakeQueue, store: FakeStore, result: Parameters<typeof sender>[0], clock: FakeClock): OutboundPipeline {
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

describe('OutboundPipeline: one job', () => {
  it('re-sends only the missing parts of a retried long message, under the reference the first claim stored', async () => {
    // Prepare
    const clock = new FakeClock();
    const text = 'A retried long message keeps its reference. '.repeat(10).slice(0, 400);
    const queue = new FakeQueue(clock, [[message('long-1', 2, text)]]);
    const store = new FakeStore();
    store.claimAnswer = (opts) => ({ outcome: 'claimed', acceptedParts: { 1: 'first-attempt' }, plan: { ...opts, concatRef: 77 } });
    const sent: OutboundPart[] = [];
    // Act
    start(queue, store, (part) => {
      sent.push(part);
      return accepted;
    }, clock);
    await settle();
    clock.advance(200); // deletes wait 100 ms to fill a batch
    await settle();
    // Assess: parts 2 and 3 of 3, 8-bit UDH with reference 77
    expect(sent.map((p) => [...p.segment.shortMessage.subarray(0, 6)])).toEqual([
      [0x05, 0x00, 0x03, 77, 3, 2],
      [0x05, 0x00, 0x03, 77, 3, 3],
    ]);
    expect(queue.deleted).toEqual(['handle-long-1']);
  });

  it('stops sending a job whose lease another task took: its queued parts are handed back', async () => {
    // Prepare
    const clock = new FakeClock();
    const queue = new FakeQueue(clock, [[message('otp-5', 1)]]);
    const store = new FakeStore();
    store.extendAnswer = 'lost';
    const results: SubmitResult[] = [];
    // A bind that never frees a slot: the part stays queued until it is aborted.
    start(queue, store, (_part, signal) =>
      new Promise<SubmitResult>((resolve) => signal?.addEventListener('abort', () => resolve({ kind: 'handed-back', reason: 'aborted' }), { once: true })).then((r) => {
        results.push(r);
        return r;
      }), clock);
    await settle();
    // Act: past half the 15 s visibility, the heartbeat renews it and learns the lease is gone
    for (let t = 0; t < 15; t++) {
      clock.advance(1000);
      await settle();
    }
    // Assess
    expect(results).toEqual([{ kind: 'handed-back', reason: 'aborted' }]);
    expect(store.released).toEqual(['otp-5']);
    expect(queue.visibility.at(-1)).toEqual({ receiptHandle: 'handle-otp-5', seconds: 0 });
  });

  it('leaves a job another task holds until that lease could have run out', async () => {
    // Prepare
    const clock = new FakeClock();
    const queue = new FakeQueue(clock, [[message('otp-6', 1)]]);
    const store = new FakeStore();
    store.claimAnswer = () => ({ outcome: 'busy' });
    // Act
    start(queue, store, () => accepted, clock);
    await settle();
    // Assess
    expect(queue.visibility).toEqual([{ receiptHandle: 'handle-otp-6', seconds: 15 }]);
    expect(queue.deleted).toEqual([]);
  });

  it('records an invalid job under its id and deletes it, without sending', async () => {
    // Prepare
    const clock = new FakeClock();
    const bad: QueueMessage = { ...message('bad-1', 1), body: JSON.stringify({ id: 'bad-1', to: 'nobody', from: '8x8', text: 'x' }) };
    const queue = new FakeQueue(clock, [[bad]]);
    const store = new FakeStore();
    let submits = 0;
    // Act
    start(queue, store, () => {
      submits += 1;
      return accepted;
    }, clock);
    await settle();
    clock.advance(200); // deletes wait 100 ms to fill a batch
    await settle();
    // Assess
    expect(store.invalid).toEqual(['bad-1']);
    expect(queue.deleted).toEqual(['handle-bad-1']);
    expect(submits).toBe(0);
  });
});
