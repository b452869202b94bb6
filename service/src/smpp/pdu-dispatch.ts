/**
 * The session's inbound side (docs/architecture.md §4): each frame the FrameReader cuts is decoded
 * here, on its own, and dispatched. A response goes to the request it answers; a request is
 * answered — enquire_link at once, deliver_sm / data_sm only after the handler's write (in the
 * order the writes end), anything unknown with an error, never by closing the link; a frame the
 * codec cannot read is answered too. Apart from `session.ts`, which keeps the lifecycle (bind,
 * requests, retire, unbind, close) and reaches this only through `DispatchHost`.
 */
import type { Logger } from '../logger.js';
import { MetricName, type Metrics } from '../metrics.js';
import { decodePdu, makePdu, smpp, type Pdu } from './codec.js';
import { classifySubmitStatus, Status, statusName } from './command-status.js';
import { deliverFields } from './deliver-fields.js';
import { CommandId, frameHeader, lengthOverrun } from './frame.js';
import type { Keepalive } from './keepalive.js';
import type { DeliverFields } from './receipt.js';

/** What the dispatcher needs from its session. */
export interface DispatchHost {
  /** Hands a response to the request waiting for it (submit window first, then control); false when none is. */
  complete(response: Pdu): boolean;
  /** Writes an answer, unless the session is closed. */
  answer(response: Pdu): void;
  retire(reason: string): void;
  /** The SMSC sent unbind. */
  unbindRequested(pdu: Pdu): void;
  close(reason: string): void;
}

export interface DispatchOptions {
  logger: Logger;
  metrics: Metrics;
  /** See SessionOptions.onDeliver; absent on a transmitter. */
  onDeliver: ((fields: DeliverFields) => Promise<void>) | undefined;
  keepalive: Pick<Keepalive, 'touch' | 'responseArrived'>;
}

export class PduDispatcher {
  /** deliver_sm / data_sm being handled; each settles once its answer is written. */
  private readonly delivering = new Set<Promise<void>>();

  constructor(
    private readonly host: DispatchHost,
    private readonly options: DispatchOptions,
  ) {}

  /** Resolves once every deliver_sm taken so far (and any taken meanwhile) is answered. */
  async deliveriesAnswered(): Promise<void> {
    while (this.delivering.size > 0) await Promise.all(this.delivering);
  }

  /** One whole frame from the FrameReader: decoded here, so a body the codec cannot read is answered, not fatal. */
  onFrame(frame: Buffer): void {
    this.options.keepalive.touch();
    let problem = lengthOverrun(frame);
    let pdu: Pdu | undefined;
    if (problem === undefined) {
      try {
        pdu = decodePdu(frame);
      } catch (err) {
        problem = (err as Error).message;
      }
    }
    if (!pdu) return this.onUndecodable(frame, problem ?? 'not a whole PDU');
    try {
      this.onPdu(pdu);
    } catch (err) {
      this.host.close(`cannot handle ${pdu.command}: ${(err as Error).message}`);
    }
  }

  /**
   * A frame whose header is readable but whose body is not. A deliver_sm / data_sm gets
   * ESME_RX_P_APPN, the permanent "do not deliver again": redelivered, it would be unreadable
   * again (ESME_RX_T_APPN would bring it back for ever, and a lost link did the same). Another
   * request gets generic_nack ESME_RINVCMDLEN (its lengths disagree with its command_length). A
   * response is dropped: the request it answers ends at its deadline, as if it had been lost.
   * The link stays up: the frame boundaries are intact. The bytes are never logged (message text).
   */
  private onUndecodable(frame: Buffer, problem: string): void {
    const { commandId, sequenceNumber, isResponse } = frameHeader(frame);
    this.options.metrics.increment(MetricName.PduUndecodable);
    const deliver = commandId === CommandId.DELIVER_SM || commandId === CommandId.DATA_SM;
    this.options.logger.warn(
      { commandId: `0x${commandId.toString(16).padStart(8, '0')}`, sequence: sequenceNumber, length: frame.length, problem },
      deliver ? 'undecodable deliver_sm answered ESME_RX_P_APPN (not to be redelivered)' : 'undecodable PDU',
    );
    if (deliver) {
      const response = commandId === CommandId.DELIVER_SM ? 'deliver_sm_resp' : 'data_sm_resp';
      this.host.answer(makePdu(response, { sequence_number: sequenceNumber, command_status: Status.ESME_RX_P_APPN }));
    } else if (!isResponse) {
      this.host.answer(makePdu('generic_nack', { sequence_number: sequenceNumber, command_status: Status.ESME_RINVCMDLEN }));
    }
  }

  private onPdu(pdu: Pdu): void {
    if (pdu.isResponse()) return this.onResponse(pdu);
    switch (pdu.command) {
      case 'enquire_link':
        this.host.answer(pdu.response());
        return;
      case 'unbind':
        this.host.unbindRequested(pdu);
        return;
      case 'deliver_sm':
      case 'data_sm':
        this.onDeliver(pdu);
        return;
      case 'alert_notification':
        // SMPP 3.4 §4.12: alert_notification has no response; we do not track subscriber availability.
        return;
      default:
        // pdu.response() throws for a request without a response PDU (outbind): those get generic_nack too.
        this.host.answer(
          smpp.commands[`${pdu.command}_resp`]
            ? pdu.response({ command_status: Status.ESME_RINVCMDID })
            : makePdu('generic_nack', { command_status: Status.ESME_RINVCMDID, sequence_number: pdu.sequence_number }),
        );
    }
  }

  private onResponse(pdu: Pdu): void {
    this.options.keepalive.responseArrived();
    if (pdu.command === 'submit_sm_resp' && classifySubmitStatus(pdu.command_status) === 'rebind') {
      // The SMSC no longer has this session bound (a reset on its side; the link and enquire_link
      // still work). Retired before the answer frees its window slot, so no submit follows it here.
      this.host.retire(`${statusName(pdu.command_status)}: the SMSC no longer has this session bound`);
    }
    if (pdu.command === 'generic_nack') {
      // generic_nack answers a request of ours that the SMSC could not parse.
      this.host.complete(pdu);
      return;
    }
    if (!this.host.complete(pdu)) {
      this.options.logger.debug({ command: pdu.command, sequence: pdu.sequence_number }, 'unexpected or late response ignored');
    }
  }

  private onDeliver(pdu: Pdu): void {
    const handler = this.options.onDeliver;
    if (!handler) {
      // A transmitter should never get these; answer so the SMSC does not stall, and retry later.
      this.host.answer(pdu.response({ command_status: Status.ESME_RX_T_APPN }));
      return;
    }
    let fields: DeliverFields;
    try {
      fields = deliverFields(pdu);
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'unreadable deliver_sm answered with a temporary error');
      this.host.answer(pdu.response({ command_status: Status.ESME_RX_T_APPN }));
      return;
    }
    // One reaction per deliver_sm, answering as soon as the handler has settled: the chain of four
    // promises this replaces cost ~5 µs more per receipt.
    const answered: Promise<void> = handler(fields).then(
      () => this.reply(pdu, Status.ESME_ROK, answered),
      (err: Error) => {
        this.options.logger.warn({ err: err.message }, 'deliver_sm not stored: answering ESME_RX_T_APPN so the SMSC retries');
        this.reply(pdu, Status.ESME_RX_T_APPN, answered);
      },
    );
    this.delivering.add(answered);
  }

  /** Answers a deliver_sm / data_sm whose handler has settled. */
  private reply(pdu: Pdu, status: number, answered: Promise<void>): void {
    try {
      this.host.answer(pdu.response({ command_status: status }));
    } catch (err) {
      this.options.logger.error({ err: (err as Error).message }, 'deliver_sm answer failed');
    }
    this.delivering.delete(answered);
  }
}
