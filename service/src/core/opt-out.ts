/**
 * Opt-out rules, pure (docs/architecture.md §7.5): which MO text is a keyword, how numbers and
 * senders are written in the suppression list's keys, which keys a job is checked against, and what
 * an MO keyword changes. No AWS, no PDUs: `aws/suppression.ts` reads and writes the OPTOUT items.
 */

/** The `kind` of suppression items (`aws/status-store/item-model.ts` lists every kind). */
export const OPTOUT_KIND = 'OPTOUT';
/** Prefix of suppression items' ids: `OPTOUT#<sender or *>#<number>`. */
export const OPTOUT_PREFIX = 'OPTOUT#';
/** The sender of an opt-out that holds for every sender. */
export const ALL_SENDERS = '*';

/** `out`: suppressed; `in`: opted back in (the item stays, since the service may not delete items). */
export type OptOutState = 'out' | 'in';
export type OptOutScope = 'sender' | 'all';

/** The settings the rules read (`config.optOut`). */
export interface OptOutSettings {
  /** Upper case, as config.ts normalises them. */
  stopKeywords: readonly string[];
  startKeywords: readonly string[];
  scope: OptOutScope;
}

/** A change of one number's entry in the suppression list. */
export interface OptOutChange {
  /** Digits only (see {@link normaliseNumber}). */
  number: string;
  /** {@link normaliseSender} of the sender, or {@link ALL_SENDERS}. */
  sender: string;
  state: OptOutState;
}

/** Trailing punctuation people add to a keyword ("Stop.", "STOP!!", "stop?"). */
const TRAILING_PUNCTUATION = /[\p{P}\s]+$/u;

/**
 * The state a whole-text keyword asks for, or undefined when the text is not one. The text is
 * compared after NFKC (full-width "ＳＴＯＰ" is STOP), trimming white space and trailing punctuation,
 * case-insensitively; anything else in the text ("STOP please", "stop 🛑") makes it no keyword.
 */
export function keywordState(text: string, settings: Pick<OptOutSettings, 'stopKeywords' | 'startKeywords'>): OptOutState | undefined {
  const word = text.normalize('NFKC').trim().replace(TRAILING_PUNCTUATION, '').toUpperCase();
  if (word.length === 0) return undefined;
  if (settings.stopKeywords.includes(word)) return 'out';
  if (settings.startKeywords.includes(word)) return 'in';
  return undefined;
}

/**
 * A phone number as the list keys it: digits only, so `+6591234567` (a job's `to`) and
 * `6591234567` (an MO's source address, TON international) are one number. National formats are
 * not rewritten: the list can only match a number written the same way.
 */
export function normaliseNumber(address: string): string {
  const trimmed = address.trim();
  return /^\+?[0-9]+$/.test(trimmed) ? trimmed.replace(/^\+/, '') : trimmed;
}

/**
 * A sender as the list keys it: a number or short code as digits only; an alphanumeric sender in
 * upper case (a person cannot reply to one, so it is only ever named by an operator or a job, and
 * `8x8` and `8X8` are one sender to them).
 */
export function normaliseSender(address: string): string {
  const trimmed = address.trim();
  if (trimmed === ALL_SENDERS) return ALL_SENDERS;
  return /^\+?[0-9]+$/.test(trimmed) ? trimmed.replace(/^\+/, '') : trimmed.toUpperCase();
}

/** The id of a number's entry for one sender (already normalised), or for every sender. */
export function optOutId(sender: string, number: string): string {
  return `${OPTOUT_PREFIX}${sender}#${number}`;
}

/** The entries a job from `from` to `to` is checked against: its sender's and every sender's. */
export function suppressionIds(to: string, from: string): [string, string] {
  const number = normaliseNumber(to);
  return [optOutId(normaliseSender(from), number), optOutId(ALL_SENDERS, number)];
}

/** A job is held back when any of its entries is `out`. */
export function isSuppressedBy(states: readonly (OptOutState | undefined)[]): boolean {
  return states.includes('out');
}

/**
 * What an MO changes: a keyword from `from` to `to` (the sender id or short code it was sent to)
 * sets the number's entry for that sender, or for every sender under scope `all`. Undefined for
 * any other text.
 */
export function moChange(mo: { from: string; to: string; text: string }, settings: OptOutSettings): OptOutChange | undefined {
  const state = keywordState(mo.text, settings);
  if (state === undefined) return undefined;
  const number = normaliseNumber(mo.from);
  // A job's `to` is always a number: an entry for anything else could never hold a job back.
  if (!/^[0-9]+$/.test(number)) return undefined;
  return { number, sender: settings.scope === 'all' ? ALL_SENDERS : normaliseSender(mo.to), state };
}
