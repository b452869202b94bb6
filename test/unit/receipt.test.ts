import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFinal } from '../../service/src/domain.js';
import { smscIdKeys } from '../../service/src/core/receipt-keys.js';
import { isReceipt, normalizeReceiptDate, parseReceipt } from '../../service/src/smpp/receipt.js';
import { receiptFields, receiptFixtures } from './fixtures/receipts.js';

const numRuns = Number(process.env['PROPERTY_RUNS'] ?? 300);
const RECEIVED_AT = '2023-11-26T12:01:02.000Z';
/** The SMPP 3.4 Appendix B final states, and the full words some SMSCs spell them with. */
const FINAL_WORDS = ['DELIVRD', 'DELIVERED', 'EXPIRED', 'DELETED', 'UNDELIV', 'UNDELIVERED', 'UNDELIVERABLE', 'REJECTD', 'REJECTED', 'UNKNOWN'];

describe('isReceipt', () => {
  it.each([
    ['an SMSC delivery receipt', 0x04],
    ['an SME delivery acknowledgement', 0x08],
    ['an intermediate notification', 0x20],
    ['a receipt with the UDH indicator set', 0x44],
  ])('recognises %s', (_name, esmClass) => {
    expect(isReceipt(receiptFields('', { esmClass }))).toBe(true);
  });

  it.each([
    ['a plain MO message', 0x00],
    ['an MO message with a UDH', 0x40],
    ['a user acknowledgement', 0x10],
  ])('does not take %s for a receipt', (_name, esmClass) => {
    expect(isReceipt(receiptFields('', { esmClass }))).toBe(false);
  });
});

describe('parseReceipt', () => {
  it.each(receiptFixtures)('reads the $name receipt', ({ fields, expected }) => {
    // Act
    const receipt = parseReceipt(fields, RECEIVED_AT);
    // Assess
    expect(receipt).toMatchObject({ ...expected, receivedAt: RECEIVED_AT });
  });

  it('fills every field of the classic receipt and nothing else', () => {
    // Prepare
    const fields = receiptFields(
      'id:1234567890 sub:001 dlvrd:001 submit date:2311261200 done date:2311261201 stat:DELIVRD err:000 text:Hello',
    );
    // Act
    const receipt = parseReceipt(fields, RECEIVED_AT);
    // Assess
    expect(receipt).toEqual({
      smscMessageId: '1234567890',
      status: 'DELIVERED',
      stat: 'DELIVRD',
      err: '000',
      submitDate: '2023-11-26T12:00:00',
      doneDate: '2023-11-26T12:01:00',
      receivedAt: RECEIVED_AT,
    });
  });

  it('correlates a decimal id in the text with the hex id in the TLV', () => {
    // Prepare: 1234567890 is 0x499602D2.
    const fixture = receiptFixtures.find((f) => f.name.startsWith('decimal id in the text'));
    // Act
    const receipt = parseReceipt(fixture?.fields ?? receiptFields(''), RECEIVED_AT);
    // Assess
    expect('smscMessageId' in receipt && smscIdKeys(receipt.smscMessageId)).toContain(smscIdKeys('1234567890')[0]);
    expect(receipt).not.toHaveProperty('alternativeMessageId');
  });

  it('does not let an id inside the text field override the real one', () => {
    expect(parseReceipt(receiptFields('id:1 stat:DELIVRD text:id:2 stat:REJECTD'), RECEIVED_AT)).toMatchObject({
      smscMessageId: '1',
      status: 'DELIVERED',
    });
  });

  it('skips a UDH before the receipt text', () => {
    // Prepare
    const body = Buffer.concat([Buffer.from('050003010101', 'hex'), Buffer.from('id:42 stat:DELIVRD', 'latin1')]);
    // Act
    const receipt = parseReceipt(receiptFields(body, { esmClass: 0x44 }), RECEIVED_AT);
    // Assess
    expect(receipt).toMatchObject({ smscMessageId: '42', status: 'DELIVERED' });
  });

  it('returns an error when no id is given anywhere', () => {
    // Act
    const result = parseReceipt(receiptFields('sub:001 dlvrd:001 stat:DELIVRD err:000'), RECEIVED_AT);
    // Assess
    expect(result).toEqual({ error: expect.stringContaining('no message id') });
  });

  it('keeps a receipt that has an id but no state in progress, so a later final receipt still counts', () => {
    expect(parseReceipt(receiptFields('id:9'), RECEIVED_AT)).toEqual({ smscMessageId: '9', status: 'ENROUTE', receivedAt: RECEIVED_AT });
  });

  it('finalises only on the message_state values of final states (2, 3, 4, 5, 7, 8)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1, max: 300 }), (messageState) => {
        // Act
        const receipt = parseReceipt(receiptFields('id:10', { messageState }), RECEIVED_AT);
        // Assess
        expect('status' in receipt && isFinal(receipt.status)).toBe([2, 3, 4, 5, 7, 8].includes(messageState));
      }),
      { numRuns },
    );
  });

  it('never finalises on a stat word it does not know, and keeps the word', () => {
    const word = fc.stringMatching(/^[A-Za-z_]{1,12}$/).filter((w) => !FINAL_WORDS.includes(w.toUpperCase()));
    fc.assert(
      fc.property(word, (w) => {
        // Act
        const receipt = parseReceipt(receiptFields(`id:11 stat:${w} err:000`), RECEIVED_AT);
        // Assess
        expect(receipt).toMatchObject({ stat: w });
        expect('status' in receipt && isFinal(receipt.status)).toBe(false);
      }),
      { numRuns },
    );
  });

  it('does not read a status word out of the text: echo', () => {
    expect(parseReceipt(receiptFields('id:12 sub:001 dlvrd:000 text:DELIVRD to you'), RECEIVED_AT)).toEqual({
      smscMessageId: '12',
      status: 'ENROUTE',
      receivedAt: RECEIVED_AT,
    });
  });

  it('prefers the stat: label to a bare status word', () => {
    expect(parseReceipt(receiptFields('id:13 DELIVRD stat:UNDELIV err:001'), RECEIVED_AT)).toMatchObject({ status: 'UNDELIVERED', stat: 'UNDELIV' });
  });

  it('never throws on arbitrary bytes, codings and TLVs', () => {
    const fields = fc.record(
      {
        esmClass: fc.integer({ min: 0, max: 255 }),
        dataCoding: fc.integer({ min: 0, max: 255 }),
        shortMessage: fc.uint8Array({ maxLength: 254 }).map((b) => Buffer.from(b)),
        messagePayload: fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
        sourceAddr: fc.string(),
        destinationAddr: fc.string(),
        receiptedMessageId: fc.string({ maxLength: 70 }),
        messageState: fc.integer({ min: -1, max: 300 }),
        networkErrorCode: fc.uint8Array({ maxLength: 5 }).map((b) => Buffer.from(b)),
      },
      { requiredKeys: ['esmClass', 'dataCoding', 'shortMessage', 'sourceAddr', 'destinationAddr'] },
    );
    fc.assert(
      fc.property(fields, (f) => {
        // Act
        const result = parseReceipt(f, RECEIVED_AT);
        // Assess
        expect('error' in result || typeof result.smscMessageId === 'string').toBe(true);
      }),
      { numRuns },
    );
  });

  it('never throws on receipt-like text with random fields', () => {
    const token = fc.oneof(
      fc.constantFrom('id:', 'sub:', 'dlvrd:', 'submit date:', 'done date:', 'stat:', 'err:', 'text:', 'Text:', ' ', '  '),
      fc.string({ maxLength: 15 }),
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 30 }), (tokens) => {
        const result = parseReceipt(receiptFields(tokens.join('')), RECEIVED_AT);
        expect(result).toBeTypeOf('object');
      }),
      { numRuns },
    );
  });
});

describe('normalizeReceiptDate', () => {
  it.each([
    ['2311261200', '2023-11-26T12:00:00'],
    ['231126120005', '2023-11-26T12:00:05'],
    ['20231126120005', '2023-11-26T12:00:05'],
  ])('reads %s as %s', (raw, iso) => {
    expect(normalizeReceiptDate(raw)).toBe(iso);
  });

  it.each(['231126', '2313261200', 'yesterday', '23112612000'])('keeps %j as it came', (raw) => {
    expect(normalizeReceiptDate(raw)).toBe(raw);
  });
});
