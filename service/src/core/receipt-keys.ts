/**
 * The one rule that matches a receipt to a part: SMSC message ids are turned into correlation keys,
 * exact key first, and a receipt belongs to the part whose keys it shares, an exact match always
 * before a reading (docs/architecture.md §3.2). Pure: the status store, both pipelines, the operator
 * tool and the test ledgers all match through this module.
 */
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
const DECIMAL_KEY = /^d:[0-9]+$/;
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
 * Contract, relied on by the status store, the operator tool and {@link matchKeys}:
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

/**
 * `smscIdKeys(id)[0]`, the exact key, without the readings: turning a hex id's value into decimal
 * for its reading is most of smscIdKeys' cost, and an exact match needs none of it. For callers
 * that match by exact key first and turn to the readings only when that fails (the operator tool).
 */
export function exactKey(id: string): string {
  const trimmed = id.trim();
  const significant = trimmed.replace(/^0+/, '');
  const digits = significant === '' ? '0' : significant;
  // Below 39 digits a decimal is always under 2^128; at 39, valueOf decides.
  if (DECIMAL.test(trimmed) && (digits.length < MAX_DECIMAL_DIGITS || valueOf(digits, 10) !== undefined)) return bounded(`d:${digits}`);
  // Any 32 hex digits are under 2^128.
  if (HEX.test(trimmed) && digits.length <= MAX_HEX_DIGITS) return bounded(`x:${digits.toLowerCase()}`);
  return bounded(`s:${significant.toLowerCase()}`);
}

/**
 * The keys of the part whose exact key is `exact`: smscIdKeys of the id it stands for (the id
 * normalised, which has the same readings). A correlation item is stored under its part's exact key
 * only, and this gives back the rest, for {@link bestMatch}.
 */
export function keysOfExact(exact: string): string[] {
  if (exact.startsWith('d:') || exact.startsWith('x:')) return smscIdKeys(exact.slice(2));
  return [exact];
}

/**
 * Every key that is the exact key of some part a receipt with `receiptKeys` matches
 * ({@link matchKeys}), receipt keys first: the receipt's own keys (the part's exact key equals one
 * of them), and for each `d:` key the exact key of the hex rendering of that value (the part's
 * reading equals it: a decimal receipt for a hex response). So a part stores one correlation item,
 * under its exact key, and a receipt looks under at most four (docs/architecture.md §5 rule 6).
 */
export function candidateExactKeys(receiptKeys: readonly string[]): string[] {
  const out = [...receiptKeys];
  for (const k of receiptKeys) {
    if (!DECIMAL_KEY.test(k)) continue;
    const value = BigInt(k.slice(2));
    if (value >= NUMERIC_LIMIT) continue;
    const candidate = exactKey(value.toString(16));
    if (!out.includes(candidate)) out.push(candidate);
  }
  return out;
}

/** How a receipt's keys match a part's: the same id (`exact`), or another rendering of its number (`reading`). */
export type KeyMatch = 'exact' | 'reading';

/**
 * How strongly a receipt's keys match a part's, 0 for not at all. Of several parts a receipt
 * matches, the strongest wins: the same exact key (3); else the receipt's reading is the part's
 * exact key (2: a hex receipt for a decimal response); else they share only a reading (1: a
 * decimal receipt for a hex response, or two ids that merely read alike).
 */
function strength(receiptKeys: readonly string[], partKeys: readonly string[]): 0 | 1 | 2 | 3 {
  const [exact] = partKeys;
  if (exact === undefined) return 0;
  if (receiptKeys[0] === exact) return 3;
  if (receiptKeys.includes(exact)) return 2;
  return receiptKeys.some((k) => partKeys.includes(k)) ? 1 : 0;
}

/** Whether a receipt's keys match a part's keys (both from {@link smscIdKeys}), and how; undefined when they do not. */
export function matchKeys(receiptKeys: readonly string[], partKeys: readonly string[]): KeyMatch | undefined {
  const s = strength(receiptKeys, partKeys);
  return s === 3 ? 'exact' : s > 0 ? 'reading' : undefined;
}

/**
 * The candidate a receipt belongs to: an exact match before any reading, and of equal matches
 * the first in `candidates`' order. Undefined when none matches.
 */
export function bestMatch<T>(
  receiptKeys: readonly string[],
  candidates: Iterable<T>,
  keysOf: (candidate: T) => readonly string[],
): { value: T; match: KeyMatch } | undefined {
  let best: T | undefined;
  let bestStrength = 0;
  for (const c of candidates) {
    const s = strength(receiptKeys, keysOf(c));
    if (s > bestStrength) {
      best = c;
      bestStrength = s;
      if (s === 3) break;
    }
  }
  return best === undefined ? undefined : { value: best, match: bestStrength === 3 ? 'exact' : 'reading' };
}

/**
 * Parts by their correlation keys, matched in constant time with {@link bestMatch}'s rule. A key
 * registered twice keeps both parts; the earlier wins a tie (the same id sent twice in one run).
 */
export class KeyIndex<T> {
  readonly #byKey = new Map<string, { value: T; keys: readonly string[] }[]>();

  /** Registers `value` under every key of `keys` (from {@link smscIdKeys}). */
  add(keys: readonly string[], value: T): void {
    const entry = { value, keys };
    for (const k of new Set(keys)) {
      const list = this.#byKey.get(k);
      if (list === undefined) this.#byKey.set(k, [entry]);
      else list.push(entry);
    }
  }

  /** The value a receipt with these keys belongs to, and how it matched. */
  find(receiptKeys: readonly string[]): { value: T; match: KeyMatch } | undefined {
    const candidates = receiptKeys.flatMap((k) => this.#byKey.get(k) ?? []);
    const found = bestMatch(receiptKeys, candidates, (c) => c.keys);
    return found === undefined ? undefined : { value: found.value.value, match: found.match };
  }
}
