/**
 * What a session's requests get (docs/architecture.md §4, Binds; §6): bind (authentication, the
 * account's bind cap, the bind faults), enquire_link (unless ignored), unbind, and the checks a
 * submit_sm passes before `submits.ts` handles it (bound, not a receiver, session not reset). Also
 * the simulator's own enquire_link on bound sessions. Apart from the session table, which only
 * keeps sessions, and from submit handling, which is most of the SMSC's work.
 */
import { makePdu, type Pdu } from '../smpp/codec.js';
import type { DeliveryRouter } from './deliveries.js';
import type { SessionTable, SimSession } from './sessions.js';
import type { SimState } from './state.js';
import { asString } from './submission-record.js';
import type { SubmitHandler } from './submits.js';
import { SimStatus, type BindType } from './types.js';

const BIND_TYPES: Readonly<Record<string, BindType>> = {
  bind_transmitter: 'transmitter',
  bind_receiver: 'receiver',
  bind_transceiver: 'transceiver',
};

export class RequestHandler {
  constructor(
    private readonly state: SimState,
    private readonly sessions: Pick<SessionTable, 'close' | 'send' | 'reply' | 'boundCount'>,
    private readonly deliveries: Pick<DeliveryRouter, 'releaseHeld'>,
    private readonly submits: Pick<SubmitHandler, 'onSubmit'>,
  ) {}

  onPdu(s: SimSession, pdu: Pdu): void {
    if (s.closed) return;
    this.state.logger.debug({ sessionId: s.id, command: pdu.command, seq: pdu.sequence_number, status: pdu.command_status }, 'smsc-sim <-');
    // Responses to our deliver_sm / enquire_link reach their callbacks inside the smpp package.
    if (pdu.isResponse()) return;
    const bindType = BIND_TYPES[pdu.command];
    if (bindType) return this.onBind(s, pdu, bindType);
    switch (pdu.command) {
      case 'unknown':
        return this.sessions.send(s, pdu.response());
      case 'enquire_link':
        if (!this.state.faults.ignoreEnquireLink) this.sessions.send(s, pdu.response());
        return;
      case 'unbind':
        // Unbound at once: the slot is free and no receipt is routed here any more.
        s.unboundFrom = s.bind;
        s.bind = undefined;
        s.session.send(pdu.response(), () => this.sessions.close(s, 'unbind', true));
        return;
    }
    if (!s.bind) return this.sessions.reply(s, pdu, SimStatus.ESME_RINVBNDSTS);
    if (pdu.command !== 'submit_sm') return this.sessions.reply(s, pdu, SimStatus.ESME_RINVCMDID);
    if (s.bind.bindType === 'receiver') return this.sessions.reply(s, pdu, SimStatus.ESME_RINVBNDSTS);
    if (s.bindLost) {
      this.state.counters.failedByFault++;
      this.sessions.reply(s, pdu, SimStatus.ESME_RINVBNDSTS);
      this.state.notify('submit-rejected', { sessionId: s.id, sequenceNumber: pdu.sequence_number, status: SimStatus.ESME_RINVBNDSTS });
      return;
    }
    this.submits.onSubmit(s, pdu, s.bind);
  }

  private onBind(s: SimSession, pdu: Pdu, bindType: BindType): void {
    const { state } = this;
    if (s.bind) return this.sessions.reply(s, pdu, SimStatus.ESME_RALYBND);
    const systemId = asString(pdu['system_id']);
    const account = state.opts.accounts.find((a) => a.systemId === systemId);
    let status: number = SimStatus.ESME_ROK;
    if (state.faults.refuseBinds) status = SimStatus.ESME_RBINDFAIL;
    else if (!account) status = SimStatus.ESME_RINVSYSID;
    else if (account.password !== asString(pdu['password'])) status = SimStatus.ESME_RINVPASWD;
    else if (this.sessions.boundCount(systemId) >= account.maxBinds) status = SimStatus.ESME_RBINDFAIL;
    if (status !== SimStatus.ESME_ROK || !account) {
      state.counters.bindRefusals++;
      this.sessions.reply(s, pdu, status);
      state.logger.info({ sessionId: s.id, systemId, bindType, status }, 'smsc-sim bind refused');
      state.notify('bind-refused', { sessionId: s.id, systemId, status });
      return;
    }
    s.bind = { systemId, bindType, account };
    state.counters.binds++;
    this.sessions.reply(s, pdu, SimStatus.ESME_ROK, { system_id: state.opts.smscSystemId, sc_interface_version: 0x34 });
    state.logger.info({ sessionId: s.id, systemId, bindType }, 'smsc-sim bound');
    if (state.faults.acceptThenDropMs !== undefined) {
      setTimeout(() => {
        if (state.faults.acceptThenDropMs !== undefined) this.sessions.close(s, 'fault: acceptThenDrop', false);
      }, state.faults.acceptThenDropMs).unref();
    }
    this.startEnquireLink(s);
    state.notify('bind', { sessionId: s.id, transport: s.transport, systemId, bindType });
    if (bindType !== 'transmitter') this.deliveries.releaseHeld(systemId);
  }

  private startEnquireLink(s: SimSession): void {
    const interval = this.state.opts.enquireLinkIntervalMs;
    if (interval === undefined) return;
    s.enquireTimer = setInterval(() => {
      if (s.enquireOutstanding) {
        this.sessions.close(s, 'enquire_link unanswered', false);
        return;
      }
      s.enquireOutstanding = true;
      s.session.send(makePdu('enquire_link'), () => {
        s.enquireOutstanding = false;
      });
    }, interval);
  }
}
