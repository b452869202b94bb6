/**
 * The test SMSC's own codec (test/support/independent-smsc.ts) against octets written by hand from
 * the SMPP 3.4 specification, so the end-to-end test that relies on it rests on the spec, not on
 * the codec agreeing with itself.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  decodePdu,
  encodePdu,
  gsmSeptets,
  gsmText,
  PduDecodeError,
  PduFramer,
  TlvTag,
  tlvValue,
  ucs2,
  ucs2Text,
  type PduOf,
} from '../support/independent-smsc.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('independent SMSC', () => {
  it('imports nothing but Node built-ins: no `smpp` package, nothing of the service', () => {
    const source = readFileSync(fileURLToPath(new URL('../support/independent-smsc.ts', import.meta.url)), 'utf8');
    const specifiers = [...source.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+['"]([^'"]+)['"]/gm), ...source.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);

    expect(specifiers.length).toBeGreaterThan(0);
    expect(specifiers.filter((s) => !s?.startsWith('node:'))).toEqual([]);
    expect(source).not.toMatch(/\brequire\s*\(/);
  });
});

describe('independent SMPP codec', () => {
  it('reads and writes a header-only PDU as 16 octets', () => {
    const bytes = hex('00000010 00000015 00000000 00000007');

    const { pdu, violations } = decodePdu(bytes);

    expect(pdu).toEqual({ command: 'enquire_link', commandStatus: 0, sequenceNumber: 7 });
    expect(violations).toEqual([]);
    expect(encodePdu(pdu)).toEqual(bytes);
  });

  it('reads a bind_transmitter with its C-Octet Strings and interface_version 0x34', () => {
    // system_id "test", password "secret", system_type "", 0x34, ton 0, npi 0, address_range "".
    const bytes = hex('00000021 00000002 00000000 00000001 7465737400 73656372657400 00 34 00 00 00');

    const { pdu, violations } = decodePdu(bytes);

    expect(pdu).toEqual({
      command: 'bind_transmitter',
      commandStatus: 0,
      sequenceNumber: 1,
      systemId: 'test',
      password: 'secret',
      systemType: '',
      interfaceVersion: 0x34,
      addrTon: 0,
      addrNpi: 0,
      addressRange: '',
    });
    expect(violations).toEqual([]);
    expect(encodePdu(pdu)).toEqual(bytes);
  });

  it('writes a receipt deliver_sm field by field, receipted_message_id with its NUL inside the TLV length', () => {
    const pdu: PduOf<'deliver_sm'> = {
      command: 'deliver_sm',
      commandStatus: 0,
      sequenceNumber: 2,
      serviceType: '',
      sourceAddrTon: 1,
      sourceAddrNpi: 1,
      sourceAddr: '6591',
      destAddrTon: 5,
      destAddrNpi: 0,
      destinationAddr: '8x8',
      esmClass: 0x04,
      protocolId: 0,
      priorityFlag: 0,
      scheduleDeliveryTime: '',
      validityPeriod: '',
      registeredDelivery: 0,
      replaceIfPresentFlag: 0,
      dataCoding: 0,
      smDefaultMsgId: 0,
      shortMessage: Buffer.from('id:AB'),
      tlvs: [
        { tag: TlvTag.receipted_message_id, value: Buffer.from('AB\0') },
        { tag: TlvTag.message_state, value: Buffer.from([2]) },
      ],
    };
    const body =
      '00' + // service_type
      '01 01 3635393100' + // source ton, npi, "6591"
      '05 00 38783800' + // dest ton, npi, "8x8"
      '04 00 00' + // esm_class, protocol_id, priority_flag
      '00 00' + // schedule_delivery_time, validity_period (NULL)
      '00 00 00 00' + // registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id
      '05 69643a4142' + // sm_length, "id:AB"
      '001e 0003 414200' + // receipted_message_id "AB\0"
      '0427 0001 02'; // message_state DELIVERED
    const expected = hex(`00000000 00000005 00000000 00000002 ${body}`);
    expected.writeUInt32BE(expected.length, 0);

    expect(encodePdu(pdu).toString('hex')).toBe(expected.toString('hex'));
    const decoded = decodePdu(expected);
    expect(decoded).toEqual({ pdu, violations: [] });
    expect(decoded.pdu.command === 'deliver_sm' && tlvValue(decoded.pdu.tlvs, TlvTag.receipted_message_id)).toEqual(Buffer.from('AB\0'));
  });

  it('reads a submit_sm_resp, and one without a body when the status is an error', () => {
    expect(decodePdu(hex('0000001b 80000004 00000000 00000003 41424344454600 00 00 00 00')).pdu).toMatchObject({ messageId: 'ABCDEF' });
    const nack = hex('00000010 80000004 00000058 00000003');
    expect(decodePdu(nack)).toEqual({ pdu: { command: 'submit_sm_resp', commandStatus: 0x58, sequenceNumber: 3, messageId: '' }, violations: [] });
    expect(encodePdu(decodePdu(nack).pdu)).toEqual(nack);
  });

  it('reports broken rules of a readable PDU: an over-long field, octets after a header-only body, sequence number 0', () => {
    const longId = Buffer.from('a'.repeat(16));
    const bind = Buffer.concat([hex('00000000 00000002 00000000 00000001'), longId, hex('00 00 00 34 00 00 00')]);
    bind.writeUInt32BE(bind.length, 0);

    expect(decodePdu(bind).violations).toEqual(['system_id: 17 octets with its NUL, at most 16']);
    expect(decodePdu(hex('00000011 00000015 00000000 00000000 00')).violations).toEqual([
      'sequence_number 0 outside 1…0x7FFFFFFF',
      'enquire_link: 1 octet(s) after the last field',
    ]);
  });

  it('refuses what it cannot read: a C-Octet String without NUL, a TLV past the end', () => {
    expect(() => decodePdu(hex('00000014 00000002 00000000 00000001 74657374'))).toThrow(PduDecodeError);
    expect(() => decodePdu(hex('00000017 80000009 00000000 00000001 5800 0210 0005 34'))).toThrow(/TLV 0x0210 value/);
  });

  it('splits a stream into PDUs whatever the chunking', () => {
    const stream = hex('00000010 00000015 00000000 00000001 00000010 00000006 00000000 00000002');
    const framer = new PduFramer();
    const frames = [...stream].flatMap((octet) => framer.push(Buffer.from([octet])));

    expect(frames.map((f) => decodePdu(f).pdu.command)).toEqual(['enquire_link', 'unbind']);
    expect(() => new PduFramer().push(hex('0000000f'))).toThrow(/command_length 15/);
  });

  it('writes GSM 03.38 as one septet per octet, the extension table behind 0x1B', () => {
    expect(gsmSeptets('@£$_€{A')).toEqual([0x00, 0x01, 0x02, 0x11, 0x1b, 0x65, 0x1b, 0x28, 0x41]);
    expect(gsmText(Buffer.from([0x00, 0x01, 0x1b, 0x65, 0x5b, 0x7e]))).toBe('@£€Äü');
    expect(() => gsmSeptets('ç')).toThrow(/U\+00E7/);
  });

  it('writes UCS-2 big-endian with a surrogate pair for a character beyond the BMP', () => {
    expect(ucs2('Я👋').toString('hex')).toBe('042fd83ddc4b');
    expect(ucs2Text(hex('042fd83ddc4b'))).toBe('Я👋');
  });
});
