/**
 * Submit handling (docs/architecture.md §4, Pacing and Window; §6): what a bound session's
 * submit_sm gets. The `dropAfterSubmits` fault, the per-bind 1-second rate limit
 * (ESME_RTHROTTLED), the injected failures, then acceptance: a message id, the record, the
 * response in arrival order after `responseDelayMs`, and the receipt handed to the deliveries
 * (before the response with `receiptBeforeResponse`, never answered with `swallowRate`).
 * Apart from `requests.ts`, which routes a session's PDUs and checks the bind first.
 */
import type { Pdu } from '../smpp/codec.js';
import { buildReceipt } from './deliver-pdus.js';
import type { Delivery, DeliveryRouter } from './deliveries.js';
import { renderMessageId, type MessageIdAllocator } from './message-ids.js';
import type { SessionTable, SimSession } from './sessions.js';
import { chance, type SimState } from './state.js';
import { asString, readSubmission } from './submission-record.js';
import { SimStatus, type AcknowledgedReceipt, type SubmissionRecord } from './types.js';

export interface SubmitRecords {
  /** Every accepted submit_sm, in arrival order (the simulator's `submissions`). */
  submissions: SubmissionRecord[];
  /** Every receipt answered with status 0 (the simulator's `acknowledgedReceipts`). */
  acknowledgedReceipts: AcknowledgedReceipt[];
}

export class SubmitHandler {
  constructor(
    private readonly state: SimState,
    private readonly sessions: Pick<SessionTable, 'close' | 'reply'>,
    private readonly deliveries: Pick<DeliveryRouter, 'schedule' | 'dispatch'>,
    private readonly ids: MessageIdAllocator,
    private readonly records: SubmitRecords,
  ) {}

  onSubmit(s: SimSession, pdu: Pdu, bind: NonNullable<SimSession['bind']>): void {
    const { state } = this;
    const { counters, opts } = state;
    const arrivedAt = performance.now();
    const sequenceNumber = pdu.sequence_number;
    if (state.dropCountdown !== undefined) {
      state.dropCountdown -= 1;
      if (state.dropCountdown <= 0) {
        state.dropCountdown = undefined;
        state.faults.dropAfterSubmits = undefined;
        counters.dropped++;
        state.notify('submit-dropped', { sessionId: s.id, sequenceNumber });
        this.sessions.close(s, 'fault: dropAfterSubmits', false);
        return;
      }
    }

    const window = s.acceptedAt;
    while (window.length > 0 && window[0]! <= arrivedAt - 1000) window.shift();
    const faults = state.faults;
    let status: number = SimStatus.ESME_ROK;
    if (window.length >= bind.account.mps || chance(state, faults.throttleRate)) status = SimStatus.ESME_RTHROTTLED;
    else if (chance(state, faults.msgQFullRate) || faults.msgQFullDestinations.includes(asString(pdu['destination_addr']))) status = SimStatus.ESME_RMSGQFUL;
    else if (chance(state, faults.submitFailRate)) status = SimStatus.ESME_RSUBMITFAIL;
    else if (faults.systemErrorDestinations.includes(asString(pdu['destination_addr']))) status = SimStatus.ESME_RSYSERR;
    if (status !== SimStatus.ESME_ROK) {
      if (status === SimStatus.ESME_RTHROTTLED) counters.throttled++;
      else counters.failedByFault++;
      state.notify('submit-rejected', { sessionId: s.id, sequenceNumber, status });
      this.respondInOrder(s, pdu, arrivedAt, status, undefined);
      return;
    }

    window.push(arrivedAt);
    const numericId = this.ids.allocate();
    const record = readSubmission(pdu, { sessionId: s.id, systemId: bind.systemId, bindType: bind.bindType }, renderMessageId(numericId, opts.idFormat));
    record.swallowed = chance(state, faults.swallowRate);
    this.records.submissions.push(record);
    counters.accepted++;
    if (record.swallowed) counters.swallowed++;
    state.notify('submit', record);

    const receipt = this.receiptFor(record, numericId);
    if (record.swallowed) {
      // The SMSC took the message, so its receipt still comes: for an id the ESME never learned.
      if (receipt) this.deliveries.schedule(receipt, opts.receiptDelayMs);
      return;
    }
    if (receipt && faults.receiptBeforeResponse) {
      this.respondInOrder(s, pdu, arrivedAt, SimStatus.ESME_ROK, record.smscMessageId, async () => {
        await this.deliveries.dispatch(receipt);
      });
      return;
    }
    this.respondInOrder(s, pdu, arrivedAt, SimStatus.ESME_ROK, record.smscMessageId);
    // The receipt delay counts from the response, so receipts overtake responses only when asked to.
    if (receipt) this.deliveries.schedule(receipt, opts.receiptDelayMs + opts.responseDelayMs);
  }

  private respondInOrder(
    s: SimSession,
    pdu: Pdu,
    arrivedAt: number,
    status: number,
    smscMessageId: string | undefined,
    before?: () => Promise<void>,
  ): void {
    s.outbox.push(arrivedAt + this.state.opts.responseDelayMs, async () => {
      if (before) await before();
      if (s.closed) return;
      this.sessions.reply(s, pdu, status, smscMessageId === undefined ? {} : { message_id: smscMessageId });
      this.state.notify('submit-responded', { sessionId: s.id, sequenceNumber: pdu.sequence_number, status, smscMessageId });
    });
  }

  /** The receipt a submission earns as a delivery, or undefined (none asked for, or the outcome says none). */
  private receiptFor(record: SubmissionRecord, numericId: bigint): Delivery | undefined {
    const built = buildReceipt(record, numericId, this.state.opts);
    if (!built) return undefined;
    const { smscMessageId, receiptId, stat } = built.receipt;
    return {
      systemId: record.systemId,
      attempts: 0,
      receipt: built.receipt,
      fields: built.fields,
      onAcked: (sessionId) => {
        this.state.counters.receiptsAcked++;
        const acked: AcknowledgedReceipt = { smscMessageId, receiptId, stat, sessionId, at: new Date() };
        this.records.acknowledgedReceipts.push(acked);
        this.state.notify('receipt-acked', acked);
      },
    };
  }
}
