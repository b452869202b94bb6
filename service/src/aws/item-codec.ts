/**
 * Marshalling and expression building shared by the table's adapters (status store, MO store).
 * Values go through `@aws-sdk/util-dynamodb` with one set of options, fixed here so that every item
 * reads back as the plain data it was written from: undefined attributes are left out (optional
 * fields are simply absent), and every number goes both ways as a JS number, as JSON has it — a
 * producer's metadata may hold numbers past 2^53, which util-dynamodb would otherwise refuse to
 * write, or read back as a BigInt that JSON.stringify (the stream publisher) cannot serialise.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { convertToAttr, marshall, unmarshall, type marshallOptions, type unmarshallOptions } from '@aws-sdk/util-dynamodb';
import { StoreError } from '../errors.js';

/** How every value is written. */
export const MARSHALL_OPTIONS: marshallOptions = { removeUndefinedValues: true, allowImpreciseNumbers: true };
/** How every item is read: numbers as numbers, never NumberValue or BigInt. */
export const UNMARSHALL_OPTIONS: unmarshallOptions = { wrapNumbers: Number };

/** Placeholders for names and values, so no attribute name ever hits DynamoDB's reserved words. */
export class Expr {
  readonly #names: Record<string, string> = {};
  readonly #values: Record<string, AttributeValue> = {};
  #count = 0;

  /** `#name` for a top-level attribute (our names are alphanumeric). */
  n(name: string): string {
    const placeholder = `#${name}`;
    this.#names[placeholder] = name;
    return placeholder;
  }

  /** `:vN` for a value. */
  v(value: unknown): string {
    const placeholder = `:v${this.#count++}`;
    this.#values[placeholder] = unstorable(() => convertToAttr(value, MARSHALL_OPTIONS));
    return placeholder;
  }

  /** The names and values used, as the command's parameters (absent when none, as DynamoDB requires). */
  params(): { ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Record<string, AttributeValue> } {
    return {
      ...(Object.keys(this.#names).length > 0 ? { ExpressionAttributeNames: this.#names } : {}),
      ...(Object.keys(this.#values).length > 0 ? { ExpressionAttributeValues: this.#values } : {}),
    };
  }
}

/** What a status change writes in one UpdateItem (see {@link statusUpdate}). */
export interface StatusUpdate {
  /** Attributes set to these values; undefined ones are left out. */
  set: Record<string, unknown>;
  /** Attributes set only when the item has none yet. */
  initial?: Record<string, unknown>;
  /** Numeric attributes raised by these amounts (from 0 when absent). */
  add?: Record<string, number>;
  /** History entries appended (to an empty list when absent). */
  history: readonly object[];
  remove?: readonly string[];
}

/**
 * The UpdateExpression of a status change made in one UpdateItem: `set`, `initial`, `add`, the
 * history appended, `version` raised by one, `remove`. The status writers that need no read of the
 * item (FAILED, opted out, the sweep's UNKNOWN, an operator's retry) share it, so each says only what
 * it changes and on what condition.
 */
export function statusUpdate(x: Expr, u: StatusUpdate): string {
  const sets = Object.entries(u.set)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${x.n(k)} = ${x.v(v)}`);
  for (const [k, v] of Object.entries(u.initial ?? {})) sets.push(`${x.n(k)} = if_not_exists(${x.n(k)}, ${x.v(v)})`);
  for (const [k, by] of Object.entries({ ...u.add, version: 1 })) sets.push(`${x.n(k)} = if_not_exists(${x.n(k)}, ${x.v(0)}) + ${x.v(by)}`);
  sets.push(`${x.n('history')} = list_append(if_not_exists(${x.n('history')}, ${x.v([])}), ${x.v(u.history)})`);
  const remove = u.remove !== undefined && u.remove.length > 0 ? ` REMOVE ${u.remove.map((k) => x.n(k)).join(', ')}` : '';
  return `SET ${sets.join(', ')}${remove}`;
}

/** An object → an item (its top-level attributes; undefined ones left out). */
export function toItem(obj: object): Record<string, AttributeValue> {
  return unstorable(() => marshall(obj as Record<string, unknown>, MARSHALL_OPTIONS));
}

/** Unmarshals an item; the shape is the adapter's own (it wrote it), so it is asserted, not parsed. */
export function fromItem<T>(item: Record<string, AttributeValue> | undefined): T | undefined {
  return item === undefined ? undefined : (unmarshall(item, UNMARSHALL_OPTIONS) as T);
}

/** The table's key for an id. */
export function key(id: string): Record<string, AttributeValue> {
  return { id: { S: id } };
}

/** A value DynamoDB cannot hold (NaN, a function…) is a bug, never worth a retry. */
function unstorable<T>(convert: () => T): T {
  try {
    return convert();
  } catch (err) {
    throw new StoreError(`cannot store the value: ${(err as Error).message}`, { retryable: false, cause: err });
  }
}
