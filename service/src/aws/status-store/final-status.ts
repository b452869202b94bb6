/**
 * A final status for every message (docs/architecture.md §7.2). A message that becomes open
 * (SUBMITTED, ENROUTE, ACCEPTED) gets `openShard` and `finalBy`, so it enters the sparse keys-only
 * index `openByDeadline` (`../table.ts`), and stays there when it ends: leaving would cost one more
 * index write per message. So the index holds every message by deadline, and each run reads each
 * entry once: per shard, from its watermark (a SWEEP item, less REREAD_SECONDS) up to SETTLE_SECONDS
 * ago, reads the messages' ranks (BatchGetItem, eventually consistent: half a read unit each) and
 * makes those still open UNKNOWN ('no receipt') with one conditional UpdateItem each, the store-side
 * form of `timedOut` (`core/message-state.ts`). The condition (still due, still open) makes it safe
 * against a receipt landing meanwhile and against another run at the same time: whichever writes
 * second is skipped, not an error. The watermark then moves up to what was read (with the index key
 * to resume after when the run stopped at its bound); after a failed read or write it stays, so the
 * next run reads the same entries again. A deadline is never in the past when its write lands (it is set from
 * the time of the write attempt), and index entries appear within seconds, so the margins cover it.
 */
import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  GetItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { STATUS_RANK } from '../../domain.js';
import { ConfigError, StoreError } from '../../errors.js';
import { TIMED_OUT_RANK, timeoutChange } from '../../core/message-state.js';
import { Expr, key, statusUpdate } from '../item-codec.js';
import { OPEN_SHARDS, type MessageIndexName } from '../table.js';
import { ItemKind } from './item-model.js';
import type { StoreLogger } from './item-writer.js';

/** The index of messages by final-status deadline. */
export const OPEN_BY_DEADLINE: MessageIndexName = 'openByDeadline';
const SHARD_PREFIX = 'OPEN#';
/** Keys per BatchGetItem (its limit). */
const BATCH_GET = 100;
/** Prefix of the watermark items' ids (`SWEEP#OPEN#n`): how far each shard has been read. */
export const SWEEP_PREFIX = 'SWEEP#';
/** Seconds below its watermark a run reads again: deadlines written by clocks a little behind, entries a little late. */
export const REREAD_SECONDS = 300;
/** Seconds behind now a run stops reading: an index entry appears shortly after its write. */
export const SETTLE_SECONDS = 60;

/** Every `openShard` value: `OPEN#0` .. `OPEN#<OPEN_SHARDS - 1>`. */
export const OPEN_SHARD_NAMES: readonly string[] = Array.from({ length: OPEN_SHARDS }, (_, n) => `${SHARD_PREFIX}${n}`);

/**
 * The shard of a message id: FNV-1a (32 bit) over its UTF-16 code units, mod OPEN_SHARDS. It only
 * spreads the index's writes over several partition keys: an item keeps the shard it was given and
 * every shard is swept, so nothing depends on two writers computing the same one.
 */
export function openShardOf(id: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return `${SHARD_PREFIX}${h % OPEN_SHARDS}`;
}

/** How a sweep is built; every problem is reported together as a ConfigError. */
export interface FinalStatusSweepOptions {
  client: Pick<DynamoDBClient, 'send'>;
  tableName: string;
  /** Days an item is kept after its last write (TTL), as the status store's. @defaultvalue 30 */
  ttlDays?: number;
  /** Epoch milliseconds. @defaultvalue Date.now */
  clock?: () => number;
  /** Messages one run looks at, at most (spread evenly over the shards); the rest waits for the next run. @defaultvalue 20000 */
  maxPerRun?: number;
  /** UpdateItems in flight per shard. @defaultvalue 8 */
  concurrency?: number;
  logger?: StoreLogger;
}

/** What one run did. */
export interface SweepResult {
  /** Index entries read (messages whose deadline the run passed, ended ones included). */
  read: number;
  /** Of those, messages still open: due for UNKNOWN. */
  due: number;
  /** Made UNKNOWN by this run. */
  timedOut: number;
  /** Already ended by another write (a receipt, another run): left alone. */
  skipped: number;
  /** Writes and queries that failed (logged); those messages stay in the index for the next run. */
  failed: number;
  /** False when the run stopped at its bound or its deadline, or on a failure, with due messages perhaps left. */
  complete: boolean;
}

/** How far a shard has been read: every entry with `finalBy` below `until` is done, and after `resume` (an index key) when set. */
interface Mark {
  until: number;
  resume?: Record<string, AttributeValue>;
}

/** Query page size; also bounded by what is left of a shard's share of `maxPerRun`. */
const PAGE = 500;

/** Makes messages past their `finalBy` UNKNOWN (see the module comment). */
export class FinalStatusSweep {
  readonly #client: Pick<DynamoDBClient, 'send'>;
  readonly #table: string;
  readonly #ttlSeconds: number;
  readonly #clock: () => number;
  readonly #perShard: number;
  readonly #concurrency: number;
  readonly #logger: StoreLogger | undefined;

  constructor(options: FinalStatusSweepOptions) {
    const ttlDays = options.ttlDays ?? 30;
    const maxPerRun = options.maxPerRun ?? 20_000;
    const concurrency = options.concurrency ?? 8;
    const problems: string[] = [];
    if (options.tableName.length === 0) problems.push('tableName must not be empty');
    if (!Number.isFinite(ttlDays) || ttlDays <= 0) problems.push(`ttlDays must be a positive number (got ${ttlDays})`);
    if (!Number.isInteger(maxPerRun) || maxPerRun < 1) problems.push(`maxPerRun must be a whole number ≥ 1 (got ${maxPerRun})`);
    if (!Number.isInteger(concurrency) || concurrency < 1) problems.push(`concurrency must be a whole number ≥ 1 (got ${concurrency})`);
    if (problems.length > 0) throw new ConfigError(problems);
    this.#client = options.client;
    this.#table = options.tableName;
    this.#ttlSeconds = Math.round(ttlDays * 86_400);
    this.#clock = options.clock ?? Date.now;
    this.#perShard = Math.ceil(maxPerRun / OPEN_SHARDS);
    this.#concurrency = concurrency;
    this.#logger = options.logger;
  }

  /**
   * One pass over every shard, the shards side by side. `stopAt` (epoch ms, real time) is when it
   * starts nothing new: a Lambda passes its own deadline less a margin.
   */
  async run(opts: { stopAt?: number } = {}): Promise<SweepResult> {
    const now = this.#clock();
    const result: SweepResult = { read: 0, due: 0, timedOut: 0, skipped: 0, failed: 0, complete: true };
    await Promise.all(
      OPEN_SHARD_NAMES.map((shard) =>
        this.#sweepShard(shard, now, opts.stopAt ?? Infinity, result).catch((err: unknown) => {
          result.failed += 1;
          result.complete = false;
          this.#logger?.warn({ shard, err: errorMessage(err) }, 'final-status sweep: shard query failed');
        }),
      ),
    );
    return result;
  }

  async #sweepShard(shard: string, now: number, stopAt: number, result: SweepResult): Promise<void> {
    const mark = await this.#watermark(shard);
    const upTo = Math.floor(now / 1000) - SETTLE_SECONDS;
    let left = this.#perShard;
    let start = mark.resume;
    let failed = false;
    let finished = false;
    try {
      do {
        if (left <= 0 || Date.now() >= stopAt) {
          result.complete = false;
          return;
        }
        const x = new Expr();
        let page;
        try {
          page = await this.#client.send(
            new QueryCommand({
              TableName: this.#table,
              IndexName: OPEN_BY_DEADLINE,
              KeyConditionExpression: `${x.n('openShard')} = ${x.v(shard)} AND ${x.n('finalBy')} BETWEEN ${x.v(Math.max(0, mark.until - REREAD_SECONDS))} AND ${x.v(upTo)}`,
              ...x.params(),
              Limit: Math.min(PAGE, left),
              ...(start === undefined ? {} : { ExclusiveStartKey: start }),
            }),
          );
        } catch (err) {
          failed = true;
          throw new StoreError(`query of ${OPEN_BY_DEADLINE} ${shard} failed`, { cause: err });
        }
        const ids = (page.Items ?? []).flatMap((item) => (item['id']?.S === undefined ? [] : [item['id'].S]));
        left -= ids.length;
        result.read += ids.length;
        let ranks: Map<string, number>;
        try {
          ranks = await this.#ranks(ids);
        } catch (err) {
          failed = true;
          throw err;
        }
        const due = ids.filter((id) => {
          const rank = ranks.get(id);
          if (rank === undefined) {
            result.failed += 1;
            failed = true;
          }
          return rank !== undefined && rank >= STATUS_RANK.SUBMITTED && rank < TIMED_OUT_RANK;
        });
        result.due += due.length;
        await inParallel(due, this.#concurrency, async (id) => {
          if (!(await this.#timeOut(id, shard, now, result))) failed = true;
        });
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
      finished = true;
    } finally {
      // A failure keeps the mark where it was: the next run reads the same entries again and finds the rest ended.
      if (failed) result.complete = false;
      else if (finished) await this.#mark(shard, { until: Math.max(mark.until, upTo) });
      else if (start !== undefined) await this.#mark(shard, { until: mark.until, resume: start });
    }
  }

  /** The shard's mark: 0 when it has none yet (a first run reads the whole shard), and where a bounded run stopped. */
  async #watermark(shard: string): Promise<Mark> {
    try {
      const out = await this.#client.send(new GetItemCommand({ TableName: this.#table, Key: key(SWEEP_PREFIX + shard), ConsistentRead: true }));
      const until = Number(out.Item?.['until']?.N ?? 0);
      const resume = out.Item?.['resume']?.S;
      return { until: Number.isFinite(until) ? until : 0, ...(resume !== undefined && { resume: JSON.parse(resume) as Record<string, AttributeValue> }) };
    } catch (err) {
      throw new StoreError(`watermark of ${shard} not read`, { cause: err });
    }
  }

  /**
   * Writes the shard's mark. Unconditional: of two runs at once, the later write may set it back,
   * which costs a re-read of ended messages, never a message left unread (each writes only what it read).
   */
  async #mark(shard: string, mark: Mark): Promise<void> {
    const x = new Expr();
    const resume = mark.resume === undefined ? ` REMOVE ${x.n('resume')}` : `, ${x.n('resume')} = ${x.v(JSON.stringify(mark.resume))}`;
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: key(SWEEP_PREFIX + shard),
          UpdateExpression: `SET ${x.n('kind')} = ${x.v(ItemKind.SWEEP)}, ${x.n('until')} = ${x.v(mark.until)}${resume}`,
          ...x.params(),
        }),
      );
    } catch (err) {
      // Not moved: the next run reads the same entries again, and finds them ended.
      this.#logger?.warn({ shard, err: errorMessage(err) }, 'final-status sweep: watermark not moved');
    }
  }

  /**
   * statusRank of each message (eventually consistent: the conditional write decides), -1 for one
   * that is gone (expired); the ids it could not read (still unprocessed after a few tries) are absent.
   */
  async #ranks(ids: readonly string[]): Promise<Map<string, number>> {
    const ranks = new Map<string, number>();
    for (let i = 0; i < ids.length; i += BATCH_GET) {
      const chunk = ids.slice(i, i + BATCH_GET);
      let keys: Record<string, AttributeValue>[] | undefined = chunk.map((id) => key(id));
      for (let attempt = 0; keys !== undefined && keys.length > 0 && attempt < 5; attempt++) {
        const x = new Expr();
        let out;
        try {
          out = await this.#client.send(new BatchGetItemCommand({ RequestItems: { [this.#table]: { Keys: keys, ProjectionExpression: `${x.n('id')}, ${x.n('statusRank')}`, ...x.params() } } }));
        } catch (err) {
          throw new StoreError('reading the due messages failed', { cause: err });
        }
        for (const item of out.Responses?.[this.#table] ?? []) {
          const id = item['id']?.S;
          if (id !== undefined) ranks.set(id, Number(item['statusRank']?.N ?? 0));
        }
        keys = out.UnprocessedKeys?.[this.#table]?.Keys;
      }
      const unread = new Set((keys ?? []).map((k) => k['id']?.S));
      for (const id of chunk) if (!ranks.has(id) && !unread.has(id)) ranks.set(id, -1);
    }
    return ranks;
  }

  /** One message made UNKNOWN, on condition that it is still open and due in `shard`; false when the write failed. */
  async #timeOut(id: string, shard: string, now: number, result: SweepResult): Promise<boolean> {
    const { historyEntry, ...change } = timeoutChange({ now, ttlSeconds: this.#ttlSeconds });
    const x = new Expr();
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: key(id),
          // The index entry stays, as for every ended message (see the module comment).
          UpdateExpression: statusUpdate(x, { set: change, history: [historyEntry] }),
          // `timedOut`'s rule: open (SUBMITTED up to below TIMED_OUT_RANK) and due. A receipt or another run that got there first fails it.
          ConditionExpression:
            `${x.n('openShard')} = ${x.v(shard)} AND ${x.n('finalBy')} <= ${x.v(Math.floor(now / 1000))} AND ` +
            `${x.n('statusRank')} >= ${x.v(STATUS_RANK.SUBMITTED)} AND ${x.n('statusRank')} < ${x.v(TIMED_OUT_RANK)}`,
          ...x.params(),
        }),
      );
      result.timedOut += 1;
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) {
        result.skipped += 1;
        this.#logger?.debug({ messageId: id }, 'final-status sweep: message ended meanwhile; skipped');
        return true;
      }
      result.failed += 1;
      result.complete = false;
      if (refusedForGood(err)) {
        // Trying again would hold the shard back for ever. Counted (the Errors alarm fires) and logged; the mark moves on.
        this.#logger?.warn({ messageId: id, err: errorMessage(err) }, 'final-status sweep: update refused for good; the message stays as it is');
        return true;
      }
      this.#logger?.warn({ messageId: id, err: errorMessage(err) }, 'final-status sweep: update failed; left for the next run');
      return false;
    }
  }
}

/**
 * A refusal DynamoDB would give again, whatever the load: a ValidationException (the item would grow past
 * its limit, say). Throttling, access denied (a policy being fixed) and faults of its own are worth another run.
 */
function refusedForGood(err: unknown): boolean {
  return (err as { name?: string }).name === 'ValidationException';
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
