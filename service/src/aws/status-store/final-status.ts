/**
 * A final status for every message (docs/architecture.md §7.2). A message waiting for its final
 * receipt (SUBMITTED, ENROUTE, ACCEPTED) carries `openShard` and `finalBy`, so it sits in the sparse
 * keys-only index `openByDeadline` (`../table.ts`) until a write ends it. The sweep here queries
 * each shard for `finalBy <= now` and makes each due message UNKNOWN ('no receipt') with one
 * conditional UpdateItem: the store-side form of `timedOut` (`core/message-state.ts`). The condition
 * (still in that shard, still due, still open) makes it safe against a receipt landing meanwhile and
 * against another run at the same time: whichever writes second is skipped, not an error.
 */
import { ConditionalCheckFailedException, QueryCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { STATUS_RANK } from '../../domain.js';
import { ConfigError, StoreError } from '../../errors.js';
import { TIMED_OUT_RANK, timeoutChange } from '../../core/message-state.js';
import { Expr, key, statusUpdate } from '../item-codec.js';
import { OPEN_SHARDS, type MessageIndexName } from '../table.js';
import type { StoreLogger } from './item-writer.js';

/** The index of open messages by deadline. */
export const OPEN_BY_DEADLINE: MessageIndexName = 'openByDeadline';
const SHARD_PREFIX = 'OPEN#';

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
  /** Due messages the index returned. */
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
    const result: SweepResult = { due: 0, timedOut: 0, skipped: 0, failed: 0, complete: true };
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
    let left = this.#perShard;
    let start: Record<string, AttributeValue> | undefined;
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
            KeyConditionExpression: `${x.n('openShard')} = ${x.v(shard)} AND ${x.n('finalBy')} <= ${x.v(Math.floor(now / 1000))}`,
            ...x.params(),
            Limit: Math.min(PAGE, left),
            ...(start === undefined ? {} : { ExclusiveStartKey: start }),
          }),
        );
      } catch (err) {
        throw new StoreError(`query of ${OPEN_BY_DEADLINE} ${shard} failed`, { cause: err });
      }
      const ids = (page.Items ?? []).flatMap((item) => (item['id']?.S === undefined ? [] : [item['id'].S]));
      left -= ids.length;
      result.due += ids.length;
      await inParallel(ids, this.#concurrency, (id) => this.#timeOut(id, shard, now, result));
      // The items just ended have left the index; paging on from the last key reads the rest.
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
  }

  /** One message made UNKNOWN, on condition that it is still open and due in `shard`. */
  async #timeOut(id: string, shard: string, now: number, result: SweepResult): Promise<void> {
    const { historyEntry, ...change } = timeoutChange({ now, ttlSeconds: this.#ttlSeconds });
    const x = new Expr();
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: key(id),
          UpdateExpression: statusUpdate(x, { set: change, history: [historyEntry], remove: ['openShard', 'finalBy'] }),
          // `timedOut`'s rule: open (SUBMITTED up to below TIMED_OUT_RANK) and due. A receipt or another run that got there first fails it.
          ConditionExpression:
            `${x.n('openShard')} = ${x.v(shard)} AND ${x.n('finalBy')} <= ${x.v(Math.floor(now / 1000))} AND ` +
            `${x.n('statusRank')} >= ${x.v(STATUS_RANK.SUBMITTED)} AND ${x.n('statusRank')} < ${x.v(TIMED_OUT_RANK)}`,
          ...x.params(),
        }),
      );
      result.timedOut += 1;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) {
        result.skipped += 1;
        this.#logger?.debug({ messageId: id }, 'final-status sweep: message ended meanwhile; skipped');
        return;
      }
      result.failed += 1;
      result.complete = false;
      this.#logger?.warn({ messageId: id, err: errorMessage(err) }, 'final-status sweep: update failed; left for the next run');
    }
  }
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
