import type { Clock } from '../clock.js';
import type { MessageStatus, MoMessage, Receipt } from '../domain.js';
import type { Logger } from '../logger.js';
import { MetricName, type Metrics } from '../metrics.js';
import { maskAddress } from '../smpp/address.js';
import { MoAssembler } from '../smpp/inbound-mo.js';
import { smscIdKeys } from '../smpp/message-id.js';
import { isReceipt, parseReceipt, type DeliverFields } from '../smpp/receipt.js';

/** The status store as the inbound path uses it (StatusStore implements it). */
export interface InboundStore {
  recordReceipt(
    receipt: Receipt,
    keys: string[],
  ): Promise<{ outcome: 'applied'; messageId: string; status: MessageStatus } | { outcome: 'parked' } | { outcome: 'ignored'; messageId: string }>;
  recordMo(mo: MoMessage): Promise<string>;
}

export interface InboundOptions {
  store: InboundStore;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  /** Incomplete long MO messages wait this long for their parts. @defaultvalue 300000 */
  moTimeoutMs?: number;
}

/**
 * deliver_sm → receipt or MO → DynamoDB. The returned handler resolves only
 * once the write succeeded; the SMPP session answers the SMSC after that, and
 * answers ESME_RX_T_APPN if it throws — so an acknowledged receipt is always stored.
 */
export class InboundPipeline {
  private readonly assembler: MoAssembler;
  private expiry: NodeJS.Timeout | undefined;

  constructor(private readonly o: InboundOptions) {
    this.assembler = new MoAssembler({ timeoutMs: o.moTimeoutMs ?? 300_000, clock: () => o.clock.now() });
  }

  /** Stores incomplete MO messages that timed out, as what arrived of them. */
  start(): void {
    this.expiry = setInterval(() => void this.flushExpired(), 30_000);
    this.expiry.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.expiry);
    await this.flushExpired();
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
      const result = await this.o.store.recordReceipt(receipt, smscIdKeys(receipt.smscMessageId));
      this.o.metrics.increment(MetricName.ReceiptsStored);
      this.o.logger.debug({ smscMessageId: receipt.smscMessageId, status: receipt.status, outcome: result.outcome }, 'receipt stored');
      return;
    }
    const mo = this.assembler.add(f, receivedAt);
    if (!mo) return;
    await this.storeMo(mo);
  };

  private async storeMo(mo: MoMessage): Promise<void> {
    const id = await this.o.store.recordMo(mo);
    this.o.metrics.increment(MetricName.MoStored);
    this.o.logger.info({ id, from: maskAddress(mo.from), parts: mo.parts }, 'MO message stored');
  }

  private async flushExpired(): Promise<void> {
    for (const partial of this.assembler.expire()) {
      await this.storeMo(partial).catch((err: Error) => this.o.logger.error({ err: err.message }, 'incomplete MO message could not be stored'));
    }
  }
}
