import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { decodePdu, makePdu } from '../../service/src/smpp/codec.js';
import { FrameReader, frameHeader, lengthOverrun } from '../../service/src/smpp/frame.js';

/** A receipt-like deliver_sm; `tlvs` are appended raw after the mandatory fields. */
function deliverSm(tlvs: Buffer = Buffer.alloc(0), sequence = 7): Buffer {
  const body = makePdu('deliver_sm', {
    sequence_number: sequence,
    source_addr: '6591234567',
    destination_addr: '8x8',
    esm_class: 0x04,
    short_message: Buffer.from('id:1 stat:DELIVRD'),
  }).toBuffer();
  const frame = Buffer.concat([body, tlvs]);
  frame.writeUInt32BE(frame.length, 0);
  return frame;
}

const tlv = (tag: number, declared: number, value: Buffer): Buffer => {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(tag, 0);
  head.writeUInt16BE(declared, 2);
  return Buffer.concat([head, value]);
};

/** Offset of sm_length in deliverSm()'s frame: the octet before short_message (17 octets long). */
const smLengthAt = (frame: Buffer, tlvLength = 0) => frame.length - tlvLength - 18;

describe('lengthOverrun', () => {
  it('passes a well-formed deliver_sm, with or without TLVs', () => {
    expect(lengthOverrun(deliverSm())).toBeUndefined();
    expect(lengthOverrun(deliverSm(tlv(0x0427, 1, Buffer.from([2]))))).toBeUndefined();
  });

  it('finds an sm_length that runs past the end of the PDU, which the codec silently cuts short', () => {
    const frame = deliverSm();
    frame[smLengthAt(frame)] = 200;

    expect(lengthOverrun(frame)).toMatch(/sm_length 200 .* runs past the end/);
    // What the codec alone makes of it: a shortened message, as if it were whole.
    expect((decodePdu(frame)?.['short_message'] as Buffer).toString()).toBe('id:1 stat:DELIVRD');
  });

  it('finds a TLV whose length runs past the end of the PDU', () => {
    expect(lengthOverrun(deliverSm(tlv(0x001e, 40, Buffer.from('ABC\0'))))).toMatch(/TLV 0x001e length 40 runs past the end/);
  });

  it('finds a C-octet string with no terminator', () => {
    const frame = makePdu('deliver_sm', { sequence_number: 1 }).toBuffer().subarray(0, 16);
    const body = Buffer.concat([frame, Buffer.from('smpp')]);
    body.writeUInt32BE(body.length, 0);

    expect(lengthOverrun(body)).toMatch(/no terminator/);
  });

  it('leaves to the codec a body that ends early or trailing octets too short for a TLV', () => {
    const header = makePdu('deliver_sm', { sequence_number: 1 }).toBuffer().subarray(0, 16);
    const early = Buffer.concat([header, Buffer.from([0, 1, 1])]);
    early.writeUInt32BE(early.length, 0);
    const trailing = Buffer.concat([deliverSm(), Buffer.from([0, 0])]);
    trailing.writeUInt32BE(trailing.length, 0);

    expect(lengthOverrun(early)).toBeUndefined();
    expect(lengthOverrun(trailing)).toBeUndefined();
  });

  it('checks data_sm too, and no other command', () => {
    const dataSm = makePdu('data_sm', { sequence_number: 3, source_addr: '1', destination_addr: '2' }).toBuffer();
    const over = Buffer.concat([dataSm, tlv(0x0424, 500, Buffer.from('x'))]);
    over.writeUInt32BE(over.length, 0);
    const submitResp = makePdu('submit_sm_resp', { sequence_number: 3, message_id: 'ABC' }).toBuffer();

    expect(lengthOverrun(over)).toMatch(/TLV 0x0424/);
    expect(lengthOverrun(submitResp)).toBeUndefined();
  });
});

describe('frameHeader', () => {
  it('reads command_id and sequence_number whatever the body holds', () => {
    expect(frameHeader(deliverSm(Buffer.alloc(0), 0x1234))).toEqual({ commandId: 0x05, sequenceNumber: 0x1234, isResponse: false });
  });
});

describe('FrameReader', () => {
  function reader() {
    const stream = new PassThrough();
    const frames: Buffer[] = [];
    const broken: string[] = [];
    const r = new FrameReader(stream, (f) => frames.push(f), (reason) => broken.push(reason));
    stream.on('readable', () => r.drain());
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    return { stream, frames, broken, settle };
  }

  it('cuts whole frames out of arbitrary chunks', async () => {
    const { stream, frames, settle } = reader();
    const a = deliverSm(Buffer.alloc(0), 1);
    const b = deliverSm(Buffer.alloc(0), 2);
    const all = Buffer.concat([a, b]);

    stream.write(all.subarray(0, 3));
    stream.write(all.subarray(3, a.length + 5));
    stream.write(all.subarray(a.length + 5));
    await settle();

    expect(frames).toEqual([a, b]);
  });

  it('hands on a frame the codec cannot decode: framing needs only its length', async () => {
    const { stream, frames, broken, settle } = reader();
    const undecodable = deliverSm(tlv(0x020c, 2, Buffer.from([1])));
    const next = deliverSm(Buffer.alloc(0), 9);

    stream.write(Buffer.concat([undecodable, next]));
    await settle();

    expect(() => decodePdu(undecodable)).toThrow();
    expect(frames.map((f) => frameHeader(f).sequenceNumber)).toEqual([7, 9]);
    expect(broken).toEqual([]);
  });

  it.each([
    ['below the header', 5],
    ['above the codec limit', 16_385],
  ])('gives up on a command_length %s: nothing to resynchronise on', async (_what, length) => {
    const { stream, frames, broken, settle } = reader();
    const bad = Buffer.alloc(16);
    bad.writeUInt32BE(length, 0);

    stream.write(Buffer.concat([bad, deliverSm()]));
    await settle();

    expect(frames).toEqual([]);
    expect(broken).toEqual([`command_length ${length} is not a PDU's`]);
  });

  it('gives up on a stream that ends inside a PDU', async () => {
    const { stream, broken, settle } = reader();

    stream.end(deliverSm().subarray(0, 20));
    await settle();

    expect(broken).toEqual(['stream ended inside a PDU']);
  });
});
