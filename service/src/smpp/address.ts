/** An SMPP address with its type of number and numbering plan indicator. */
export interface SmppAddress {
  ton: number;
  npi: number;
  addr: string;
}

/** SMPP 3.4 §5.2.5 type-of-number values we use. */
export const Ton = { UNKNOWN: 0, INTERNATIONAL: 1, NATIONAL: 2, NETWORK_SPECIFIC: 3, ALPHANUMERIC: 5 } as const;
/** SMPP 3.4 §5.2.6 numbering-plan values we use. */
export const Npi = { UNKNOWN: 0, ISDN: 1 } as const;

const DIGITS = /^[0-9]+$/;
const E164 = /^\+[0-9]{6,15}$/;
const SHORT_CODE = /^[0-9]{3,8}$/;
const LONG_DIGITS = /^[0-9]{6,15}$/;
const ALPHANUMERIC = /^(?=.*[A-Za-z])[A-Za-z0-9 ._&-]{1,11}$/;
const SHORT_CODE_MAX = 8;

/**
 * Maps a job's `to` / `from` to an SMPP address: `+E.164` and long digit
 * strings are international/ISDN, digit strings of up to 8 are short codes
 * (network specific), anything else is an alphanumeric sender id.
 * `override` replaces the derived ton / npi (some routes want their own).
 */
export function toSmppAddress(input: string, override: { ton?: number; npi?: number } = {}): SmppAddress {
  let derived: SmppAddress;
  if (input.startsWith('+') && DIGITS.test(input.slice(1))) {
    derived = { ton: Ton.INTERNATIONAL, npi: Npi.ISDN, addr: input.slice(1) };
  } else if (DIGITS.test(input)) {
    derived =
      input.length <= SHORT_CODE_MAX
        ? { ton: Ton.NETWORK_SPECIFIC, npi: Npi.UNKNOWN, addr: input }
        : { ton: Ton.INTERNATIONAL, npi: Npi.ISDN, addr: input };
  } else {
    derived = { ton: Ton.ALPHANUMERIC, npi: Npi.UNKNOWN, addr: input };
  }
  return { ton: override.ton ?? derived.ton, npi: override.npi ?? derived.npi, addr: derived.addr };
}

/**
 * Whether a job address is acceptable: `+` and 6-15 digits, a 3-8 digit short
 * code, 6-15 digits, or an alphanumeric sender id of 1-11 characters from
 * `[A-Za-z0-9 ._&-]` with at least one letter (the GSM limit for alphanumeric senders).
 */
export function isValidAddress(input: string): boolean {
  return E164.test(input) || SHORT_CODE.test(input) || LONG_DIGITS.test(input) || ALPHANUMERIC.test(input);
}

/**
 * Masks an address for logs: the first 4 and last 2 characters stay, the rest
 * become `*`. Values of 8 characters or fewer keep only the last 2, since the
 * first 4 would reveal most of them.
 */
export function maskAddress(addr: string): string {
  const chars = [...addr];
  const n = chars.length;
  if (n <= 2) return '*'.repeat(n);
  const tail = chars.slice(-2).join('');
  if (n <= 8) return '*'.repeat(n - 2) + tail;
  return chars.slice(0, 4).join('') + '*'.repeat(n - 6) + tail;
}
