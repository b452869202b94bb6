import { smpp } from './codec.js';

/** A command_status value from a response PDU. Branded so it is not mixed up with other numbers. */
export type CommandStatus = number & { readonly __brand: 'CommandStatus' };
export const asCommandStatus = (n: number): CommandStatus => n as CommandStatus;

export const Status = {
  ESME_ROK: 0x00,
  ESME_RINVBNDSTS: 0x04,
  ESME_RALYBND: 0x05,
  ESME_RSYSERR: 0x08,
  ESME_RBINDFAIL: 0x0d,
  ESME_RINVPASWD: 0x0e,
  ESME_RINVSYSID: 0x0f,
  ESME_RMSGQFUL: 0x14,
  ESME_RTHROTTLED: 0x58,
  ESME_RX_T_APPN: 0x64,
  ESME_RX_P_APPN: 0x65,
  ESME_RINVCMDID: 0x03,
  ESME_RINVCMDLEN: 0x02,
} as const;

const names = new Map<number, string>(Object.entries(smpp.errors).map(([name, code]) => [code, name]));

/** SMPP 3.4 §5.1.3 wording for the statuses an operator meets most. */
const descriptions: Record<number, string> = {
  0x01: 'Message length is invalid',
  0x02: 'Command length is invalid',
  0x03: 'Invalid command id',
  0x04: 'Incorrect bind status for given command',
  0x05: 'ESME already in bound state',
  0x08: 'System error',
  0x0a: 'Invalid source address',
  0x0b: 'Invalid destination address',
  0x0c: 'Message id is invalid',
  0x0d: 'Bind failed',
  0x0e: 'Invalid password',
  0x0f: 'Invalid system id',
  0x14: 'Message queue full',
  0x45: 'submit_sm or submit_multi failed',
  0x48: 'Invalid source address TON',
  0x49: 'Invalid source address NPI',
  0x50: 'Invalid destination address TON',
  0x51: 'Invalid destination address NPI',
  0x58: 'Throttling error (ESME has exceeded allowed message limits)',
  0x61: 'Invalid scheduled delivery time',
  0x62: 'Invalid message validity period',
  0x64: 'ESME receiver temporary app error code',
  0x65: 'ESME receiver permanent app error code',
  0x66: 'ESME receiver reject message error code',
  0xff: 'Unknown error',
};

export function statusName(status: number): string {
  return names.get(status) ?? `0x${status.toString(16).padStart(8, '0')}`;
}

export function statusDescription(status: number): string {
  return descriptions[status] ?? (status >= 0x400 && status <= 0x4ff ? 'SMSC vendor-specific error' : 'Reserved or vendor-specific status');
}

/** What to do with a submit that was answered with this non-zero status. */
export type SubmitStatusAction = 'slow-down' | 'defer-destination' | 'rebind' | 'retry' | 'fail';

/**
 * - ESME_RTHROTTLED: the bind sends faster than the SMSC allows; slow the bind and re-send
 *   (not a message failure).
 * - ESME_RMSGQFUL: a full queue, which some SMSCs keep per destination (one handset that is
 *   off, say); hold back that destination only and re-send later, so it cannot slow the bind.
 * - ESME_RINVBNDSTS on a bound session: the SMSC lost the bind (a reset on its side, while the
 *   TCP link and enquire_link still work); the message is fine, the session is not: rebind and
 *   re-send.
 * - System errors are transient: retry later.
 * - Everything that judges the message itself (address, length, DCS…) will fail again: permanent.
 */
export function classifySubmitStatus(status: number): SubmitStatusAction {
  switch (status) {
    case Status.ESME_RTHROTTLED:
      return 'slow-down';
    case Status.ESME_RMSGQFUL:
      return 'defer-destination';
    case Status.ESME_RINVBNDSTS:
      return 'rebind';
    case Status.ESME_RSYSERR:
    case Status.ESME_RX_T_APPN:
    case 0xff:
      return 'retry';
    default:
      return 'fail';
  }
}

/** How a failed bind should be reported and backed off. */
export type BindFailureKind = 'auth' | 'refused' | 'transient';

export function classifyBindStatus(status: number): BindFailureKind {
  switch (status) {
    case Status.ESME_RINVPASWD:
    case Status.ESME_RINVSYSID:
      return 'auth';
    case Status.ESME_RBINDFAIL:
    case Status.ESME_RALYBND:
      return 'refused';
    default:
      return 'transient';
  }
}
