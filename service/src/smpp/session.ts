/**
 * One SMPP session: its lifecycle (connect, bind, requests, retire, unbind, close) and the state
 * the other parts read. The inbound side (frames, responses, deliver_sm answers) is
 * `pdu-dispatch.ts`, dead-link detection `keepalive.ts`, the socket set-up `connect.ts`; the
 * options are declared in `session-options.ts` and re-exported here (docs/architecture.md §4).
 */
import { EventEmitter } from 'node:events';
import type { TLSSocket } from 'node:tls';
import { BindError, ErrorCode, SmppError } from '../errors.js';
import { noMetrics } from '../metrics.js';
import { makePdu, type Pdu, type Session } from './codec.js';
import { classifyBindStatus, Status, statusName } from './command-status.js';
import { connect } from './connect.js';
import { FrameReader } from './frame.js';
import { Keepalive } from './keepalive.js';
import { PduDispatcher } from './pdu-dispatch.js';
import type { BindType, SessionOptions } from './session-options.js';
import { RequestWindow, type WindowFailure } from './window.js';

export type { BindType, Credentials, LinkOptions, SessionOptions } from './session-options.js';
export { deliverFields } from './deliver-fields.js';
export { PROBE_AFTER_TIMEOUTS } from './keepalive.js';

/** Why a request got no response. */
export class RequestFailedError extends SmppError {
  constructor(readonly failure: WindowFailure, command: string) {
    super(
      failure.kind === 'timeout' ? ErrorCode.SMPP_TIMEOUT : ErrorCode.SMPP_CLOSED,
      failure.kind === 'timeout' ? `${command}: no response in time` : `${command}: link closed (${failure.reason})`,
      { retryable: true },
    );
  }
}

/** The request never left: sending it again cannot make a duplicate. */
export class NotSentError extends SmppError {
  constructor(message: string) {
    super(ErrorCode.SMPP_CLOSED, message, { retryable: true });
  }
}

const BIND_COMMAND: Record<BindType, string> = {
  transmitter: 'bind_transmitter',
  receiver: 'bind_receiver',
  transceiver: 'bind_transceiver',
};

const CONTROL_WINDOW = 4;

const ANSWERS = new Map<string, (r: Pdu) => boolean>();

/**
 * Only its own *_resp (or a generic_nack) answers a request: any other PDU with the same sequence
 * number must not pass for a submit_sm_resp with an empty message id. One test per command, made
 * once rather than per request.
 */
function answersTo(command: string): (r: Pdu) => boolean {
  let test = ANSWERS.get(command);
  if (test === undefined) {
    const expected = `${command}_resp`;
    test = (r: Pdu) => r.command === expected || r.command === 'generic_nack';
    ANSWERS.set(command, test);
  }
  return test;
}

/** How long a closing link may take to flush its last answers before it is cut. */
const FLUSH_MS = 2000;

/**
 * One bound SMPP session over TCP or TLS: the `smpp` package encodes and
 * decodes PDUs; this class reads the frames itself (see FrameReader) and adds
 * what the package lacks — response deadlines, a window, enquire_link keepalive
 * with dead-link detection (also after a run of response timeouts), ordered
 * answers to deliver_sm after the handler's write, generic_nack for unknown
 * commands, an answer instead of a lost link for a deliver_sm the codec cannot
 * read, and a clean close on garbage it cannot frame.
 *
 * Emits 'close' (reason: string) exactly once.
 */
export class SmppSession extends EventEmitter {
  private readonly window: RequestWindow<Pdu>;
  /** enquire_link and unbind must get through even when submits fill the window. */
  private readonly control: RequestWindow<Pdu>;
  private readonly frames: FrameReader;
  private readonly keepalive: Keepalive;
  private readonly dispatcher: PduDispatcher;
  private closedReason: string | undefined;
  private unbinding = false;
  /** Set once the session takes no more submits (retired, or unbinding); it closes soon. */
  private draining = false;
  /** The socket is corked until the end of this turn (see write). */
  private corked = false;

  private constructor(
    private readonly session: Session,
    private readonly options: SessionOptions,
  ) {
    super();
    this.window = new RequestWindow<Pdu>(options.windowSize, options.clock);
    this.control = new RequestWindow<Pdu>(CONTROL_WINDOW, options.clock);
    this.keepalive = new Keepalive(
      {
        enquireLink: () => this.request('enquire_link', {}, { control: true }),
        close: (reason) => this.close(reason),
        isClosed: () => this.closedReason !== undefined,
        isUnbinding: () => this.unbinding,
      },
      { intervalMs: options.enquireLinkIntervalMs, clock: options.clock, logger: options.logger },
    );
    this.dispatcher = new PduDispatcher(
      {
        complete: (response) => this.window.complete(response.sequence_number, response) || this.control.complete(response.sequence_number, response),
        answer: (response) => this.answer(response),
        retire: (reason) => this.retire(reason),
        unbindRequested: (pdu) => void this.onUnbindRequest(pdu),
        close: (reason) => this.close(reason),
      },
      { logger: options.logger, metrics: options.metrics ?? noMetrics, onDeliver: options.onDeliver, keepalive: this.keepalive },
    );
    // The package's own reader stops for good after a body it cannot decode; paused, it reads
    // nothing, and the FrameReader takes the socket's data instead.
    session.pause();
    this.frames = new FrameReader(
      session.socket,
      (frame) => this.dispatcher.onFrame(frame),
      (reason) => this.close(`socket or protocol error: ${reason}`),
    );
    session.socket.on('readable', () => this.frames.drain());
    session.on('error', (err: Error) => this.close(`socket or protocol error: ${err.message}`));
    session.on('close', () => this.close('socket closed'));
  }

  /** Connects and binds; rejects with BindError (auth / refused / transient / connect). */
  static async open(options: SessionOptions): Promise<SmppSession> {
    const raw = await connect(options);
    const s = new SmppSession(raw, options);
    try {
      const resp = await s.request(BIND_COMMAND[options.bindType], {
        system_id: options.credentials.systemId,
        password: options.credentials.password,
        system_type: options.systemType,
        interface_version: 0x34,
      }, { control: true });
      if (resp.command_status !== Status.ESME_ROK) {
        const kind = classifyBindStatus(resp.command_status);
        const code = kind === 'auth' ? ErrorCode.SMPP_BIND_AUTH : kind === 'refused' ? ErrorCode.SMPP_BIND_REFUSED : ErrorCode.SMPP_BIND_TRANSIENT;
        throw new BindError(code, `${BIND_COMMAND[options.bindType]} refused: ${statusName(resp.command_status)}`, resp.command_status);
      }
      // Garbage or a close in the same read as the bind response closes the session before anyone
      // listens for 'close': handing it out would leave the bind "bound" to a dead link for ever.
      if (s.closedReason !== undefined) {
        throw new BindError(ErrorCode.SMPP_BIND_TRANSIENT, `link closed right after the bind response: ${s.closedReason}`);
      }
    } catch (err) {
      s.close('bind failed');
      if (err instanceof BindError) throw err;
      throw new BindError(ErrorCode.SMPP_BIND_TRANSIENT, `bind got no answer: ${(err as Error).message}`, undefined, { cause: err });
    }
    s.keepalive.start();
    return s;
  }

  get isClosed(): boolean {
    return this.closedReason !== undefined;
  }

  /** Open and taking submits: not closed, not retiring or unbinding. */
  get acceptingSubmits(): boolean {
    return this.closedReason === undefined && !this.draining;
  }

  /** Free slots in the submit window. */
  get windowFree(): number {
    return this.window.free;
  }

  get windowOutstanding(): number {
    return this.window.outstanding;
  }

  waitForSlot(): Promise<void> {
    return this.window.waitForSlot();
  }

  /** TLS protocol and cipher, for the operator's check tool. */
  tlsInfo(): { protocol: string | null; cipher: string } | undefined {
    const socket = this.session.socket as Partial<TLSSocket>;
    if (typeof socket.getProtocol !== 'function' || typeof socket.getCipher !== 'function') return undefined;
    return { protocol: socket.getProtocol(), cipher: socket.getCipher().name };
  }

  /**
   * Sends a request and resolves with its response PDU (any command_status).
   * Rejects with RequestFailedError on timeout or close after sending, NotSentError
   * when it never left. Non-control requests
   * need a free window slot: await waitForSlot() first.
   */
  request(command: string, fields: Record<string, unknown>, opts: { control?: boolean } = {}): Promise<Pdu> {
    if (this.closedReason !== undefined) {
      return Promise.reject(new NotSentError(`${command}: link closed (${this.closedReason})`));
    }
    if (this.draining && !opts.control) return Promise.reject(new NotSentError(`${command}: the session is closing`));
    const pdu = makePdu(command, fields);
    const window = opts.control ? this.control : this.window;
    if (window.free <= 0) return Promise.reject(new NotSentError(`${command}: window full`));
    if (!this.write(pdu)) return Promise.reject(new NotSentError(`${command}: socket not writable`));
    return window.track(pdu.sequence_number, this.options.responseTimeoutMs, answersTo(command)).catch((failure: WindowFailure) => {
      if (failure.kind === 'timeout' && !opts.control) this.keepalive.responseTimedOut();
      throw new RequestFailedError(failure, command);
    });
  }

  /**
   * Takes no more submits and closes once those outstanding have ended (answered, or at their
   * deadline), so their answers are not turned into unknown outcomes. The session retires itself
   * when the SMSC answers a submit ESME_RINVBNDSTS; the bind then reconnects.
   */
  retire(reason: string): void {
    if (this.closedReason !== undefined || this.draining) return;
    this.draining = true;
    this.options.logger.warn({ reason, outstanding: this.window.outstanding }, 'retiring the session: no new submits, closing once those outstanding end');
    void this.window.idle().then(() => this.close(reason));
  }

  /**
   * Answers every deliver_sm already taken, then sends unbind and waits for its answer, all
   * within the deadline; then closes. The SMSC stops delivering once it sees our unbind and would
   * deliver again whatever it got no answer for, even if we stored it.
   */
  async unbind(deadlineMs: number): Promise<void> {
    if (this.closedReason !== undefined) return;
    this.unbinding = true;
    this.draining = true;
    let timer: unknown;
    const deadline = new Promise<void>((resolve) => (timer = this.options.clock.setTimeout(resolve, deadlineMs)));
    await Promise.race([this.dispatcher.deliveriesAnswered(), deadline]);
    if (this.closedReason === undefined) await Promise.race([this.request('unbind', {}, { control: true }).catch(() => undefined), deadline]);
    this.options.clock.clearTimeout(timer);
    this.close('unbound');
  }

  /**
   * Closes the socket and fails every pending request at once. Idempotent. `flush` ends the
   * socket after what was written (answers just sent), cutting it only if that takes too long.
   */
  close(reason: string, opts: { flush?: boolean } = {}): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.draining = true;
    this.frames.stop();
    this.keepalive.stop();
    this.uncork();
    if (opts.flush) {
      this.session.close();
      setTimeout(() => this.session.destroy(), FLUSH_MS).unref();
    } else {
      this.session.destroy();
    }
    this.window.failAll(reason);
    this.control.failAll(reason);
    this.emit('close', reason);
  }

  /**
   * The SMSC ends the session. SMPP 3.4 wants unbind answered, and the answer ends the link; so
   * first, within one response timeout, the submits already sent get their chance to be answered
   * (each one cut would be an unknown outcome, possibly sent twice) and every deliver_sm taken is
   * answered (the SMSC would deliver it again).
   */
  private async onUnbindRequest(pdu: Pdu): Promise<void> {
    if (this.unbinding) {
      // Both sides unbinding at once: answer and let our own unbind finish the close.
      this.answer(pdu.response());
      return;
    }
    this.unbinding = true;
    this.draining = true;
    let timer: unknown;
    const deadline = new Promise<void>((resolve) => (timer = this.options.clock.setTimeout(resolve, this.options.responseTimeoutMs)));
    await Promise.race([Promise.all([this.window.idle(), this.dispatcher.deliveriesAnswered()]), deadline]);
    this.options.clock.clearTimeout(timer);
    this.answer(pdu.response());
    this.close('SMSC unbound', { flush: true });
  }

  private answer(response: Pdu): void {
    if (this.closedReason === undefined) this.write(response);
  }

  /**
   * Writes a PDU; those written in the same turn of the event loop leave in one write when it
   * ends (socket cork, uncorked on the next tick): a window refilled by a batch of responses, or
   * the answers to a batch of deliver_sm, cost one system call and one TCP segment instead of
   * one each. Nothing waits longer than the current turn (docs/architecture.md §4).
   */
  private write(pdu: Pdu): boolean {
    if (!this.corked && this.session.socket.writable) {
      this.corked = true;
      this.session.socket.cork();
      process.nextTick(() => this.uncork());
    }
    return this.session.send(pdu);
  }

  /** Hands what was written this turn to the socket; close() calls it first, so nothing written is dropped. */
  private uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.session.socket.uncork();
  }
}
