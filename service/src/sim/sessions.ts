/**
 * The simulator's session bookkeeping (docs/architecture.md §6): every open session with its bind,
 * rate window and deliver_sm in flight; opening and closing them (a close settles what was in
 * flight, so it is redelivered), answering on them, finding the receivers of an account, and the
 * operator's actions on all of them at once (drop, reset, unbind, garbage). What a session's PDUs
 * mean is `requests.ts`; this file only keeps the table.
 */
import { makePdu, smpp, type Pdu, type Session } from '../smpp/codec.js';
import type { SmscAccount } from './options.js';
import { OrderedOutbox } from './outbox.js';
import type { SimState } from './state.js';
import { SimStatus, type BindType, type SessionInfo, type Transport } from './types.js';

export interface SimSession {
  readonly id: string;
  readonly transport: Transport;
  readonly session: Session;
  readonly outbox: OrderedOutbox;
  bind: { systemId: string; bindType: BindType; account: Required<SmscAccount> } | undefined;
  /** What the session was bound as before an unbind, for the session-closed event. */
  unboundFrom: { systemId: string; bindType: BindType } | undefined;
  /** performance.now() of accepted submits in the last second, oldest first. */
  readonly acceptedAt: number[];
  /** Settles every deliver_sm still waiting for its answer on this session as lost. */
  readonly inflight: Set<() => void>;
  enquireTimer: NodeJS.Timeout | undefined;
  enquireOutstanding: boolean;
  /** Set by `resetSessions()`: the SMSC forgot this session's bind for submit_sm, the link itself is up. */
  bindLost: boolean;
  /** Set by `unbindSessions()`: our unbind is out, the session closes when it is answered. */
  unbinding: boolean;
  closed: boolean;
}

export class SessionTable {
  private readonly sessions = new Map<string, SimSession>();
  private nextSessionNumber = 1;

  constructor(
    private readonly state: SimState,
    private readonly onPdu: (s: SimSession, pdu: Pdu) => void,
  ) {}

  /** Takes a connection a listener accepted (or cuts it, when it raced `stop()`). */
  open(session: Session, transport: Transport): void {
    const { logger } = this.state;
    // As the connector does: no Nagle, so arrival times reflect send times.
    session.socket.setNoDelay(true);
    const id = `${transport}-${this.nextSessionNumber++}`;
    const s: SimSession = {
      id,
      transport,
      session,
      outbox: new OrderedOutbox((err) => logger.error({ err, sessionId: id }, 'smsc-sim response failed')),
      bind: undefined,
      unboundFrom: undefined,
      acceptedAt: [],
      inflight: new Set(),
      enquireTimer: undefined,
      enquireOutstanding: false,
      bindLost: false,
      unbinding: false,
      closed: false,
    };
    if (!this.state.running) {
      // A connection that raced stop(): without an 'error' listener the smpp session would crash the process.
      session.on('error', () => undefined);
      session.destroy();
      return;
    }
    this.sessions.set(id, s);
    session.on('error', (err: Error) => {
      logger.warn({ sessionId: id, err: err.message }, 'smsc-sim session error; closing it');
      this.close(s, `error: ${err.message}`, false);
    });
    session.on('close', () => this.close(s, 'connection closed', false));
    session.on('pdu', (pdu: Pdu) => {
      try {
        this.onPdu(s, pdu);
      } catch (err) {
        logger.error({ sessionId: id, err }, 'smsc-sim failed to handle a PDU; closing the session');
        this.close(s, 'internal error', false);
      }
    });
    logger.debug({ sessionId: id, remote: session.socket.remoteAddress }, 'smsc-sim session opened');
    this.state.notify('session-opened', { sessionId: id, transport, systemId: undefined, bindType: undefined });
  }

  close(s: SimSession, reason: string, graceful: boolean): void {
    if (s.closed) return;
    s.closed = true;
    s.outbox.close();
    clearInterval(s.enquireTimer);
    this.sessions.delete(s.id);
    const bind = s.bind ?? s.unboundFrom;
    s.bind = undefined;
    for (const lost of [...s.inflight]) lost();
    if (graceful) s.session.close();
    else s.session.destroy();
    this.state.logger.info({ sessionId: s.id, systemId: bind?.systemId, bindType: bind?.bindType, reason }, 'smsc-sim session closed');
    this.state.notify('session-closed', { sessionId: s.id, systemId: bind?.systemId, bindType: bind?.bindType, reason });
  }

  send(s: SimSession, pdu: Pdu): void {
    if (!s.closed) s.session.send(pdu);
  }

  /** Answers a request with `status`; requests with no `_resp` of their own get generic_nack. */
  reply(s: SimSession, pdu: Pdu, status: number, fields: Record<string, unknown> = {}): void {
    const response = smpp.commands[`${pdu.command}_resp`]
      ? pdu.response({ ...fields, command_status: status })
      : makePdu('generic_nack', { sequence_number: pdu.sequence_number, command_status: status || SimStatus.ESME_RINVCMDID });
    this.send(s, response);
  }

  /** Bound and unbound sessions now open. */
  infos(): SessionInfo[] {
    return [...this.sessions.values()].map((s) => ({
      sessionId: s.id,
      transport: s.transport,
      systemId: s.bind?.systemId,
      bindType: s.bind?.bindType,
    }));
  }

  /** Sessions bound for `systemId` (any type), or for all accounts. */
  boundCount(systemId?: string): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.bind && (systemId === undefined || s.bind.systemId === systemId)) n++;
    return n;
  }

  /** Open receiver and transceiver sessions of an account, in the order they opened. */
  receivers(systemId: string): SimSession[] {
    return [...this.sessions.values()].filter((s) => !s.closed && s.bind?.systemId === systemId && s.bind.bindType !== 'transmitter');
  }

  /** Closes every session; returns how many. */
  closeAll(reason: string): number {
    const all = [...this.sessions.values()];
    for (const s of all) this.close(s, reason, false);
    return all.length;
  }

  /** See `SmscSimulator.resetSessions`. */
  resetAll(): number {
    let n = 0;
    for (const s of this.sessions.values()) {
      if (s.bind && !s.closed && !s.bindLost) {
        s.bindLost = true;
        n++;
      }
    }
    this.state.logger.info({ sessions: n }, 'smsc-sim sessions reset');
    return n;
  }

  /** See `SmscSimulator.unbindSessions`. */
  unbindAll(): number {
    let n = 0;
    for (const s of this.sessions.values()) {
      if (!s.bind || s.closed || s.unbinding) continue;
      s.unbinding = true;
      n++;
      const timer = setTimeout(() => this.close(s, 'unbind unanswered', false), this.state.opts.deliverTimeoutMs).unref();
      s.session.send(makePdu('unbind'), () => {
        clearTimeout(timer);
        this.close(s, 'unbound by the SMSC', true);
      });
    }
    return n;
  }

  /** Writes raw, non-SMPP bytes to every bound session; returns how many got them. */
  sendGarbage(bytes: Buffer): number {
    let n = 0;
    for (const s of this.sessions.values()) {
      if (s.bind && !s.closed && s.session.socket.writable) {
        s.session.socket.write(bytes);
        n++;
      }
    }
    return n;
  }
}
