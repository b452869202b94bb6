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

/**
 * Canonical lookup keys for an SMSC message id. The submit_sm_resp and the
 * receipt may render one id differently (hex vs decimal, case, leading zeros),
 * and a digits-only id is ambiguous, so it gets both readings: two renderings
 * of the same id share at least one key.
 *
 * - all decimal digits: `d:<value>`; all hex digits: `d:<value of the hex>` (both when both apply, deduplicated);
 * - anything else, or a value of 2^128 or more: `s:<lower case, leading zeros stripped>`.
 *
 * Keys are deterministic and at most {@link MAX_KEY_LENGTH} characters (longer ones end in a stable hash).
 */
export function smscIdKeys(id: string): string[] {
  const trimmed = id.trim();
  const significant = trimmed.replace(/^0+/, '');
  const keys: string[] = [];
  const digits = significant === '' ? '0' : significant;
  if (DECIMAL.test(trimmed) && digits.length <= MAX_DECIMAL_DIGITS) {
    const value = BigInt(digits);
    if (value < NUMERIC_LIMIT) keys.push(`d:${value.toString(10)}`);
  }
  if (HEX.test(trimmed) && digits.length <= MAX_HEX_DIGITS) {
    const key = `d:${BigInt(`0x${digits}`).toString(10)}`;
    if (!keys.includes(key)) keys.push(key);
  }
  if (keys.length === 0) keys.push(`s:${significant.toLowerCase()}`);
  return keys.map(bounded);
}
