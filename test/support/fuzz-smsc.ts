/**
 * A hostile SMSC for robustness tests (issue 6 part 2): a plain `net` (or `tls`)
 * server on 127.0.0.1 that answers binds, submits and enquire_links properly
 * through the codec — so a client really binds — and then, per the test's plan,
 * sends seeded garbage on the bound session: random bytes, truncated PDUs,
 * absurd command_length values, unknown command ids, responses to sequence
 * numbers nobody sent, deliver_sm with garbage bodies or TLVs, requests that
 * have no response PDU, and plain HTTP.
 *
 * Everything it keeps is bounded (counters and short rings), so a test can run
 * hundreds of connections through it and still measure the client's memory.
 */
import { EventEmitter } from 'node:events';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { decodePdu, makePdu, type Pdu } from '../../service/src/smpp/codec.js';
import { createPrng, type Prng } from '../../service/src/sim/prng.js';

/** The kinds of hostile input the server can send on a bound session. */
export const HOSTILE_KINDS = [
  /** 1-512 seeded random octets. */
  'random-bytes',
  /** A deliver_sm header claiming 200 octets, followed by only 40, then silence. */
  'truncated-pdu',
  /** command_length 0 (shorter than its own length field), then random octets. */
  'length-zero',
  /** command_length 1-4: a header that cannot even hold itself. */
  'length-tiny',
  /** command_length 5: one octet past the length field. */
  'length-five',
  /** command_length 0xFFFFFFFF. */
  'length-max',
  /** command_length above the codec's 16384 limit (16385 … 1 MiB). */
  'length-over-limit',
  /** A well-formed request with a command id SMPP does not assign (0x00000999 and others). */
  'unknown-command',
  /** submit_sm_resp / enquire_link_resp / bind_transmitter_resp for sequence numbers the client never used. */
  'unknown-sequence-response',
  /** A deliver_sm header with a body of random octets (of the declared length). */
  'garbage-deliver-sm',
  /** A deliver_sm with sane mandatory fields followed by random TLVs. */
  'garbage-tlvs',
  /** alert_notification: a valid SMSC→ESME request that has no response PDU (SMPP 3.4 §4.12). */
  'alert-notification',
  /** outbind: a valid request that makes no sense on a bound session and has no response PDU. */
  'outbind',
  /** An HTTP request, as a misrouted health check or proxy would send. */
  'http-request',
] as const;
export type HostileKind = (typeof HOSTILE_KINDS)[number];

/** Kinds after which an SMPP client cannot read the stream any more and has to reconnect. */
export const STREAM_BREAKING_KINDS: readonly HostileKind[] = [
  'random-bytes',
  'truncated-pdu',
  'length-zero',
  'length-tiny',
  'length-five',
  'length-max',
  'length-over-limit',
  'http-request',
];

/** What the server does on one bound session. */
export interface Attack {
  /** Sent in order, right after the bind response. */
  kinds: HostileKind[];
  /** Closes the connection this long after the burst unless the client closed it first; omit to leave it open. */
  closeAfterMs?: number;
}

export interface FuzzSmscOptions {
  /** Seed of every random choice. @defaultvalue 1 */
  seed?: number;
  /**
   * The attack on the n-th bound session (0-based, counted over the server's life); undefined for none.
   * @defaultvalue no attack at all
   */
  plan?: (bindIndex: number, prng: Prng) => Attack | undefined;
  /** Serve TLS instead of plain TCP (key, cert, minVersion, maxVersion…). */
  tls?: TlsOptions;
  /**
   * Overrides the answer to a request from the client: return the bytes to send, or undefined
   * for the normal answer.
   */
  respond?: (pdu: Pdu) => Buffer | undefined;
}

/** A PDU the client sent after binding, as the server decoded it. */
export interface ReceivedPdu {
  connection: number;
  command: string;
  commandStatus: number;
  sequenceNumber: number;
}

export type FuzzSmscEvents = {
  bound: [{ connection: number; bindIndex: number; command: string }];
  received: [ReceivedPdu];
  'attack-sent': [{ connection: number; kinds: HostileKind[] }];
  closed: [{ connection: number }];
};

const RING = 50;

/** Header + body with a chosen command_length (the real length when omitted). */
export function rawPdu(commandId: number, status: number, sequence: number, body: Buffer = Buffer.alloc(0), declaredLength?: number): Buffer {
  const header = Buffer.alloc(16);
  header.writeUInt32BE((declaredLength ?? 16 + body.length) >>> 0, 0);
  header.writeUInt32BE(commandId >>> 0, 4);
  header.writeUInt32BE(status >>> 0, 8);
  header.writeUInt32BE(sequence >>> 0, 12);
  return Buffer.concat([header, body]);
}

function randomBytes(prng: Prng, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(prng() * 256);
  return out;
}

const between = (prng: Prng, min: number, max: number): number => min + Math.floor(prng() * (max - min + 1));

/** Sequence numbers a client cannot have used yet: it counts up from 1. */
const farSequence = (prng: Prng): number => between(prng, 0x40000000, 0x7fffffff);

/** The bytes of one hostile input, fully determined by the PRNG's state. */
export function hostilePayload(kind: HostileKind, prng: Prng): Buffer {
  switch (kind) {
    case 'random-bytes':
      return randomBytes(prng, between(prng, 1, 512));
    case 'truncated-pdu':
      return rawPdu(0x00000005, 0, farSequence(prng), randomBytes(prng, 24), 200);
    case 'length-zero':
      return Buffer.concat([Buffer.alloc(4), randomBytes(prng, between(prng, 1, 64))]);
    case 'length-tiny': {
      const b = Buffer.alloc(16);
      b.writeUInt32BE(between(prng, 1, 4), 0);
      return b;
    }
    case 'length-five':
      return Buffer.from([0x00, 0x00, 0x00, 0x05, 0x01]);
    case 'length-max':
      return rawPdu(0x00000005, 0, 1, randomBytes(prng, 16), 0xffffffff);
    case 'length-over-limit':
      return rawPdu(0x00000005, 0, 1, randomBytes(prng, 16), between(prng, 16_385, 1 << 20));
    case 'unknown-command': {
      const ids = [0x00000999, 0x0000ffff, 0x00001000, 0x7fffffff];
      return rawPdu(ids[Math.floor(prng() * ids.length)] ?? 0x999, 0, farSequence(prng), randomBytes(prng, between(prng, 0, 32)));
    }
    case 'unknown-sequence-response': {
      const ids = [0x80000004, 0x80000015, 0x80000002, 0x80000005];
      const id = ids[Math.floor(prng() * ids.length)] ?? 0x80000004;
      return rawPdu(id, 0, farSequence(prng), id === 0x80000015 ? Buffer.alloc(0) : Buffer.from('DEADBEEF\0', 'latin1'));
    }
    case 'garbage-deliver-sm':
      return rawPdu(0x00000005, 0, farSequence(prng), randomBytes(prng, between(prng, 0, 300)));
    case 'garbage-tlvs': {
      const mandatory = makePdu('deliver_sm', {
        sequence_number: farSequence(prng),
        source_addr: '6591234567',
        destination_addr: '8x8',
        esm_class: prng() < 0.5 ? 0x04 : 0x00,
        short_message: Buffer.from('id:1 stat:DELIVRD'),
      }).toBuffer();
      const tlvs: Buffer[] = [];
      for (let n = between(prng, 1, 6); n > 0; n--) {
        const tags = [0x001e, 0x0427, 0x0423, 0x0424, 0x020c, 0x0381, 0x1203, 0x0501, between(prng, 0, 0xffff)];
        const value = randomBytes(prng, between(prng, 0, 40));
        const tlv = Buffer.alloc(4);
        tlv.writeUInt16BE(tags[Math.floor(prng() * tags.length)] ?? 0x001e, 0);
        // Sometimes a length that runs past the end of the PDU.
        tlv.writeUInt16BE(prng() < 0.3 ? between(prng, 0, 0xffff) : value.length, 2);
        tlvs.push(tlv, value);
      }
      const all = Buffer.concat([mandatory, ...tlvs]);
      all.writeUInt32BE(all.length, 0);
      return all;
    }
    case 'alert-notification':
      return makePdu('alert_notification', { sequence_number: farSequence(prng), source_addr: '6591234567', esme_addr: '8x8' }).toBuffer();
    case 'outbind':
      return makePdu('outbind', { sequence_number: farSequence(prng), system_id: 'FUZZ', password: 'x' }).toBuffer();
    case 'http-request':
      return Buffer.from('GET /health HTTP/1.1\r\nHost: smpp.example\r\nUser-Agent: probe\r\n\r\n', 'latin1');
  }
}

/** See the file comment. Start with `start()`, which resolves with the port. */
export class FuzzSmsc extends EventEmitter<FuzzSmscEvents> {
  private server: Server | undefined;
  private readonly prng: Prng;
  private readonly sockets = new Set<Socket>();
  private nextConnection = 0;
  private nextBind = 0;
  private nextMessageId = 0x1000;
  /** Connections accepted. */
  connections = 0;
  /** Binds answered with ESME_ROK. */
  binds = 0;
  /** Highest number of sockets open at once. */
  maxOpenSockets = 0;
  /** Attacks written. */
  attacks = 0;
  /** Count of every command the client sent after binding (generic_nack, deliver_sm_resp…). */
  readonly receivedCounts = new Map<string, number>();
  /** The last PDUs the client sent after binding. */
  readonly received: ReceivedPdu[] = [];
  /** The raw bytes of the last bind requests, as they arrived. */
  readonly bindRequests: Buffer[] = [];

  constructor(private readonly options: FuzzSmscOptions = {}) {
    super();
    this.prng = createPrng(options.seed ?? 1);
  }

  get openSockets(): number {
    return this.sockets.size;
  }

  start(): Promise<number> {
    const onSocket = (socket: Socket) => this.accept(socket);
    const server = this.options.tls ? createTlsServer(this.options.tls, onSocket) : createNetServer(onSocket);
    // TLS handshakes the client refuses end up here; they are expected in these tests.
    server.on('tlsClientError', () => undefined);
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Resolves once the predicate holds, re-checked on every event; rejects at the deadline. */
  waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const events = ['bound', 'received', 'attack-sent', 'closed'] as const;
      const check = () => {
        if (!predicate()) return;
        done();
        resolve();
      };
      const done = () => {
        clearTimeout(timer);
        for (const e of events) this.off(e, check);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`fuzz SMSC: ${what} not reached in ${timeoutMs} ms (connections ${this.connections}, binds ${this.binds})`));
      }, timeoutMs);
      for (const e of events) this.on(e, check);
    });
  }

  private accept(socket: Socket): void {
    const connection = this.nextConnection++;
    this.connections += 1;
    this.sockets.add(socket);
    this.maxOpenSockets = Math.max(this.maxOpenSockets, this.sockets.size);
    let buffer = Buffer.alloc(0);
    let bound = false;
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.emit('closed', { connection });
    });
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 4) {
        const length = buffer.readUInt32BE(0);
        if (length < 16 || length > 65_536) {
          // The client under test sent something we cannot frame: that is its bug, not ours to hide.
          socket.destroy();
          return;
        }
        if (buffer.length < length) return;
        const raw = buffer.subarray(0, length);
        buffer = buffer.subarray(length);
        const pdu = decodePdu(Buffer.from(raw));
        if (!pdu) continue;
        if (!bound && pdu.command.startsWith('bind_')) {
          bound = true;
          this.onBind(socket, connection, pdu, raw);
          continue;
        }
        this.onRequest(socket, connection, pdu);
      }
    });
  }

  private onBind(socket: Socket, connection: number, pdu: Pdu, raw: Buffer): void {
    this.bindRequests.push(Buffer.from(raw));
    if (this.bindRequests.length > RING) this.bindRequests.shift();
    socket.write(pdu.response({ system_id: 'FUZZSMSC' }).toBuffer());
    this.binds += 1;
    const bindIndex = this.nextBind++;
    this.emit('bound', { connection, bindIndex, command: pdu.command });
    const attack = this.options.plan?.(bindIndex, this.prng);
    if (!attack) return;
    // After the bind response has been flushed, so the client is bound when the garbage arrives.
    setImmediate(() => {
      if (socket.destroyed) return;
      for (const kind of attack.kinds) socket.write(hostilePayload(kind, this.prng));
      this.attacks += 1;
      this.emit('attack-sent', { connection, kinds: attack.kinds });
      if (attack.closeAfterMs !== undefined) setTimeout(() => socket.destroy(), attack.closeAfterMs).unref();
    });
  }

  private onRequest(socket: Socket, connection: number, pdu: Pdu): void {
    const record: ReceivedPdu = { connection, command: pdu.command, commandStatus: pdu.command_status, sequenceNumber: pdu.sequence_number };
    this.receivedCounts.set(pdu.command, (this.receivedCounts.get(pdu.command) ?? 0) + 1);
    this.received.push(record);
    if (this.received.length > RING) this.received.shift();
    this.emit('received', record);
    if (pdu.isResponse()) return;
    const custom = this.options.respond?.(pdu);
    if (custom) {
      socket.write(custom);
      return;
    }
    switch (pdu.command) {
      case 'submit_sm':
        socket.write(pdu.response({ message_id: (this.nextMessageId++).toString(16).toUpperCase() }).toBuffer());
        return;
      case 'unbind':
        socket.end(pdu.response().toBuffer());
        return;
      case 'enquire_link':
        socket.write(pdu.response().toBuffer());
        return;
      default:
        socket.write(pdu.response({ command_status: 0x03 }).toBuffer());
    }
  }
}
