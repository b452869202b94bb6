/**
 * The status store's public face: one method per call the pipelines make, each composed from the
 * rules in `core/message-state.ts` and the writers beside this file — claims (`claim-batcher.ts`),
 * receipts and correlations (`receipt-router.ts`), versioned writes (`item-writer.ts`). The items
 * are described in `item-model.ts`; the design in docs/architecture.md §3.2 and §5.
 */
import { ConditionalCheckFailedException, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { MessageStatus, type ErrorDetail, type Job, type Receipt } from '../../domain.js';
import { SERVICE_DEFAULTS } from '../../config.js';
import { ConfigError, StoreError } from '../../errors.js';
import {
  FAILABLE_BELOW_RANK,
  failedChange,
  optedOutChange,
  invalidItem,
  iso,
  skeletonItem,
  storedError,
  withAccepted,
  type AcceptedPart,
  type ClaimOptions,
  type FinalStatusRule,
  type StatusItem,
  type WriteTime,
} from '../../core/message-state.js';
import { Expr, fromItem, key, statusUpdate } from '../item-codec.js';
import { ClaimBatcher, type ClaimOutcome } from './claim-batcher.js';
import { openShardOf } from './final-status.js';
import { ItemKind, PROBE_ID, type MoItem } from './item-model.js';
import { ItemWriter, type StoreLogger } from './item-writer.js';
import { ReceiptRouter, type ReceiptOutcome } from './receipt-router.js';

/** The lease pushed forward until `claimExpiresAt`, or lost to another owner. */
export type ExtendClaimOutcome = { outcome: 'extended'; claimExpiresAt: number } | { outcome: 'lost' };

/** The lease given back, or held by another owner (the error and count are still recorded). */
export type ReleaseClaimOutcome = { outcome: 'released' } | { outcome: 'not-owner' };

/** FAILED recorded, or refused because the message is already past SUBMITTING (its status). */
export type RecordFailedOutcome = { outcome: 'recorded' } | { outcome: 'unchanged'; status: MessageStatus };

/** REJECTED as opted out, or refused: the claim is not this owner's any more, or a part was accepted (its status). */
export type RecordOptedOutOutcome = { outcome: 'rejected' } | { outcome: 'unchanged'; status: MessageStatus };

/** INVALID recorded, or an item with that id exists and was left alone. */
export type RecordInvalidOutcome = { outcome: 'recorded' } | { outcome: 'exists' };

/** How a StatusStore is built; every problem is reported together as a ConfigError. */
export interface StatusStoreOptions {
  client: Pick<DynamoDBClient, 'send'>;
  tableName: string;
  /** Days an item is kept after its last write (TTL). @defaultvalue 30 */
  ttlDays?: number;
  /** Epoch milliseconds. @defaultvalue Date.now */
  clock?: () => number;
  logger?: StoreLogger;
  /**
   * Correlation keys of recently accepted parts kept in memory, so that a receipt arriving on this
   * task is applied in one write instead of going through its correlation item. @defaultvalue 50000
   */
  receiptRoutes?: number;
  /**
   * How long a receipt waits for the record of its part before taking the correlation-item path
   * (always safe). Its deliver_sm is answered only after that, so the wait stays short. @defaultvalue 2000
   */
  receiptWaitMs?: number;
  /**
   * Hours a submitted message waits for a final receipt (the job's validity period when shorter)
   * before the final-status sweep makes it UNKNOWN (docs/architecture.md §7.2). @defaultvalue 72
   */
  finalStatusTimeoutHours?: number;
  /**
   * How long a correlation or message write (or consistent read) waits for others to share its
   * BatchExecuteStatement (BatchGetItem) (docs/architecture.md §3.2, "Batched writes"); 0 batches
   * only those of one turn. @defaultvalue 0
   */
  lingerMs?: number;
}

/** DynamoDB adapter for message status and correlation items, and reads of MO items (see `item-model.ts`). */
export class StatusStore {
  readonly #client: Pick<DynamoDBClient, 'send'>;
  readonly #table: string;
  readonly #ttlSeconds: number;
  readonly #clock: () => number;
  readonly #logger: StoreLogger | undefined;
  readonly #writer: ItemWriter;
  readonly #claims: ClaimBatcher;
  readonly #router: ReceiptRouter;
  readonly #finalStatus: FinalStatusRule;

  constructor(options: StatusStoreOptions) {
    const ttlDays = options.ttlDays ?? 30;
    const problems: string[] = [];
    if (options.tableName.length === 0) problems.push('tableName must not be empty');
    if (!Number.isFinite(ttlDays) || ttlDays <= 0) problems.push(`ttlDays must be a positive number (got ${ttlDays})`);
    const routes = options.receiptRoutes ?? 50_000;
    if (!Number.isInteger(routes) || routes < 0) problems.push(`receiptRoutes must be a whole number ≥ 0 (got ${routes})`);
    const timeoutHours = options.finalStatusTimeoutHours ?? SERVICE_DEFAULTS.FINAL_STATUS_TIMEOUT_HOURS;
    if (!Number.isFinite(timeoutHours) || timeoutHours <= 0) problems.push(`finalStatusTimeoutHours must be a positive number (got ${timeoutHours})`);
    const lingerMs = options.lingerMs ?? 0;
    if (!Number.isFinite(lingerMs) || lingerMs < 0) problems.push(`lingerMs must be a number ≥ 0 (got ${lingerMs})`);
    if (problems.length > 0) throw new ConfigError(problems);
    this.#client = options.client;
    this.#table = options.tableName;
    this.#ttlSeconds = Math.round(ttlDays * 86_400);
    this.#clock = options.clock ?? Date.now;
    this.#logger = options.logger;
    this.#finalStatus = { timeoutSeconds: Math.round(timeoutHours * 3600), shardOf: openShardOf };
    const access = { client: this.#client, table: this.#table, logger: this.#logger };
    this.#writer = new ItemWriter(access, lingerMs);
    const shared = { ...access, writer: this.#writer, clock: this.#clock, ttlSeconds: this.#ttlSeconds };
    this.#claims = new ClaimBatcher(shared);
    this.#router = new ReceiptRouter({ ...shared, maxRoutes: routes, receiptWaitMs: options.receiptWaitMs ?? 2000, finalStatus: this.#finalStatus });
  }

  /**
   * Takes the job for submission: creates the item, or takes it when it is SUBMITTING and no other
   * owner holds an unexpired lease. Of several owners claiming one id at once, one wins. An owner's
   * repeated claim succeeds (its first answer may have been lost), so an owner must not claim an id
   * it is still handling: the outbound pipeline guards that.
   *
   * Claims made in the same turn of the event loop (a receive's worth) go out together: new ids as
   * one BatchExecuteStatement of INSERTs (each succeeds or fails on its own, at the cost of single
   * writes), and whatever that does not settle as a conditional UpdateItem.
   */
  claim(job: Job, opts: ClaimOptions): Promise<ClaimOutcome> {
    return this.#claims.claim(job, opts);
  }

  /** One cheap read, to learn whether the table answers again after a failure. */
  async probe(): Promise<void> {
    await this.#writer.getRaw(PROBE_ID);
  }

  /** Pushes the lease forward; 'lost' when another owner took it or the message left SUBMITTING. */
  async extendClaim(id: string, owner: string, leaseMs: number): Promise<ExtendClaimOutcome> {
    const claimExpiresAt = this.#clock() + leaseMs;
    const x = new Expr();
    try {
      const out = await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: key(id),
          UpdateExpression: `SET ${x.n('claimExpiresAt')} = ${x.v(claimExpiresAt)}, ${x.n('version')} = if_not_exists(${x.n('version')}, ${x.v(0)}) + ${x.v(1)}`,
          ConditionExpression: `${x.n('claimOwner')} = ${x.v(owner)} AND ${x.n('status')} = ${x.v(MessageStatus.SUBMITTING)}`,
          ...x.params(),
          // The item as it is now: the next write to it (usually the accepted parts) then starts from
          // the right version instead of being refused and reading it again. Bills nothing more.
          ReturnValues: 'ALL_NEW',
        }),
      );
      this.#writer.remember(fromItem<StatusItem>(out.Attributes));
      return { outcome: 'extended', claimExpiresAt };
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return { outcome: 'lost' };
      throw new StoreError(`extendClaim of ${id} failed`, { cause: err });
    }
  }

  /**
   * Records the parts the SMSC accepted: their correlation items (applying any receipt that arrived
   * early) and the message. Once all `totalParts` are present the message becomes SUBMITTED (never
   * lower than it already is) and the claim is cleared. Safe to repeat, and safe when a receipt for
   * the message is applied concurrently.
   *
   * Two single-item writes, not one transaction (a transaction bills every item twice,
   * docs/architecture.md §5 rule 6): each correlation is pointed at the part in an update that
   * returns what was parked there, then the message is written with those receipts applied, on
   * condition of the version this task last wrote. A receipt parked after the first write sees the
   * correlation and applies itself to the message; one parked before it is returned by it.
   */
  async recordAccepted(id: string, owner: string, parts: AcceptedPart[], totalParts: number): Promise<void> {
    if (parts.some((p) => p.keys.length === 0)) throw new StoreError('recordAccepted: every part needs at least one correlation key', { retryable: false });
    const now = this.#clock();
    const routes = parts.map((p) => this.#router.expect(id, p));
    try {
      const parked = await this.#router.pointCorrelations(id, parts, now);
      await this.#writer.mutate(id, (current) => {
        if (current === undefined) this.#logger?.warn({ messageId: id, owner }, 'recordAccepted for a message that was never claimed');
        else this.#noteExpiredLease(current, owner);
        // The time of this attempt, not of the call: a deadline set now is never already past when it lands (§7.2).
        const at = this.#at(this.#clock());
        return withAccepted(current ?? skeletonItem(id, at), parts, parked, totalParts, at, this.#finalStatus);
      });
      for (const r of routes) r.settle(true);
    } catch (err) {
      for (const r of routes) r.settle(false);
      throw err;
    }
  }

  /**
   * Announces a part the SMSC has just accepted, ahead of the `recordAccepted` that records it with
   * the job's other parts: a receipt for it arriving here meanwhile waits for that record (up to
   * `receiptWaitMs`) and is then applied in one write, instead of being parked. Optional.
   */
  expectAccepted(id: string, part: AcceptedPart): void {
    this.#router.expect(id, part);
  }

  /** Our lease ran out and another task holds it now; what the SMSC accepted is still recorded. */
  #noteExpiredLease(item: StatusItem, owner: string): void {
    if (item.claimOwner !== undefined && item.claimOwner !== owner) {
      this.#logger?.debug({ messageId: item.id, owner, claimOwner: item.claimOwner }, 'recording parts accepted under an expired lease');
    }
  }

  /**
   * Marks the message FAILED (final) with the error. Only while it is still SUBMITTING: a stale
   * owner's failure must not overwrite another task's successful submit. With `job`, the job is
   * kept on the item so that an operator can retry it (docs/architecture.md §7.4).
   */
  async recordFailed(id: string, owner: string, error: ErrorDetail, job?: Job): Promise<RecordFailedOutcome> {
    const now = this.#clock();
    const { historyEntry, ...failed } = failedChange(error, this.#at(now), job);
    const x = new Expr();
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: key(id),
          UpdateExpression: statusUpdate(x, {
            set: { kind: ItemKind.MESSAGE, ...failed },
            initial: { createdAt: iso(now) },
            history: [historyEntry],
            // Below SUBMITTED a message is in no index; removed anyway, as every write that ends a message does.
            remove: ['claimOwner', 'claimExpiresAt', 'openShard', 'finalBy'],
          }),
          ConditionExpression: `attribute_not_exists(${x.n('id')}) OR ${x.n('statusRank')} < ${x.v(FAILABLE_BELOW_RANK)}`,
          ...x.params(),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { outcome: 'recorded' };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw new StoreError(`recordFailed of ${id} failed`, { cause: err });
      const old = fromItem<StatusItem>(err.Item);
      this.#logger?.debug({ messageId: id, owner, status: old?.status }, 'failure not recorded: message already past SUBMITTING');
      return { outcome: 'unchanged', status: old?.status ?? MessageStatus.SUBMITTED };
    }
  }

  /**
   * Records a job to an opted-out number REJECTED with reason `opted out` (final, no part sent;
   * docs/architecture.md §7.5). One UpdateItem, on condition of `mayRejectOptedOut`: this owner
   * holds the claim, the message is below SUBMITTED and holds no part, so a job some of whose parts
   * were accepted (by this task or a crashed one) is never rejected.
   */
  async recordOptedOut(id: string, owner: string): Promise<RecordOptedOutOutcome> {
    const now = this.#clock();
    const { historyEntry, ...change } = optedOutChange(this.#at(now));
    const x = new Expr();
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: key(id),
          UpdateExpression: statusUpdate(x, { set: change, history: [historyEntry], remove: ['claimOwner', 'claimExpiresAt'] }),
          ConditionExpression:
            `${x.n('claimOwner')} = ${x.v(owner)} AND ${x.n('statusRank')} < ${x.v(FAILABLE_BELOW_RANK)} AND ` +
            `(attribute_not_exists(${x.n('parts')}) OR size(${x.n('parts')}) = ${x.v(0)})`,
          ...x.params(),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { outcome: 'rejected' };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw new StoreError(`recordOptedOut of ${id} failed`, { cause: err });
      const old = fromItem<StatusItem>(err.Item);
      this.#logger?.debug({ messageId: id, owner, status: old?.status }, 'opt-out not recorded: claim lost or a part already accepted');
      return { outcome: 'unchanged', status: old?.status ?? MessageStatus.SUBMITTING };
    }
  }

  /**
   * Gives the lease back after a retryable outcome so the next receive can claim at once; records
   * `error` as lastError and counts an unknown outcome (timed-out submit) when asked. The status
   * stays SUBMITTING. When the caller no longer owns the lease, the error and count are still kept.
   */
  async releaseClaim(id: string, owner: string, opts: { error?: ErrorDetail; unknownOutcome?: boolean } = {}): Promise<ReleaseClaimOutcome> {
    const now = this.#clock();
    const build = (release: boolean): UpdateItemCommand => {
      const x = new Expr();
      const sets = [`${x.n('updatedAt')} = ${x.v(iso(now))}`, `${x.n('version')} = if_not_exists(${x.n('version')}, ${x.v(0)}) + ${x.v(1)}`];
      if (opts.error !== undefined) sets.push(`${x.n('lastError')} = ${x.v(storedError(opts.error))}`);
      if (opts.unknownOutcome === true) sets.push(`${x.n('unknownOutcomes')} = if_not_exists(${x.n('unknownOutcomes')}, ${x.v(0)}) + ${x.v(1)}`);
      return new UpdateItemCommand({
        TableName: this.#table,
        Key: key(id),
        UpdateExpression: `SET ${sets.join(', ')}` + (release ? ` REMOVE ${x.n('claimOwner')}, ${x.n('claimExpiresAt')}` : ''),
        ConditionExpression: release ? `${x.n('claimOwner')} = ${x.v(owner)}` : `attribute_exists(${x.n('id')})`,
        ...x.params(),
      });
    };
    try {
      await this.#client.send(build(true));
      return { outcome: 'released' };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw new StoreError(`releaseClaim of ${id} failed`, { cause: err });
    }
    if (opts.error !== undefined || opts.unknownOutcome === true) {
      try {
        await this.#client.send(build(false));
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw new StoreError(`releaseClaim of ${id} failed`, { cause: err });
      }
    }
    return { outcome: 'not-owner' };
  }

  /**
   * Stores a delivery receipt and applies it to the message part it correlates with; `keys` are
   * its SMSC id's (`smscIdKeys`), `alternativeKeys` those of the text's `id:` when it names another id.
   *
   * A receipt for a part this task recorded (most of them) is applied to the message in one write,
   * after that record has landed. Any other receipt is appended to each key's correlation item in one
   * atomic update that also returns the correlation, so either this call sees `recordAccepted`'s
   * correlation or `recordAccepted` sees this receipt: a racing pair never loses it. Applying the
   * same receipt twice changes nothing.
   */
  async recordReceipt(r: Receipt, keys: string[], alternativeKeys?: string[]): Promise<ReceiptOutcome> {
    if (keys.length === 0) throw new StoreError('recordReceipt: at least one correlation key is needed', { retryable: false });
    return this.#router.recordReceipt(r, keys, alternativeKeys);
  }

  /**
   * Records an invalid job (status INVALID, final) under `key`, never overwriting an existing item:
   * an invalid duplicate must not clobber a real message.
   */
  async recordInvalid(key: string, reason: string, extra: { sqsMessageId: string }): Promise<RecordInvalidOutcome> {
    const item = invalidItem(key, reason, extra.sqsMessageId, this.#at(this.#clock()));
    return (await this.#writer.putNew(item)) ? { outcome: 'recorded' } : { outcome: 'exists' };
  }

  /** The MESSAGE item with this id, or undefined (also for ids of other kinds). */
  get(id: string): Promise<StatusItem | undefined> {
    return this.#writer.get(id);
  }

  /** The MO item with this id (`MO#<uuid>`, written by the MO store), or undefined. */
  async getMo(id: string): Promise<MoItem | undefined> {
    const item = await this.#writer.getRaw(id);
    return item?.kind === ItemKind.MO ? (item as unknown as MoItem) : undefined;
  }

  #at(now: number): WriteTime {
    return { now, ttlSeconds: this.#ttlSeconds };
  }
}
