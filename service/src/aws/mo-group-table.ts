/**
 * The DynamoDB calls of the MO store (docs/architecture.md §5 rule 7), one per method, each on one
 * MOPART item and each conditional: the part write (a slot filled only if empty, in an open
 * generation), the reopening of a done generation, the close (the MO item and `doneAt` in one
 * transaction) and the consistent read. Each turns a failed condition into an outcome the caller
 * decides on; which call follows which is `mo-store.ts`'s business, the rules are `mo-group.ts`.
 */
import {
  ConditionalCheckFailedException,
  GetItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type DynamoDBClient,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { StoreError } from '../errors.js';
import { Expr, fromItem, key, toItem } from './item-codec.js';
import { withoutEmptyIndexKeys } from './table.js';
import { assembleMo, MO_GROUP_KIND, newGeneration, partsOf, type GroupItem, type MoPartInput, type StoredPart } from './mo-group.js';
import type { MoItem } from './status-store/item-model.js';

/** How a close ended: this call stored the MO, another writer had closed the generation, or it changed under us. */
export type CloseOutcome = { outcome: 'stored'; mo: MoItem } | { outcome: 'closed' } | { outcome: 'changed' };

/** The part write: added to the open generation (the item after it), or refused (the item as it is). */
export type AddOutcome = { ok: true; item: GroupItem } | { ok: false; item: GroupItem };

export interface MoGroupTableOptions {
  client: Pick<DynamoDBClient, 'send'>;
  tableName: string;
  /** Seconds an item is kept after its last write (TTL). */
  ttlSeconds: number;
  /** How long a generation takes parts, ms. */
  timeoutMs: number;
  /** One more write that goes into the transaction storing an MO, if any (an opt-out keyword's: docs/architecture.md §7.5). */
  alsoWrite?: (mo: MoItem) => TransactWriteItem | undefined;
}

/** MOPART items (and the MO items they close into) in the messages table. */
export class MoGroupTable {
  readonly #client: Pick<DynamoDBClient, 'send'>;
  readonly #table: string;
  readonly #ttlSeconds: number;
  readonly #timeoutMs: number;
  readonly #alsoWrite: ((mo: MoItem) => TransactWriteItem | undefined) | undefined;

  constructor(options: MoGroupTableOptions) {
    this.#client = options.client;
    this.#table = options.tableName;
    this.#ttlSeconds = options.ttlSeconds;
    this.#timeoutMs = options.timeoutMs;
    this.#alsoWrite = options.alsoWrite;
  }

  /** Adds the part to the key's open generation (creating it if need be); otherwise returns the item as it is. */
  async addToOpenGeneration(groupId: string, part: MoPartInput, seq: number, total: number, stored: StoredPart, now: number): Promise<AddOutcome> {
    const x = new Expr();
    const slot = x.n(`p${seq}`);
    // Parts are top-level attributes: `SET parts.#seq` fails on an item without the map, and one
    // expression cannot both create the map and fill it.
    const update =
      `SET ${slot} = ${x.v(stored)}, ${x.n('kind')} = ${x.v(MO_GROUP_KIND)}, ${addresses(x, part)}` +
      `${x.n('total')} = ${x.v(total)}, ${x.n('expiresAt')} = ${x.v(this.#expiresAt(now))}, ` +
      `${x.n('gen')} = if_not_exists(${x.n('gen')}, ${x.v(newGeneration())}), ${x.n('openedAt')} = if_not_exists(${x.n('openedAt')}, ${x.v(now)}), ` +
      `${x.n('version')} = if_not_exists(${x.n('version')}, ${x.v(0)}) + ${x.v(1)}`;
    const condition =
      `attribute_not_exists(${slot}) AND attribute_not_exists(${x.n('doneAt')}) AND ` +
      `(attribute_not_exists(${x.n('openedAt')}) OR ${x.n('openedAt')} > ${x.v(now - this.#timeoutMs)})`;
    try {
      const out = await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: key(groupId),
          UpdateExpression: update,
          ConditionExpression: condition,
          ...x.params(),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { ok: true, item: asGroup(out.Attributes) };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw new StoreError('storing an MO part failed', { cause: err });
      // The condition only fails on an existing item.
      const current = (err.Item === undefined ? undefined : asGroup(err.Item)) ?? (await this.get(groupId));
      if (current === undefined) throw new StoreError('an MO group vanished while a part was stored');
      return { ok: false, item: current };
    }
  }

  /** Starts a new generation holding only this part, if `closed` is still the current (done) one; undefined when it is not. */
  async reopen(closed: GroupItem, seq: number, stored: StoredPart, now: number): Promise<GroupItem | undefined> {
    const x = new Expr();
    const slot = x.n(`p${seq}`);
    const removed = [...partsOf(closed).keys()].filter((s) => s !== seq).map((s) => x.n(`p${s}`));
    try {
      const out = await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: key(closed.id),
          UpdateExpression:
            `SET ${x.n('gen')} = ${x.v(newGeneration())}, ${x.n('openedAt')} = ${x.v(now)}, ${slot} = ${x.v(stored)}, ` +
            `${x.n('version')} = ${x.n('version')} + ${x.v(1)}, ${x.n('expiresAt')} = ${x.v(this.#expiresAt(now))} ` +
            `REMOVE ${[x.n('doneAt'), x.n('moId'), ...removed].join(', ')}`,
          ConditionExpression: `${x.n('gen')} = ${x.v(closed.gen)} AND attribute_exists(${x.n('doneAt')})`,
          ...x.params(),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return asGroup(out.Attributes);
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return undefined;
      throw new StoreError(`reopening MO group generation ${closed.gen} failed`, { cause: err });
    }
  }

  /**
   * Writes the generation's MO item and marks the generation done, in one transaction conditional
   * on the generation being exactly as read (same gen and version, not done).
   */
  async close(group: GroupItem, now: number): Promise<CloseOutcome> {
    const mo = assembleMo(group, this.#expiresAt(now));
    // In the same transaction, so it is written exactly when the MO is: once, whichever task or redelivery stores it.
    const also = this.#alsoWrite?.(mo);
    const put = new Expr();
    const mark = new Expr();
    try {
      await this.#client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: this.#table, Item: toItem(withoutEmptyIndexKeys(mo)), ConditionExpression: `attribute_not_exists(${put.n('id')})`, ...put.params() } },
            {
              Update: {
                TableName: this.#table,
                Key: key(group.id),
                UpdateExpression:
                  `SET ${mark.n('doneAt')} = ${mark.v(new Date(now).toISOString())}, ${mark.n('moId')} = ${mark.v(mo.id)}, ` +
                  `${mark.n('version')} = ${mark.n('version')} + ${mark.v(1)}`,
                ConditionExpression:
                  `${mark.n('gen')} = ${mark.v(group.gen)} AND ${mark.n('version')} = ${mark.v(group.version)} AND attribute_not_exists(${mark.n('doneAt')})`,
                ...mark.params(),
              },
            },
            ...(also === undefined ? [] : [also]),
          ],
        }),
      );
      return { outcome: 'stored', mo };
    } catch (err) {
      if (!(err instanceof TransactionCanceledException)) throw new StoreError(`storing MO ${mo.id} failed`, { cause: err });
      const current = await this.get(group.id);
      // Generations are only replaced once done, so a different one means this one was stored
      // (typically by another task's close, whose transaction conflicted with or preceded ours).
      if (current === undefined || current.gen !== group.gen || current.doneAt !== undefined) return { outcome: 'closed' };
      const reasons = err.CancellationReasons?.map((r) => r.Code ?? 'None') ?? [];
      if (reasons.includes('ConditionalCheckFailed')) return { outcome: 'changed' };
      // Throttling, or a conflict with a transaction that did not close it: the caller's error path retries.
      throw new StoreError(`storing MO ${mo.id} was cancelled (${reasons.join(', ')})`, { cause: err });
    }
  }

  /** The MOPART item as it is now (consistent read), or undefined when there is none. */
  async get(groupId: string): Promise<GroupItem | undefined> {
    try {
      const out = await this.#client.send(new GetItemCommand({ TableName: this.#table, Key: key(groupId), ConsistentRead: true }));
      return out.Item === undefined ? undefined : asGroup(out.Item);
    } catch (err) {
      throw new StoreError('reading an MO group failed', { cause: err });
    }
  }

  #expiresAt(nowMs: number): number {
    return Math.floor(nowMs / 1000) + this.#ttlSeconds;
  }
}

function asGroup(attributes: Parameters<typeof fromItem>[0]): GroupItem {
  const item = fromItem<GroupItem>(attributes);
  if (item === undefined) throw new StoreError('an MO group came back empty');
  // An empty address is stored as absent (see `addresses`).
  return { ...item, from: item.from ?? '', to: item.to ?? '' };
}

/**
 * `from = …, to = …, ` for the addresses that are not empty: `from` and `to` are index keys, and
 * DynamoDB refuses a whole write that sets one to an empty string (docs/architecture.md §7.3), which
 * would leave the part unacknowledged for ever. The group key still covers the empty address.
 */
function addresses(x: Expr, part: MoPartInput): string {
  return (['from', 'to'] as const)
    .filter((name) => part[name] !== '')
    .map((name) => `${x.n(name)} = ${x.v(part[name])}, `)
    .join('');
}
