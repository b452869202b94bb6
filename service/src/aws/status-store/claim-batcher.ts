/**
 * Claims (docs/architecture.md §5 rule 1). Claims made in the same turn of the event loop (a
 * receive's worth) go out together: new ids as one BatchExecuteStatement of PartiQL INSERTs (each
 * succeeds or fails on its own, at the cost of single writes), and whatever that does not settle as
 * the conditional UpdateItem claim, one by one. What a claim means is `core/message-state.ts`
 * (`newClaimItem`, `withClaim`, `mayClaim`); this module writes it.
 */
import { StoredErrorCode } from '../../core/retry-policy.js';
import {
  BatchExecuteStatementCommand,
  ConditionalCheckFailedException,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { MessageStatus, type ErrorDetail, type Job } from '../../domain.js';
import { StoreError } from '../../errors.js';
import {
  acceptedPartsOf,
  CLAIM_COUNTERS,
  CLAIM_KEEPS,
  iso,
  newClaimItem,
  NO_OWNER,
  planOf,
  type ClaimOptions,
  type StatusItem,
  type SubmitPlan,
} from '../../core/message-state.js';
import { Expr, fromItem, key, toItem } from '../item-codec.js';
import type { ItemWriter, StoreLogger, TableAccess } from './item-writer.js';
import { insertStatement } from './statement-batcher.js';

/** What a claim found. */
export type ClaimOutcome =
  /**
   * The caller holds the lease and should submit the parts not in `acceptedParts` (part number → SMSC
   * id), split as `plan` says: the first claim's plan, which a retry must re-use.
   */
  | { outcome: 'claimed'; acceptedParts: Record<number, string>; plan: SubmitPlan }
  /** Already submitted (or failed, or invalid): delete the job without sending it. */
  | { outcome: 'done'; status: MessageStatus }
  /** Another task holds an unexpired lease: leave the job to it. */
  | { outcome: 'busy' };

/** What the batcher needs: the table, the message writer (its recent items), the clock and the TTL. */
export interface ClaimBatcherOptions extends TableAccess {
  writer: ItemWriter;
  clock: () => number;
  ttlSeconds: number;
}

interface PendingClaim {
  job: Job;
  opts: ClaimOptions;
  resolve: (outcome: ClaimOutcome) => void;
  reject: (err: unknown) => void;
}

/** BatchExecuteStatement takes at most 25 statements. */
const CLAIM_BATCH = 25;

/** Claims jobs, batching those made together (see the module comment). */
export class ClaimBatcher {
  readonly #client: Pick<DynamoDBClient, 'send'>;
  readonly #table: string;
  readonly #logger: StoreLogger | undefined;
  readonly #writer: ItemWriter;
  readonly #clock: () => number;
  readonly #ttlSeconds: number;
  #pending: PendingClaim[] = [];
  #timer: NodeJS.Immediate | undefined;

  constructor(options: ClaimBatcherOptions) {
    this.#client = options.client;
    this.#table = options.table;
    this.#logger = options.logger;
    this.#writer = options.writer;
    this.#clock = options.clock;
    this.#ttlSeconds = options.ttlSeconds;
  }

  /** Claims `job` for `opts.owner` (see `StatusStore.claim`). */
  claim(job: Job, opts: ClaimOptions): Promise<ClaimOutcome> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ job, opts, resolve, reject });
      if (this.#pending.length >= CLAIM_BATCH) this.#flush();
      else this.#timer ??= setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    if (this.#timer !== undefined) clearImmediate(this.#timer);
    this.#timer = undefined;
    const batch = this.#pending;
    this.#pending = [];
    // Nothing in a batch may be left waiting, whatever fails (a settled promise ignores the reject).
    this.#claimBatch(batch).catch((err: unknown) => {
      for (const c of batch) c.reject(new StoreError('claim failed', { cause: err }));
    });
  }

  async #claimBatch(batch: PendingClaim[]): Promise<void> {
    const now = this.#clock();
    const fresh: { claim: PendingClaim; item: StatusItem }[] = [];
    const rest: PendingClaim[] = [];
    const ids = new Set<string>();
    for (const c of batch) {
      // An id this task has written exists already; a second claim of an id in the batch must come after the first.
      if (ids.has(c.job.id) || this.#writer.cached(c.job.id) !== undefined) rest.push(c);
      else {
        ids.add(c.job.id);
        fresh.push({ claim: c, item: newClaimItem(c.job, c.opts, { now, ttlSeconds: this.#ttlSeconds }) });
      }
    }
    if (fresh.length === 1) rest.unshift(...fresh.splice(0).map((f) => f.claim));
    if (fresh.length > 0) {
      let responses: { Error?: unknown }[] | undefined;
      try {
        const out = await this.#client.send(
          new BatchExecuteStatementCommand({
            Statements: fresh.map(({ item }) => {
              const insert = insertStatement(this.#table, toItem(item));
              return { Statement: insert.statement, Parameters: insert.parameters };
            }),
          }),
        );
        responses = out.Responses;
      } catch (err) {
        this.#logger?.debug({ err: (err as Error).message, claims: fresh.length }, 'batched claim failed; claiming one by one');
      }
      fresh.forEach(({ claim, item }, i) => {
        const r = responses?.[i];
        if (r === undefined || r.Error !== undefined) {
          rest.push(claim); // DuplicateItem (the id exists), throttled, or the batch failed
          return;
        }
        this.#writer.remember(item);
        claim.resolve({ outcome: 'claimed', acceptedParts: {}, plan: planOf(item, claim.opts) });
      });
    }
    for (const c of rest) this.#claimOne(c.job, c.opts).then(c.resolve, c.reject);
  }

  /** The conditional UpdateItem claim: `withClaim` of the stored item, under `mayClaim`'s condition. */
  async #claimOne(job: Job, opts: ClaimOptions): Promise<ClaimOutcome> {
    const now = this.#clock();
    const x = new Expr();
    // The item a first claim creates; on an existing item the counters count on and the first
    // claim's history stays.
    const sets = Object.entries(newClaimItem(job, opts, { now, ttlSeconds: this.#ttlSeconds }))
      .filter(([name]) => name !== 'id' && name !== 'previousClaimOwner')
      .map(([name, value]) =>
        CLAIM_COUNTERS.has(name)
          ? `${x.n(name)} = if_not_exists(${x.n(name)}, ${x.v(0)}) + ${x.v(1)}`
          : CLAIM_KEEPS.has(name)
            ? `${x.n(name)} = if_not_exists(${x.n(name)}, ${x.v(value)})`
            : `${x.n(name)} = ${x.v(value)}`,
      );
    sets.push(`${x.n('previousClaimOwner')} = if_not_exists(${x.n('claimOwner')}, ${x.v(NO_OWNER)})`);
    // The lease holder itself may claim again: the answer to its first claim can be lost on the way.
    const condition =
      `attribute_not_exists(${x.n('id')}) OR (${x.n('status')} = ${x.v(MessageStatus.SUBMITTING)} AND ` +
      `(attribute_not_exists(${x.n('claimOwner')}) OR ${x.n('claimOwner')} = ${x.v(opts.owner)} OR ${x.n('claimExpiresAt')} < ${x.v(now)}))`;
    try {
      const out = await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: key(job.id),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: condition,
          ...x.params(),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      let item = fromItem<StatusItem>(out.Attributes);
      const previous = item?.previousClaimOwner ?? NO_OWNER;
      if (item !== undefined && previous !== NO_OWNER && previous !== opts.owner) {
        // The lease ran out under another owner that may have sent parts and died before recording them.
        item = await this.#countTakeOver(item, previous, now);
      }
      this.#writer.remember(item);
      return { outcome: 'claimed', acceptedParts: acceptedPartsOf(item), plan: planOf(item, opts) };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw new StoreError(`claim of ${job.id} failed`, { cause: err });
      const old = fromItem<StatusItem>(err.Item) ?? (await this.#writer.get(job.id));
      if (old !== undefined) this.#writer.remember(old);
      if (old === undefined || old.status === MessageStatus.SUBMITTING) return { outcome: 'busy' };
      return { outcome: 'done', status: old.status };
    }
  }

  /** Counts an unknown outcome on a message whose lease this claim took over from `previous`. */
  async #countTakeOver(item: StatusItem, previous: string, now: number): Promise<StatusItem> {
    const x = new Expr();
    const lastError: ErrorDetail = { code: StoredErrorCode.LEASE_TAKEN_OVER, name: 'UNKNOWN_OUTCOME', description: `lease of ${previous} expired while it held the job` };
    try {
      const out = await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: key(item.id),
          UpdateExpression:
            `SET ${x.n('unknownOutcomes')} = if_not_exists(${x.n('unknownOutcomes')}, ${x.v(0)}) + ${x.v(1)}, ` +
            `${x.n('lastError')} = ${x.v(lastError)}, ${x.n('previousClaimOwner')} = ${x.v(NO_OWNER)}, ` +
            `${x.n('version')} = if_not_exists(${x.n('version')}, ${x.v(0)}) + ${x.v(1)}, ${x.n('updatedAt')} = ${x.v(iso(now))}`,
          ...x.params(),
          ReturnValues: 'ALL_NEW',
        }),
      );
      this.#logger?.warn({ messageId: item.id, previous }, 'took over an expired lease: counted as an unknown outcome');
      return fromItem<StatusItem>(out.Attributes) ?? item;
    } catch (err) {
      throw new StoreError(`counting the take-over of ${item.id} failed`, { cause: err });
    }
  }
}
