import { setMaxListeners } from 'node:events';
import { SQS_MAX_WAIT_SECONDS } from '../aws/queue.js';
import type { Clock } from '../clock.js';
import type { JobQueue, Lane, QueueMessage } from '../core/ports.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { ConcatMode } from '../smpp/segment.js';
import { OutboundJobs, type OptOutGate, type OutboundStore, type Sender } from './outbound-job.js';
import { QueuePoller } from './queue-poller.js';
import { StoreGuard } from './store-guard.js';

export type { JobQueue, QueueMessage } from '../core/ports.js';
export type { OptOutGate, OutboundStore, Sender } from './outbound-job.js';

export interface OutboundOptions {
  queue: JobQueue;
  /**
   * The priority queue: its jobs are sent in the urgent lane, received by a poller of their own
   * with a buffer of their own (docs/architecture.md §7.1). Absent: one lane, bulk.
   */
  priorityQueue?: JobQueue;
  store: OutboundStore;
  sender: Sender;
  /** This process's claim owner id. */
  owner: string;
  concat: ConcatMode;
  /** TON/NPI overrides for every source / destination address (some routes want their own). */
  sourceAddr?: { ton?: number; npi?: number };
  destAddr?: { ton?: number; npi?: number };
  /**
   * How long a received message stays invisible, and how long this task's claim lease lasts; both are
   * extended by the heartbeat while the job is in hand. It bounds how long a crashed task's jobs wait
   * before another task resumes them. @defaultvalue 15
   */
  visibilityTimeoutSeconds?: number;
  /**
   * The queue's redrive `maxReceiveCount`: the attempt with this receive count is the last, and records
   * FAILED before SQS moves the message to the dead-letter queue. @defaultvalue 10
   */
  maxReceiveCount?: number;
  /**
   * Drain time on shutdown. Long polls are kept to half of it, so a receive in flight
   * always lands (and its messages are handed back) instead of being cut. @defaultvalue 20000
   */
  shutdownGraceMs?: number;
  /**
   * Seconds of sending capacity to hold in memory. More buys nothing (the binds
   * cannot go faster) and risks visibility running out. @defaultvalue 2
   */
  bufferSeconds?: number;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  /** Jitter source in [0, 1). */
  random: () => number;
  /** The suppression check, when opt-out is on (docs/architecture.md §7.5). @defaultvalue none: no call is made */
  optOut?: OptOutGate;
}

/** Jobs held in memory at most, whatever the binds' capacity. */
const MAX_IN_PROGRESS = 500;

/**
 * The outbound path, wired: a QueuePoller (SQS: receive, heartbeat, deletes), OutboundJobs (one job:
 * claim → split → submit → record → settle, by the retry policy in core/retry-policy.ts) and a
 * StoreGuard (writes that must land; no polling while the store is down). With a priority queue, a
 * second QueuePoller with its own buffer feeds the same OutboundJobs in the urgent lane (§7.1).
 */
export class OutboundPipeline {
  private readonly poller: QueuePoller;
  /** The priority queue's poller, when there is one. */
  private readonly urgentPoller: QueuePoller | undefined;
  /** The poller each message in hand came from: its delete and visibility changes go back to that queue. */
  private readonly origin = new WeakMap<QueueMessage, QueuePoller>();
  private readonly guard: StoreGuard;
  private readonly submitAbort = new AbortController();

  constructor(private readonly o: OutboundOptions) {
    const visibilitySeconds = o.visibilityTimeoutSeconds ?? 15;
    // Capped too: at high MPS, 2 s of capacity is more jobs than the store can claim in time (measured overload).
    const capacity = Math.min(MAX_IN_PROGRESS, Math.max(10, Math.ceil(o.sender.capacityPerSecond * (o.bufferSeconds ?? 2))));
    // Every queued part listens on the shutdown signal; hundreds at once is normal here.
    setMaxListeners(0, this.submitAbort.signal);
    this.guard = new StoreGuard({ probe: () => o.store.probe(), onRecovered: () => this.nudge(), logger: o.logger, metrics: o.metrics, clock: o.clock, random: o.random });
    const jobs = new OutboundJobs({
      store: o.store,
      sender: o.sender,
      // The pollers are built next; a job only settles its message once a poller has handed it one.
      queue: { delete: (m) => this.pollerOf(m).delete(m), setVisibility: (m, seconds) => this.pollerOf(m).setVisibility(m, seconds) },
      guard: this.guard,
      owner: o.owner,
      concat: o.concat,
      ...(o.sourceAddr !== undefined && { sourceAddr: o.sourceAddr }),
      ...(o.destAddr !== undefined && { destAddr: o.destAddr }),
      // The lease is renewed with the message's visibility, so a dead task's jobs come back as soon as its lease ends.
      leaseSeconds: visibilitySeconds,
      maxReceiveCount: o.maxReceiveCount ?? 10,
      shutdown: this.submitAbort.signal,
      running: () => this.poller.running,
      logger: o.logger,
      metrics: o.metrics,
      random: o.random,
      ...(o.optOut !== undefined && { optOut: o.optOut }),
    });
    const poller = (queue: JobQueue, lane: Lane): QueuePoller => {
      const p: QueuePoller = new QueuePoller({
        queue,
        // Each lane its own buffer: urgent jobs never wait for room behind a full bulk buffer.
        capacity,
        visibilitySeconds,
        receiveWaitSeconds: Math.min(SQS_MAX_WAIT_SECONDS, Math.max(1, Math.floor((o.shutdownGraceMs ?? 20_000) / 2000))),
        mayReceive: () => o.sender.readiness().tx > 0 && !this.guard.down,
        handle: (m) => {
          this.origin.set(m, p);
          return jobs.handle(m, lane);
        },
        onRenewed: jobs.renewClaims,
        logger: o.logger.child({ lane }),
        clock: o.clock,
        random: o.random,
      });
      return p;
    };
    this.poller = poller(o.queue, 'bulk');
    this.urgentPoller = o.priorityQueue === undefined ? undefined : poller(o.priorityQueue, 'urgent');
  }

  start(): void {
    this.poller.start();
    this.urgentPoller?.start();
  }

  /**
   * Waits (up to `capMs`) for every job still in progress to record its outcome. Called
   * after the binds are closed: their pending submits have ended by then, and exiting
   * before the writes land would resend what the SMSC already accepted.
   */
  async drained(capMs: number): Promise<number> {
    const left = await Promise.all(this.pollers().map((p) => p.drained(capMs)));
    return left.reduce((a, b) => a + b, 0);
  }

  /** Re-checks at once whether to poll (e.g. a bind just came up). */
  nudge(): void {
    for (const p of this.pollers()) p.wake();
  }

  get inFlight(): number {
    return this.poller.inFlight + (this.urgentPoller?.inFlight ?? 0);
  }

  /** Jobs in hand, by lane. */
  get inFlightByLane(): Record<Lane, number> {
    return { urgent: this.urgentPoller?.inFlight ?? 0, bulk: this.poller.inFlight };
  }

  /**
   * Stops polling; parts not yet sent are handed back and their messages made
   * visible again at once; waits for the rest (their responses) up to graceMs.
   */
  async stop(graceMs: number): Promise<void> {
    if (!this.poller.running) return;
    const deadline = this.o.clock.now() + graceMs;
    const stopped = Promise.all(this.pollers().map((p) => p.stop()));
    this.submitAbort.abort();
    await stopped;
    await this.drained(Math.max(0, deadline - this.o.clock.now()));
  }

  /**
   * Ends the heartbeat and gives up store writes still retrying (their jobs come back from SQS after
   * the visibility timeout, and a take-over counts them as unknown outcomes). Called last on shutdown.
   */
  close(): void {
    this.guard.abandon();
    for (const p of this.pollers()) p.close();
  }

  private pollers(): QueuePoller[] {
    return this.urgentPoller === undefined ? [this.poller] : [this.poller, this.urgentPoller];
  }

  private pollerOf(message: QueueMessage): QueuePoller {
    return this.origin.get(message) ?? this.poller;
  }
}
