/**
 * The small DynamoDB marshaller and expression builder the table's adapters share
 * (`@aws-sdk/util-dynamodb` is not a dependency, and the items use few types).
 * status-store.ts still carries its own copy of the same helpers.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { StoreError } from '../errors.js';

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

  v(value: unknown): string {
    const placeholder = `:v${this.#count++}`;
    this.#values[placeholder] = toAttr(value);
    return placeholder;
  }

  params(): { ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Record<string, AttributeValue> } {
    return {
      ...(Object.keys(this.#names).length > 0 ? { ExpressionAttributeNames: this.#names } : {}),
      ...(Object.keys(this.#values).length > 0 ? { ExpressionAttributeValues: this.#values } : {}),
    };
  }
}

/** JSON-like value → AttributeValue. Undefined map entries are left out. */
export function toAttr(value: unknown): AttributeValue {
  if (value === null) return { NULL: true };
  switch (typeof value) {
    case 'string':
      return { S: value };
    case 'number':
      if (!Number.isFinite(value)) throw new StoreError(`cannot store the number ${value}`, { retryable: false });
      return { N: String(value) };
    case 'bigint':
      return { N: value.toString() };
    case 'boolean':
      return { BOOL: value };
    case 'object':
      if (Array.isArray(value)) return { L: value.map((v) => (v === undefined ? { NULL: true } : toAttr(v))) };
      if (value instanceof Uint8Array) return { B: value };
      return { M: toItem(value as Record<string, unknown>) };
    default:
      throw new StoreError(`cannot store a value of type ${typeof value}`, { retryable: false });
  }
}

/** An object → an item (top-level attributes). */
export function toItem(obj: object): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = toAttr(v);
  return out;
}

function fromAttr(a: AttributeValue): unknown {
  if (a.S !== undefined) return a.S;
  if (a.N !== undefined) return Number(a.N);
  if (a.BOOL !== undefined) return a.BOOL;
  if (a.NULL !== undefined) return null;
  if (a.L !== undefined) return a.L.map(fromAttr);
  if (a.M !== undefined) return fromMap(a.M);
  if (a.B !== undefined) return a.B;
  if (a.SS !== undefined) return [...a.SS];
  if (a.NS !== undefined) return a.NS.map(Number);
  if (a.BS !== undefined) return [...a.BS];
  return undefined;
}

function fromMap(m: Record<string, AttributeValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) out[k] = fromAttr(v);
  return out;
}

/** Unmarshals an item; the shape is the adapter's own (it wrote it), so it is asserted, not parsed. */
export function fromItem<T>(item: Record<string, AttributeValue> | undefined): T | undefined {
  return item === undefined ? undefined : (fromMap(item) as T);
}

/** The table's key for an id. */
export function key(id: string): Record<string, AttributeValue> {
  return { id: { S: id } };
}
