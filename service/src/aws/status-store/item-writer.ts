/**
 * Writes of MESSAGE items, one at a time per item: a versioned read-modify-write (every write is
 * conditional on the `version` it read, and retried on a conflict), a per-item queue so this task's
 * writes to one item never race each other, and a cache of the items it wrote last, so the usual
 * claim → accepted → receipt sequence needs no GetItem (docs/architecture.md §3.2). Writes (and reads)
 * made in the same linger go out together (`statement-batcher.ts`, `read-batcher.ts`); a write alone
 * is a conditional PutItem, a read alone a GetItem.
 */
import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { StoreError } from '../../errors.js';
import type { StatusItem } from '../../core/message-state.js';
import { Expr, fromItem, key, toItem } from '../item-codec.js';
import { ItemKind } from './item-model.js';
import { ReadBatcher } from './read-batcher.js';
import { insertStatement, StatementBatcher, type Statement } from './statement-batcher.js';

/** Read-modify-write attempts before a version conflict becomes a (retryable) StoreError. */
const MAX_CONFLICT_RETRIES = 10;
/** Items remembered for the first try of a read-modify-write (about a minute of traffic at 100 jobs/s). */
const RECENT_ITEMS = 5000;

/** The subset of a pino logger the store uses. */
export interface StoreLogger {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** What every part of the store talks to. */
export interface TableAccess {
  client: Pick<DynamoDBClient, 'send'>;
  table: string;
  logger: StoreLogger | undefined;
}

/** MESSAGE items read and written with optimistic concurrency (see the module comment). */
export class ItemWriter {
  readonly #client: Pick<DynamoDBClient, 'send'>;
  readonly #table: string;
  readonly #logger: StoreLogger | undefined;
  /**
   * The last version of items this store wrote or claimed. A read-modify-write first tries
   * that version (its condition `version = v` makes a stale copy harmless: it just fails and
   * reads again), which saves the GetItem in the usual claim → accepted → receipt sequence.
   */
  readonly #recent = new Map<string, StatusItem>();
  /** Tail of the writes queued per MESSAGE id: this task's writes to one item go one at a time, never racing each other. */
  readonly #writing = new Map<string, Promise<unknown>>();
  /** Per MESSAGE id, the changes waiting for its next write: those that queue up meanwhile join them. */
  readonly #waiting = new Map<string, { changes: Change[]; written: Promise<StatusItem | undefined> }>();
  /** This store's single-item writes, batched (StatementBatcher) (shared with the receipt router's correlation writes). */
  readonly statements: StatementBatcher;
  readonly #reads: ReadBatcher;

  /** `lingerMs`: how long a read or write waits for others to share its batch call (StatementBatcher, ReadBatcher). */
  constructor(access: TableAccess, lingerMs = 0) {
    this.#client = access.client;
    this.#table = access.table;
    this.#logger = access.logger;
    this.statements = new StatementBatcher(access.client, access.logger, lingerMs);
    this.#reads = new ReadBatcher(access.client, access.table, access.logger, lingerMs);
  }

  /** The MESSAGE item with this id (consistent read), or undefined (also for ids of other kinds). */
  async get(id: string): Promise<StatusItem | undefined> {
    const item = await this.getRaw(id);
    return item?.kind === ItemKind.MESSAGE ? (item as unknown as StatusItem) : undefined;
  }

  /** Any item, as stored (consistent read; batched with the other reads of its linger). */
  async getRaw(id: string): Promise<Record<string, unknown> | undefined> {
    const batched = await this.#reads.get(id);
    if (batched !== 'single') return fromItem<Record<string, unknown>>(batched.item);
    try {
      const out = await this.#client.send(new GetItemCommand({ TableName: this.#table, Key: key(id), ConsistentRead: true }));
      return fromItem<Record<string, unknown>>(out.Item);
    } catch (err) {
      throw new StoreError(`get of ${id} failed`, { cause: err });
    }
  }

  /** The item as this task last wrote or read it, if it still remembers it. */
  cached(id: string): StatusItem | undefined {
    return this.#recent.get(id);
  }

  /** Remembers the item as this task just wrote or read it (the first try of its next write). */
  remember(item: StatusItem | undefined): void {
    if (item !== undefined) setBounded(this.#recent, item.id, item, RECENT_ITEMS);
  }

  /** Runs `write` after every write to `id` this task queued before it. */
  #serially<T>(id: string, write: () => Promise<T>): Promise<T> {
    const run = (this.#writing.get(id) ?? Promise.resolve()).then(write);
    const tail = run.catch(() => undefined);
    this.#writing.set(id, tail);
    void tail.then(() => {
      if (this.#writing.get(id) === tail) this.#writing.delete(id);
    });
    return run;
  }

  /**
   * Read-modify-write of a MESSAGE item, guarded by `version`; retried on conflict. `change` gets a
   * copy of the item (undefined when absent) and returns the item to write, or undefined for no write.
   * Returns what is stored afterwards (undefined when absent and nothing was written).
   *
   * Changes that queue up while a write to the item is in flight go out together in its next write,
   * each applied to what the one before it made (a long message's receipts come together: one
   * write instead of one each). Every caller gets what that write stored.
   */
  mutate(id: string, change: Change): Promise<StatusItem | undefined> {
    const waiting = this.#waiting.get(id);
    if (waiting !== undefined) {
      waiting.changes.push(change);
      return waiting.written;
    }
    const changes = [change];
    const written = this.#serially(id, () => {
      this.#waiting.delete(id);
      return this.#readModifyWrite(id, (item) => {
        let out = { item, changed: false };
        for (const c of changes) {
          const next = c(out.item === undefined ? undefined : structuredClone(out.item));
          if (next !== undefined) out = { item: next, changed: true };
        }
        return out;
      });
    });
    this.#waiting.set(id, { changes, written });
    return written;
  }

  async #readModifyWrite(id: string, compose: (item: StatusItem | undefined) => { item: StatusItem | undefined; changed: boolean }): Promise<StatusItem | undefined> {
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      const cached = attempt === 0 ? this.#recent.get(id) : undefined;
      const current = cached ?? (await this.get(id));
      const version = current?.version;
      const { item: next, changed } = compose(current); // each change gets a copy
      if (!changed || next === undefined) return current;
      next.version = (version ?? 0) + 1;
      if (await this.#write(id, current, next)) {
        this.remember(next);
        return next;
      }
      this.#recent.delete(id);
      this.#logger?.debug({ messageId: id, attempt }, 'version conflict; retrying');
    }
    throw new StoreError(`update of ${id} lost ${MAX_CONFLICT_RETRIES} version races in a row`);
  }

  /** Writes `next` where `current` is stored (undefined: nothing is); false when the item has moved on (a version conflict). */
  async #write(id: string, current: StatusItem | undefined, next: StatusItem): Promise<boolean> {
    const item = toItem(next);
    const batched = await this.statements.write(versionedStatement(this.#table, id, current, item));
    if (batched !== 'single') return batched === 'written';
    const x = new Expr();
    const condition =
      current === undefined
        ? `attribute_not_exists(${x.n('id')})`
        : current.version === undefined
          ? `attribute_not_exists(${x.n('version')})`
          : `${x.n('version')} = ${x.v(current.version)}`;
    try {
      await this.#client.send(new PutItemCommand({ TableName: this.#table, Item: item, ConditionExpression: condition, ...x.params() }));
      return true;
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw new StoreError(`update of ${id} failed`, { cause: err });
      return false;
    }
  }

  /** PutItem unless the id exists; false when it does. */
  async putNew(item: { id: string }): Promise<boolean> {
    const x = new Expr();
    try {
      await this.#client.send(
        new PutItemCommand({ TableName: this.#table, Item: toItem(item), ConditionExpression: `attribute_not_exists(${x.n('id')})`, ...x.params() }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw new StoreError(`put of ${item.id} failed`, { cause: err });
    }
  }
}

/**
 * The PartiQL form of the conditional PutItem that writes `item` where `current` is stored: an INSERT
 * when nothing is, else an UPDATE that sets every attribute of `item` and removes those only
 * `current` has, on condition of `current`'s version. Where the version matches, the stored item is
 * `current`, so the result is `item`, as the PutItem's would be (docs/architecture.md §3.2).
 */
export function versionedStatement(table: string, id: string, current: StatusItem | undefined, item: Record<string, AttributeValue>): Statement {
  if (current === undefined) return insertStatement(table, item);
  const names = Object.keys(item).filter((n) => n !== 'id');
  const removed = Object.entries(current).filter(([n, v]) => v !== undefined && n !== 'id' && !(n in item)).map(([n]) => n);
  const version = current.version === undefined ? '"version" IS MISSING' : '"version" = ?';
  return {
    id,
    statement: `UPDATE "${table}"${names.map((n) => ` SET "${n}" = ?`).join('')}${removed.map((n) => ` REMOVE "${n}"`).join('')} WHERE "id" = ? AND ${version}`,
    parameters: [...names.map((n) => item[n] as AttributeValue), { S: id }, ...(current.version === undefined ? [] : [{ N: String(current.version) }])],
  };
}

/** A change to a MESSAGE item: the item to write, or undefined for no write (see ItemWriter.mutate). */
type Change = (item: StatusItem | undefined) => StatusItem | undefined;

/** Sets `key` as the newest entry of an insertion-ordered map, dropping the oldest beyond `max` (0: keeps nothing). */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  if (max <= 0) return;
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as K);
}
