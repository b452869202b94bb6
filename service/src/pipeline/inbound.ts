import type { MoExpireResult, MoPartInput, MoPartResult } from '../aws/mo-store.js';
import type { MoItem } from '../aws/status-store/index.js';
import type { Clock } from '../clock.js';
import type { MessageStatus, Receipt } from '../domain.js';
import type { Logger } from '../logger.js';
import { MetricName, type Metrics } from '../metrics.js';
import { maskAddress } from '../smpp/address.js';
import { readMoPart } from '../smpp/inbound-mo.js';
import { smscIdKeys } from '../core/receipt-keys.js';
import { moChange, type OptOutSettings } from '../core/opt-out.js';
import { isReceipt, parseReceipt, type DeliverFields } from '../smpp/receipt.js';

/** The status store as the inbound path uses it (StatusStore implements it). */
export interface InboundStore {
  recordReceipt(
    receipt: Receipt,
    keys: string[],
    alternativeKeys?: string[],
  ): Promise<{ outcome: 'applied'; messageId: string; status: MessageStatus } | { outcome: 'parked' } | { outcome: 'ignored'; messageId: string }>;
}

/** The MO store as the inbound path uses it (MoStore implements it). */
export interface InboundMoStore {
  addPart(part: MoPartInput): Promise<MoPartResult>;
  expireGroup(groupId: string): Promise<MoExpireResult>;
}

export interface InboundOptions {
  store: InboundStore;
  mo: InboundMoStore;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  /** Set when opt-out is on: an MO keyword's change, written with the MO by the MO store, is logged (docs/architecture.md §7.5). */
  optOut?: OptOutSettings;
}

/** Incomplete MO messages this task remembers to expire; beyond it the oldest note is dropped (its parts stay stored). */
const MAX_NOTES = 50_000;
/** A failed expiry is tried again this much later. */
const EXPIRY_RETRY_MS = 30_000;

/**
 * deliver_sm → receipt or MO → DynamoDB. The returned handler resolves only
 * once the write succeeded; the SMPP session answers the SMSC after that, and
 * answers ESME_RX_T_APPN if it throws — so an acknowledged receipt, or MO part,
 * is always stored.
 *
 * The parts of a long MO are reassembled in the table (see aws/mo-store.ts): the
 * task that stores the last part stores the message. This task only keeps a note
 * of each message it saw incomplete, and when its timeout comes, has the store
 * keep it as what arrived (unless some task completed or expired it meanwhile).
 */
export class InboundPipeline {
  /** MOPART id → when its message is due to be stored as it is (epoch ms). */
  private readonly notes = new Map<string, number>();
  private timer: unknown;
  private timerAt: number | undefined;
  private running = false;
  private sweeping: Promise<void> = Promise.resolve();

  constructor(private readonly o: InboundOptions) {}

  /** Starts the expiry of incomplete MO messages this task has seen. */
  start(): void {
    this.running = true;
    this.arm();
  }

  /** Stops the expiry timer after storing what is due now. Notes of messages not yet due are dropped: any part of them arriving again, on any task, picks them up. */
  async stop(): Promise<void> {
    this.running = false;
    this.disarm();
    await this.sweep();
  }

  readonly onDeliver = async (f: DeliverFields): Promise<void> => {
    const receivedAt = new Date(this.o.clock.now()).toISOString();
    if (isReceipt(f)) {
      const receipt = parseReceipt(f, receivedAt);
      if ('error' in receipt) {
        // Nothing to correlate it with; retrying would bring the same bytes back forever.
        this.o.logger.warn({ reason: receipt.error, from: maskAddress(f.sourceAddr) }, 'unreadable delivery receipt acknowledged and dropped');
        return;
      }
      // TLV and text ids that disagree: the store keeps whichever a submit is recorded under.
      const alternative = receipt.alternativeMessageId === undefined ? undefined : smscIdKeys(receipt.alternativeMessageId);
      const result = await this.o.store.recordReceipt(receipt, smscIdKeys(receipt.smscMessageId), alternative);
      this.o.metrics.increment(MetricName.ReceiptsStored);
      this.o.logger.debug({ smscMessageId: receipt.smscMessageId, status: receipt.status, outcome: result.outcome }, 'receipt stored');
      return;
    }
    const part = readMoPart(f);
    const result = await this.o.mo.addPart({ ...part, receivedAt });
    for (const mo of result.recorded) this.stored(mo);
    if (result.dueAt === undefined) {
      this.notes.delete(result.groupId);
    } else {
      this.note(result.groupId, result.dueAt);
      this.o.logger.debug({ from: maskAddress(part.from), seq: part.concat?.seq, total: part.concat?.total, duplicate: result.duplicate }, 'MO part stored');
    }
  };

  /** Stores every noted MO message whose timeout has passed, as what arrived; after any sweep in progress. */
  sweep(): Promise<void> {
    const run = this.sweeping.then(() => this.expireDue());
    this.sweeping = run.catch(() => undefined);
    return run;
  }

  private async expireDue(): Promise<void> {
    this.disarm();
    const now = this.o.clock.now();
    for (const [groupId, dueAt] of [...this.notes]) {
      if (dueAt > now) continue;
      try {
        const result = await this.o.mo.expireGroup(groupId);
        for (const mo of result.recorded) this.stored(mo);
        if (result.dueAt === undefined) this.notes.delete(groupId);
        else this.notes.set(groupId, result.dueAt);
      } catch (err) {
        this.o.logger.error({ err: (err as Error).message }, 'incomplete MO message could not be stored; trying again later');
        this.notes.set(groupId, now + EXPIRY_RETRY_MS);
      }
    }
    this.arm();
  }

  private note(groupId: string, dueAt: number): void {
    this.notes.delete(groupId);
    if (this.notes.size >= MAX_NOTES) {
      // Map order is insertion order, so the first note is the oldest.
      const oldest = this.notes.keys().next().value;
      if (oldest !== undefined) this.notes.delete(oldest);
      this.o.logger.warn({ max: MAX_NOTES }, 'too many incomplete MO messages: the oldest is left to a later part of it');
    }
    this.notes.set(groupId, dueAt);
    if (this.running && (this.timerAt === undefined || dueAt < this.timerAt)) this.schedule(dueAt);
  }

  /** Sets the timer for the earliest note. */
  private arm(): void {
    if (!this.running) return;
    let earliest: number | undefined;
    for (const dueAt of this.notes.values()) if (earliest === undefined || dueAt < earliest) earliest = dueAt;
    if (earliest === undefined) this.disarm();
    else if (this.timerAt === undefined || earliest < this.timerAt) this.schedule(earliest);
  }

  private schedule(at: number): void {
    this.disarm();
    this.timerAt = at;
    this.timer = this.o.clock.setTimeout(() => {
      this.timerAt = undefined;
      void this.sweep();
    }, Math.max(0, at - this.o.clock.now()));
  }

  private disarm(): void {
    if (this.timerAt !== undefined) this.o.clock.clearTimeout(this.timer);
    this.timerAt = undefined;
  }

  private stored(mo: MoItem): void {
    this.o.metrics.increment(MetricName.MoStored);
    this.o.logger.info({ id: mo.id, from: maskAddress(mo.from), parts: mo.parts }, 'MO message stored');
    const change = this.o.optOut === undefined ? undefined : moChange(mo, this.o.optOut);
    if (change !== undefined) this.o.logger.info({ id: mo.id, from: maskAddress(mo.from), sender: change.sender, state: change.state }, 'MO keyword: suppression list changed');
  }
}
