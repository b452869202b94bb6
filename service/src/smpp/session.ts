import { EventEmitter } from 'node:events';
import { rootCertificates, type TLSSocket } from 'node:tls';
import type { Clock } from '../clock.js';
import { BindError, ErrorCode, SmppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { MetricName, noMetrics, type Metrics } from '../metrics.js';
import { decodePdu, smpp, makePdu, type Pdu, type Session } from './codec.js';
import { classifyBindStatus, classifySubmitStatus, Status, statusName } from './command-status.js';
import { CommandId, FrameReader, frameHeader, lengthOverrun } from './frame.js';
import type { DeliverFields } from './receipt.js';
import { RequestWindow, type WindowFailure } from './window.js';

export type BindType = 'transmitter' | 'receiver' | 'transceiver';

export interface Credentials {
  systemId: string;
  password: string;
}

/** How to reach and talk to the SMSC: the same for every bind of an account. */
export interface LinkOptions {
  host: string;
  port: number;
  tls: boolean;
  tlsMinVersion: 'TLSv1.2' | 'TLSv1.3';
  /** Extra trusted CA (PEM); the system store is always trusted too. */
  ca?: string;
  /** Name checked against the certificate. @defaultvalue host */
  servername?: string;
  systemType: string;
  windowSize: number;
  responseTimeoutMs: number;
  enquireLinkIntervalMs: number;
}

export interface SessionOptions extends LinkOptions {
  bindType: BindType;
  credentials: Credentials;
  /** @defaultvalue 10000 */
  connectTimeoutMs?: number;
  /**
   * Handles a deliver_sm / data_sm. The PDU is answered only after this
   * resolves (so a receipt is stored before the SMSC forgets it); a rejection
   * answers ESME_RX_T_APPN and the SMSC redelivers.
   */
  onDeliver?: (fields: DeliverFields) => Promise<void>;
  logger: Logger;
  clock: Clock;
  metrics?: Metrics;
}

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

/**
 * Submits that time out in a row, with no response of any kind in between, before the link is
 * probed with an enquire_link at once: the idle keepalive never fires while submits keep going out.
 */
export const PROBE_AFTER_TIMEOUTS = 3;

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
  private readonly metrics: Metrics;
  private lastActivity: number;
  private keepalive: NodeJS.Timeout | undefined;
  private closedReason: string | undefined;
  private unbinding = false;
  /** Set once the session takes no more submits (retired, or unbinding); it closes soon. */
  private draining = false;
  /** deliver_sm / data_sm being handled; each settles once its answer is written. */
  private readonly delivering = new Set<Promise<void>>();
  private silentTimeouts = 0;
  private probing = false;

  private constructor(
    private readonly session: Session,
    private readonly options: SessionOptions,
  ) {
    super();
    this.window = new RequestWindow<Pdu>(options.windowSize, options.clock);
    this.control = new RequestWindow<Pdu>(CONTROL_WINDOW, options.clock);
    this.metrics = options.metrics ?? noMetrics;
    this.lastActivity = options.clock.now();
    // The package's own reader stops for good after a body it cannot decode; paused, it reads
    // nothing, and the FrameReader takes the socket's data instead.
    session.pause();
    this.frames = new FrameReader(
      session.socket,
      (frame) => this.onFrame(frame),
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
    s.startKeepalive();
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
    if (!this.session.send(pdu)) return Promise.reject(new NotSentError(`${command}: socket not writable`));
    // Only its own *_resp (or a generic_nack) answers a request: any other PDU with the same
    // sequence number must not pass for a submit_sm_resp with an empty message id.
    const expected = `${command}_resp`;
    const accepts = (r: Pdu) => r.command === expected || r.command === 'generic_nack';
    return window.track(pdu.sequence_number, this.options.responseTimeoutMs, accepts).catch((failure: WindowFailure) => {
      if (failure.kind === 'timeout' && !opts.control) this.onResponseTimeout();
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
    await Promise.race([this.deliveriesAnswered(), deadline]);
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
    if (this.keepalive) clearInterval(this.keepalive);
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

  private startKeepalive(): void {
    const interval = this.options.enquireLinkIntervalMs;
    this.keepalive = setInterval(() => {
      if (this.options.clock.now() - this.lastActivity < interval || this.unbinding) return;
      this.lastActivity = this.options.clock.now();
      this.request('enquire_link', {}, { control: true }).catch((err: Error) => {
        // An unanswered enquire_link is the only reliable sign of a half-open TCP link.
        this.options.logger.warn({ err: err.message }, 'enquire_link failed: closing the link');
        this.close('enquire_link unanswered');
      });
    }, Math.max(250, Math.floor(interval / 4)));
    this.keepalive.unref();
  }

  /** One whole frame from the FrameReader: decoded here, so a body the codec cannot read is answered, not fatal. */
  private onFrame(frame: Buffer): void {
    this.lastActivity = this.options.clock.now();
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
      this.close(`cannot handle ${pdu.command}: ${(err as Error).message}`);
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
    this.metrics.increment(MetricName.PduUndecodable);
    const deliver = commandId === CommandId.DELIVER_SM || commandId === CommandId.DATA_SM;
    this.options.logger.warn(
      { commandId: `0x${commandId.toString(16).padStart(8, '0')}`, sequence: sequenceNumber, length: frame.length, problem },
      deliver ? 'undecodable deliver_sm answered ESME_RX_P_APPN (not to be redelivered)' : 'undecodable PDU',
    );
    if (deliver) {
      const response = commandId === CommandId.DELIVER_SM ? 'deliver_sm_resp' : 'data_sm_resp';
      this.answer(makePdu(response, { sequence_number: sequenceNumber, command_status: Status.ESME_RX_P_APPN }));
    } else if (!isResponse) {
      this.answer(makePdu('generic_nack', { sequence_number: sequenceNumber, command_status: Status.ESME_RINVCMDLEN }));
    }
  }

  /**
   * Submits time out in a row: the keepalive stays quiet while requests keep leaving, so ask
   * the link directly. An unanswered probe means a dead link: close it and let the bind reconnect.
   */
  private onResponseTimeout(): void {
    this.silentTimeouts += 1;
    if (this.silentTimeouts < PROBE_AFTER_TIMEOUTS || this.probing || this.closedReason !== undefined) return;
    this.silentTimeouts = 0;
    this.probing = true;
    this.lastActivity = this.options.clock.now();
    this.options.logger.warn({ timeouts: PROBE_AFTER_TIMEOUTS }, 'submits time out: probing the link with enquire_link');
    this.request('enquire_link', {}, { control: true }).then(
      () => {
        this.probing = false;
      },
      (err: Error) => {
        this.options.logger.warn({ err: err.message }, 'enquire_link probe failed: closing the link');
        this.close(`enquire_link unanswered after ${PROBE_AFTER_TIMEOUTS} response timeouts`);
      },
    );
  }

  private onPdu(pdu: Pdu): void {
    if (pdu.isResponse()) {
      // Any answer, even a late one, shows the link carries traffic.
      this.silentTimeouts = 0;
      if (pdu.command === 'submit_sm_resp' && classifySubmitStatus(pdu.command_status) === 'rebind') {
        // The SMSC no longer has this session bound (a reset on its side; the link and enquire_link
        // still work). Retired before the answer frees its window slot, so no submit follows it here.
        this.retire(`${statusName(pdu.command_status)}: the SMSC no longer has this session bound`);
      }
      if (pdu.command === 'generic_nack') {
        // generic_nack answers a request of ours that the SMSC could not parse.
        if (!this.window.complete(pdu.sequence_number, pdu)) this.control.complete(pdu.sequence_number, pdu);
        return;
      }
      if (!this.window.complete(pdu.sequence_number, pdu) && !this.control.complete(pdu.sequence_number, pdu)) {
        this.options.logger.debug({ command: pdu.command, sequence: pdu.sequence_number }, 'unexpected or late response ignored');
      }
      return;
    }
    switch (pdu.command) {
      case 'enquire_link':
        this.answer(pdu.response());
        return;
      case 'unbind':
        void this.onUnbindRequest(pdu);
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
        this.answer(
          smpp.commands[`${pdu.command}_resp`]
            ? pdu.response({ command_status: Status.ESME_RINVCMDID })
            : makePdu('generic_nack', { command_status: Status.ESME_RINVCMDID, sequence_number: pdu.sequence_number }),
        );
    }
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
    await Promise.race([Promise.all([this.window.idle(), this.deliveriesAnswered()]), deadline]);
    this.options.clock.clearTimeout(timer);
    this.answer(pdu.response());
    this.close('SMSC unbound', { flush: true });
  }

  private async deliveriesAnswered(): Promise<void> {
    while (this.delivering.size > 0) await Promise.all(this.delivering);
  }

  private onDeliver(pdu: Pdu): void {
    const handler = this.options.onDeliver;
    if (!handler) {
      // A transmitter should never get these; answer so the SMSC does not stall, and retry later.
      this.answer(pdu.response({ command_status: Status.ESME_RX_T_APPN }));
      return;
    }
    let fields: DeliverFields;
    try {
      fields = deliverFields(pdu);
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'unreadable deliver_sm answered with a temporary error');
      this.answer(pdu.response({ command_status: Status.ESME_RX_T_APPN }));
      return;
    }
    const answered: Promise<void> = handler(fields)
      .then(
        () => Status.ESME_ROK,
        (err: Error) => {
          this.options.logger.warn({ err: err.message }, 'deliver_sm not stored: answering ESME_RX_T_APPN so the SMSC retries');
          return Status.ESME_RX_T_APPN;
        },
      )
      .then((status) => this.answer(pdu.response({ command_status: status })))
      .catch((err: unknown) => this.options.logger.error({ err: (err as Error).message }, 'deliver_sm answer failed'))
      .finally(() => this.delivering.delete(answered));
    this.delivering.add(answered);
  }

  private answer(response: Pdu): void {
    if (this.closedReason === undefined) this.session.send(response);
  }
}

function bufferOf(v: unknown): Buffer | undefined {
  return Buffer.isBuffer(v) ? v : undefined;
}

function numberOf(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

/** Copies what the inbound parsers need out of a deliver_sm/data_sm PDU. */
export function deliverFields(pdu: Pdu): DeliverFields {
  const receipted = pdu['receipted_message_id'];
  const f: DeliverFields = {
    esmClass: numberOf(pdu['esm_class']) ?? 0,
    dataCoding: numberOf(pdu['data_coding']) ?? 0,
    shortMessage: bufferOf(pdu['short_message']) ?? Buffer.alloc(0),
    sourceAddr: String(pdu['source_addr'] ?? ''),
    destinationAddr: String(pdu['destination_addr'] ?? ''),
  };
  const payload = bufferOf(pdu['message_payload']);
  if (payload) f.messagePayload = payload;
  if (typeof receipted === 'string' && receipted.length > 0) f.receiptedMessageId = receipted;
  const state = numberOf(pdu['message_state']);
  if (state !== undefined) f.messageState = state;
  const nec = bufferOf(pdu['network_error_code']);
  if (nec) f.networkErrorCode = nec;
  const ref = numberOf(pdu['sar_msg_ref_num']);
  const total = numberOf(pdu['sar_total_segments']);
  const seq = numberOf(pdu['sar_segment_seqnum']);
  if (ref !== undefined && total !== undefined && seq !== undefined) {
    f.sarRefNum = ref;
    f.sarTotalSegments = total;
    f.sarSegmentSeqnum = seq;
  }
  return f;
}

/** Opens the TCP/TLS socket through the `smpp` package; resolves once connected (and the TLS handshake verified). */
function connect(options: SessionOptions): Promise<Session> {
  return new Promise((resolve, reject) => {
    const socketOptions: Record<string, unknown> = { host: options.host, port: options.port };
    if (options.tls) {
      // Never `url: 'ssmpp://…'`: smpp 0.5.1 then connects in plaintext (docs/architecture.md §6).
      Object.assign(socketOptions, {
        tls: true,
        minVersion: options.tlsMinVersion,
        servername: options.servername ?? options.host,
        rejectUnauthorized: true,
        // `ca` replaces Node's bundled store; keep it so a public certificate still verifies.
        ...(options.ca !== undefined && { ca: [options.ca, ...rootCertificates] }),
      });
    }
    const session = smpp.connect(socketOptions);
    const timer = setTimeout(() => fail(new Error(`connect timed out after ${options.connectTimeoutMs ?? 10_000} ms`)), options.connectTimeoutMs ?? 10_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      session.removeAllListeners();
      session.on('error', () => undefined);
      session.destroy();
      reject(new BindError(ErrorCode.SMPP_CONNECT, `cannot connect to ${options.host}:${options.port}: ${err.message}`, undefined, { cause: err }));
    };
    session.once('error', fail);
    session.once('close', () => fail(new Error('connection closed during set-up')));
    session.once(options.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      // Nagle would hold small PDUs for the peer's delayed ACK (~40 ms) and send them in
      // pairs: paced submits would then arrive bunched and trip the SMSC's 1-second window.
      session.socket.setNoDelay(true);
      session.removeAllListeners();
      resolve(session);
    });
  });
}
