import { EventEmitter } from 'node:events';
import { rootCertificates, type TLSSocket } from 'node:tls';
import type { Clock } from '../clock.js';
import { BindError, ErrorCode, SmppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { smpp, makePdu, type Pdu, type Session } from './codec.js';
import { classifyBindStatus, Status, statusName } from './command-status.js';
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
 * One bound SMPP session over TCP or TLS: the `smpp` package does the framing;
 * this class adds what it lacks — response deadlines, a window, enquire_link
 * keepalive with dead-link detection, ordered answers to deliver_sm after the
 * handler's write, generic_nack for unknown commands, and a clean close on
 * garbage (the package wedges after a parse error).
 *
 * Emits 'close' (reason: string) exactly once.
 */
export class SmppSession extends EventEmitter {
  private readonly window: RequestWindow<Pdu>;
  /** enquire_link and unbind must get through even when submits fill the window. */
  private readonly control: RequestWindow<Pdu>;
  private lastActivity: number;
  private keepalive: NodeJS.Timeout | undefined;
  private closedReason: string | undefined;
  private unbinding = false;

  private constructor(
    private readonly session: Session,
    private readonly options: SessionOptions,
  ) {
    super();
    this.window = new RequestWindow<Pdu>(options.windowSize, options.clock);
    this.control = new RequestWindow<Pdu>(CONTROL_WINDOW, options.clock);
    this.lastActivity = options.clock.now();
    session.on('pdu', (pdu: Pdu) => {
      // The smpp package emits 'pdu' outside its own try/catch: anything thrown here would crash the process.
      try {
        this.onPdu(pdu);
      } catch (err) {
        this.close(`cannot handle ${pdu.command}: ${(err as Error).message}`);
      }
    });
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
    const pdu = makePdu(command, fields);
    const window = opts.control ? this.control : this.window;
    if (window.free <= 0) return Promise.reject(new NotSentError(`${command}: window full`));
    if (!this.session.send(pdu)) return Promise.reject(new NotSentError(`${command}: socket not writable`));
    // Only its own *_resp (or a generic_nack) answers a request: any other PDU with the same
    // sequence number must not pass for a submit_sm_resp with an empty message id.
    const expected = `${command}_resp`;
    const accepts = (r: Pdu) => r.command === expected || r.command === 'generic_nack';
    return window.track(pdu.sequence_number, this.options.responseTimeoutMs, accepts).catch((failure: WindowFailure) => {
      throw new RequestFailedError(failure, command);
    });
  }

  /** Sends unbind and waits for its answer or the deadline, then closes. */
  async unbind(deadlineMs: number): Promise<void> {
    if (this.closedReason !== undefined) return;
    this.unbinding = true;
    const deadline = new Promise<void>((resolve) => this.options.clock.setTimeout(resolve, deadlineMs));
    await Promise.race([this.request('unbind', {}, { control: true }).catch(() => undefined), deadline]);
    this.close('unbound');
  }

  /** Closes the socket and fails every pending request at once. Idempotent. */
  close(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    if (this.keepalive) clearInterval(this.keepalive);
    this.session.destroy();
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

  private onPdu(pdu: Pdu): void {
    this.lastActivity = this.options.clock.now();
    if (pdu.isResponse()) {
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
        this.answer(pdu.response());
        this.close('SMSC unbound');
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
    handler(fields).then(
      () => this.answer(pdu.response({ command_status: Status.ESME_ROK })),
      (err: Error) => {
        this.options.logger.warn({ err: err.message }, 'deliver_sm not stored: answering ESME_RX_T_APPN so the SMSC retries');
        this.answer(pdu.response({ command_status: Status.ESME_RX_T_APPN }));
      },
    );
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
      // Never `url: 'ssmpp://…'`: smpp 0.5.1 then connects in plaintext (DESIGN §6).
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
