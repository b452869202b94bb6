/**
 * Delivery scheduling (docs/architecture.md §4, deliver_sm; §6): the receipts and MO parts the SMSC
 * owes the ESME until one is answered with status 0. Each goes to a receiver or transceiver bind
 * of its account, round-robin; it is held while none is bound (or while the simulator is stopped)
 * and redelivered after `receiptRetryMs` when refused, unanswered within `deliverTimeoutMs`, or lost
 * with its session. Apart from the sessions and the submit handling, which only hand deliveries in.
 */
import { makePdu, type Pdu } from '../smpp/codec.js';
import type { ReceiptInfo } from './deliver-pdus.js';
import type { SessionTable, SimSession } from './sessions.js';
import type { SimState } from './state.js';
import type { DeliveryFailure } from './types.js';

/** A deliver_sm the SMSC owes the ESME until it is answered with status 0. */
export interface Delivery {
  readonly systemId: string;
  readonly fields: Record<string, unknown>;
  attempts: number;
  readonly receipt: ReceiptInfo | undefined;
  readonly onAcked: (sessionId: string) => void;
}

export class DeliveryRouter {
  /** Deliveries waiting for a receiver bind (or for the simulator to run again). */
  private readonly held: Delivery[] = [];
  /** Deliveries waiting on a timer (receipt delay or retry); moved to `held` on stop. */
  private readonly scheduled = new Map<NodeJS.Timeout, Delivery>();
  private readonly roundRobin = new Map<string, number>();

  constructor(
    private readonly state: SimState,
    private readonly sessions: Pick<SessionTable, 'receivers'>,
  ) {}

  /** Receipts and MO parts waiting for a receiver bind. */
  get heldCount(): number {
    return this.held.length;
  }

  /** Delivers after `delayMs` (held at once while stopped). */
  schedule(delivery: Delivery, delayMs: number): void {
    if (!this.state.running) {
      this.hold(delivery);
      return;
    }
    const timer = setTimeout(() => {
      this.scheduled.delete(timer);
      void this.dispatch(delivery);
    }, delayMs);
    this.scheduled.set(timer, delivery);
  }

  /** On stop: every delivery waiting on a timer is held instead, for the next start. */
  holdScheduled(): void {
    for (const [timer, delivery] of this.scheduled) {
      clearTimeout(timer);
      this.hold(delivery);
    }
    this.scheduled.clear();
  }

  /** A receiver of `systemId` bound: what was held for the account goes out. */
  releaseHeld(systemId: string): void {
    const mine = this.held.filter((d) => d.systemId === systemId);
    if (mine.length === 0) return;
    const others = this.held.filter((d) => d.systemId !== systemId);
    this.held.splice(0, this.held.length, ...others);
    for (const delivery of mine) void this.dispatch(delivery);
  }

  /** One delivery attempt; resolves when it is settled (answered, failed, or held for lack of a receiver). */
  dispatch(delivery: Delivery): Promise<void> {
    const target = this.state.running ? this.pickReceiver(delivery.systemId) : undefined;
    if (!target) {
      this.hold(delivery);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      delivery.attempts++;
      let settled = false;
      const finish = (failure: DeliveryFailure | undefined, status?: number): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        target.inflight.delete(lost);
        if (failure === undefined) {
          delivery.onAcked(target.id);
        } else {
          this.onDeliveryFailed(delivery, target.id, failure, status);
          this.schedule(delivery, this.state.opts.receiptRetryMs);
        }
        resolve();
      };
      const lost = (): void => finish('closed');
      const timer = setTimeout(() => finish('timeout'), this.state.opts.deliverTimeoutMs);
      target.inflight.add(lost);
      const written = target.session.send(makePdu('deliver_sm', delivery.fields), (response: Pdu) =>
        finish(response.command_status === 0 ? undefined : 'nack', response.command_status),
      );
      if (!written) {
        finish('closed');
        return;
      }
      if (delivery.receipt) {
        this.state.counters.receiptsSent++;
        this.state.notify('receipt-sent', { smscMessageId: delivery.receipt.smscMessageId, sessionId: target.id, attempt: delivery.attempts });
      } else {
        this.state.counters.moSent++;
      }
    });
  }

  private hold(delivery: Delivery): void {
    this.held.push(delivery);
    this.state.notify('delivery-held', { systemId: delivery.systemId, smscMessageId: delivery.receipt?.smscMessageId, held: this.held.length });
  }

  private pickReceiver(systemId: string): SimSession | undefined {
    const candidates = this.sessions.receivers(systemId);
    if (candidates.length === 0) return undefined;
    const turn = this.roundRobin.get(systemId) ?? 0;
    this.roundRobin.set(systemId, turn + 1);
    return candidates[turn % candidates.length];
  }

  private onDeliveryFailed(delivery: Delivery, sessionId: string, failure: DeliveryFailure, status: number | undefined): void {
    this.state.logger.info({ sessionId, failure, status, attempts: delivery.attempts }, 'smsc-sim deliver_sm not acknowledged; will retry');
    if (!delivery.receipt) return;
    if (failure === 'nack') this.state.counters.receiptsNacked++;
    if (failure === 'timeout') this.state.counters.receiptsTimedOut++;
    this.state.notify('receipt-failed', { smscMessageId: delivery.receipt.smscMessageId, sessionId, failure, status });
  }
}
