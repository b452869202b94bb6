/**
 * OutboundPipeline with a priority queue (docs/architecture.md §7.1), with in-memory fakes of its
 * ports and a fake clock: the priority queue's jobs are submitted in the urgent lane, each message is
 * settled on the queue it came from, urgent jobs are received while the bulk buffer is full, and a
 * stop hands back what either lane still had queued. The lanes' order at the SMSC is tested against
 * the simulator (test/integration/priority-lanes.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Lane, QueueMessage } from '../../service/src/core/ports.js';
import type { ClaimOptions } from '../../service/src/aws/status-store/index.js';
import type { Job } from '../../service/src/domain.js';
import { silentLogger } from '../../service/src/logger.js';
import { noMetrics } from '../../service/src/metrics.js';
import { OutboundPipeline, type JobQueue, type OutboundStore, type Sender } from '../../service/src/pipeline/outbound.js';
import type { SubmitResult } from '../../service/src/smpp/client.js';
import type { OutboundPart } from '../../service/src/smpp/submit.js';
import { FakeClock } from '../support/fake-clock.js';

/** Lets every promise chain that can run, run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 30; i++) await new Promise((r) => setImmediate(r));
}

class FakeQueue implements JobQueue {
  deleted: string[] = [];
  visibility: Array<{ receiptHandle: string; seconds: number }> = [];
  receives = 0;
  constructor(
    private readonly clock: FakeClock,
    readonly waiting: QueueMessage[][] = [],
  ) {}
  async receive(_max: number, waitSeconds: number, signal?: AbortSignal): Promise<QueueMessage[]> {
    this.receives += 1;
    const next = this.waiting.shift();
    if (next !== undefined) return next;
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
  accepted: string[] = [];
  released: string[] = [];
  async claim(_job: Job, opts: ClaimOptions): Promise<Awaited<ReturnType<OutboundStore['claim']>>> {
    return { outcome: 'claimed', acceptedParts: {}, plan: opts };
  }
  async extendClaim(): Promise<{ outcome: 'extended' }> {
    return { outcome: 'extended' };
  }
  async recordAccepted(id: string): Promise<void> {
    this.accepted.push(id);
  }
  expectAccepted(): void {}
  async recordFailed(): Promise<void> {}
  async releaseClaim(id: string): Promise<void> {
    this.released.push(id);
  }
  async recordInvalid(): Promise<void> {}
  async probe(): Promise<void> {}
}

/** A sender that records each part's lane by destination, and answers as `answer` says. */
function laneSender(answer: (part: OutboundPart, signal: AbortSignal | undefined, lane: Lane) => SubmitResult | Promise<SubmitResult>) {
  const lanes = new Map<string, Lane>();
  const sender: Sender = {
    submit: async (part, signal, lane) => {
      lanes.set(part.destination.addr, lane);
      return answer(part, signal, lane);
    },
    // 2 s of it is the buffer: 10 jobs per lane.
    capacityPerSecond: 5,
    readiness: () => ({ tx: 1, rx: 1 }),
  };
  return { sender, lanes };
}

function message(id: string, to: string): QueueMessage {
  const body = JSON.stringify({ id, to, from: '8x8', text: 'Your code is 1234' });
  return { messageId: `sqs-${id}`, receiptHandle: `handle-${id}`, body, receiveCount: 1, sentAt: 0 };
}

const accepted: SubmitResult = { kind: 'accepted', smscMessageId: 'abc123', latencyMs: 5 };
/** Never answers until aborted (a bind that sends nothing): the part stays queued. */
const neverSent = (_p: OutboundPart, signal: AbortSignal | undefined): Promise<SubmitResult> =>
  new Promise((resolve) => signal?.addEventListener('abort', () => resolve({ kind: 'handed-back', reason: 'aborted' }), { once: true }));

let running: { pipeline: OutboundPipeline; clock: FakeClock } | undefined;
afterEach(async () => {
  if (running === undefined) return;
  const { pipeline, clock } = running;
  running = undefined;
  await stopDriven(pipeline, clock);
});

/** Stops the pipeline, moving the fake clock so its long polls end. */
async function stopDriven(pipeline: OutboundPipeline, clock: FakeClock): Promise<void> {
  let stopped = false;
  const stopping = pipeline.stop(0).then(() => (stopped = true));
  for (let i = 0; i < 100 && !stopped; i++) {
    clock.advance(1000);
    await settle();
  }
  await stopping;
  pipeline.close();
}

function start(clock: FakeClock, queue: FakeQueue, priorityQueue: FakeQueue, sender: Sender): OutboundPipeline {
  const pipeline = new OutboundPipeline({
    queue,
    priorityQueue,
    store: new FakeStore(),
    sender,
    owner: 'task-a',
    concat: 'udh8',
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

describe('OutboundPipeline with a priority queue', () => {
  it('submits the priority queue’s jobs in the urgent lane, the outbound queue’s in bulk, and settles each on its own queue', async () => {
    // Prepare
    const clock = new FakeClock();
    const bulk = new FakeQueue(clock, [[message('campaign-1', '+6591000001')]]);
    const priority = new FakeQueue(clock, [[message('otp-1', '+6592000001')]]);
    const { sender, lanes } = laneSender(() => accepted);
    // Act
    start(clock, bulk, priority, sender);
    await settle();
    clock.advance(200); // deletes wait 100 ms to fill a batch
    await settle();
    // Assess
    expect(Object.fromEntries(lanes)).toEqual({ '6591000001': 'bulk', '6592000001': 'urgent' });
    expect(bulk.deleted).toEqual(['handle-campaign-1']);
    expect(priority.deleted).toEqual(['handle-otp-1']);
  });

  it('receives urgent jobs while the bulk buffer is full', async () => {
    // Prepare: 10 bulk jobs fill the bulk buffer (10) and are never sent; 10 more wait behind them.
    const clock = new FakeClock();
    const batch = (from: number) => Array.from({ length: 10 }, (_, i) => message(`campaign-${from + i}`, `+65910${String(from + i).padStart(5, '0')}`));
    const bulk = new FakeQueue(clock, [batch(0), batch(10)]);
    const priority = new FakeQueue(clock);
    const { sender, lanes } = laneSender((part, signal, lane) => (lane === 'urgent' ? accepted : neverSent(part, signal)));
    const pipeline = start(clock, bulk, priority, sender);
    await settle();
    const bulkReceives = bulk.receives;
    // Act: an urgent job arrives; the priority queue's long poll (10 s here) sees it on its next receive.
    priority.waiting.push([message('otp-2', '+6592000002')]);
    for (let t = 0; t < 11; t++) {
      clock.advance(1000);
      await settle();
    }
    // Assess
    expect(lanes.get('6592000002')).toBe('urgent');
    expect(priority.deleted).toEqual(['handle-otp-2']);
    expect(pipeline.inFlightByLane).toEqual({ urgent: 0, bulk: 10 });
    // The bulk buffer stayed full: no receive was made for the 10 jobs still waiting.
    expect(bulk.receives).toBe(bulkReceives);
    expect(bulk.waiting).toHaveLength(1);
  });

  it('hands back, on stop, the parts either lane still had queued, each to its own queue', async () => {
    // Prepare: one job per lane, neither ever sent.
    const clock = new FakeClock();
    const bulk = new FakeQueue(clock, [[message('campaign-3', '+6591000003')]]);
    const priority = new FakeQueue(clock, [[message('otp-3', '+6592000003')]]);
    const { sender } = laneSender(neverSent);
    const pipeline = start(clock, bulk, priority, sender);
    await settle();
    expect(pipeline.inFlightByLane).toEqual({ urgent: 1, bulk: 1 });
    // Act
    running = undefined;
    await stopDriven(pipeline, clock);
    // Assess: visible again at once, on the queue each came from; nothing deleted.
    expect(bulk.visibility).toEqual([{ receiptHandle: 'handle-campaign-3', seconds: 0 }]);
    expect(priority.visibility).toEqual([{ receiptHandle: 'handle-otp-3', seconds: 0 }]);
    expect([...bulk.deleted, ...priority.deleted]).toEqual([]);
    expect(pipeline.inFlight).toBe(0);
  });
});
