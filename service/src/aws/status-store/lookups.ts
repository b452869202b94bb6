/**
 * Look-ups by number (docs/architecture.md §7.3): the messages sent to a number and the MOs received
 * from one, newest first. Each queries a sparse, keys-only index (`../table.ts`) — `byRecipient`
 * (MESSAGE items by `to`, `createdAt`) or `byOriginator` (MO items by `from`, `receivedAt`) — then
 * reads the items with BatchGetItem, and returns them in the index's order.
 *
 * A number may be stored in two forms: a job's `to` with or without its leading `+` (the job schema
 * allows both), an MO's `from` as the SMSC wrote it. So both forms are queried and merged by time.
 * Every look-up is bounded by `limit`; the index is read a page at a time, only as far as needed.
 */
import { BatchGetItemCommand, QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConfigError, StoreError } from '../../errors.js';
import type { StatusItem } from '../../core/message-state.js';
import { Expr, fromItem, key } from '../item-codec.js';
import { MESSAGE_INDEXES, type MessageIndexName } from '../table.js';
import { ItemKind, type MoItem } from './item-model.js';

/** How many items a look-up returns when not told. */
export const DEFAULT_LOOKUP_LIMIT = 50;
/** The most a look-up returns: it reads every item it returns, so it stays bounded. */
export const MAX_LOOKUP_LIMIT = 1000;
/** BatchGetItem takes at most 100 keys. */
const BATCH_GET_KEYS = 100;

/** A point in time: a Date, epoch milliseconds, or an ISO-8601 string. */
export type Instant = Date | number | string;

export interface LookupOptions {
  /** The oldest `createdAt` / `receivedAt` to return (inclusive). */
  since?: Instant;
  /** The newest `createdAt` / `receivedAt` to return (inclusive). */
  until?: Instant;
  /** At most this many, newest first. @defaultvalue 50 (at most 1000) */
  limit?: number;
}

export interface StatusLookupsOptions {
  client: Pick<DynamoDBClient, 'send'>;
  tableName: string;
  /** Tries of a BatchGetItem that keeps returning UnprocessedKeys (throttling) before giving up. @defaultvalue 8 */
  batchGetAttempts?: number;
  /** First wait between those tries, doubled each time. @defaultvalue 50 */
  batchGetBackoffMs?: number;
  /** Index entries per Query page. @defaultvalue the look-up's limit: one page per form usually answers it */
  pageSize?: number;
}

/** One index entry: the item's id and its sort key. */
interface IndexKey {
  id: string;
  at: string;
}

/** Reads of the look-up indexes (see the module comment). */
export class StatusLookups {
  readonly #client: Pick<DynamoDBClient, 'send'>;
  readonly #table: string;
  readonly #attempts: number;
  readonly #backoffMs: number;
  readonly #pageSize: number | undefined;

  constructor(options: StatusLookupsOptions) {
    if (options.tableName.length === 0) throw new ConfigError(['tableName must not be empty']);
    this.#client = options.client;
    this.#table = options.tableName;
    this.#attempts = options.batchGetAttempts ?? 8;
    this.#backoffMs = options.batchGetBackoffMs ?? 50;
    this.#pageSize = options.pageSize;
  }

  /** The messages sent to `to` (either form, `+` or not), newest first by `createdAt`. */
  async listByRecipient(to: string, opts: LookupOptions = {}): Promise<StatusItem[]> {
    const items = await this.#lookUp('byRecipient', recipientForms(to), opts);
    return items.filter((i): i is Record<string, unknown> & StatusItem => i['kind'] === ItemKind.MESSAGE);
  }

  /** The MOs received from `from` (for a number, either form), newest first by `receivedAt`. */
  async listMoByOriginator(from: string, opts: LookupOptions = {}): Promise<MoItem[]> {
    const items = await this.#lookUp('byOriginator', originatorForms(from), opts);
    return items.filter((i): i is Record<string, unknown> & MoItem => i['kind'] === ItemKind.MO);
  }

  async #lookUp(index: MessageIndexName, forms: string[], opts: LookupOptions): Promise<Record<string, unknown>[]> {
    const limit = lookupLimit(opts.limit);
    const range = timeRange(opts);
    if (range.since !== undefined && range.until !== undefined && range.since > range.until) return [];
    const cursors = forms.map((form) => new IndexCursor(this.#client, this.#table, index, form, range, Math.min(limit, this.#pageSize ?? limit)));
    const keys: IndexKey[] = [];
    // Merge the forms' newest-first streams, taking the newer head each time.
    while (keys.length < limit) {
      let best: IndexCursor | undefined;
      for (const c of cursors) {
        const head = await c.peek();
        if (head === undefined) continue;
        const bestHead = await best?.peek();
        if (bestHead === undefined || newer(head, bestHead)) best = c;
      }
      if (best === undefined) break;
      keys.push(best.take());
    }
    return this.#getAll(keys.map((k) => k.id));
  }

  /** The items of `ids`, in that order; an item gone meanwhile (TTL) is left out. */
  async #getAll(ids: string[]): Promise<Record<string, unknown>[]> {
    const byId = new Map<string, Record<string, unknown>>();
    for (let i = 0; i < ids.length; i += BATCH_GET_KEYS) {
      for (const item of await this.#batchGet(ids.slice(i, i + BATCH_GET_KEYS))) byId.set(String(item['id']), item);
    }
    return ids.flatMap((id) => {
      const item = byId.get(id);
      return item === undefined ? [] : [item];
    });
  }

  /** One BatchGetItem, re-asking for its UnprocessedKeys with a growing wait (they mean throttling). */
  async #batchGet(ids: string[]): Promise<Record<string, unknown>[]> {
    const found: Record<string, unknown>[] = [];
    let pending: Record<string, AttributeValue>[] = ids.map(key);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= this.#attempts) throw new StoreError(`BatchGetItem left ${pending.length} item(s) unprocessed after ${this.#attempts} tries`);
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, this.#backoffMs * 2 ** (attempt - 1)));
      try {
        // Eventually consistent, like the index it follows (half the read cost of a consistent read).
        const out = await this.#client.send(new BatchGetItemCommand({ RequestItems: { [this.#table]: { Keys: pending } } }));
        for (const item of out.Responses?.[this.#table] ?? []) {
          const read = fromItem<Record<string, unknown>>(item);
          if (read !== undefined) found.push(read);
        }
        pending = out.UnprocessedKeys?.[this.#table]?.Keys ?? [];
      } catch (err) {
        throw new StoreError('BatchGetItem of a look-up failed', { cause: err });
      }
    }
    return found;
  }
}

/** Newest first; equal times by id, so the order is the same on every call. */
function newer(a: IndexKey, b: IndexKey): boolean {
  return a.at > b.at || (a.at === b.at && a.id > b.id);
}

/** One form's entries in an index, newest first, read a page at a time as they are taken. */
class IndexCursor {
  readonly #buffer: IndexKey[] = [];
  #next: Record<string, AttributeValue> | undefined;
  #done = false;

  constructor(
    private readonly client: Pick<DynamoDBClient, 'send'>,
    private readonly table: string,
    private readonly index: MessageIndexName,
    private readonly value: string,
    private readonly range: { since?: string; until?: string },
    private readonly pageSize: number,
  ) {}

  async peek(): Promise<IndexKey | undefined> {
    while (this.#buffer.length === 0 && !this.#done) await this.#page();
    return this.#buffer[0];
  }

  /** The head `peek` returned. */
  take(): IndexKey {
    const head = this.#buffer.shift();
    if (head === undefined) throw new StoreError('IndexCursor.take() without a head', { retryable: false });
    return head;
  }

  async #page(): Promise<void> {
    const { partitionKey, sortKey } = MESSAGE_INDEXES[this.index];
    const x = new Expr();
    const pk = `${x.n(partitionKey.name)} = ${x.v(this.value)}`;
    const { since, until } = this.range;
    // Only a placeholder the expression uses: DynamoDB refuses unused ones.
    const sk = since !== undefined || until !== undefined ? x.n(sortKey.name) : '';
    const condition =
      since !== undefined && until !== undefined
        ? `${pk} AND ${sk} BETWEEN ${x.v(since)} AND ${x.v(until)}`
        : since !== undefined
          ? `${pk} AND ${sk} >= ${x.v(since)}`
          : until !== undefined
            ? `${pk} AND ${sk} <= ${x.v(until)}`
            : pk;
    try {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: this.index,
          KeyConditionExpression: condition,
          ScanIndexForward: false,
          Limit: this.pageSize,
          ...x.params(),
          ...(this.#next !== undefined && { ExclusiveStartKey: this.#next }),
        }),
      );
      for (const item of out.Items ?? []) {
        const id = item['id']?.S;
        const at = item[sortKey.name]?.S;
        if (id !== undefined && at !== undefined) this.#buffer.push({ id, at });
      }
      this.#next = out.LastEvaluatedKey;
      this.#done = out.LastEvaluatedKey === undefined;
    } catch (err) {
      throw new StoreError(`query of index ${this.index} failed`, { cause: err });
    }
  }
}

/** Digits with an optional leading `+`, as the job schema allows (`^\+?[0-9]{6,15}$`). */
const PHONE_NUMBER = /^\+?[0-9]{6,15}$/;

/** Both stored forms of a job's `to`: with and without `+`. */
export function recipientForms(to: string): string[] {
  const trimmed = to.trim();
  if (!PHONE_NUMBER.test(trimmed)) throw new RangeError(`"${to}" is not a phone number: + and 6-15 digits, or 6-15 digits`);
  const digits = trimmed.replace(/^\+/, '');
  return [`+${digits}`, digits];
}

/** The forms an MO's `from` may have: a number with and without `+`; anything else (an alphanumeric sender) as it is. */
export function originatorForms(from: string): string[] {
  const trimmed = from.trim();
  if (trimmed.length === 0 || trimmed.length > 64) throw new RangeError('an originator is 1 to 64 characters');
  if (!/^\+?[0-9]+$/.test(trimmed)) return [trimmed];
  const digits = trimmed.replace(/^\+/, '');
  return [`+${digits}`, digits];
}

function lookupLimit(limit: number | undefined): number {
  const n = limit ?? DEFAULT_LOOKUP_LIMIT;
  if (!Number.isInteger(n) || n < 1 || n > MAX_LOOKUP_LIMIT) throw new RangeError(`limit must be a whole number from 1 to ${MAX_LOOKUP_LIMIT} (got ${limit})`);
  return n;
}

/** The bounds as the sort keys are written (`toISOString`, so they compare as strings). */
function timeRange(opts: LookupOptions): { since?: string; until?: string } {
  const problems: string[] = [];
  const read = (name: string, value: Instant | undefined): string | undefined => {
    if (value === undefined) return undefined;
    const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value);
    if (!Number.isFinite(ms)) {
      problems.push(`${name} is not a date-time: ${String(value)}`);
      return undefined;
    }
    return new Date(ms).toISOString();
  };
  const since = read('since', opts.since);
  const until = read('until', opts.until);
  if (problems.length > 0) throw new RangeError(problems.join('; '));
  return { ...(since !== undefined && { since }), ...(until !== undefined && { until }) };
}
