import type { Readable } from 'node:stream';
import { smpp } from './codec.js';

/** SMPP 3.4 header: command_length, command_id, command_status, sequence_number. */
export const HEADER_LENGTH = 16;

/** The command ids the session must recognise before the codec has read a body. */
export const CommandId = {
  DELIVER_SM: 0x00000005,
  DATA_SM: 0x00000103,
} as const;

/** The header of a frame, readable even when its body is not. */
export interface FrameHeader {
  commandId: number;
  sequenceNumber: number;
  isResponse: boolean;
}

/** Reads the header of a whole frame (at least HEADER_LENGTH octets; FrameReader guarantees it). */
export function frameHeader(frame: Buffer): FrameHeader {
  const commandId = frame.readUInt32BE(4);
  return { commandId, sequenceNumber: frame.readUInt32BE(12), isResponse: (commandId & 0x80000000) !== 0 };
}

/**
 * Cuts command_length-prefixed frames out of a paused-mode stream (call `drain()` on every
 * 'readable'). It stands in for the `smpp` package's reader, which decodes as it reads: a body its
 * codec cannot decode makes it emit 'error' and never read again, so one bad deliver_sm costs the
 * link, and its redelivery the next link, for ever. Framing needs only the length; each frame is
 * then decoded on its own and a bad one can be answered. A length no PDU can have (below the
 * header, above the codec's limit) or a stream that ends mid-frame leaves nothing to resynchronise
 * on: `onBroken` is called once and reading stops.
 */
export class FrameReader {
  private pending: number | undefined;
  private stopped = false;

  constructor(
    private readonly stream: Readable,
    private readonly onFrame: (frame: Buffer) => void,
    private readonly onBroken: (reason: string) => void,
  ) {}

  drain(): void {
    while (!this.stopped) {
      if (this.pending === undefined) {
        const head = this.stream.read(4) as Buffer | null;
        if (head === null) return;
        if (head.length < 4) return this.broken('stream ended inside a command_length');
        const length = head.readUInt32BE(0);
        if (length < HEADER_LENGTH || length > smpp.PDU.maxLength) return this.broken(`command_length ${length} is not a PDU's`);
        this.pending = length;
      }
      const rest = this.stream.read(this.pending - 4) as Buffer | null;
      if (rest === null) return;
      if (rest.length < this.pending - 4) return this.broken('stream ended inside a PDU');
      const frame = Buffer.allocUnsafe(this.pending);
      frame.writeUInt32BE(this.pending, 0);
      rest.copy(frame, 4);
      this.pending = undefined;
      this.onFrame(frame);
    }
  }

  /** Reads nothing more (the link is closing). */
  stop(): void {
    this.stopped = true;
  }

  private broken(reason: string): void {
    this.stop();
    this.onBroken(reason);
  }
}

/** Mandatory fields in wire order: 'c' a C-octet string, 1 one octet, 'sm' sm_length and short_message. */
type Field = 'c' | 1 | 'sm';
// A Map, not an object: looking a response's command_id (0x80000000 and up) up in an object with two
// small integer keys is an out-of-bounds element load, and it deoptimised this function over and over.
const LAYOUTS: ReadonlyMap<number, readonly Field[]> = new Map([
  [CommandId.DELIVER_SM, ['c', 1, 1, 'c', 1, 1, 'c', 1, 1, 1, 'c', 'c', 1, 1, 1, 1, 'sm']],
  [CommandId.DATA_SM, ['c', 1, 1, 'c', 1, 1, 'c', 1, 1, 1]],
]);

/**
 * Why a deliver_sm / data_sm frame is inconsistent, or undefined when it is not: a C-octet string
 * with no terminator, an sm_length or a TLV length that runs past command_length. The codec does
 * not check these: it cuts short_message or a TLV value at the end of the PDU and hands on a
 * truncated message as if it were whole (or throws, for a number read past the end). A body that
 * simply ends early, or a few trailing octets too short for a TLV, are left to the codec, which
 * tolerates both. Other commands: undefined.
 */
export function lengthOverrun(frame: Buffer): string | undefined {
  const layout = LAYOUTS.get(frame.readUInt32BE(4));
  if (!layout) return undefined;
  const end = frame.length;
  let at = HEADER_LENGTH;
  for (const field of layout) {
    if (at >= end) return undefined;
    if (field === 'c') {
      const nul = frame.indexOf(0, at);
      if (nul < 0) return `a C-octet string at offset ${at} has no terminator`;
      at = nul + 1;
    } else if (field === 'sm') {
      const length = frame[at] ?? 0;
      if (at + 1 + length > end) return `sm_length ${length} at offset ${at} runs past the end of the PDU (${end})`;
      at += 1 + length;
    } else {
      at += 1;
    }
  }
  while (at + 4 <= end) {
    const tag = frame.readUInt16BE(at);
    const length = frame.readUInt16BE(at + 2);
    at += 4;
    if (at + length > end) return `TLV 0x${tag.toString(16).padStart(4, '0')} length ${length} runs past the end of the PDU (${end})`;
    at += length;
  }
  return undefined;
}
