/**
 * An SMSC for tests that shares no code with the service: its SMPP 3.4 codec is written here from
 * the specification (plain `net` and Buffer, no `smpp` package, nothing from service/src). The
 * project's simulator and client both use the `smpp` package, so a quirk of that codec would cancel
 * out between them; against this server it cannot.
 *
 * It accepts binds (system_id and password checked), answers submit_sm with its own 10-digit
 * upper-case hex message ids, and sends deliver_sm to bound receivers: Appendix B delivery receipts
 * for what was submitted, and MO messages (GSM as unpacked octets, UCS-2, concatenated by an 8-bit
 * UDH). It records every PDU it received, every submit, every deliver_sm with its answers, and
 * every way the peer's PDUs departed from the specification; waits are promises, resolved on events.
 */
import { EventEmitter } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { randomInt } from 'node:crypto';

// ---------------------------------------------------------------------------------------------
// Constants (SMPP 3.4 §5.1.2, §5.1.3, §5.3.2)
// ---------------------------------------------------------------------------------------------

/** command_id values of the PDUs this codec knows. */
export const CommandId = {
  generic_nack: 0x80000000,
  bind_receiver: 0x00000001,
  bind_receiver_resp: 0x80000001,
  bind_transmitter: 0x00000002,
  bind_transmitter_resp: 0x80000002,
  submit_sm: 0x00000004,
  submit_sm_resp: 0x80000004,
  deliver_sm: 0x00000005,
  deliver_sm_resp: 0x80000005,
  unbind: 0x00000006,
  unbind_resp: 0x80000006,
  bind_transceiver: 0x00000009,
  bind_transceiver_resp: 0x80000009,
  enquire_link: 0x00000015,
  enquire_link_resp: 0x80000015,
} as const;
/** A command this codec encodes and decodes. */
export type CommandName = keyof typeof CommandId;

const COMMAND_NAMES = new Map<number, CommandName>(Object.entries(CommandId).map(([name, id]) => [id, name as CommandName]));

/** command_status values the server sends or the tests look for. */
export const Status = {
  ESME_ROK: 0x00000000,
  ESME_RINVCMDLEN: 0x00000002,
  ESME_RINVCMDID: 0x00000003,
  ESME_RINVBNDSTS: 0x00000004,
  ESME_RALYBND: 0x00000005,
  ESME_RINVPASWD: 0x0000000e,
  ESME_RINVSYSID: 0x0000000f,
  ESME_RX_T_APPN: 0x00000064,
} as const;

/** TLV tags used here. */
export const TlvTag = {
  receipted_message_id: 0x001e,
  sar_msg_ref_num: 0x020c,
  sar_total_segments: 0x020e,
  sar_segment_seqnum: 0x020f,
  sc_interface_version: 0x0210,
  message_payload: 0x0424,
  message_state: 0x0427,
} as const;

/** message_state values (§5.3.2.35) by the Appendix B `stat:` word. */
export const MessageState = { ENROUTE: 1, DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5, ACCEPTD: 6, UNKNOWN: 7, REJECTD: 8 } as const;
/** An Appendix B `stat:` word. */
export type ReceiptStat = keyof typeof MessageState;

/** esm_class bits (§5.2.12). */
export const EsmClass = { SMSC_DELIVERY_RECEIPT: 0x04, UDHI: 0x40 } as const;

const HEADER_LENGTH = 16;
/** Nothing in SMPP 3.4 comes near this; a larger command_length means the stream is not SMPP. */
const MAX_PDU_LENGTH = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// PDUs
// ---------------------------------------------------------------------------------------------

/** One optional parameter: tag, and the value exactly as on the wire. */
export interface Tlv {
  tag: number;
  value: Buffer;
}

/** The body of bind_transmitter / bind_receiver / bind_transceiver (§4.1). */
export interface BindBody {
  systemId: string;
  password: string;
  systemType: string;
  interfaceVersion: number;
  addrTon: number;
  addrNpi: number;
  addressRange: string;
}

/** The mandatory body of submit_sm (§4.4.1) and deliver_sm (§4.6.1), which share one layout. */
export interface ShortMessageBody {
  serviceType: string;
  sourceAddrTon: number;
  sourceAddrNpi: number;
  sourceAddr: string;
  destAddrTon: number;
  destAddrNpi: number;
  destinationAddr: string;
  esmClass: number;
  protocolId: number;
  priorityFlag: number;
  scheduleDeliveryTime: string;
  validityPeriod: string;
  registeredDelivery: number;
  replaceIfPresentFlag: number;
  dataCoding: number;
  smDefaultMsgId: number;
  shortMessage: Buffer;
}

interface Header {
  commandStatus: number;
  sequenceNumber: number;
}

/** One union member per command, so a `switch` on `command` narrows to its fields. */
type Each<C extends string, Body> = { [K in C]: Header & { command: K } & Body }[C];

/** A decoded PDU, discriminated by `command`; `unknown` keeps the raw body of any other command_id. */
export type Pdu =
  | Each<'bind_transmitter' | 'bind_receiver' | 'bind_transceiver', BindBody>
  | Each<'bind_transmitter_resp' | 'bind_receiver_resp' | 'bind_transceiver_resp', { systemId: string; tlvs: readonly Tlv[] }>
  | Each<'submit_sm' | 'deliver_sm', ShortMessageBody & { tlvs: readonly Tlv[] }>
  | Each<'submit_sm_resp' | 'deliver_sm_resp', { messageId: string }>
  | Each<'enquire_link' | 'enquire_link_resp' | 'unbind' | 'unbind_resp' | 'generic_nack', object>
  | (Header & { command: 'unknown'; commandId: number; body: Buffer });

/** The PDU of one command. */
export type PduOf<C extends Pdu['command']> = Extract<Pdu, { command: C }>;

/** A PDU that cannot be read at all (as opposed to a readable one that breaks a rule: see {@link decodePdu}). */
export class PduDecodeError extends Error {
  constructor(
    message: string,
    /** The status a generic_nack for it carries. */
    readonly status: number = Status.ESME_RINVCMDLEN,
  ) {
    super(message);
    this.name = 'PduDecodeError';
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

class Writer {
  private readonly chunks: Buffer[] = [];

  u8(v: number): this {
    this.chunks.push(Buffer.from([v & 0xff]));
    return this;
  }

  u16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v);
    this.chunks.push(b);
    return this;
  }

  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    this.chunks.push(b);
    return this;
  }

  /** A C-Octet String: ASCII, then NUL; `max` counts the NUL, as the specification's sizes do. */
  cstring(field: string, v: string, max: number): this {
    const bytes = Buffer.from(v, 'latin1');
    if (bytes.includes(0)) throw new Error(`${field}: a C-Octet String cannot contain NUL`);
    if (bytes.length + 1 > max) throw new Error(`${field}: ${bytes.length + 1} octets with its NUL, at most ${max}`);
    this.chunks.push(bytes, Buffer.from([0]));
    return this;
  }

  octets(v: Buffer): this {
    this.chunks.push(v);
    return this;
  }

  tlvs(tlvs: readonly Tlv[]): this {
    for (const t of tlvs) this.u16(t.tag).u16(t.value.length).octets(t.value);
    return this;
  }

  done(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function encodeShortMessageBody(w: Writer, p: ShortMessageBody): void {
  if (p.shortMessage.length > 254) throw new Error(`short_message: ${p.shortMessage.length} octets, at most 254 (use message_payload)`);
  w.cstring('service_type', p.serviceType, 6)
    .u8(p.sourceAddrTon)
    .u8(p.sourceAddrNpi)
    .cstring('source_addr', p.sourceAddr, 21)
    .u8(p.destAddrTon)
    .u8(p.destAddrNpi)
    .cstring('destination_addr', p.destinationAddr, 21)
    .u8(p.esmClass)
    .u8(p.protocolId)
    .u8(p.priorityFlag)
    .cstring('schedule_delivery_time', p.scheduleDeliveryTime, 17)
    .cstring('validity_period', p.validityPeriod, 17)
    .u8(p.registeredDelivery)
    .u8(p.replaceIfPresentFlag)
    .u8(p.dataCoding)
    .u8(p.smDefaultMsgId)
    .u8(p.shortMessage.length)
    .octets(p.shortMessage);
}

/** Encodes a PDU: the 16-octet header (command_length, command_id, command_status, sequence_number), then its body. */
export function encodePdu(pdu: Pdu): Buffer {
  const w = new Writer();
  let commandId: number;
  switch (pdu.command) {
    case 'bind_transmitter':
    case 'bind_receiver':
    case 'bind_transceiver':
      commandId = CommandId[pdu.command];
      w.cstring('system_id', pdu.systemId, 16)
        .cstring('password', pdu.password, 9)
        .cstring('system_type', pdu.systemType, 13)
        .u8(pdu.interfaceVersion)
        .u8(pdu.addrTon)
        .u8(pdu.addrNpi)
        .cstring('address_range', pdu.addressRange, 41);
      break;
    case 'bind_transmitter_resp':
    case 'bind_receiver_resp':
    case 'bind_transceiver_resp':
      commandId = CommandId[pdu.command];
      w.cstring('system_id', pdu.systemId, 16).tlvs(pdu.tlvs);
      break;
    case 'submit_sm':
    case 'deliver_sm':
      commandId = CommandId[pdu.command];
      encodeShortMessageBody(w, pdu);
      w.tlvs(pdu.tlvs);
      break;
    case 'submit_sm_resp':
    case 'deliver_sm_resp':
      commandId = CommandId[pdu.command];
      // §4.4.2: the body is not returned when command_status is not 0.
      if (pdu.commandStatus === Status.ESME_ROK) w.cstring('message_id', pdu.messageId, 65);
      break;
    case 'enquire_link':
    case 'enquire_link_resp':
    case 'unbind':
    case 'unbind_resp':
    case 'generic_nack':
      commandId = CommandId[pdu.command];
      break;
    case 'unknown':
      commandId = pdu.commandId;
      w.octets(pdu.body);
      break;
  }
  const body = w.done();
  return new Writer()
    .u32(HEADER_LENGTH + body.length)
    .u32(commandId)
    .u32(pdu.commandStatus)
    .u32(pdu.sequenceNumber)
    .octets(body)
    .done();
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

class Reader {
  private offset = 0;

  constructor(
    private readonly bytes: Buffer,
    /** Rules broken by a PDU that can still be read. */
    readonly violations: string[],
  ) {}

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  private need(field: string, n: number): void {
    if (this.remaining < n) throw new PduDecodeError(`${field}: needs ${n} octet(s), ${this.remaining} left`);
  }

  u8(field: string): number {
    this.need(field, 1);
    return this.bytes.readUInt8(this.offset++);
  }

  u16(field: string): number {
    this.need(field, 2);
    const v = this.bytes.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  /** A C-Octet String of at most `max` octets with its NUL; `allowed` lists the only lengths the field may have (§5.2.5: times are 1 or 17). */
  cstring(field: string, max: number, allowed?: readonly number[]): string {
    const nul = this.bytes.indexOf(0, this.offset);
    if (nul < 0) throw new PduDecodeError(`${field}: no NUL terminator`);
    const size = nul - this.offset + 1;
    if (size > max) this.violations.push(`${field}: ${size} octets with its NUL, at most ${max}`);
    if (allowed && !allowed.includes(size)) this.violations.push(`${field}: ${size} octets with its NUL, must be one of ${allowed.join(', ')}`);
    const v = this.bytes.toString('latin1', this.offset, nul);
    this.offset = nul + 1;
    return v;
  }

  octets(field: string, n: number): Buffer {
    this.need(field, n);
    const v = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return Buffer.from(v);
  }

  tlvs(): Tlv[] {
    const out: Tlv[] = [];
    while (this.remaining > 0) {
      if (this.remaining < 4) throw new PduDecodeError(`TLV: ${this.remaining} octet(s) left, a tag and length need 4`);
      const tag = this.u16('TLV tag');
      const length = this.u16('TLV length');
      out.push({ tag, value: this.octets(`TLV 0x${tag.toString(16).padStart(4, '0')} value`, length) });
    }
    return out;
  }

  /** A body that should have ended here. */
  end(command: string): void {
    if (this.remaining > 0) this.violations.push(`${command}: ${this.remaining} octet(s) after the last field`);
  }
}

function decodeShortMessageBody(r: Reader): ShortMessageBody {
  const serviceType = r.cstring('service_type', 6);
  const sourceAddrTon = r.u8('source_addr_ton');
  const sourceAddrNpi = r.u8('source_addr_npi');
  const sourceAddr = r.cstring('source_addr', 21);
  const destAddrTon = r.u8('dest_addr_ton');
  const destAddrNpi = r.u8('dest_addr_npi');
  const destinationAddr = r.cstring('destination_addr', 21);
  const esmClass = r.u8('esm_class');
  const protocolId = r.u8('protocol_id');
  const priorityFlag = r.u8('priority_flag');
  const scheduleDeliveryTime = r.cstring('schedule_delivery_time', 17, [1, 17]);
  const validityPeriod = r.cstring('validity_period', 17, [1, 17]);
  const registeredDelivery = r.u8('registered_delivery');
  const replaceIfPresentFlag = r.u8('replace_if_present_flag');
  const dataCoding = r.u8('data_coding');
  const smDefaultMsgId = r.u8('sm_default_msg_id');
  const smLength = r.u8('sm_length');
  if (smLength > 254) r.violations.push(`sm_length: ${smLength}, at most 254`);
  const shortMessage = r.octets('short_message', smLength);
  return {
    serviceType,
    sourceAddrTon,
    sourceAddrNpi,
    sourceAddr,
    destAddrTon,
    destAddrNpi,
    destinationAddr,
    esmClass,
    protocolId,
    priorityFlag,
    scheduleDeliveryTime,
    validityPeriod,
    registeredDelivery,
    replaceIfPresentFlag,
    dataCoding,
    smDefaultMsgId,
    shortMessage,
  };
}

/**
 * Decodes one whole PDU (header included). Throws {@link PduDecodeError} when it cannot be read;
 * returns what it read and the rules it broke otherwise (an over-long field, a body after a
 * header-only command, octets after the last field…).
 */
export function decodePdu(bytes: Buffer): { pdu: Pdu; violations: string[] } {
  if (bytes.length < HEADER_LENGTH) throw new PduDecodeError(`PDU of ${bytes.length} octets is shorter than its header`);
  const length = bytes.readUInt32BE(0);
  if (length !== bytes.length) throw new PduDecodeError(`command_length ${length} but ${bytes.length} octets`);
  const commandId = bytes.readUInt32BE(4);
  const header: Header = { commandStatus: bytes.readUInt32BE(8), sequenceNumber: bytes.readUInt32BE(12) };
  const violations: string[] = [];
  if (header.sequenceNumber === 0 || header.sequenceNumber > 0x7fffffff) violations.push(`sequence_number ${header.sequenceNumber} outside 1…0x7FFFFFFF`);
  const body = bytes.subarray(HEADER_LENGTH);
  const r = new Reader(body, violations);
  const command = COMMAND_NAMES.get(commandId);
  let pdu: Pdu;
  switch (command) {
    case undefined:
      return { pdu: { ...header, command: 'unknown', commandId, body: Buffer.from(body) }, violations };
    case 'bind_transmitter':
    case 'bind_receiver':
    case 'bind_transceiver':
      pdu = {
        ...header,
        command,
        systemId: r.cstring('system_id', 16),
        password: r.cstring('password', 9),
        systemType: r.cstring('system_type', 13),
        interfaceVersion: r.u8('interface_version'),
        addrTon: r.u8('addr_ton'),
        addrNpi: r.u8('addr_npi'),
        addressRange: r.cstring('address_range', 41),
      };
      r.end(command);
      break;
    case 'bind_transmitter_resp':
    case 'bind_receiver_resp':
    case 'bind_transceiver_resp':
      pdu = { ...header, command, systemId: r.remaining > 0 ? r.cstring('system_id', 16) : '', tlvs: r.tlvs() };
      break;
    case 'submit_sm':
    case 'deliver_sm':
      pdu = { ...header, command, ...decodeShortMessageBody(r), tlvs: r.tlvs() };
      break;
    case 'submit_sm_resp':
    case 'deliver_sm_resp':
      // §4.4.2: no body when command_status is not 0; deliver_sm_resp's message_id is NULL (one octet, 0).
      pdu = { ...header, command, messageId: r.remaining > 0 ? r.cstring('message_id', command === 'deliver_sm_resp' ? 1 : 65) : '' };
      if (header.commandStatus === Status.ESME_ROK && body.length === 0) violations.push(`${command}: no message_id though command_status is 0`);
      r.end(command);
      break;
    case 'enquire_link':
    case 'enquire_link_resp':
    case 'unbind':
    case 'unbind_resp':
    case 'generic_nack':
      pdu = { ...header, command };
      r.end(command);
      break;
  }
  return { pdu, violations };
}

/** Splits a byte stream into whole PDUs by their command_length. */
export class PduFramer {
  private buffered: Buffer = Buffer.alloc(0);

  /** The whole PDUs completed by this chunk; throws when a command_length cannot be SMPP. */
  push(chunk: Buffer): Buffer[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const out: Buffer[] = [];
    while (this.buffered.length >= 4) {
      const length = this.buffered.readUInt32BE(0);
      if (length < HEADER_LENGTH || length > MAX_PDU_LENGTH) throw new PduDecodeError(`command_length ${length} outside ${HEADER_LENGTH}…${MAX_PDU_LENGTH}`);
      if (this.buffered.length < length) break;
      out.push(this.buffered.subarray(0, length));
      this.buffered = this.buffered.subarray(length);
    }
    return out;
  }
}

/** The value of the first TLV with this tag. */
export function tlvValue(tlvs: readonly Tlv[], tag: number): Buffer | undefined {
  return tlvs.find((t) => t.tag === tag)?.value;
}

// ---------------------------------------------------------------------------------------------
// Text (GSM 03.38 default alphabet and extension table, one septet per octet; UCS-2 big-endian)
// ---------------------------------------------------------------------------------------------

/** GSM 03.38 default alphabet by septet value; 0x1B is the escape to the extension table. */
const GSM_DEFAULT =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
/** GSM 03.38 extension table: septet after 0x1B → character. */
const GSM_EXTENSION: ReadonlyMap<number, string> = new Map([
  [0x0a, '\f'],
  [0x14, '^'],
  [0x28, '{'],
  [0x29, '}'],
  [0x2f, '\\'],
  [0x3c, '['],
  [0x3d, '~'],
  [0x3e, ']'],
  [0x40, '|'],
  [0x65, '€'],
]);
const GSM_ESCAPE = 0x1b;

/** GSM 03.38 septets of a text, one per octet (how SMPP carries data_coding 0); throws on a character outside the alphabet. */
export function gsmSeptets(text: string): number[] {
  const out: number[] = [];
  for (const ch of text) {
    const basic = ch === '\x1b' ? -1 : GSM_DEFAULT.indexOf(ch);
    if (basic >= 0) {
      out.push(basic);
      continue;
    }
    const ext = [...GSM_EXTENSION].find(([, c]) => c === ch);
    if (ext === undefined) throw new Error(`U+${ch.codePointAt(0)?.toString(16).toUpperCase().padStart(4, '0')} is not in the GSM 03.38 alphabet`);
    out.push(GSM_ESCAPE, ext[0]);
  }
  return out;
}

/** Reads unpacked GSM 03.38 septets (one per octet) as text. */
export function gsmText(octets: Buffer): string {
  let out = '';
  for (let i = 0; i < octets.length; i++) {
    const s = (octets[i] as number) & 0x7f;
    if (s === GSM_ESCAPE) {
      const next = octets[++i];
      out += next === undefined ? '' : (GSM_EXTENSION.get(next & 0x7f) ?? ' ');
    } else {
      out += GSM_DEFAULT[s] ?? '';
    }
  }
  return out;
}

/** UCS-2 big-endian (UTF-16BE: a character outside the BMP is a surrogate pair, as handsets send it). */
export function ucs2(text: string): Buffer {
  const le = Buffer.from(text, 'utf16le');
  return Buffer.from(le).swap16();
}

/** Reads UCS-2 / UTF-16BE. */
export function ucs2Text(octets: Buffer): string {
  return Buffer.from(octets.subarray(0, octets.length - (octets.length % 2))).swap16().toString('utf16le');
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

type BindRole = 'transmitter' | 'receiver' | 'transceiver';

/** A submit_sm the server accepted. */
export interface Submission {
  sessionId: number;
  messageId: string;
  pdu: PduOf<'submit_sm'>;
  receivedAt: Date;
}

/** One sending of a deliver_sm and how it was answered. */
export interface DeliverAttempt {
  sessionId: number;
  sequenceNumber: number;
  /** command_status of deliver_sm_resp (or of a generic_nack); undefined while unanswered, on a timeout or a closed link. */
  status?: number;
  outcome: 'pending' | 'answered' | 'nacked' | 'timeout' | 'closed';
  /** The answering PDU's message_id (a deliver_sm_resp's must be empty). */
  responseMessageId?: string;
}

/** A deliver_sm the server sends until it is answered with status 0 (or gives up). */
export interface DeliverRecord {
  kind: 'receipt' | 'mo';
  pdu: PduOf<'deliver_sm'>;
  /** For a receipt: the message id it reports on. */
  smscMessageId?: string;
  attempts: DeliverAttempt[];
  /** Answered with status 0. */
  acknowledged: boolean;
}

/** A bind request and what the server answered. */
export interface BindRecord {
  sessionId: number;
  role: BindRole;
  systemId: string;
  status: number;
}

/** What goes into an MO deliver_sm; the server fills in the rest as an SMSC would. */
export interface MoInput {
  from: string;
  to: string;
  dataCoding: number;
  shortMessage: Buffer;
  /** @defaultValue 0; pass 0x40 (UDHI) when shortMessage starts with a UDH */
  esmClass?: number;
  tlvs?: readonly Tlv[];
}

/** Options for {@link IndependentSmsc}. */
export interface IndependentSmscOptions {
  /** @defaultValue 'test' */
  systemId?: string;
  /** @defaultValue 'secret' */
  password?: string;
  /** The `stat:` of each submission's receipt. @defaultValue always DELIVRD */
  receiptStat?: (s: Submission) => ReceiptStat;
  /** How the receipt text writes `id:` (the TLV always carries the id as assigned). @defaultValue 'hex' */
  receiptTextId?: 'hex' | 'decimal';
  /** A deliver_sm unanswered this long is sent again. @defaultValue 5000 */
  responseTimeoutMs?: number;
  /** Wait before sending again a deliver_sm answered with an error or not at all. @defaultValue 200 */
  retryDelayMs?: number;
  /** Sendings of one deliver_sm before giving up. @defaultValue 20 */
  maxAttempts?: number;
}

interface Session {
  id: number;
  socket: Socket;
  framer: PduFramer;
  role?: BindRole;
  nextSequence: number;
  /** Our requests awaiting an answer, by sequence number. */
  pending: Map<number, (answer: PduOf<'deliver_sm_resp' | 'enquire_link_resp' | 'generic_nack'> | undefined) => void>;
}

const SYSTEM_ID = 'INDEPSMSC';

/** An SMPP 3.4 SMSC on 127.0.0.1 built on this file's codec only. See the file comment. */
export class IndependentSmsc {
  /** Every PDU the server read, in order, with the session it came on. */
  readonly received: Array<{ sessionId: number; pdu: Pdu }> = [];
  /** Every rule a peer's PDU broke, with its command (empty for a well-behaved client). */
  readonly violations: string[] = [];
  readonly binds: BindRecord[] = [];
  readonly submissions: Submission[] = [];
  readonly delivers: DeliverRecord[] = [];

  private readonly options: Required<IndependentSmscOptions>;
  private readonly events = new EventEmitter();
  private readonly sessions = new Map<number, Session>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Deliveries waiting for a receiver to bind. */
  private readonly outbox: Array<() => void> = [];
  private server: Server | undefined;
  private nextSessionId = 1;
  private nextReceiver = 0;
  // Ids start with a hex letter, as many SMSCs' do, so they are never also read as decimal.
  private nextMessageId = 0xa0_0000_0000 + randomInt(0x1_0000_0000);
  private stopped = false;

  constructor(options: IndependentSmscOptions = {}) {
    this.options = {
      systemId: 'test',
      password: 'secret',
      receiptStat: () => 'DELIVRD',
      receiptTextId: 'hex',
      responseTimeoutMs: 5000,
      retryDelayMs: 200,
      maxAttempts: 20,
      ...options,
    };
    this.events.setMaxListeners(0);
  }

  /** Listens on 127.0.0.1 and resolves with the port. */
  async start(): Promise<number> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  /** Closes every session and the listener; pending waits reject at their deadline. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sessions.values()) s.socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Sessions currently bound, by role. */
  bound(): Record<BindRole, number> {
    const out: Record<BindRole, number> = { transmitter: 0, receiver: 0, transceiver: 0 };
    for (const s of this.sessions.values()) if (s.role) out[s.role] += 1;
    return out;
  }

  /**
   * Resolves once `check` holds, re-checked on every PDU read, acknowledgement and session change;
   * rejects after `timeoutMs` naming `what`.
   */
  waitFor(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onChange = () => {
        if (!check()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`independent SMSC: no ${what} within ${timeoutMs} ms (bound ${JSON.stringify(this.bound())}, ${this.submissions.length} submits, ${this.delivers.length} deliver_sm)`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.events.off('change', onChange);
      };
      this.events.on('change', onChange);
    });
  }

  /**
   * Sends an MO deliver_sm to a bound receiver (waiting for one to bind), again after an error or
   * silence; resolves with its record once answered with status 0.
   */
  deliverMo(mo: MoInput): Promise<DeliverRecord> {
    const pdu: PduOf<'deliver_sm'> = {
      ...deliverDefaults,
      command: 'deliver_sm',
      sourceAddrTon: /^\d+$/.test(mo.from) ? 1 : 5,
      sourceAddrNpi: /^\d+$/.test(mo.from) ? 1 : 0,
      sourceAddr: mo.from,
      destAddrTon: 1,
      destAddrNpi: 1,
      destinationAddr: mo.to,
      esmClass: mo.esmClass ?? 0,
      dataCoding: mo.dataCoding,
      shortMessage: mo.shortMessage,
      tlvs: mo.tlvs ?? [],
    };
    return this.deliver({ kind: 'mo', pdu, attempts: [], acknowledged: false });
  }

  /**
   * A long GSM text as concatenated MO parts: 8-bit reference UDH (IEI 0x00), data_coding 0 with one
   * septet per octet, at most 153 septets per part and an escape pair never split. All parts go out
   * at once, as an SMSC with a window does; resolves when every part is acknowledged.
   */
  deliverConcatenatedGsm(from: string, to: string, text: string, reference: number): Promise<DeliverRecord[]> {
    const parts: number[][] = [[]];
    for (const ch of text) {
      const septets = gsmSeptets(ch);
      const last = parts[parts.length - 1] as number[];
      if (last.length + septets.length > 153) parts.push([...septets]);
      else last.push(...septets);
    }
    if (parts.length > 255) throw new Error(`${parts.length} parts: at most 255`);
    return Promise.all(
      parts.map((septets, i) =>
        this.deliverMo({
          from,
          to,
          dataCoding: 0,
          esmClass: EsmClass.UDHI,
          shortMessage: Buffer.from([0x05, 0x00, 0x03, reference & 0xff, parts.length, i + 1, ...septets]),
        }),
      ),
    );
  }

  private accept(socket: Socket): void {
    const session: Session = { id: this.nextSessionId++, socket, framer: new PduFramer(), nextSequence: 1, pending: new Map() };
    this.sessions.set(session.id, session);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = session.framer.push(chunk);
      } catch (err) {
        this.violations.push(`session ${session.id}: ${(err as Error).message}; connection closed`);
        socket.destroy();
        return;
      }
      for (const frame of frames) this.read(session, frame);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.sessions.delete(session.id);
      for (const answer of session.pending.values()) answer(undefined);
      session.pending.clear();
      this.changed();
    });
    this.changed();
  }

  private read(session: Session, frame: Buffer): void {
    let decoded: { pdu: Pdu; violations: string[] };
    try {
      decoded = decodePdu(frame);
    } catch (err) {
      const e = err as PduDecodeError;
      this.violations.push(`session ${session.id}: unreadable PDU (${e.message}): ${frame.toString('hex')}`);
      const sequenceNumber = frame.readUInt32BE(12);
      this.send(session, { command: 'generic_nack', commandStatus: e.status ?? Status.ESME_RINVCMDLEN, sequenceNumber });
      return;
    }
    const { pdu } = decoded;
    for (const v of decoded.violations) this.violations.push(`${pdu.command}: ${v}`);
    this.received.push({ sessionId: session.id, pdu });
    this.handle(session, pdu);
    this.changed();
  }

  private handle(session: Session, pdu: Pdu): void {
    const answer = (response: Pdu) => this.send(session, response);
    const base = { sequenceNumber: pdu.sequenceNumber };
    switch (pdu.command) {
      case 'bind_transmitter':
      case 'bind_receiver':
      case 'bind_transceiver': {
        const role = pdu.command.slice('bind_'.length) as BindRole;
        const status =
          session.role !== undefined
            ? Status.ESME_RALYBND
            : pdu.systemId !== this.options.systemId
              ? Status.ESME_RINVSYSID
              : pdu.password !== this.options.password
                ? Status.ESME_RINVPASWD
                : Status.ESME_ROK;
        if (pdu.interfaceVersion !== 0x34) this.violations.push(`${pdu.command}: interface_version 0x${pdu.interfaceVersion.toString(16)}, expected 0x34`);
        this.binds.push({ sessionId: session.id, role, systemId: pdu.systemId, status });
        // sc_interface_version tells the ESME that this SMSC speaks 3.4 (§5.3.2.25).
        const tlvs = status === Status.ESME_ROK ? [{ tag: TlvTag.sc_interface_version, value: Buffer.from([0x34]) }] : [];
        answer({ ...base, command: `${pdu.command}_resp`, commandStatus: status, systemId: SYSTEM_ID, tlvs });
        if (status === Status.ESME_ROK) {
          session.role = role;
          if (role !== 'transmitter') this.flushOutbox();
        }
        return;
      }
      case 'submit_sm': {
        if (session.role !== 'transmitter' && session.role !== 'transceiver') {
          answer({ ...base, command: 'submit_sm_resp', commandStatus: Status.ESME_RINVBNDSTS, messageId: '' });
          return;
        }
        const messageId = (this.nextMessageId++).toString(16).toUpperCase().padStart(10, '0');
        const submission: Submission = { sessionId: session.id, messageId, pdu, receivedAt: new Date() };
        this.submissions.push(submission);
        answer({ ...base, command: 'submit_sm_resp', commandStatus: Status.ESME_ROK, messageId });
        // registered_delivery bits 0-1 = 01: a receipt on success or failure (§5.2.17).
        if ((pdu.registeredDelivery & 0x03) === 0x01) void this.deliver(this.receiptFor(submission)).catch(() => undefined);
        return;
      }
      case 'enquire_link':
        answer({ ...base, command: 'enquire_link_resp', commandStatus: Status.ESME_ROK });
        return;
      case 'unbind':
        answer({ ...base, command: 'unbind_resp', commandStatus: Status.ESME_ROK });
        session.role = undefined;
        session.socket.end();
        return;
      case 'deliver_sm_resp':
      case 'enquire_link_resp':
      case 'generic_nack': {
        const waiting = session.pending.get(pdu.sequenceNumber);
        if (waiting === undefined) {
          this.violations.push(`${pdu.command}: sequence_number ${pdu.sequenceNumber} answers nothing we sent`);
          return;
        }
        session.pending.delete(pdu.sequenceNumber);
        waiting(pdu);
        return;
      }
      case 'unbind_resp':
        return;
      case 'unknown':
        this.violations.push(`command_id 0x${pdu.commandId.toString(16).padStart(8, '0')} is not one this SMSC serves`);
        answer({ ...base, command: 'generic_nack', commandStatus: Status.ESME_RINVCMDID });
        return;
      default:
        // An SMSC-only PDU (deliver_sm, a bind response…) sent by the ESME.
        this.violations.push(`${pdu.command} sent by the ESME`);
        answer({ ...base, command: 'generic_nack', commandStatus: Status.ESME_RINVCMDID });
    }
  }

  /** The Appendix B receipt of a submission, with receipted_message_id and message_state. */
  private receiptFor(s: Submission): DeliverRecord {
    const stat = this.options.receiptStat(s);
    const done = new Date();
    const textId = this.options.receiptTextId === 'decimal' ? BigInt(`0x${s.messageId}`).toString(10) : s.messageId;
    const original = s.pdu.dataCoding === 0 ? gsmText(s.pdu.shortMessage) : s.pdu.shortMessage.toString('latin1');
    // "text:" echoes the first 20 characters of the message; keep it ASCII, as SMSCs do.
    const echo = original.slice(0, 20).replace(/[^\x20-\x7e]/g, '.');
    const delivered = stat === 'DELIVRD' ? '001' : '000';
    const text = `id:${textId} sub:001 dlvrd:${delivered} submit date:${smppDate(s.receivedAt)} done date:${smppDate(done)} stat:${stat} err:000 text:${echo}`;
    const pdu: PduOf<'deliver_sm'> = {
      ...deliverDefaults,
      command: 'deliver_sm',
      // A receipt comes from the recipient and goes to the original sender.
      sourceAddrTon: s.pdu.destAddrTon,
      sourceAddrNpi: s.pdu.destAddrNpi,
      sourceAddr: s.pdu.destinationAddr,
      destAddrTon: s.pdu.sourceAddrTon,
      destAddrNpi: s.pdu.sourceAddrNpi,
      destinationAddr: s.pdu.sourceAddr,
      esmClass: EsmClass.SMSC_DELIVERY_RECEIPT,
      dataCoding: 0,
      shortMessage: Buffer.from(text, 'latin1'),
      tlvs: [
        // §5.3.2.12: a C-Octet String, so its NUL travels inside the TLV's length.
        { tag: TlvTag.receipted_message_id, value: Buffer.from(`${s.messageId}\0`, 'latin1') },
        { tag: TlvTag.message_state, value: Buffer.from([MessageState[stat]]) },
      ],
    };
    return { kind: 'receipt', pdu, smscMessageId: s.messageId, attempts: [], acknowledged: false };
  }

  /** Sends until answered with status 0, over any receiver; gives up after maxAttempts. */
  private deliver(record: DeliverRecord): Promise<DeliverRecord> {
    this.delivers.push(record);
    return new Promise((resolve, reject) => {
      const attempt = () => {
        if (this.stopped) return reject(new Error('independent SMSC stopped'));
        const session = this.receiver();
        if (session === undefined) {
          this.outbox.push(attempt);
          return;
        }
        const sequenceNumber = this.sequence(session);
        const a: DeliverAttempt = { sessionId: session.id, sequenceNumber, outcome: 'pending' };
        record.attempts.push(a);
        const timer = this.timer(() => {
          session.pending.delete(sequenceNumber);
          a.outcome = 'timeout';
          retry();
        }, this.options.responseTimeoutMs);
        session.pending.set(sequenceNumber, (response) => {
          clearTimeout(timer);
          this.timers.delete(timer);
          if (response === undefined) {
            a.outcome = 'closed';
            return retry();
          }
          a.status = response.commandStatus;
          a.outcome = response.command === 'generic_nack' ? 'nacked' : 'answered';
          if (response.command === 'deliver_sm_resp') a.responseMessageId = response.messageId;
          if (response.command === 'deliver_sm_resp' && response.commandStatus === Status.ESME_ROK) {
            record.acknowledged = true;
            this.changed();
            return resolve(record);
          }
          retry();
        });
        this.send(session, { ...record.pdu, sequenceNumber });
      };
      const retry = () => {
        if (record.attempts.length >= this.options.maxAttempts) return reject(new Error(`deliver_sm not acknowledged after ${record.attempts.length} attempts`));
        this.timer(attempt, this.options.retryDelayMs);
      };
      attempt();
    });
  }

  /** The next bound receiver or transceiver, round robin. */
  private receiver(): Session | undefined {
    const receivers = [...this.sessions.values()].filter((s) => s.role === 'receiver' || s.role === 'transceiver');
    if (receivers.length === 0) return undefined;
    return receivers[this.nextReceiver++ % receivers.length];
  }

  private flushOutbox(): void {
    for (const attempt of this.outbox.splice(0)) attempt();
  }

  /** Sequence numbers run 1 … 0x7FFFFFFF and wrap to 1 (§5.1.4: 0 is not used). */
  private sequence(session: Session): number {
    const n = session.nextSequence;
    session.nextSequence = n >= 0x7fffffff ? 1 : n + 1;
    return n;
  }

  private send(session: Session, pdu: Pdu): void {
    if (!session.socket.destroyed) session.socket.write(encodePdu(pdu));
  }

  private timer(fn: () => void, ms: number): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  private changed(): void {
    this.events.emit('change');
  }
}

/** deliver_sm fields an SMSC leaves NULL or 0 (§4.6.1: schedule, validity and replace are not used). */
const deliverDefaults = {
  commandStatus: Status.ESME_ROK,
  sequenceNumber: 1,
  serviceType: '',
  protocolId: 0,
  priorityFlag: 0,
  scheduleDeliveryTime: '',
  validityPeriod: '',
  registeredDelivery: 0,
  replaceIfPresentFlag: 0,
  smDefaultMsgId: 0,
} as const;

/** Appendix B date: YYMMDDhhmm, UTC. */
function smppDate(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCFullYear() % 100)}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}`;
}
