import { setMaxListeners } from 'node:events';
import { within, type Clock } from '../clock.js';
import { Delays, retryDelaySeconds } from '../core/retry-policy.js';
import type { JobQueue, QueueMessage } from '../core/ports.js';
import type { Logger } from '../logger.js';
import { Batcher } from './batcher.js';

export interface QueuePollerOptions {
  queue: JobQueue;
  /** Messages held in memory at most. */
  capacity: number;
  /** Set on every receive and renewed by the heartbeat while a message is in hand. */
  visibilitySeconds: number;
  /** Long-poll length; kept short enough that a receive in flight lands within the shutdown grace. */
  receiveWaitSeconds: number;
  /** False while nothing could be done with a message (no bind, store down): no receive is made. */
  mayReceive(): boolean;
  /** Handles one message; it deletes it or sets its visibility itself. A rejection leaves it to come back. */
  handle(message: QueueMessage): Promise<void>;
  /** Called by each heartbeat with the messages whose visibility it just renewed. */
  onRenewed?(messages: readonly QueueMessage[]): Promise<void>;
  logger: Logger;
  clock: Clock;
  /** Jitter source in [0, 1). */
  random: () => number;
}

interface Held {
  message: QueueMessage;
  visibleUntil: number;
}

/**
 * The SQS side of the outbound path, after bbc/sqs-consumer: long polls that take only what there is
 * room for, a heartbeat that keeps held messages invisible, batched deletes, and a stop that lets
 * receives in flight land and hands their messages back. It knows nothing of jobs: `handle` does.
 */
export class QueuePoller {
  private readonly held = new Map<string, Held>();
  private readonly handlers = new Set<Promise<void>>();
  private readonly pollers: Promise<void>[] = [];
  private readonly deletes: Batcher<string>;
  private readonly pollAbort = new AbortController();
  /** Free slots needed before a receive (SQS returns at most 10 per call). */
  private readonly receiveBatch: number;
  private roomWaiters: Array<() => void> = [];
  private heartbeat: unknown;
  private runningValue = false;
  private closed = false;

  constructor(private readonly o: QueuePollerOptions) {
    // A deleted job's outcome is already stored, so its delete can wait a little to fill its batch.
    this.deletes = new Batcher((handles) => o.queue.delete(handles), 10, 100, o.clock);
    this.receiveBatch = Math.min(10, Math.ceil(o.capacity / 2));
    setMaxListeners(0, this.pollAbort.signal);
  }

  get running(): boolean {
    return this.runningValue;
  }

  /** Messages in hand. */
  get inFlight(): number {
    return this.held.size;
  }

  start(): void {
    if (this.runningValue) return;
    this.runningValue = true;
    // Enough concurrent long polls to fill the buffer quickly, never more than the buffer needs.
    const pollers = Math.min(10, Math.max(1, Math.ceil(this.o.capacity / 50)));
    for (let i = 0; i < pollers; i++) this.pollers.push(this.poll());
    const beat = Math.max(1000, (this.o.visibilitySeconds * 1000) / 4);
    const tick = (): void => {
      if (this.closed) return;
      void this.renew();
      this.heartbeat = this.o.clock.setTimeout(tick, beat);
    };
    this.heartbeat = this.o.clock.setTimeout(tick, beat);
  }

  /**
   * Stops receiving. Aborting a receive whose answer is already on its way would drop those messages
   * inside the SDK (invisible until their timeout), so receives in flight are left to land — long
   * polls are short — and their messages are handed back; the abort is only a safety net.
   */
  async stop(): Promise<void> {
    if (!this.runningValue) return;
    this.runningValue = false;
    this.wake();
    const abortTimer = this.o.clock.setTimeout(() => this.pollAbort.abort(), this.o.receiveWaitSeconds * 1000 + 2000);
    await Promise.all(this.pollers);
    this.o.clock.clearTimeout(abortTimer);
  }

  /** Waits (up to `capMs`) for every message in hand to be handled; returns how many are left. */
  async drained(capMs: number): Promise<number> {
    await within(Promise.all([...this.handlers]), capMs, []);
    return this.held.size;
  }

  /** Ends the heartbeat (shutdown is over). */
  close(): void {
    this.closed = true;
    this.o.clock.clearTimeout(this.heartbeat);
  }

  /** Re-checks at once whether to receive (e.g. a bind came up, the store answers again). */
  wake(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const w of waiters) w();
  }

  /** Deletes the message (batched); a failed delete is harmless: its outcome is stored, a redelivery finds it done. */
  async delete(message: QueueMessage): Promise<void> {
    if (!(await this.deletes.add(message.receiptHandle))) {
      this.o.logger.warn({ sqsMessageId: message.messageId }, 'delete failed: a redelivery will be recognised as done');
    }
  }

  async setVisibility(message: QueueMessage, seconds: number): Promise<void> {
    await this.o.queue.setVisibility([{ receiptHandle: message.receiptHandle, seconds }]);
  }

  private async poll(): Promise<void> {
    while (this.runningValue) {
      const room = this.o.capacity - this.held.size;
      // A batch's worth at a time: with the buffer full and jobs finishing one by one, a receive per
      // free slot would cost a call per job. Nothing is taken that could only be held (each receive
      // of a message counts towards its dead-letter limit).
      if (room < this.receiveBatch || !this.o.mayReceive()) {
        await this.idle(Delays.pollIdleMs);
        continue;
      }
      let messages: QueueMessage[];
      try {
        messages = await this.o.queue.receive(Math.min(10, room), this.o.receiveWaitSeconds, this.pollAbort.signal, this.o.visibilitySeconds);
      } catch (err) {
        this.o.logger.warn({ err: (err as Error).message }, 'receive failed: retrying');
        await this.idle(Delays.receiveRetryMs);
        continue;
      }
      if (!this.runningValue) {
        await this.o.queue.setVisibility(messages.map((m) => ({ receiptHandle: m.receiptHandle, seconds: 0 })));
        continue;
      }
      for (const message of messages) this.track(message);
    }
  }

  private track(message: QueueMessage): void {
    this.held.set(message.messageId, { message, visibleUntil: this.o.clock.now() + this.o.visibilitySeconds * 1000 });
    const handled = this.o
      .handle(message)
      .catch((err: unknown) => {
        // Store or queue trouble: nothing was deleted, so it comes back; at once when stopping.
        this.o.logger.error({ sqsMessageId: message.messageId, err: (err as Error).message }, 'job left on the queue after an error');
        return this.setVisibility(message, this.runningValue ? retryDelaySeconds(message.receiveCount, this.o.random) : 0);
      })
      .catch(() => undefined)
      .finally(() => {
        this.held.delete(message.messageId);
        this.handlers.delete(handled);
        this.wake();
      });
    this.handlers.add(handled);
  }

  /** Keeps the messages in hand invisible, renewing each once less than half its visibility is left. */
  private async renew(): Promise<void> {
    const now = this.o.clock.now();
    const span = this.o.visibilitySeconds * 1000;
    const due = [...this.held.values()].filter((h) => h.visibleUntil - now < span / 2);
    if (due.length === 0) return;
    for (const h of due) h.visibleUntil = now + span;
    await this.o.queue.setVisibility(due.map((h) => ({ receiptHandle: h.message.receiptHandle, seconds: this.o.visibilitySeconds }))).catch(() => undefined);
    await this.o.onRenewed?.(due.map((h) => h.message)).catch(() => undefined);
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.o.clock.setTimeout(resolve, ms);
      this.roomWaiters.push(() => {
        this.o.clock.clearTimeout(timer);
        resolve();
      });
    });
  }
}
