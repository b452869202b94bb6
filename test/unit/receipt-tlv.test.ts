import { describe, expect, it } from 'vitest';
import { decodePdu, makePdu } from '../../service/src/smpp/codec.js';
import { parseReceipt } from '../../service/src/smpp/receipt.js';
import { deliverFields } from '../../service/src/smpp/session.js';

const RECEIVED_AT = '2023-11-26T12:01:02.000Z';

const cstr = (s: string): Buffer => Buffer.from(`${s}\0`, 'latin1');
const u8 = (n: number): Buffer => Buffer.from([n]);
const tlv = (tag: number, value: Buffer): Buffer => {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(tag, 0);
  head.writeUInt16BE(value.length, 2);
  return Buffer.concat([head, value]);
};

/**
 * A deliver_sm receipt written octet by octet (SMPP 3.4 §4.6.1), so the codec's own encoder
 * cannot hide how it reads what an SMSC really sends.
 */
function deliverSmBytes(text: string, tlvs: Buffer[]): Buffer {
  const shortMessage = Buffer.from(text, 'latin1');
  const body = Buffer.concat([
    cstr(''), // service_type
    u8(1), u8(1), cstr('6591234567'), // source_addr_ton, _npi, source_addr
    u8(5), u8(0), cstr('8x8'), // dest_addr_ton, _npi, destination_addr
    u8(0x04), u8(0), u8(0), // esm_class (SMSC delivery receipt), protocol_id, priority_flag
    cstr(''), cstr(''), // schedule_delivery_time, validity_period
    u8(0), u8(0), u8(0), u8(0), // registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id
    u8(shortMessage.length), shortMessage,
    ...tlvs,
  ]);
  const header = Buffer.alloc(16);
  header.writeUInt32BE(16 + body.length, 0);
  header.writeUInt32BE(0x00000005, 4); // deliver_sm
  header.writeUInt32BE(0, 8);
  header.writeUInt32BE(7, 12);
  return Buffer.concat([header, body]);
}

const RECEIPTED_MESSAGE_ID = 0x001e;
const MESSAGE_STATE = 0x0427;
const NETWORK_ERROR_CODE = 0x0423;
const TEXT = 'id:0A1B2C3D sub:001 dlvrd:001 submit date:2311261200 done date:2311261201 stat:DELIVRD err:000';

describe('deliver_sm TLVs through our codec wrapper', () => {
  it('reads a receipted_message_id sent without its NUL terminator up to its declared length only', () => {
    // Prepare: the id's 8 octets are followed at once by the message_state TLV (04 27 00 01 02).
    const bytes = deliverSmBytes(TEXT, [
      tlv(RECEIPTED_MESSAGE_ID, Buffer.from('0A1B2C3D', 'latin1')),
      tlv(MESSAGE_STATE, u8(2)),
      tlv(NETWORK_ERROR_CODE, Buffer.from([0x03, 0x00, 0x1b])),
    ]);
    // Act
    const pdu = decodePdu(bytes);
    const receipt = pdu && parseReceipt(deliverFields(pdu), RECEIVED_AT);
    // Assess
    expect(pdu?.['receipted_message_id']).toBe('0A1B2C3D');
    expect(pdu?.['message_state']).toBe(2);
    expect(receipt).toEqual({
      smscMessageId: '0A1B2C3D',
      status: 'DELIVERED',
      stat: 'DELIVRD',
      err: '000',
      networkError: '3:27',
      submitDate: '2023-11-26T12:00:00',
      doneDate: '2023-11-26T12:01:00',
      receivedAt: RECEIVED_AT,
    });
  });

  it('reads a receipted_message_id that is the last TLV and has no terminator', () => {
    const bytes = deliverSmBytes(TEXT, [tlv(MESSAGE_STATE, u8(2)), tlv(RECEIPTED_MESSAGE_ID, Buffer.from('0A1B2C3D', 'latin1'))]);
    expect(decodePdu(bytes)?.['receipted_message_id']).toBe('0A1B2C3D');
  });

  it('cuts a C-octet-string TLV at its terminator and at the first control character', () => {
    // Prepare: a terminator inside the declared length, then junk; and control octets inside the value.
    const terminated = deliverSmBytes(TEXT, [tlv(RECEIPTED_MESSAGE_ID, Buffer.from('0A1B2C3D\0junk', 'latin1'))]);
    const controlled = deliverSmBytes(TEXT, [tlv(RECEIPTED_MESSAGE_ID, Buffer.from('0A1B2C3D\r\n\x01', 'latin1'))]);
    // Act / Assess
    expect(decodePdu(terminated)?.['receipted_message_id']).toBe('0A1B2C3D');
    expect(decodePdu(controlled)?.['receipted_message_id']).toBe('0A1B2C3D');
  });

  it('still writes the TLV with its terminator, as SMPP 3.4 asks', () => {
    // Act
    const bytes = makePdu('deliver_sm', { receipted_message_id: 'ab12' }).toBuffer();
    // Assess: tag 001E, length 5, "ab12" NUL, and it reads back.
    expect(bytes.subarray(-9).toString('hex')).toBe('001e00056162313200');
    expect(decodePdu(bytes)?.['receipted_message_id']).toBe('ab12');
  });

  it('keeps both ids when the TLV and the text disagree: the TLV one first, the text one as the alternative', () => {
    // Prepare: 99999 is neither 0x0A1B2C3D in decimal nor the same digits.
    const bytes = deliverSmBytes(TEXT.replace('id:0A1B2C3D', 'id:99999'), [
      tlv(RECEIPTED_MESSAGE_ID, Buffer.from('0A1B2C3D', 'latin1')),
      tlv(MESSAGE_STATE, u8(2)),
    ]);
    // Act
    const pdu = decodePdu(bytes);
    const receipt = pdu && parseReceipt(deliverFields(pdu), RECEIVED_AT);
    // Assess
    expect(receipt).toMatchObject({ smscMessageId: '0A1B2C3D', alternativeMessageId: '99999', status: 'DELIVERED' });
  });
});
