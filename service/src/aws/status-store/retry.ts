/**
 * The write of an operator's retry (docs/architecture.md §7.4): a FAILED message made SUBMITTING
 * again, with no lease, so that its job, re-queued under the same id, is an ordinary claim that
 * sends the parts not yet accepted. And the undo, when that job could not be queued. The rules are
 * `core/message-state.ts` (`retryCheck`, `withRetry`, `withRetryUndone`); this module writes them,
 * each as one UpdateItem conditional on the status and the version read, so nothing that happened
 * to the message meanwhile is overwritten.
 */
import { ConditionalCheckFailedException, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { MessageStatus, STATUS_RANK, type Job } from '../../domain.js';
import { ConfigError, StoreError } from '../../errors.js';
import { expiresAt, iso, RETRY_NOT_QUEUED_NOTE, retryChange, retryCheck, type RetryRefusal, type StatusItem } from '../../core/message-state.js';
import { Expr, fromItem, key, statusUpdate } from '../item-codec.js';
import { ItemWriter } from './item-writer.js';

/** Version races (a receipt landing on the FAILED message) tolerated before giving up. */
const MAX_RACES = 5;

export interface RetryStoreOptions {
  client: Pick<DynamoDBClient, 'send'>;
  tableName: string;
  /** Days an item is kept after its last write (TTL), as the service's. @defaultvalue 30 */
  ttlDays?: number;
  /** Epoch milliseconds. @defaultvalue Date.now */
  clock?: () => number;
}

/** A retry written: the job to queue, and the message before and after. */
export interface StartedRetry {
  outcome: 'started';
  job: Job;
  before: StatusItem;
  after: StatusItem;
  /** Parts the SMSC accepted before, which the claim will not send again (only with `force`). */
  acceptedParts: number[];
}

export type StartRetryOutcome = StartedRetry | { outcome: 'refused'; refusal: RetryRefusal; message: string };

/** FAILED again, or the message changed since the retry (a claim took it: its job was queued after all). */
export type UndoRetryOutcome = { outcome: 'undone' } | { outcome: 'changed'; status: MessageStatus | undefined };

/** Retries of FAILED messages (see the module comment). */
export class RetryStore {
  readonly #client: Pick<DynamoDBClient, 'send'>;
  readonly #table: string;
  readonly #ttlSeconds: number;
  readonly #clock: () => number;
  readonly #reader: ItemWriter;

  constructor(options: RetryStoreOptions) {
    const ttlDays = options.ttlDays ?? 30;
    const problems: string[] = [];
    if (options.tableName.length === 0) problems.push('tableName must not be empty');
    if (!Number.isFinite(ttlDays) || ttlDays <= 0) problems.push(`ttlDays must be a positive number (got ${ttlDays})`);
    if (problems.length > 0) throw new ConfigError(problems);
    this.#client = options.client;
    this.#table = options.tableName;
    this.#ttlSeconds = Math.round(ttlDays * 86_400);
    this.#clock = options.clock ?? Date.now;
    this.#reader = new ItemWriter({ client: options.client, table: options.tableName, logger: undefined });
  }

  /**
   * Makes the FAILED message `id` SUBMITTING again (`retries` + 1, a history entry noted `retry`, no
   * claim, no `doneAt`, no stored job), when `retryCheck` allows it; conditional on FAILED and the
   * version read. Queue `job` next; if that fails, `undo` the retry.
   */
  async start(id: string, opts: { force: boolean }): Promise<StartRetryOutcome> {
    for (let race = 0; race < MAX_RACES; race++) {
      const before = await this.#reader.get(id);
      const check = retryCheck(before, opts);
      if (!check.ok) return { outcome: 'refused', refusal: check.refusal, message: check.message };
      if (before === undefined || before.job === undefined) throw new StoreError('retryCheck allowed a message without its job', { retryable: false });
      const { historyEntry, ...change } = retryChange({ now: this.#clock(), ttlSeconds: this.#ttlSeconds });
      const x = new Expr();
      try {
        const out = await this.#client.send(
          new UpdateItemCommand({
            TableName: this.#table,
            Key: key(id),
            UpdateExpression: statusUpdate(x, { set: change, add: { retries: 1 }, history: [historyEntry], remove: ['doneAt', 'job', 'claimOwner', 'claimExpiresAt'] }),
            ConditionExpression: `${x.n('status')} = ${x.v(MessageStatus.FAILED)} AND ${x.n('version')} = ${x.v(before.version)}`,
            ...x.params(),
            ReturnValues: 'ALL_NEW',
          }),
        );
        const after = fromItem<StatusItem>(out.Attributes);
        if (after === undefined) throw new StoreError(`retry of ${id} returned no item`);
        return { outcome: 'started', job: before.job, before, after, acceptedParts: check.acceptedParts };
      } catch (err) {
        // A receipt for an accepted part, or another operator's retry, changed it since the read: read again.
        if (err instanceof ConditionalCheckFailedException) continue;
        throw err instanceof StoreError ? err : new StoreError(`retry of ${id} failed`, { cause: err });
      }
    }
    throw new StoreError(`retry of ${id} lost ${MAX_RACES} races with other writes in a row`);
  }

  /**
   * Puts a retry whose job could not be queued back to FAILED as it was (its `doneAt`, `job`,
   * `retries`), with a FAILED history entry noted `retry not queued`; only while nothing took the
   * message since (still SUBMITTING, no claim, the version the retry wrote).
   */
  async undo(started: StartedRetry): Promise<UndoRetryOutcome> {
    const { before, after } = started;
    const now = this.#clock();
    const t = { now, ttlSeconds: this.#ttlSeconds };
    const x = new Expr();
    // As it was before the retry: its doneAt, and its retries (absent when it had none).
    const set = { status: MessageStatus.FAILED, statusRank: STATUS_RANK.FAILED, job: started.job, updatedAt: iso(now), expiresAt: expiresAt(t), doneAt: before.doneAt, retries: before.retries };
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: key(before.id),
          UpdateExpression: statusUpdate(x, {
            set,
            history: [{ status: MessageStatus.FAILED, at: iso(now), note: RETRY_NOT_QUEUED_NOTE }],
            remove: before.retries === undefined ? ['retries'] : [],
          }),
          ConditionExpression:
            `${x.n('status')} = ${x.v(MessageStatus.SUBMITTING)} AND ${x.n('version')} = ${x.v(after.version)} AND attribute_not_exists(${x.n('claimOwner')})`,
          ...x.params(),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { outcome: 'undone' };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw new StoreError(`undoing the retry of ${before.id} failed`, { cause: err });
      return { outcome: 'changed', status: fromItem<StatusItem>(err.Item)?.status };
    }
  }
}
