import { describe, expect, it } from 'vitest';
import { toSmppAddress } from '../../service/src/smpp/address.js';
import { decodePdu, makePdu } from '../../service/src/smpp/codec.js';
import { Status } from '../../service/src/smpp/command-status.js';
import { segmentText, type ConcatMode } from '../../service/src/smpp/segment.js';
import { submitSmFields, type OutboundPart } from '../../service/src/smpp/submit.js';
import type { JobEncoding } from '../../service/src/domain.js';
import * as golden from './fixtures/golden-pdus.js';

/** The fields SmppSession.open sends in a bind request (session.ts), with the simulator account's credentials. */
const bindFields = { system_id: 'test', password: 'secret', system_type: '', interface_version: 0x34 };

/** One part of a job as the outbound pipeline builds it: segmentText → toSmppAddress → submitSmFields. */
function submitFields(
  job: { to: string; from: string; text: string; encoding?: JobEncoding; receipt?: boolean; validityPeriodSeconds?: number; scheduleAt?: string },
  opts: { concat?: ConcatMode; reference?: number; part?: number } = {},
): Record<string, unknown> {
  const { segments } = segmentText(job.text, { encoding: job.encoding ?? 'auto', concat: opts.concat ?? 'udh8', reference: opts.reference ?? 0 });
  const segment = segments[(opts.part ?? 1) - 1];
  if (!segment) throw new Error(`no part ${opts.part}`);
  const part: OutboundPart = {
    source: toSmppAddress(job.from),
    destination: toSmppAddress(job.to),
    segment,
    receipt: job.receipt ?? true,
    ...(job.validityPeriodSeconds !== undefined && { validityPeriodSeconds: job.validityPeriodSeconds }),
    ...(job.scheduleAt !== undefined && { scheduleAt: new Date(job.scheduleAt) }),
  };
  return submitSmFields(part);
}

const wire = (command: string, fields: Record<string, unknown>, sequence: number): string =>
  makePdu(command, { ...fields, sequence_number: sequence }).toBuffer().toString('hex');

describe('golden PDUs: what our code puts on the wire matches the hand-written SMPP 3.4 bytes', () => {
  it('bind_transmitter as system_id test / password secret, interface version 3.4', () => {
    expect(wire('bind_transmitter', bindFields, 1)).toBe(golden.BIND_TRANSMITTER);
  });

  it('bind_receiver with the same credentials', () => {
    expect(wire('bind_receiver', bindFields, 2)).toBe(golden.BIND_RECEIVER);
  });

  it('submit_sm for a single GSM7 part from 8x8 to +6591234567 asking for a receipt', () => {
    const fields = submitFields({ to: '+6591234567', from: '8x8', text: 'Hi @8x8 €5' });

    expect(wire('submit_sm', fields, 3)).toBe(golden.SUBMIT_SM_GSM7_SINGLE);
  });

  it('submit_sm with a relative validity period and an absolute UTC schedule', () => {
    const fields = submitFields({ to: '+6591234567', from: '8x8', text: 'Hello', validityPeriodSeconds: 86_400, scheduleAt: '2030-01-01T10:00:00+08:00' });

    expect(wire('submit_sm', fields, 4)).toBe(golden.SUBMIT_SM_VALIDITY_AND_SCHEDULE);
  });

  it('submit_sm for a UCS-2 part from a short code', () => {
    const fields = submitFields({ to: '+6591234567', from: '12345', text: 'Привет' });

    expect(wire('submit_sm', fields, 5)).toBe(golden.SUBMIT_SM_UCS2);
  });

  it('submit_sm for part 2 of 3 with an 8-bit reference UDH', () => {
    const fields = submitFields({ to: '+6591234567', from: '8x8', text: 'x'.repeat(400) }, { concat: 'udh8', reference: 0x2a, part: 2 });

    expect(wire('submit_sm', fields, 6)).toBe(golden.SUBMIT_SM_UDH8_PART_2_OF_3);
  });

  it('submit_sm for part 2 of 2 with SAR TLVs', () => {
    const fields = submitFields({ to: '+6591234567', from: '8x8', text: 'y'.repeat(200) }, { concat: 'sar', reference: 0x1234, part: 2 });

    expect(wire('submit_sm', fields, 7)).toBe(golden.SUBMIT_SM_SAR_PART_2_OF_2);
  });

  it('enquire_link, and our answer to the SMSC’s', () => {
    const theirs = decodePdu(Buffer.from(golden.hex('00000010 00000015 00000000 00000100'), 'hex'));

    expect(wire('enquire_link', {}, 9)).toBe(golden.ENQUIRE_LINK);
    expect(theirs?.response().toBuffer().toString('hex')).toBe(golden.ENQUIRE_LINK_RESP);
  });

  it('unbind', () => {
    expect(wire('unbind', {}, 10)).toBe(golden.UNBIND);
  });

  it('deliver_sm_resp OK once a receipt is stored, and ESME_RX_T_APPN when it is not', () => {
    // Prepare: the SMSC's deliver_sm, as the session answers it (pdu.response({ command_status })).
    const deliver = (sequence: number) => decodePdu(makePdu('deliver_sm', { sequence_number: sequence, esm_class: 0x04 }).toBuffer());
    // Act
    const ok = deliver(0x2a)?.response({ command_status: Status.ESME_ROK }).toBuffer().toString('hex');
    const retry = deliver(0x2b)?.response({ command_status: Status.ESME_RX_T_APPN }).toBuffer().toString('hex');
    // Assess
    expect(ok).toBe(golden.DELIVER_SM_RESP_OK);
    expect(retry).toBe(golden.DELIVER_SM_RESP_TEMPORARY_ERROR);
  });

  it('generic_nack with ESME_RINVCMDID for a command id we do not know', () => {
    const unknown = decodePdu(Buffer.from(golden.UNKNOWN_COMMAND_REQUEST, 'hex'));
    if (!unknown) throw new Error('not decoded');

    const ours = wire('generic_nack', { command_status: Status.ESME_RINVCMDID }, unknown.sequence_number);
    const packages = unknown.response({ command_status: Status.ESME_RINVCMDID }).toBuffer().toString('hex');

    expect(unknown.command).toBe('unknown');
    expect(ours).toBe(golden.GENERIC_NACK_INVALID_COMMAND);
    expect(packages).toBe(golden.GENERIC_NACK_INVALID_COMMAND);
  });
});

describe('golden PDUs: the codec reads the hand-written bytes back as the fields we meant', () => {
  const read = (hex: string) => {
    const pdu = decodePdu(Buffer.from(hex, 'hex'));
    if (!pdu) throw new Error('not a whole PDU');
    return pdu;
  };

  it('reads the bind with its credentials and version', () => {
    expect(read(golden.BIND_TRANSMITTER)).toMatchObject({ command: 'bind_transmitter', system_id: 'test', password: 'secret', interface_version: 0x34, sequence_number: 1 });
  });

  it('reads the GSM7 submit_sm with its addresses and raw body', () => {
    const pdu = read(golden.SUBMIT_SM_GSM7_SINGLE);

    expect(pdu).toMatchObject({ command: 'submit_sm', source_addr_ton: 5, source_addr: '8x8', dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: '6591234567', registered_delivery: 1, data_coding: 0 });
    expect((pdu['short_message'] as Buffer).toString('hex')).toBe('48692000387838201b6535');
  });

  it('reads the UDH part with its header and esm_class', () => {
    const pdu = read(golden.SUBMIT_SM_UDH8_PART_2_OF_3);

    expect(pdu['esm_class']).toBe(0x40);
    expect((pdu['short_message'] as Buffer).subarray(0, 6).toString('hex')).toBe('0500032a0302');
  });

  it('reads the SAR TLVs', () => {
    expect(read(golden.SUBMIT_SM_SAR_PART_2_OF_2)).toMatchObject({ sar_msg_ref_num: 0x1234, sar_total_segments: 2, sar_segment_seqnum: 2 });
  });

  it('declares in every fixture the length it really has', () => {
    for (const [name, hex] of Object.entries(golden)) {
      if (typeof hex !== 'string') continue;
      expect(Buffer.from(hex, 'hex').readUInt32BE(0), name).toBe(hex.length / 2);
    }
  });
});
