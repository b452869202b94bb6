/**
 * The suppression list (docs/architecture.md §7.5): OPTOUT items in the messages table, one per
 * number and sender (`*` = every sender), described in `status-store/item-model.ts`. The rules —
 * keywords, how numbers and senders are keyed — are pure, in `core/opt-out.ts`; this module reads
 * and writes the items and knows no SMPP.
 *
 * - `isSuppressed` is the outbound check: the checks made in one turn of the event loop (a
 *   receive's jobs) go out as one strongly consistent BatchGetItem over each job's two keys.
 * - `moWrite` is the item an MO keyword changes, as one more write in the transaction that stores
 *   the MO (`mo-group-table.ts`): the MO and its opt-out land together or not at all, once per MO.
 * - `optOut` / `optIn` / `list` are the operator's (`npm run optout`). `list` scans the table with
 *   a filter on `kind`: an index for a rarely used listing would cost a write on every change, and
 *   the service itself never lists.
 */
import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import {
  ALL_SENDERS,
  isSuppressedBy,
  moChange,
  normaliseNumber,
  normaliseSender,
  OPTOUT_KIND,
  optOutId,
  suppressionIds,
  type OptOutChange,
  type OptOutSettings,
  type OptOutState,
} from '../core/opt-out.js';
import { StoreError } from '../errors.js';
import { Expr, fromItem, key } from './item-codec.js';
import type { MoItem } from './status-store/item-model.js';

/** An OPTOUT item as stored. */
export interface SuppressionEntry {
  id: string;
  kind: typeof OPTOUT_KIND;
  number: string;
  sender: string;
  state: OptOutState;
  /** ISO-8601 */
  changedAt: string;
  source: 'mo' | 'operator';
  /** The MO that carried the keyword, when `source` is `mo`. */
  moId?: string;
  version: number;
}

/** Who changed an entry. */
export type SuppressionSource = { kind: 'mo'; moId: string } | { kind: 'operator' };

export interface SuppressionListOptions {
  client: Pick<DynamoDBClient, 'send'>;
  tableName: string;
  /** Epoch milliseconds. @defaultvalue Date.now */
  clock?: () => number;
}

/** BatchGetItem reads at most 100 keys per call. */
const BATCH_KEYS = 100;
/** Calls for keys DynamoDB left unprocessed (throttling) before the check fails with a retryable error. */
const UNPROCESSED_ATTEMPTS = 5;

interface PendingCheck {
  ids: readonly string[];
  resolve: (suppressed: boolean) => void;
  reject: (err: unknown) => void;
}

/** DynamoDB adapter for the suppression list (see the module comment). */
export class SuppressionList {
  readonly #client: Pick<DynamoDBClient, 'send'>;
  readonly #table: string;
  readonly #clock: () => number;
  #pending: PendingCheck[] = [];
  #timer: NodeJS.Immediate | undefined;

  constructor(options: SuppressionListOptions) {
    this.#client = options.client;
    this.#table = options.tableName;
    this.#clock = options.clock ?? Date.now;
  }

  /** Whether a job from `from` to `to` is held back: the number opted out of that sender, or of every sender. */
  isSuppressed(to: string, from: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ ids: suppressionIds(to, from), resolve, reject });
      if (this.#pending.reduce((n, c) => n + c.ids.length, 0) >= BATCH_KEYS) this.#flush();
      else this.#timer ??= setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    if (this.#timer !== undefined) clearImmediate(this.#timer);
    this.#timer = undefined;
    const batch = this.#pending;
    this.#pending = [];
    this.#states(new Set(batch.flatMap((c) => c.ids))).then(
      (states) => {
        for (const c of batch) c.resolve(isSuppressedBy(c.ids.map((id) => states.get(id))));
      },
      (err: unknown) => {
        for (const c of batch) c.reject(err);
      },
    );
  }

  /** id → state of the entries among `ids` that exist (strongly consistent, so a change just made counts). */
  async #states(ids: ReadonlySet<string>): Promise<Map<string, OptOutState>> {
    const states = new Map<string, OptOutState>();
    const all = [...ids];
    for (let i = 0; i < all.length; i += BATCH_KEYS) {
      let keys: Record<string, AttributeValue>[] = all.slice(i, i + BATCH_KEYS).map(key);
      for (let attempt = 0; keys.length > 0; attempt++) {
        if (attempt === UNPROCESSED_ATTEMPTS) throw new StoreError(`suppression check: ${keys.length} key(s) left unprocessed`);
        if (attempt > 0) await new Promise((r) => setTimeout(r, 25 * 2 ** attempt));
        let out;
        try {
          out = await this.#client.send(
            new BatchGetItemCommand({
              RequestItems: {
                [this.#table]: { Keys: keys, ConsistentRead: true, ProjectionExpression: '#id, #state', ExpressionAttributeNames: { '#id': 'id', '#state': 'state' } },
              },
            }),
          );
        } catch (err) {
          throw new StoreError('suppression check failed', { cause: err });
        }
        for (const raw of out.Responses?.[this.#table] ?? []) {
          const item = fromItem<{ id: string; state: OptOutState }>(raw);
          if (item !== undefined) states.set(item.id, item.state);
        }
        keys = out.UnprocessedKeys?.[this.#table]?.Keys ?? [];
      }
    }
    return states;
  }

  /**
   * The write an MO makes when its whole text is a keyword (undefined otherwise), to go into the
   * transaction that stores the MO: no condition, so it never keeps the MO from being stored.
   */
  moWrite(mo: MoItem, settings: OptOutSettings): TransactWriteItem | undefined {
    const change = moChange(mo, settings);
    if (change === undefined) return undefined;
    return { Update: { TableName: this.#table, ...this.#update(change, { kind: 'mo', moId: mo.id }) } };
  }

  /** Puts `number` on the list for `sender` (or `*`, every sender). */
  async optOut(number: string, sender: string, source: SuppressionSource = { kind: 'operator' }): Promise<SuppressionEntry> {
    return (await this.#set({ number: normaliseNumber(number), sender: normaliseSender(sender), state: 'out' }, source, false)) as SuppressionEntry;
  }

  /** Takes `number` off the list for `sender` (or `*`); undefined when it has no entry there. */
  optIn(number: string, sender: string, source: SuppressionSource = { kind: 'operator' }): Promise<SuppressionEntry | undefined> {
    return this.#set({ number: normaliseNumber(number), sender: normaliseSender(sender), state: 'in' }, source, true);
  }

  /**
   * Every entry (optionally of one sender, or only in one state), sorted by sender and number. A
   * Scan of the whole table filtered on `kind`: it reads every item, so it is for operators, not
   * for the request path.
   */
  async list(filter: { sender?: string; state?: OptOutState } = {}): Promise<SuppressionEntry[]> {
    const x = new Expr();
    const conditions = [`${x.n('kind')} = ${x.v(OPTOUT_KIND)}`];
    if (filter.sender !== undefined) conditions.push(`${x.n('sender')} = ${x.v(normaliseSender(filter.sender))}`);
    if (filter.state !== undefined) conditions.push(`${x.n('state')} = ${x.v(filter.state)}`);
    const entries: SuppressionEntry[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      let page;
      try {
        page = await this.#client.send(
          new ScanCommand({ TableName: this.#table, FilterExpression: conditions.join(' AND '), ...x.params(), ...(start !== undefined && { ExclusiveStartKey: start }) }),
        );
      } catch (err) {
        throw new StoreError('listing the suppression list failed', { cause: err });
      }
      for (const raw of page.Items ?? []) {
        const item = fromItem<SuppressionEntry>(raw);
        if (item !== undefined) entries.push(item);
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return entries.sort((a, b) => a.sender.localeCompare(b.sender) || a.number.localeCompare(b.number));
  }

  async #set(change: OptOutChange, source: SuppressionSource, mustExist: boolean): Promise<SuppressionEntry | undefined> {
    if (!/^[0-9]{3,15}$/.test(change.number)) throw new StoreError(`not a phone number: ${change.number.length} characters`, { retryable: false });
    if (change.sender.length === 0 || (change.sender !== ALL_SENDERS && change.sender.includes('#'))) {
      throw new StoreError('the sender must be a sender id, a short code, a number or *', { retryable: false });
    }
    try {
      const out = await this.#client.send(new UpdateItemCommand({ TableName: this.#table, ...this.#update(change, source, mustExist), ReturnValues: 'ALL_NEW' }));
      return fromItem<SuppressionEntry>(out.Attributes);
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return undefined;
      throw new StoreError('changing the suppression list failed', { cause: err });
    }
  }

  /** The update of one entry, conditional on its existing when `mustExist`. */
  #update(change: OptOutChange, source: SuppressionSource, mustExist = false) {
    const x = new Expr();
    const sets = [
      `${x.n('kind')} = ${x.v(OPTOUT_KIND)}`,
      `${x.n('number')} = ${x.v(change.number)}`,
      `${x.n('sender')} = ${x.v(change.sender)}`,
      `${x.n('state')} = ${x.v(change.state)}`,
      `${x.n('changedAt')} = ${x.v(new Date(this.#clock()).toISOString())}`,
      `${x.n('source')} = ${x.v(source.kind)}`,
      `${x.n('version')} = if_not_exists(${x.n('version')}, ${x.v(0)}) + ${x.v(1)}`,
    ];
    if (source.kind === 'mo') sets.push(`${x.n('moId')} = ${x.v(source.moId)}`);
    return {
      Key: key(optOutId(change.sender, change.number)),
      UpdateExpression: `SET ${sets.join(', ')}` + (source.kind === 'operator' ? ` REMOVE ${x.n('moId')}` : ''),
      ...(mustExist && { ConditionExpression: `attribute_exists(${x.n('id')})` }),
      ...x.params(),
    };
  }
}
