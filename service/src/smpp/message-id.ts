import { createHash } from 'node:crypto';

/** Longest key we return: lookup keys end up in DynamoDB attribute values and logs. */
export const MAX_KEY_LENGTH = 200;

// Numeric readings only for values below 2^128: ids are at most 64-bit in
// practice, and a bound on the value (not on the digit count) keeps the hex and
// decimal renderings of one value on the same side of it.
const NUMERIC_LIMIT = 1n << 128n;
const MAX_DECIMAL_DIGITS = 39;
const MAX_HEX_DIGITS = 32;

const DECIMAL = /^[0-9]+$/;
const HEX = /^[0-9a-fA-F]+$/;

function bounded(key: string): string {
  if (key.length <= MAX_KEY_LENGTH) return key;
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 16);
  return `${key.slice(0, MAX_KEY_LENGTH - hash.length - 1)}#${hash}`;
}

/** The value of `digits` in `radix`, or undefined past the numeric bounds. */
function valueOf(digits: string, radix: 10 | 16): bigint | undefined {
  if (digits.length > (radix === 10 ? MAX_DECIMAL_DIGITS : MAX_HEX_DIGITS)) return undefined;
  const value = BigInt(radix === 10 ? digits : `0x${digits}`);
  return value < NUMERIC_LIMIT ? value : undefined;
}

/**
 * Lookup keys for an SMSC message id, **exact key first**. The submit_sm_resp and the
 * receipt may render one id differently (hex vs decimal, case, leading zeros), so an id also
 * gets its numeric readings; but a reading can coincide with another id (`000186A0` reads as
 * 100000, which is also the id `00100000`), so only `keys[0]` says "this very id".
 *
 * Contract, relied on by the status store and the operator tool:
 * - `keys[0]` is the exact key: two ids have the same `keys[0]` only when they are the same id
 *   up to case, surrounding white space and leading zeros;
 * - `keys[1]`, when present, is a secondary reading: it matches another rendering of the same
 *   number, and must never take a correlation over from an exact match.
 *
 * The prefix says what the id looked like (keys are strings so they can be stored as they are):
 * - digits only: `d:<decimal value>`, then its hex reading `d:<value of the hex>` (when it differs);
 * - hex digits with letters: `x:<lower case hex, no leading zeros>`, then `d:<value of the hex>`;
 * - anything else, or a value of 2^128 or more: `s:<lower case, leading zeros stripped>` alone.
 *
 * A secondary key is always a `d:` key, because it has to equal the exact key of the decimal
 * rendering; so exactness is told by position, not by prefix. Keys are deterministic and at most
 * {@link MAX_KEY_LENGTH} characters (longer ones end in a stable hash).
 */
export function smscIdKeys(id: string): string[] {
  const trimmed = id.trim();
  const significant = trimmed.replace(/^0+/, '');
  const digits = significant === '' ? '0' : significant;
  const decimal = DECIMAL.test(trimmed) ? valueOf(digits, 10) : undefined;
  const hex = HEX.test(trimmed) ? valueOf(digits, 16) : undefined;
  const exact = decimal !== undefined ? `d:${decimal}` : hex !== undefined ? `x:${digits.toLowerCase()}` : `s:${significant.toLowerCase()}`;
  const keys = [exact];
  if (hex !== undefined && `d:${hex}` !== exact) keys.push(`d:${hex}`);
  return keys.map(bounded);
}
