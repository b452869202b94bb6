import { describe, expect, it } from 'vitest';
import { classifyBindStatus, classifySubmitStatus, Status, statusDescription, statusName } from '../../service/src/smpp/command-status.js';

describe('classifySubmitStatus', () => {
  it('slows the bind down on ESME_RTHROTTLED and sends again: the SMSC asks us to wait, the message is fine', () => {
    expect(classifySubmitStatus(0x58)).toBe('slow-down');
  });

  it('holds back only the destination on ESME_RMSGQFUL: some SMSCs keep the queue per handset', () => {
    expect(classifySubmitStatus(0x14)).toBe('defer-destination');
  });

  it('rebinds on ESME_RINVBNDSTS: the SMSC lost the session, the message is fine', () => {
    expect(classifySubmitStatus(0x04)).toBe('rebind');
  });

  it.each([
    ['ESME_RSYSERR', 0x08],
    ['ESME_RX_T_APPN', 0x64],
    ['ESME_RUNKNOWNERR', 0xff],
  ])('retries later on %s, a transient condition', (_name, status) => {
    expect(classifySubmitStatus(status)).toBe('retry');
  });

  it.each([
    ['ESME_RINVDSTADR', 0x0b],
    ['ESME_RINVSRCADR', 0x0a],
    ['ESME_RINVMSGLEN', 0x01],
    ['ESME_RSUBMITFAIL', 0x45],
    ['ESME_RINVDSTTON', 0x50],
    ['ESME_RINVSCHED', 0x61],
    ['ESME_RINVEXPIRY', 0x62],
    ['ESME_RX_P_APPN', 0x65],
    ['a vendor-specific status', 0x401],
  ])('fails the message on %s: sending it again would fail again', (_name, status) => {
    expect(classifySubmitStatus(status)).toBe('fail');
  });
});

describe('classifyBindStatus', () => {
  it.each([
    ['ESME_RINVPASWD', 0x0e],
    ['ESME_RINVSYSID', 0x0f],
  ])('reports %s as an authentication failure (long backoff, credentials re-read)', (_name, status) => {
    expect(classifyBindStatus(status)).toBe('auth');
  });

  it.each([
    ['ESME_RBINDFAIL', 0x0d],
    ['ESME_RALYBND', 0x05],
  ])('reports %s as a refused bind (the account is at its bind cap)', (_name, status) => {
    expect(classifyBindStatus(status)).toBe('refused');
  });

  it.each([
    ['ESME_RSYSERR', 0x08],
    ['ESME_RTHROTTLED', 0x58],
    ['ESME_RINVCMDID', 0x03],
    ['an unassigned status', 0x1234],
  ])('reports %s as transient', (_name, status) => {
    expect(classifyBindStatus(status)).toBe('transient');
  });
});

describe('statusName and statusDescription', () => {
  it.each([
    ['ESME_ROK', 0x00],
    ['ESME_RINVDSTADR', 0x0b],
    ['ESME_RMSGQFUL', 0x14],
    ['ESME_RTHROTTLED', 0x58],
    ['ESME_RX_T_APPN', 0x64],
  ])('names %s from its code, as in SMPP 3.4 §5.1.3', (name, status) => {
    expect(statusName(status)).toBe(name);
  });

  it('writes an unnamed status as eight hex digits', () => {
    expect(statusName(0x400)).toBe('0x00000400');
  });

  it('describes an operator-facing status in the words of the specification', () => {
    expect(statusDescription(0x58)).toBe('Throttling error (ESME has exceeded allowed message limits)');
    expect(statusDescription(0x0b)).toBe('Invalid destination address');
  });

  it('describes 0x400-0x4FF as vendor-specific and anything else unknown as reserved', () => {
    expect(statusDescription(0x4ff)).toBe('SMSC vendor-specific error');
    expect(statusDescription(0x300)).toBe('Reserved or vendor-specific status');
  });

  it('names every status in its own Status table as the codec does', () => {
    for (const [name, code] of Object.entries(Status)) expect(statusName(code)).toBe(name);
  });
});
