/**
 * The MO store: mobile-originated messages, reassembled in DynamoDB. Every part is written before
 * its deliver_sm is acknowledged, and whichever task writes the last part of a long message stores
 * the message, so the parts may arrive on any task's receiver binds (8x8 spreads the parts of one MO
 * over every receiver bind of the system_id) and a task may stop at any moment. It knows no SMPP:
 * a part is plain data, its text already decoded.
 *
 * ## Items (in the messages table; see the item model in status-store/item-model.ts)
 *
 * ### MOPART — `id` = `MOPART#` + group key
 * One per message being assembled, never published downstream. The group key is 32 hex digits of
 * SHA-256 over, for a long message, from, to, concatenation scheme, reference and total parts; for a
 * single-part message, from, to, data_coding and text (it has nothing else that survives a
 * redelivery: SMPP 3.4 deliver_sm carries no message id). Being a hash of the text, the key is
 * never logged.
 * | attribute | type | meaning |
 * |---|---|---|
 * | `kind` | S | `MOPART` |
 * | `from`, `to` | S | as in the deliver_sm |
 * | `total` | N | parts the message has |
 * | `gen` | S | the current generation, a UUID: a key comes round again (an 8-bit reference wraps, a person sends the same short text again), and each generation is one message |
 * | `openedAt` | N | epoch ms when the generation's first part was stored |
 * | `p1`..`pN` | M | `{ text, dataCoding, receivedAt }` of each part received |
 * | `version` | N | +1 per write; closing an incomplete generation is conditional on it, so no part is left out |
 * | `doneAt`, `moId` | S | set in the same transaction that writes the generation's MO item |
 * | `expiresAt` | N | TTL, epoch seconds |
 *
 * ### MO — `id` = `MO#` + the generation's `gen`
 * `kind` = `MO`, `from`, `to`, `text` (parts joined in order), `dataCoding` (the first part's),
 * `parts` (parts it holds), `receivedAt` (the earliest part's arrival). Every writer of a
 * generation derives the same id from the MOPART item, and writes it with attribute_not_exists
 * together with `doneAt`: two writers, or a redelivery, cannot make a second one. (Not a hash of
 * the key, which would let a reader of the logs test guesses at a short text.)
 *
 * ## Rules
 * - A part is added with one UpdateItem, only if its slot is empty, the generation is not done and
 *   is younger than the reassembly timeout; ALL_NEW tells the writer whether the message is complete.
 * - A part whose slot already holds the same text within the repeat window of its generation
 *   (60 s after the first part of a single-part message, 24 h for a long one) is a redelivery: it
 *   changes nothing, but completes the storing of its message if that is still owed (a complete,
 *   or timed-out, generation whose MO write failed).
 * - Any other part under the key starts a new generation; the current one is first stored as it is.
 * - An incomplete generation is stored as what arrived once its timeout has passed, by `expireGroup`
 *   (tasks that saw it call it) or by the next part under its key.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  GetItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { ConfigError, StoreError } from '../errors.js';
import { Expr, fromItem, key, toItem } from './item-codec.js';
import { ItemKind, MO_PREFIX, MOPART_PREFIX, type MoItem } from './status-store/item-model.js';

/** Prefix of MOPART items' ids. */
export const MO_GROUP_PREFIX = MOPART_PREFIX;
/** The `kind` of MOPART items (the stream publisher ignores every kind but MESSAGE and MO). */
export const MO_GROUP_KIND = ItemKind.MOPART;

/** Identical single-part texts closer together than this are one message redelivered. */
export const SINGLE_PART_REPEAT_WINDOW_MS = 60_000;
/** A part of a finished long message seen again within this is a redelivery (SMSCs retry for hours, not days). */
export const LONG_REPEAT_WINDOW_MS = 24 * 3_600_000;
/** Races lost in a row (another task closing or reopening the same group) before giving up with a retryable error. */
const MAX_ATTEMPTS = 5;

/** One deliver_sm's worth of an MO, decoded. */
export interface MoPartInput {
  from: string;
  to: string;
  text: string;
  dataCoding: number;
  /** When this copy arrived (ISO-8601). */
  receivedAt: string;
  /** Where the part sits in a long message; absent for a single-part message. */
  concat?: {
    /** How the parts are tied together, e.g. `udh8`, `udh16`, `sar`. */
    scheme: string;
    ref: number;
    /** 2..255 */
    total: number;
    /** 1..total */
    seq: number;
  };
}

/** What storing one part did. */
export interface MoPartResult {
  /** The MOPART item of the part's message. */
  groupId: string;
  /** MO items this call wrote: the message this part completed, and an older one under the same key that it closed. */
  recorded: MoItem[];
  /** The part was stored already (the SMSC redelivered it): nothing about it changed. */
  duplicate: boolean;
  /** Set while the part's message still misses parts: when (epoch ms) it is due to be stored as it is (see `expireGroup`). */
  dueAt?: number;
}

/** What `expireGroup` did. */
export interface MoExpireResult {
  /** The MO item this call wrote (the group, as what arrived), if it wrote one. */
  recorded: MoItem[];
  /** Set when the group is not due (a newer message opened under its key meanwhile): look again then. */
  dueAt?: number;
}

/** The subset of a pino logger the store uses. */
export interface MoStoreLogger {
  debug(obj: object, msg: string): void;
}

export interface MoStoreOptions {
  client: Pick<DynamoDBClient, 'send'>;
  tableName: string;
  /** Days an item is kept after its last write (TTL). @defaultvalue 30 */
  ttlDays?: number;
  /** How long an incomplete long message waits for its missing parts, ms. @defaultvalue 300000 */
  reassemblyTimeoutMs?: number;
  /** Epoch milliseconds. @defaultvalue Date.now */
  clock?: () => number;
  logger?: MoStoreLogger;
}

interface StoredPart {
  text: string;
  dataCoding: number;
  receivedAt: string;
}

/** A MOPART item as read back; its `p<seq>` attributes are read with partsOf. */
interface GroupItem {
  id: string;
  from: string;
  to: string;
  total: number;
  gen: string;
  openedAt: number;
  version: number;
  doneAt?: string;
  moId?: string;
  [attribute: string]: unknown;
}

/** How a close ended: this call stored the MO, another writer had closed the generation, or it changed under us. */
type CloseOutcome = { outcome: 'stored'; mo: MoItem } | { outcome: 'closed' } | { outcome: 'changed' };

/** DynamoDB adapter for MO messages and their parts (see the item model above). */
export class MoStore {
  readonly #client: Pick<DynamoDBClient, 'send'>;
  readonly #table: string;
  readonly #ttlSeconds: number;
  readonly #timeoutMs: number;
  readonly #clock: () => number;
  readonly #logger: MoStoreLogger | undefined;

  constructor(options: MoStoreOptions) {
    const ttlDays = options.ttlDays ?? 30;
    const timeoutMs = options.reassemblyTimeoutMs ?? 300_000;
    const problems: string[] = [];
    if (options.tableName.length === 0) problems.push('tableName must not be empty');
    if (!Number.isFinite(ttlDays) || ttlDays <= 0) problems.push(`ttlDays must be a positive number (got ${ttlDays})`);
    // A generation older than a day is no longer recognised by its redeliveries; waiting longer than that makes no sense.
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > LONG_REPEAT_WINDOW_MS) {
      problems.push(`reassemblyTimeoutMs must be between 1 and ${LONG_REPEAT_WINDOW_MS} (got ${timeoutMs})`);
    }
    if (problems.length > 0) throw new ConfigError(problems);
    this.#client = options.client;
    this.#table = options.tableName;
    this.#ttlSeconds = Math.round(ttlDays * 86_400);
    this.#timeoutMs = timeoutMs;
    this.#clock = options.clock ?? Date.now;
    this.#logger = options.logger;
  }

  /**
   * Stores one part durably; resolves only once it is in the table (acknowledge the deliver_sm then,
   * not before). When the part completes its message, the MO item is written too, before this
   * resolves; if that write fails this rejects, and the part's redelivery, finding the part stored
   * and the message complete, writes it. Storing the same part again changes nothing.
   */
  async addPart(part: MoPartInput): Promise<MoPartResult> {
    const total = part.concat?.total ?? 1;
    const seq = part.concat?.seq ?? 1;
    if (!Number.isInteger(total) || !Number.isInteger(seq) || total < 1 || total > 255 || seq < 1 || seq > total) {
      throw new StoreError(`MO part ${seq} of ${total} is not a valid position`, { retryable: false });
    }
    const groupId = MO_GROUP_PREFIX + groupKey(part);
    const stored: StoredPart = { text: part.text, dataCoding: part.dataCoding, receivedAt: part.receivedAt };
    const recorded: MoItem[] = [];
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = this.#clock();
      const added = await this.#addToOpenGeneration(groupId, part, seq, total, stored, now);
      let group: GroupItem;
      if (added.ok) {
        group = added.item;
      } else {
        const current = added.item;
        if (isRedelivery(current, seq, stored, now)) {
          this.#logger?.debug({ seq, total }, 'MO part already stored (redelivery)');
          if (current.doneAt !== undefined) return { groupId, recorded, duplicate: true };
          if (isComplete(current) || this.#isStale(current, now)) {
            const closed = await this.#close(current, now);
            if (closed.outcome === 'changed') continue;
            if (closed.outcome === 'stored') recorded.push(closed.mo);
            return { groupId, recorded, duplicate: true };
          }
          return { groupId, recorded, duplicate: true, dueAt: this.#dueAt(current) };
        }
        // The part belongs to a newer message under the same key: the current one is stored as it is first.
        if (current.doneAt === undefined) {
          const closed = await this.#close(current, now);
          if (closed.outcome === 'changed') continue;
          if (closed.outcome === 'stored') recorded.push(closed.mo);
        }
        const reopened = await this.#reopen(current, seq, stored, now);
        if (reopened === undefined) continue;
        this.#logger?.debug({ seq, total, generation: reopened.gen }, 'MO group key reused: new generation');
        group = reopened;
      }
      if (!isComplete(group)) return { groupId, recorded, duplicate: false, dueAt: this.#dueAt(group) };
      // Complete groups take no more parts, so the close can only find it closed by a redelivery's writer.
      const closed = await this.#close(group, now);
      if (closed.outcome === 'stored') recorded.push(closed.mo);
      if (closed.outcome !== 'changed') return { groupId, recorded, duplicate: false };
    }
    throw new StoreError(`storing an MO part lost ${MAX_ATTEMPTS} races in a row`);
  }

  /**
   * Stores an incomplete message as what arrived, once its timeout has passed (consistent read,
   * then the conditional close). Safe from any number of tasks at once: one of them writes it.
   * A group already stored, or gone, needs nothing.
   */
  async expireGroup(groupId: string): Promise<MoExpireResult> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = this.#clock();
      const group = await this.#get(groupId);
      if (group === undefined || group.doneAt !== undefined) return { recorded: [] };
      if (!this.#isStale(group, now)) return { recorded: [], dueAt: this.#dueAt(group) };
      const closed = await this.#close(group, now);
      if (closed.outcome === 'stored') return { recorded: [closed.mo] };
      if (closed.outcome === 'closed') return { recorded: [] };
    }
    throw new StoreError(`expiring an MO group lost ${MAX_ATTEMPTS} races in a row`);
  }

  /** Adds the part to the key's open generation (creating it if need be); otherwise returns the item as it is. */
  async #addToOpenGeneration(
    groupId: string,
    part: MoPartInput,
    seq: number,
    total: number,
    stored: StoredPart,
    now: number,
  ): Promise<{ ok: true; item: GroupItem } | { ok: false; item: GroupItem }> {
    const x = new Expr();
    const slot = x.n(`p${seq}`);
    // Parts are top-level attributes: `SET parts.#seq` fails on an item without the map, and one
    // expression cannot both create the map and fill it.
    const update =
      `SET ${slot} = ${x.v(stored)}, ${x.n('kind')} = ${x.v(MO_GROUP_KIND)}, ${x.n('from')} = ${x.v(part.from)}, ` +
      `${x.n('to')} = ${x.v(part.to)}, ${x.n('total')} = ${x.v(total)}, ${x.n('expiresAt')} = ${x.v(this.#expiresAt(now))}, ` +
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
      const current = fromItem<GroupItem>(err.Item) ?? (await this.#get(groupId));
      if (current === undefined) throw new StoreError('an MO group vanished while a part was stored');
      return { ok: false, item: current };
    }
  }

  /** Starts a new generation holding only this part, if `closed` is still the current (done) one; undefined when it is not. */
  async #reopen(closed: GroupItem, seq: number, stored: StoredPart, now: number): Promise<GroupItem | undefined> {
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
  async #close(group: GroupItem, now: number): Promise<CloseOutcome> {
    const mo = this.#assemble(group, now);
    const put = new Expr();
    const mark = new Expr();
    try {
      await this.#client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: this.#table, Item: toItem(mo), ConditionExpression: `attribute_not_exists(${put.n('id')})`, ...put.params() } },
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
          ],
        }),
      );
      return { outcome: 'stored', mo };
    } catch (err) {
      if (!(err instanceof TransactionCanceledException)) throw new StoreError(`storing MO ${mo.id} failed`, { cause: err });
      const current = await this.#get(group.id);
      // Generations are only replaced once done, so a different one means this one was stored
      // (typically by another task's close, whose transaction conflicted with or preceded ours).
      if (current === undefined || current.gen !== group.gen || current.doneAt !== undefined) return { outcome: 'closed' };
      const reasons = err.CancellationReasons?.map((r) => r.Code ?? 'None') ?? [];
      if (reasons.includes('ConditionalCheckFailed')) return { outcome: 'changed' };
      // Throttling, or a conflict with a transaction that did not close it: the caller's error path retries.
      throw new StoreError(`storing MO ${mo.id} was cancelled (${reasons.join(', ')})`, { cause: err });
    }
  }

  /** The MO item of a generation, from the parts it holds (all of them, or what arrived). */
  #assemble(group: GroupItem, now: number): MoItem {
    const parts = [...partsOf(group).entries()].sort(([a], [b]) => a - b).map(([, p]) => p);
    const first = parts[0];
    if (first === undefined) throw new StoreError(`MO group generation ${group.gen} holds no parts`, { retryable: false });
    const receivedAt = parts.map((p) => p.receivedAt).reduce((a, b) => (b < a ? b : a));
    return {
      id: MO_PREFIX + group.gen,
      kind: ItemKind.MO,
      from: group.from,
      to: group.to,
      text: joinParts(parts.map((p) => p.text)),
      dataCoding: first.dataCoding,
      parts: parts.length,
      receivedAt,
      expiresAt: this.#expiresAt(now),
    };
  }

  async #get(groupId: string): Promise<GroupItem | undefined> {
    try {
      const out = await this.#client.send(new GetItemCommand({ TableName: this.#table, Key: key(groupId), ConsistentRead: true }));
      return out.Item === undefined ? undefined : asGroup(out.Item);
    } catch (err) {
      throw new StoreError('reading an MO group failed', { cause: err });
    }
  }

  #isStale(group: GroupItem, now: number): boolean {
    return now - group.openedAt >= this.#timeoutMs;
  }

  #dueAt(group: GroupItem): number {
    return group.openedAt + this.#timeoutMs;
  }

  #expiresAt(nowMs: number): number {
    return Math.floor(nowMs / 1000) + this.#ttlSeconds;
  }
}

/** The text of a long message from its parts' texts, in order (a missing part simply leaves a gap). */
export function joinParts(texts: readonly string[]): string {
  return texts.join('');
}

/** 32 hex digits naming the message a part belongs to (see the item model above). */
function groupKey(part: MoPartInput): string {
  const fields = part.concat
    ? ['long', part.from, part.to, part.concat.scheme, part.concat.ref, part.concat.total]
    : ['single', part.from, part.to, part.dataCoding, part.text];
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex').slice(0, 32);
}

function newGeneration(): string {
  return randomUUID();
}

function asGroup(attributes: Parameters<typeof fromItem>[0]): GroupItem {
  const item = fromItem<GroupItem>(attributes);
  if (item === undefined) throw new StoreError('an MO group came back empty');
  return item;
}

/** Part number → part, from the `p<seq>` attributes. */
function partsOf(group: GroupItem): Map<number, StoredPart> {
  const parts = new Map<number, StoredPart>();
  for (const [name, value] of Object.entries(group)) {
    if (/^p\d+$/.test(name)) parts.set(Number(name.slice(1)), value as StoredPart);
  }
  return parts;
}

function isComplete(group: GroupItem): boolean {
  return partsOf(group).size >= group.total;
}

/** The same part stored already, within its generation's repeat window: the SMSC sending it again. */
function isRedelivery(group: GroupItem, seq: number, part: StoredPart, now: number): boolean {
  const stored = partsOf(group).get(seq);
  if (stored === undefined || stored.text !== part.text || stored.dataCoding !== part.dataCoding) return false;
  return now - group.openedAt < (group.total === 1 ? SINGLE_PART_REPEAT_WINDOW_MS : LONG_REPEAT_WINDOW_MS);
}
