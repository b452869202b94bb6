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
 *
 * This module chains the calls; the rules themselves (group key, redelivery, completeness) are
 * pure functions in `mo-group.ts`, and each DynamoDB call is in `mo-group-table.ts`.
 */
import type { DynamoDBClient, TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { ConfigError, StoreError } from '../errors.js';
import {
  dueAt,
  groupKey,
  isComplete,
  isRedelivery,
  isStale,
  LONG_REPEAT_WINDOW_MS,
  MO_GROUP_PREFIX,
  type GroupItem,
  type MoPartInput,
  type StoredPart,
} from './mo-group.js';
import { MoGroupTable } from './mo-group-table.js';
import type { MoItem } from './status-store/item-model.js';

export {
  joinParts,
  LONG_REPEAT_WINDOW_MS,
  MO_GROUP_KIND,
  MO_GROUP_PREFIX,
  SINGLE_PART_REPEAT_WINDOW_MS,
  type MoPartInput,
} from './mo-group.js';

/** Races lost in a row (another task closing or reopening the same group) before giving up with a retryable error. */
const MAX_ATTEMPTS = 5;

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
  /**
   * One more write to make in the transaction that stores an MO item, decided from the MO: an
   * opt-out keyword's change of the suppression list (docs/architecture.md §7.5). @defaultvalue none
   */
  alsoWrite?: (mo: MoItem) => TransactWriteItem | undefined;
}

/** DynamoDB adapter for MO messages and their parts (see the item model above). */
export class MoStore {
  readonly #groups: MoGroupTable;
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
    this.#groups = new MoGroupTable({
      client: options.client,
      tableName: options.tableName,
      ttlSeconds: Math.round(ttlDays * 86_400),
      timeoutMs,
      ...(options.alsoWrite !== undefined && { alsoWrite: options.alsoWrite }),
    });
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
      const added = await this.#groups.addToOpenGeneration(groupId, part, seq, total, stored, now);
      let group: GroupItem;
      if (added.ok) {
        group = added.item;
      } else {
        const current = added.item;
        if (isRedelivery(current, seq, stored, now)) {
          this.#logger?.debug({ seq, total }, 'MO part already stored (redelivery)');
          if (current.doneAt !== undefined) return { groupId, recorded, duplicate: true };
          if (isComplete(current) || isStale(current, now, this.#timeoutMs)) {
            const closed = await this.#groups.close(current, now);
            if (closed.outcome === 'changed') continue;
            if (closed.outcome === 'stored') recorded.push(closed.mo);
            return { groupId, recorded, duplicate: true };
          }
          return { groupId, recorded, duplicate: true, dueAt: dueAt(current, this.#timeoutMs) };
        }
        // The part belongs to a newer message under the same key: the current one is stored as it is first.
        if (current.doneAt === undefined) {
          const closed = await this.#groups.close(current, now);
          if (closed.outcome === 'changed') continue;
          if (closed.outcome === 'stored') recorded.push(closed.mo);
        }
        const reopened = await this.#groups.reopen(current, seq, stored, now);
        if (reopened === undefined) continue;
        this.#logger?.debug({ seq, total, generation: reopened.gen }, 'MO group key reused: new generation');
        group = reopened;
      }
      if (!isComplete(group)) return { groupId, recorded, duplicate: false, dueAt: dueAt(group, this.#timeoutMs) };
      // Complete groups take no more parts, so the close can only find it closed by a redelivery's writer.
      const closed = await this.#groups.close(group, now);
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
      const group = await this.#groups.get(groupId);
      if (group === undefined || group.doneAt !== undefined) return { recorded: [] };
      if (!isStale(group, now, this.#timeoutMs)) return { recorded: [], dueAt: dueAt(group, this.#timeoutMs) };
      const closed = await this.#groups.close(group, now);
      if (closed.outcome === 'stored') return { recorded: [closed.mo] };
      if (closed.outcome === 'closed') return { recorded: [] };
    }
    throw new StoreError(`expiring an MO group lost ${MAX_ATTEMPTS} races in a row`);
  }
}
