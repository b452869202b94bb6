/**
 * The status store: one DynamoDB table (see `table.ts`) holding what happened to every message.
 * It knows no SMPP: ids are strings, statuses come from `domain.ts`, and the caller turns an SMSC
 * message id into the correlation `keys` (1 or 2 per id, already normalised).
 *
 * ## Item model
 * Every item has `id` (the partition key, string), `kind` and `expiresAt` (TTL, epoch seconds,
 * `ttlDays` after the item's last write). Job ids match `[A-Za-z0-9._:-]{1,128}`, so they never
 * contain `#` and cannot collide with the prefixed kinds.
 *
 * ### MESSAGE — `id` = the job's id (or, for an invalid job without a usable id, its SQS message id)
 * | attribute | type | meaning |
 * |---|---|---|
 * | `kind` | S | `MESSAGE` |
 * | `status` | S | `SUBMITTING → SUBMITTED → ENROUTE / ACCEPTED → DELIVERED / UNDELIVERED / EXPIRED / REJECTED / DELETED / UNKNOWN`, or `FAILED`, `INVALID` |
 * | `statusRank` | N | `STATUS_RANK[status]` (10, 20, 30, 40, 100 = final); writes only ever raise it |
 * | `to`, `from` | S | destination and source address, as in the job |
 * | `encoding` | S | encoding used on the wire (`GSM7`, `LATIN1`, `UCS2`) |
 * | `segments` | N | number of SMS parts |
 * | `concat`, `concatRef` | S, N | how the parts are tied together (`udh8`, `udh16`, `sar`) and the reference; with `encoding` and `segments`, fixed by the first claim and re-used by every retry on any task, so a handset never sees one message's parts under two references |
 * | `parts` | M | keyed by part number `"1"`..`"N"`: `{ smscMessageId, status, stat?, err?, networkError?, doneAt? }` |
 * | `createdAt`, `updatedAt`, `submittedAt`, `doneAt` | S | ISO-8601; `submittedAt` once every part is accepted, `doneAt` when final |
 * | `attempts` | N | submit attempts (claims) |
 * | `unknownOutcomes` | N | submits that timed out (the only source of possible duplicates) |
 * | `lastError` | M | `{ code, name, description }` of the last failed or retried attempt |
 * | `stat`, `err`, `networkError` | S | receipt fields of the part that decided the status |
 * | `metadata` | M | the job's metadata, echoed |
 * | `sqsMessageId` | S | SQS message id of the last delivery of the job |
 * | `reason` | S | why the job is `INVALID` |
 * | `history` | L | `{ status, at }` appended on every status change |
 * | `claimOwner`, `claimExpiresAt` | S, N | the lease of the task submitting it (epoch ms); absent when nobody holds it |
 * | `previousClaimOwner` | S | the lease holder the last claim found (`''` when none): a claim that takes over another owner's expired lease counts an unknown outcome, since that owner may have submitted before it died |
 * | `version` | N | incremented by every write (optimistic concurrency) |
 *
 * Long messages: the message status is derived from its parts once every part is accepted — any part
 * in a failure state (UNDELIVERED, EXPIRED, REJECTED, DELETED, UNKNOWN) → the first such; all
 * DELIVERED → DELIVERED; otherwise the most advanced in-progress part state. Until then it stays
 * SUBMITTING, so a retry still sends the missing parts.
 *
 * ### CORRELATION — `id` = `SMSCID#` + key
 * `kind` = `CORRELATION`, `messageId` (S), `part` (N), `receipts` (L of receipts as received;
 * receipts that arrived before the submit response was recorded wait here and are applied when it
 * is). Keys come exact first, then numeric readings of the id (see `AcceptedPart.keys`): a part's
 * exact key always points at it (SMSC ids wrap around), a reading only when no other message holds
 * that key, and a receipt looks at its exact key first — so when two ids share a reading, each
 * receipt still finds its own message.
 *
 * ### Calls
 * A single-part job usually costs: a share of one BatchExecuteStatement (the claims of a receive),
 * one TransactWriteItems (correlation + message) and, for its receipt on this task, one PutItem.
 * Everything else (another task's receipt, a receipt ahead of its response, a version conflict) takes
 * the longer, always-safe path through the correlation item and a read-modify-write.
 *
 * ### MO — `id` = `MO#` + UUID
 * `kind` = `MO`, `from`, `to`, `text` (decoded per DCS), `dataCoding` (N), `parts` (N), `receivedAt` (ISO-8601).
 *
 * Example: `aws dynamodb get-item --table-name <table> --key '{"id":{"S":"order-42"}}'`.
 */
import { randomUUID } from 'node:crypto';
import {
  BatchExecuteStatementCommand,
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { isFinal, MessageStatus, STATUS_RANK, type ErrorDetail, type Job, type MoMessage, type Receipt } from '../domain.js';
import { within } from '../clock.js';
import { ConfigError, StoreError } from '../errors.js';

/** Item kinds in the table. */
export const ItemKind = { MESSAGE: 'MESSAGE', CORRELATION: 'CORRELATION', MO: 'MO' } as const;
export type ItemKind = (typeof ItemKind)[keyof typeof ItemKind];

/** Prefix of correlation items' ids. */
export const CORRELATION_PREFIX = 'SMSCID#';
/** A key no item has: `probe()` reads it. */
const PROBE_ID = 'PROBE#store';
/** Prefix of MO items' ids. */
export const MO_PREFIX = 'MO#';

/** Where a receipt with a given correlation key goes, once `recorded` resolves true. */
interface Route {
  messageId: string;
  part: number;
  /** The part's exact correlation key (its `keys[0]`). */
  exactKey: string;
  recorded: Promise<boolean>;
  /** Set once `recorded` has resolved. */
  settled: boolean;
  settle(recorded: boolean): void;
}

interface PendingClaim {
  job: Job;
  opts: ClaimOptions;
  resolve: (outcome: ClaimOutcome) => void;
  reject: (err: unknown) => void;
}

/** State of one SMS part of a message. */
export interface PartState {
  /** SMSC message id from submit_sm_resp (or, until that is recorded, from the receipt). */
  smscMessageId?: string;
  status: MessageStatus;
  stat?: string;
  err?: string;
  networkError?: string;
  /** ISO-8601, when a final receipt for the part was received. */
  doneAt?: string;
}

export interface HistoryEntry {
  status: MessageStatus;
  /** ISO-8601 */
  at: string;
}

/** A MESSAGE item as stored (see the item model above). */
export interface StatusItem {
  id: string;
  kind: typeof ItemKind.MESSAGE;
  status: MessageStatus;
  statusRank: number;
  to?: string;
  from?: string;
  encoding?: string;
  segments?: number;
  concat?: string;
  concatRef?: number;
  /** Keyed by part number "1".."N". */
  parts: Record<string, PartState>;
  createdAt: string;
  updatedAt: string;
  submittedAt?: string;
  doneAt?: string;
  attempts: number;
  unknownOutcomes: number;
  lastError?: ErrorDetail;
  stat?: string;
  err?: string;
  networkError?: string;
  metadata?: Record<string, unknown>;
  sqsMessageId?: string;
  reason?: string;
  history: HistoryEntry[];
  claimOwner?: string;
  /** Epoch milliseconds. */
  claimExpiresAt?: number;
  previousClaimOwner?: string;
  version: number;
  /** Epoch seconds (TTL). */
  expiresAt: number;
}

/** An MO item as stored. */
export interface MoItem extends MoMessage {
  id: string;
  kind: typeof ItemKind.MO;
  expiresAt: number;
}

/** How a message is split, fixed by its first claim (see the item model). */
export interface SubmitPlan {
  encoding: string;
  segments: number;
  concat: string;
  concatRef: number;
}

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

export type ExtendClaimOutcome = { outcome: 'extended'; claimExpiresAt: number } | { outcome: 'lost' };

export type ReleaseClaimOutcome = { outcome: 'released' } | { outcome: 'not-owner' };

export type RecordFailedOutcome = { outcome: 'recorded' } | { outcome: 'unchanged'; status: MessageStatus };

export type ReceiptOutcome =
  | { outcome: 'applied'; messageId: string; status: MessageStatus }
  /** No correlation yet: stored, and applied when the submit response is recorded. */
  | { outcome: 'parked' }
  /** Matched, but changed nothing (duplicate, stale, or the message item is gone). */
  | { outcome: 'ignored'; messageId: string };

export type RecordInvalidOutcome = { outcome: 'recorded' } | { outcome: 'exists' };

export interface ClaimOptions extends SubmitPlan {
  owner: string;
  leaseMs: number;
  sqsMessageId: string;
}

/** A part accepted by the SMSC, with the correlation keys of its SMSC message id. */
export interface AcceptedPart {
  part: number;
  smscMessageId: string;
  /** Exact key first; later keys are readings that another id may share, and never displace another message. */
  keys: string[];
}

/** The subset of a pino logger the store uses. */
export interface StoreLogger {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

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
}

/** Read-modify-write attempts before a version conflict becomes a (retryable) StoreError. */
const MAX_CONFLICT_RETRIES = 10;
/** Items remembered for the first try of a read-modify-write (about a minute of traffic at 100 jobs/s). */
const RECENT_ITEMS = 5000;
/** BatchExecuteStatement takes at most 25 statements. */
const CLAIM_BATCH = 25;
/** Attributes a repeated claim increments, and those it leaves as the first claim wrote them. */
const CLAIM_COUNTERS: ReadonlySet<string> = new Set(['attempts', 'version']);
const CLAIM_KEEPS: ReadonlySet<string> = new Set(['createdAt', 'unknownOutcomes', 'parts', 'history', 'encoding', 'segments', 'concat', 'concatRef']);
/** `previousClaimOwner` when the claim found no lease holder. */
const NO_OWNER = '';
/** Items in one TransactWriteItems; more (a long message with ambiguous ids) goes step by step. */
const MAX_TRANSACT_ITEMS = 25;

const SUBMITTED_RANK = STATUS_RANK.SUBMITTED;

/** DynamoDB adapter for message status, correlation and MO items (see the item model above). */
export class StatusStore {
  readonly #client: Pick<DynamoDBClient, 'send'>;
  readonly #table: string;
  readonly #ttlSeconds: number;
  readonly #clock: () => number;
  readonly #logger: StoreLogger | undefined;
  /**
   * The last version of items this store wrote or claimed. A read-modify-write first tries
   * that version (its condition `version = v` makes a stale copy harmless: it just fails and
   * reads again), which saves the GetItem in the usual claim → accepted → receipt sequence.
   */
  readonly #recent = new Map<string, StatusItem>();
  /**
   * Correlation key → the part it was accepted for, with the promise of that record landing. The
   * durable correlation item is still written (receipts may arrive on any task's receiver); this
   * only spares a receipt arriving here the extra write and the race with its own recordAccepted.
   */
  readonly #routes = new Map<string, Route>();
  readonly #maxRoutes: number;
  /** Receipts this task parked under correlation keys no message had yet: the whole list, as it read back. */
  readonly #parked = new Map<string, Receipt[]>();
  /** Parks in flight from this task, by key: a recordAccepted for the key waits for them to land first. */
  readonly #parking = new Map<string, Promise<unknown>>();
  readonly #receiptWaitMs: number;
  /** Tail of the writes queued per MESSAGE id: this task's writes to one item go one at a time, never racing each other. */
  readonly #writing = new Map<string, Promise<unknown>>();
  #pendingClaims: PendingClaim[] = [];
  #claimTimer: NodeJS.Immediate | undefined;

  constructor(options: StatusStoreOptions) {
    const ttlDays = options.ttlDays ?? 30;
    const problems: string[] = [];
    if (options.tableName.length === 0) problems.push('tableName must not be empty');
    if (!Number.isFinite(ttlDays) || ttlDays <= 0) problems.push(`ttlDays must be a positive number (got ${ttlDays})`);
    const routes = options.receiptRoutes ?? 50_000;
    if (!Number.isInteger(routes) || routes < 0) problems.push(`receiptRoutes must be a whole number ≥ 0 (got ${routes})`);
    if (problems.length > 0) throw new ConfigError(problems);
    this.#client = options.client;
    this.#table = options.tableName;
    this.#ttlSeconds = Math.round(ttlDays * 86_400);
    this.#clock = options.clock ?? Date.now;
    this.#logger = options.logger;
    this.#maxRoutes = routes;
    this.#receiptWaitMs = options.receiptWaitMs ?? 2000;
  }

  /**
   * Takes the job for submission: creates the item, or takes it when it is SUBMITTING and no other
   * owner holds an unexpired lease. Of several owners claiming one id at once, one wins. An owner's
   * repeated claim succeeds (its first answer may have been lost), so an owner must not claim an id
   * it is still handling: the outbound pipeline guards that.
   *
   * Claims made in the same turn of the event loop (a receive's worth) go out together: new ids as
   * one BatchExecuteStatement of INSERTs (each succeeds or fails on its own, at the cost of single
   * writes), and whatever that does not settle as the conditional UpdateItem below.
   */
  claim(job: Job, opts: ClaimOptions): Promise<ClaimOutcome> {
    return new Promise((resolve, reject) => {
      this.#pendingClaims.push({ job, opts, resolve, reject });
      if (this.#pendingClaims.length >= CLAIM_BATCH) this.#flushClaims();
      else this.#claimTimer ??= setImmediate(() => this.#flushClaims());
    });
  }

  #flushClaims(): void {
    if (this.#claimTimer !== undefined) clearImmediate(this.#claimTimer);
    this.#claimTimer = undefined;
    const batch = this.#pendingClaims;
    this.#pendingClaims = [];
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
      if (ids.has(c.job.id) || this.#recent.has(c.job.id)) rest.push(c);
      else {
        ids.add(c.job.id);
        fresh.push({ claim: c, item: this.#newClaim(c.job, c.opts, now) });
      }
    }
    if (fresh.length === 1) rest.unshift(...fresh.splice(0).map((f) => f.claim));
    if (fresh.length > 0) {
      let responses: { Error?: unknown }[] | undefined;
      try {
        const out = await this.#client.send(
          new BatchExecuteStatementCommand({
            Statements: fresh.map(({ item }) => {
              const attrs = toItem(item);
              const names = Object.keys(attrs);
              return { Statement: `INSERT INTO "${this.#table}" VALUE {${names.map((n) => `'${n}': ?`).join(', ')}}`, Parameters: names.map((n) => attrs[n] as AttributeValue) };
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
        this.#remember(item);
        claim.resolve({ outcome: 'claimed', acceptedParts: {}, plan: planOf(item, claim.opts) });
      });
    }
    for (const c of rest) this.#claimOne(c.job, c.opts).then(c.resolve, c.reject);
  }

  /** The item a first claim creates (#claimOne's update derives from it). */
  #newClaim(job: Job, opts: ClaimOptions, now: number): StatusItem {
    return {
      id: job.id,
      kind: ItemKind.MESSAGE,
      status: MessageStatus.SUBMITTING,
      statusRank: STATUS_RANK.SUBMITTING,
      to: job.to,
      from: job.from,
      encoding: opts.encoding,
      segments: opts.segments,
      concat: opts.concat,
      concatRef: opts.concatRef,
      sqsMessageId: opts.sqsMessageId,
      createdAt: iso(now),
      updatedAt: iso(now),
      attempts: 1,
      unknownOutcomes: 0,
      parts: {},
      history: [{ status: MessageStatus.SUBMITTING, at: iso(now) }],
      claimOwner: opts.owner,
      claimExpiresAt: now + opts.leaseMs,
      previousClaimOwner: NO_OWNER,
      version: 1,
      expiresAt: this.#expiresAt(now),
      ...(job.metadata === undefined ? {} : { metadata: job.metadata }),
    };
  }

  async #claimOne(job: Job, opts: ClaimOptions): Promise<ClaimOutcome> {
    const now = this.#clock();
    const x = new Expr();
    // The item a first claim creates; on an existing item the counters count on and the first
    // claim's history stays.
    const sets = Object.entries(this.#newClaim(job, opts, now))
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
      this.#remember(item);
      const acceptedParts: Record<number, string> = {};
      for (const [n, p] of Object.entries(item?.parts ?? {})) {
        if (p.smscMessageId !== undefined) acceptedParts[Number(n)] = p.smscMessageId;
      }
      return { outcome: 'claimed', acceptedParts, plan: planOf(item, opts) };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw new StoreError(`claim of ${job.id} failed`, { cause: err });
      const old = fromItem<StatusItem>(err.Item) ?? (await this.get(job.id));
      if (old !== undefined) this.#remember(old);
      if (old === undefined || old.status === MessageStatus.SUBMITTING) return { outcome: 'busy' };
      return { outcome: 'done', status: old.status };
    }
  }

  /** Counts an unknown outcome on a message whose lease this claim took over from `previous`. */
  async #countTakeOver(item: StatusItem, previous: string, now: number): Promise<StatusItem> {
    const x = new Expr();
    const lastError: ErrorDetail = { code: 'LEASE_TAKEN_OVER', name: 'UNKNOWN_OUTCOME', description: `lease of ${previous} expired while it held the job` };
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

  /** One cheap read, to learn whether the table answers again after a failure. */
  async probe(): Promise<void> {
    await this.#getRaw(PROBE_ID);
  }

  /** Pushes the lease forward; 'lost' when another owner took it or the message left SUBMITTING. */
  async extendClaim(id: string, owner: string, leaseMs: number): Promise<ExtendClaimOutcome> {
    const claimExpiresAt = this.#clock() + leaseMs;
    const x = new Expr();
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: key(id),
          UpdateExpression: `SET ${x.n('claimExpiresAt')} = ${x.v(claimExpiresAt)}, ${x.n('version')} = if_not_exists(${x.n('version')}, ${x.v(0)}) + ${x.v(1)}`,
          ConditionExpression: `${x.n('claimOwner')} = ${x.v(owner)} AND ${x.n('status')} = ${x.v(MessageStatus.SUBMITTING)}`,
          ...x.params(),
        }),
      );
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
   * Usually one TransactWriteItems: the correlations, on condition that they hold no receipt but
   * those this task parked there (applied in the same write), and the message, on condition of the
   * version this task last wrote. When a condition fails, step by step: each correlation swapped in
   * (returning what was parked), then the message.
   */
  async recordAccepted(id: string, owner: string, parts: AcceptedPart[], totalParts: number): Promise<void> {
    if (parts.some((p) => p.keys.length === 0)) throw new StoreError('recordAccepted: every part needs at least one correlation key', { retryable: false });
    const now = this.#clock();
    const routes = parts.map((p) => this.#expect(id, p));
    try {
      if (!(await this.#acceptInOneWrite(id, owner, parts, totalParts, now))) await this.#acceptStepByStep(id, owner, parts, totalParts, now);
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
    this.#expect(id, part);
  }

  /** The pending route of the part's keys, created unless an announced one is waiting. */
  #expect(id: string, part: AcceptedPart): Route {
    const existing = this.#routes.get(part.keys[0] ?? '');
    if (existing !== undefined && existing.messageId === id && existing.part === part.part && !existing.settled) return existing;
    let settle: (recorded: boolean) => void = () => undefined;
    const route: Route = {
      messageId: id,
      part: part.part,
      exactKey: part.keys[0] ?? '',
      recorded: new Promise<boolean>((r) => (settle = r)),
      settled: false,
      settle: (recorded) => {
        route.settled = true;
        settle(recorded);
        // A failed record leaves receipts to the correlation items.
        if (!recorded) for (const k of part.keys) if (this.#routes.get(k) === route) this.#routes.delete(k);
      },
    };
    part.keys.forEach((k, i) => {
      // A reading never displaces another message's route: that message may own the key exactly.
      const held = this.#routes.get(k);
      if (i === 0 || held === undefined || held.messageId === id || (held.settled && !this.#routes.has(held.exactKey))) this.#addRoute(k, route);
    });
    return route;
  }

  /** The single-write path of recordAccepted; false when it could not be used or a condition failed. */
  #acceptInOneWrite(id: string, owner: string, parts: AcceptedPart[], totalParts: number, now: number): Promise<boolean> {
    if (parts.reduce((n, p) => n + p.keys.length, 0) + 1 > MAX_TRANSACT_ITEMS) return Promise.resolve(false);
    return this.#serially(id, async () => {
      // A receipt that overtook the response may be being parked right now: let it land, then take it along.
      await Promise.all(parts.flatMap((p) => p.keys.map((k) => this.#parking.get(k)?.catch(() => undefined))));
      const correlations = parts.flatMap((p) => p.keys.map((k) => ({ k, part: p.part, parked: this.#parked.get(k) })));
      const current = this.#recent.get(id);
      if (current === undefined) return false;
      const parked = correlations.flatMap((c) => (c.parked ?? []).map((receipt) => ({ part: c.part, receipt })));
      const next = this.#withAccepted(structuredClone(current), owner, parts, parked, totalParts, now);
      next.version = current.version + 1;
      const items: TransactWriteItem[] = correlations.map(({ k, part, parked }) => {
        const x = new Expr();
        // Only the receipts we know of (none, or those this task parked): one more, or a key that
        // belonged to another message, needs the step-by-step path.
        const noOthers = parked === undefined ? `attribute_not_exists(${x.n('receipts')})` : `size(${x.n('receipts')}) = ${x.v(parked.length)}`;
        return {
          Update: {
            TableName: this.#table,
            Key: key(CORRELATION_PREFIX + k),
            UpdateExpression: this.#pointCorrelation(x, id, part, now),
            ConditionExpression: `${noOthers} AND (attribute_not_exists(${x.n('messageId')}) OR ${x.n('messageId')} = ${x.v(id)})`,
            ...x.params(),
          },
        };
      });
      const x = new Expr();
      items.push({ Put: { TableName: this.#table, Item: toItem(next), ConditionExpression: `${x.n('version')} = ${x.v(current.version)}`, ...x.params() } });
      try {
        await this.#client.send(new TransactWriteItemsCommand({ TransactItems: items }));
      } catch (err) {
        if (!(err instanceof TransactionCanceledException)) throw new StoreError(`recordAccepted of ${id} failed`, { cause: err });
        if (err.CancellationReasons?.at(-1)?.Code === 'ConditionalCheckFailed') this.#recent.delete(id);
        this.#logger?.debug({ messageId: id, reasons: err.CancellationReasons?.map((r) => r.Code) }, 'recordAccepted in one write refused; going step by step');
        return false;
      }
      for (const c of correlations) this.#parked.delete(c.k);
      this.#remember(next);
      return true;
    });
  }

  async #acceptStepByStep(id: string, owner: string, parts: AcceptedPart[], totalParts: number, now: number): Promise<void> {
    const parked: { part: number; receipt: Receipt }[] = [];
    for (const p of parts) {
      for (const k of p.keys) this.#parked.delete(k);
      const olds = await Promise.all(p.keys.map((k, i) => this.#correlate(k, id, p.part, now, i > 0)));
      for (const old of olds) {
        if (old === undefined) continue;
        if (old.messageId !== undefined && old.messageId !== id) {
          // SMSC ids wrap around: the key belonged to an older message, whose receipts are not ours.
          this.#logger?.warn({ messageId: id, previous: old.messageId, part: p.part }, 'SMSC message id reused; correlation moved');
          continue;
        }
        for (const receipt of old.receipts) parked.push({ part: p.part, receipt });
      }
    }
    await this.#mutate(id, (current) => {
      if (current === undefined) this.#logger?.warn({ messageId: id, owner }, 'recordAccepted for a message that was never claimed');
      return this.#withAccepted(current ?? this.#skeleton(id, now), owner, parts, parked, totalParts, now);
    });
  }

  /** `item` with the accepted parts (and receipts that waited for them) recorded. */
  #withAccepted(item: StatusItem, owner: string, parts: AcceptedPart[], parked: { part: number; receipt: Receipt }[], totalParts: number, now: number): StatusItem {
    if (item.claimOwner !== undefined && item.claimOwner !== owner) {
      // Our lease ran out and another task holds it now; what the SMSC accepted is still recorded.
      this.#logger?.debug({ messageId: item.id, owner, claimOwner: item.claimOwner }, 'recording parts accepted under an expired lease');
    }
    item.segments ??= totalParts;
    for (const p of parts) {
      const k = String(p.part);
      const existing = item.parts[k];
      item.parts[k] = existing === undefined ? { smscMessageId: p.smscMessageId, status: MessageStatus.SUBMITTED } : { ...existing, smscMessageId: p.smscMessageId };
    }
    for (const { part, receipt } of parked) applyToPart(item.parts, part, receipt);
    this.#deriveStatus(item, totalParts, now);
    // The claim ends with the last part: until then its owner is still sending the others.
    if (allPartsPresent(item.parts, totalParts)) {
      item.submittedAt ??= iso(now);
      clearClaim(item);
    }
    item.updatedAt = iso(now);
    item.expiresAt = this.#expiresAt(now);
    return item;
  }

  /**
   * Marks the message FAILED (final) with the error. Only while it is still SUBMITTING: a stale
   * owner's failure must not overwrite another task's successful submit.
   */
  async recordFailed(id: string, owner: string, error: ErrorDetail): Promise<RecordFailedOutcome> {
    const now = this.#clock();
    const x = new Expr();
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: key(id),
          UpdateExpression:
            `SET ${x.n('kind')} = ${x.v(ItemKind.MESSAGE)}, ${x.n('status')} = ${x.v(MessageStatus.FAILED)}, ` +
            `${x.n('statusRank')} = ${x.v(STATUS_RANK.FAILED)}, ${x.n('doneAt')} = ${x.v(iso(now))}, ` +
            `${x.n('lastError')} = ${x.v(errorDetail(error))}, ${x.n('updatedAt')} = ${x.v(iso(now))}, ` +
            `${x.n('createdAt')} = if_not_exists(${x.n('createdAt')}, ${x.v(iso(now))}), ` +
            `${x.n('history')} = list_append(if_not_exists(${x.n('history')}, ${x.v([])}), ${x.v([{ status: MessageStatus.FAILED, at: iso(now) }])}), ` +
            `${x.n('version')} = if_not_exists(${x.n('version')}, ${x.v(0)}) + ${x.v(1)}, ${x.n('expiresAt')} = ${x.v(this.#expiresAt(now))} ` +
            `REMOVE ${x.n('claimOwner')}, ${x.n('claimExpiresAt')}`,
          ConditionExpression: `attribute_not_exists(${x.n('id')}) OR ${x.n('statusRank')} < ${x.v(SUBMITTED_RANK)}`,
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
   * Gives the lease back after a retryable outcome so the next receive can claim at once; records
   * `error` as lastError and counts an unknown outcome (timed-out submit) when asked. The status
   * stays SUBMITTING. When the caller no longer owns the lease, the error and count are still kept.
   */
  async releaseClaim(id: string, owner: string, opts: { error?: ErrorDetail; unknownOutcome?: boolean } = {}): Promise<ReleaseClaimOutcome> {
    const now = this.#clock();
    const build = (release: boolean): UpdateItemCommand => {
      const x = new Expr();
      const sets = [`${x.n('updatedAt')} = ${x.v(iso(now))}`, `${x.n('version')} = if_not_exists(${x.n('version')}, ${x.v(0)}) + ${x.v(1)}`];
      if (opts.error !== undefined) sets.push(`${x.n('lastError')} = ${x.v(errorDetail(opts.error))}`);
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
   * Stores a delivery receipt and applies it to the message part it correlates with.
   *
   * A receipt for a part this task recorded (most of them) is applied to the message in one write,
   * after that record has landed. Any other receipt is appended to each key's correlation item in one
   * atomic update that also returns the correlation, so either this call sees `recordAccepted`'s
   * correlation or `recordAccepted` sees this receipt: a racing pair never loses it. Applying the
   * same receipt twice changes nothing.
   */
  async recordReceipt(r: Receipt, keys: string[], alternativeKeys?: string[]): Promise<ReceiptOutcome> {
    if (keys.length === 0) throw new StoreError('recordReceipt: at least one correlation key is needed', { retryable: false });
    if (alternativeKeys !== undefined && alternativeKeys.length > 0 && !keys.some((k) => alternativeKeys.includes(k))) {
      keys = await this.#whichIdIsKnown(keys, alternativeKeys);
    }
    const now = this.#clock();
    const route = this.#findRoute(keys);
    if (route !== undefined && (await (route.settled ? route.recorded : within(route.recorded, this.#receiptWaitMs, false)))) {
      const outcome = await this.#applyReceipt(route.messageId, route.part, r, now);
      // A final receipt ends the part; later copies of it find the correlation item instead.
      if (isFinal(r.status)) for (const k of keys) if (this.#routes.get(k) === route) this.#routes.delete(k);
      return outcome;
    }
    const parking = Promise.all(keys.map((k) => this.#park(k, r, now)));
    for (const k of keys) this.#parking.set(k, parking);
    const found = await parking.finally(() => {
      for (const k of keys) if (this.#parking.get(k) === parking) this.#parking.delete(k);
    });
    const match = found.find((c) => c !== undefined);
    if (match === undefined) return { outcome: 'parked' };
    return this.#applyReceipt(match.messageId, match.part, r, now);
  }

  /** The route of `keys`: the one recorded under the same exact key first, then a reading's. */
  #findRoute(keys: string[]): Route | undefined {
    const found = keys.map((k) => this.#routes.get(k)).filter((x): x is Route => x !== undefined);
    return found.find((x) => x.exactKey === keys[0]) ?? found.find((x) => keys.includes(x.exactKey)) ?? found[0];
  }

  /**
   * A receipt whose two ids disagree (TLV and text; a codec can corrupt one): the keys of the one
   * a submit of ours is recorded under, the first one's when both or neither are — then both
   * are parked, so whichever submit is recorded later finds it.
   */
  async #whichIdIsKnown(keys: string[], alternativeKeys: string[]): Promise<string[]> {
    const known = async (ks: string[]): Promise<boolean> => {
      if (this.#findRoute(ks) !== undefined) return true;
      const item = await this.#getRaw(CORRELATION_PREFIX + (ks[0] ?? ''));
      return typeof item?.['messageId'] === 'string';
    };
    if (await known(keys)) return keys;
    if (await known(alternativeKeys)) return alternativeKeys;
    return [...keys, ...alternativeKeys.filter((k) => !keys.includes(k))];
  }

  async #applyReceipt(messageId: string, part: number, r: Receipt, now: number): Promise<ReceiptOutcome> {
    let changed = false;
    const result = await this.#mutate(messageId, (item) => {
      if (item === undefined) return undefined;
      changed = applyToPart(item.parts, part, r);
      if (!changed) return undefined;
      this.#deriveStatus(item, item.segments ?? maxPart(item.parts), now);
      if (item.statusRank >= SUBMITTED_RANK) clearClaim(item);
      item.updatedAt = iso(now);
      item.expiresAt = this.#expiresAt(now);
      return item;
    });
    if (result === undefined) {
      this.#logger?.warn({ messageId, smscMessageId: r.smscMessageId }, 'receipt for a message item that no longer exists');
      return { outcome: 'ignored', messageId };
    }
    return changed ? { outcome: 'applied', messageId, status: result.status } : { outcome: 'ignored', messageId };
  }

  /**
   * Records an invalid job (status INVALID, final) under `key`, never overwriting an existing item:
   * an invalid duplicate must not clobber a real message.
   */
  async recordInvalid(key: string, reason: string, extra: { sqsMessageId: string }): Promise<RecordInvalidOutcome> {
    const now = this.#clock();
    const item: StatusItem = {
      id: key,
      kind: ItemKind.MESSAGE,
      status: MessageStatus.INVALID,
      statusRank: STATUS_RANK.INVALID,
      reason,
      sqsMessageId: extra.sqsMessageId,
      parts: {},
      createdAt: iso(now),
      updatedAt: iso(now),
      doneAt: iso(now),
      attempts: 0,
      unknownOutcomes: 0,
      history: [{ status: MessageStatus.INVALID, at: iso(now) }],
      version: 1,
      expiresAt: this.#expiresAt(now),
    };
    return (await this.#putNew(item)) ? { outcome: 'recorded' } : { outcome: 'exists' };
  }

  /** Stores an MO message as its own item; returns the item's id (`MO#<uuid>`). */
  async recordMo(mo: MoMessage): Promise<string> {
    const item: MoItem = {
      id: MO_PREFIX + randomUUID(),
      kind: ItemKind.MO,
      from: mo.from,
      to: mo.to,
      text: mo.text,
      dataCoding: mo.dataCoding,
      parts: mo.parts,
      receivedAt: mo.receivedAt,
      expiresAt: this.#expiresAt(this.#clock()),
    };
    if (!(await this.#putNew(item))) throw new StoreError(`MO item ${item.id} already exists`);
    return item.id;
  }

  /** The MESSAGE item with this id, or undefined (also for ids of other kinds). */
  async get(id: string): Promise<StatusItem | undefined> {
    const item = await this.#getRaw(id);
    return item?.kind === ItemKind.MESSAGE ? (item as unknown as StatusItem) : undefined;
  }

  /** The MO item with this id (as returned by `recordMo`), or undefined. */
  async getMo(id: string): Promise<MoItem | undefined> {
    const item = await this.#getRaw(id);
    return item?.kind === ItemKind.MO ? (item as unknown as MoItem) : undefined;
  }

  async #getRaw(id: string): Promise<Record<string, unknown> | undefined> {
    try {
      const out = await this.#client.send(new GetItemCommand({ TableName: this.#table, Key: key(id), ConsistentRead: true }));
      return fromItem<Record<string, unknown>>(out.Item);
    } catch (err) {
      throw new StoreError(`get of ${id} failed`, { cause: err });
    }
  }

  /** The update that points a correlation item at (messageId, part). */
  #pointCorrelation(x: Expr, messageId: string, part: number, now: number): string {
    return (
      `SET ${x.n('kind')} = ${x.v(ItemKind.CORRELATION)}, ${x.n('messageId')} = ${x.v(messageId)}, ` +
      `${x.n('part')} = ${x.v(part)}, ${x.n('expiresAt')} = ${x.v(this.#expiresAt(now))}`
    );
  }

  /**
   * Points correlation key `k` at (messageId, part); returns the item as it was before. A `reading`
   * (not the part's exact key) is left alone when another message holds it, and then returns undefined.
   */
  async #correlate(k: string, messageId: string, part: number, now: number, reading = false): Promise<{ messageId?: string; receipts: Receipt[] } | undefined> {
    const x = new Expr();
    const update = this.#pointCorrelation(x, messageId, part, now);
    const condition = reading ? { ConditionExpression: `attribute_not_exists(${x.n('messageId')}) OR ${x.n('messageId')} = ${x.v(messageId)}` } : {};
    try {
      const out = await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: key(CORRELATION_PREFIX + k),
          UpdateExpression: update,
          ...condition,
          ...x.params(),
          ReturnValues: 'ALL_OLD',
        }),
      );
      const old = fromItem<{ messageId?: string; receipts?: unknown[] }>(out.Attributes);
      if (old === undefined) return undefined;
      return { ...(old.messageId === undefined ? {} : { messageId: old.messageId }), receipts: this.#receipts(old.receipts) };
    } catch (err) {
      if (reading && err instanceof ConditionalCheckFailedException) {
        this.#logger?.debug({ messageId, key: k }, 'a reading of this SMSC id belongs to another message; left to it');
        return undefined;
      }
      throw new StoreError(`correlation of ${k} failed`, { cause: err });
    }
  }

  /**
   * Appends the receipt to correlation key `k`; returns the correlation when it names a message.
   * When it does not, the receipts now parked there are remembered, so that this task's
   * recordAccepted can take them in its single write.
   */
  async #park(k: string, r: Receipt, now: number): Promise<{ messageId: string; part: number } | undefined> {
    const x = new Expr();
    try {
      const out = await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: key(CORRELATION_PREFIX + k),
          UpdateExpression:
            `SET ${x.n('receipts')} = list_append(if_not_exists(${x.n('receipts')}, ${x.v([])}), ${x.v([r])}), ` +
            `${x.n('kind')} = ${x.v(ItemKind.CORRELATION)}, ${x.n('expiresAt')} = ${x.v(this.#expiresAt(now))}`,
          ...x.params(),
          ReturnValues: 'ALL_NEW',
        }),
      );
      const item = fromItem<{ messageId?: string; part?: number; receipts?: unknown[] }>(out.Attributes);
      if (item?.messageId === undefined) {
        const stored = item?.receipts ?? [];
        const receipts = this.#receipts(stored);
        // Only a list we can read whole is worth carrying; otherwise recordAccepted goes step by step.
        if (receipts.length === stored.length) {
          setBounded(this.#parked, k, receipts, this.#maxRoutes);
        }
        return undefined;
      }
      return { messageId: item.messageId, part: item.part ?? 1 };
    } catch (err) {
      throw new StoreError(`parking a receipt under ${k} failed`, { cause: err });
    }
  }

  #receipts(list: unknown[] | undefined): Receipt[] {
    const out: Receipt[] = [];
    for (const r of list ?? []) {
      if (isReceipt(r)) out.push(r);
      else this.#logger?.warn({ receipt: r }, 'skipping a malformed parked receipt');
    }
    return out;
  }

  #remember(item: StatusItem | undefined): void {
    if (item !== undefined) setBounded(this.#recent, item.id, item, RECENT_ITEMS);
  }

  #addRoute(k: string, route: Route): void {
    setBounded(this.#routes, k, route, this.#maxRoutes);
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
   */
  #mutate(id: string, change: (item: StatusItem | undefined) => StatusItem | undefined): Promise<StatusItem | undefined> {
    return this.#serially(id, () => this.#readModifyWrite(id, change));
  }

  async #readModifyWrite(id: string, change: (item: StatusItem | undefined) => StatusItem | undefined): Promise<StatusItem | undefined> {
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      const cached = attempt === 0 ? this.#recent.get(id) : undefined;
      const current = cached ?? (await this.get(id));
      const version = current?.version;
      const next = change(current === undefined ? undefined : structuredClone(current));
      if (next === undefined) return current;
      next.version = (version ?? 0) + 1;
      const x = new Expr();
      const condition =
        current === undefined
          ? `attribute_not_exists(${x.n('id')})`
          : version === undefined
            ? `attribute_not_exists(${x.n('version')})`
            : `${x.n('version')} = ${x.v(version)}`;
      try {
        await this.#client.send(new PutItemCommand({ TableName: this.#table, Item: toItem(next), ConditionExpression: condition, ...x.params() }));
        this.#remember(next);
        return next;
      } catch (err) {
        this.#recent.delete(id);
        if (!(err instanceof ConditionalCheckFailedException)) throw new StoreError(`update of ${id} failed`, { cause: err });
        this.#logger?.debug({ messageId: id, attempt }, 'version conflict; retrying');
      }
    }
    throw new StoreError(`update of ${id} lost ${MAX_CONFLICT_RETRIES} version races in a row`);
  }

  /** PutItem unless the id exists; false when it does. */
  async #putNew(item: { id: string }): Promise<boolean> {
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

  /** Raises the message status to what its parts say, when that is further along. */
  #deriveStatus(item: StatusItem, totalParts: number, now: number): void {
    if (isFinal(item.status)) return;
    const derived = deriveFromParts(item.parts, totalParts);
    if (derived === undefined || STATUS_RANK[derived.status] <= item.statusRank) return;
    // A receipt can land before the submit is recorded; the timeline still shows the submission.
    const skipped = item.statusRank < SUBMITTED_RANK && STATUS_RANK[derived.status] > SUBMITTED_RANK ? [{ status: MessageStatus.SUBMITTED, at: iso(now) }] : [];
    item.status = derived.status;
    item.statusRank = STATUS_RANK[derived.status];
    item.history = [...item.history, ...skipped, { status: derived.status, at: iso(now) }];
    const decider = derived.part;
    if (decider.stat !== undefined) item.stat = decider.stat;
    if (decider.err !== undefined) item.err = decider.err;
    if (decider.networkError !== undefined) item.networkError = decider.networkError;
    if (isFinal(derived.status)) item.doneAt = decider.doneAt ?? iso(now);
  }

  #skeleton(id: string, now: number): StatusItem {
    return {
      id,
      kind: ItemKind.MESSAGE,
      status: MessageStatus.SUBMITTING,
      statusRank: STATUS_RANK.SUBMITTING,
      parts: {},
      createdAt: iso(now),
      updatedAt: iso(now),
      attempts: 0,
      unknownOutcomes: 0,
      history: [{ status: MessageStatus.SUBMITTING, at: iso(now) }],
      version: 0,
      expiresAt: this.#expiresAt(now),
    };
  }

  #expiresAt(nowMs: number): number {
    return Math.floor(nowMs / 1000) + this.#ttlSeconds;
  }
}

const FAILURE_STATES: ReadonlySet<MessageStatus> = new Set([
  MessageStatus.UNDELIVERED,
  MessageStatus.EXPIRED,
  MessageStatus.REJECTED,
  MessageStatus.DELETED,
  MessageStatus.UNKNOWN,
]);

/**
 * Applies a receipt to one part, forward only: a part in a final state, or a receipt that is not
 * further along than the part, changes nothing. Returns whether the part changed.
 */
function applyToPart(parts: Record<string, PartState>, part: number, r: Receipt): boolean {
  const k = String(part);
  const current = parts[k];
  if (current !== undefined && (isFinal(current.status) || STATUS_RANK[r.status] <= STATUS_RANK[current.status])) return false;
  const next: PartState = { smscMessageId: current?.smscMessageId ?? r.smscMessageId, status: r.status };
  if (r.stat !== undefined) next.stat = r.stat;
  if (r.err !== undefined) next.err = r.err;
  if (r.networkError !== undefined) next.networkError = r.networkError;
  if (isFinal(r.status)) next.doneAt = r.receivedAt;
  parts[k] = next;
  return true;
}

/**
 * The message status its parts imply, with the deciding part; undefined until every part from 1 to
 * `totalParts` is present (so a retry still sends the missing ones).
 */
function deriveFromParts(parts: Record<string, PartState>, totalParts: number): { status: MessageStatus; part: PartState } | undefined {
  const states: PartState[] = [];
  for (let n = 1; n <= totalParts; n++) {
    const p = parts[String(n)];
    if (p === undefined) return undefined;
    states.push(p);
  }
  const failed = states.find((p) => FAILURE_STATES.has(p.status));
  if (failed !== undefined) return { status: failed.status, part: failed };
  const first = states[0];
  if (first === undefined) return undefined;
  if (states.every((p) => p.status === MessageStatus.DELIVERED)) return { status: MessageStatus.DELIVERED, part: states[states.length - 1] ?? first };
  let best: PartState | undefined;
  for (const p of states) {
    if (isFinal(p.status)) continue;
    if (best === undefined || STATUS_RANK[p.status] > STATUS_RANK[best.status]) best = p;
  }
  return best === undefined ? undefined : { status: best.status, part: best };
}

/** Sets `key` as the newest entry of an insertion-ordered map, dropping the oldest beyond `max` (0: keeps nothing). */
function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  if (max <= 0) return;
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as K);
}


function allPartsPresent(parts: Record<string, PartState>, totalParts: number): boolean {
  for (let n = 1; n <= totalParts; n++) if (parts[String(n)] === undefined) return false;
  return true;
}

function maxPart(parts: Record<string, PartState>): number {
  return Math.max(0, ...Object.keys(parts).map(Number));
}

/** The plan stored on the item, filled from `opts` for items written before plans were stored. */
function planOf(item: StatusItem | undefined, opts: SubmitPlan): SubmitPlan {
  return {
    encoding: item?.encoding ?? opts.encoding,
    segments: item?.segments ?? opts.segments,
    concat: item?.concat ?? opts.concat,
    concatRef: item?.concatRef ?? opts.concatRef,
  };
}

function clearClaim(item: StatusItem): void {
  delete item.claimOwner;
  delete item.claimExpiresAt;
}

function errorDetail(e: ErrorDetail): ErrorDetail {
  return { code: e.code, name: e.name, description: e.description };
}

function isReceipt(v: unknown): v is Receipt {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return typeof r.smscMessageId === 'string' && typeof r.receivedAt === 'string' && typeof r.status === 'string' && r.status in STATUS_RANK;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function key(id: string): Record<string, AttributeValue> {
  return { id: { S: id } };
}

/** Placeholders for names and values, so no attribute name ever hits DynamoDB's reserved words. */
class Expr {
  readonly #names: Record<string, string> = {};
  readonly #values: Record<string, AttributeValue> = {};
  #count = 0;

  /** `#name` for a top-level attribute (our names are alphanumeric). */
  n(name: string): string {
    const placeholder = `#${name}`;
    this.#names[placeholder] = name;
    return placeholder;
  }

  v(value: unknown): string {
    const placeholder = `:v${this.#count++}`;
    this.#values[placeholder] = toAttr(value);
    return placeholder;
  }

  params(): { ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Record<string, AttributeValue> } {
    return {
      ...(Object.keys(this.#names).length > 0 ? { ExpressionAttributeNames: this.#names } : {}),
      ...(Object.keys(this.#values).length > 0 ? { ExpressionAttributeValues: this.#values } : {}),
    };
  }
}

/** JSON-like value → AttributeValue (`@aws-sdk/util-dynamodb` is not a dependency). Undefined map entries are left out. */
function toAttr(value: unknown): AttributeValue {
  if (value === null) return { NULL: true };
  switch (typeof value) {
    case 'string':
      return { S: value };
    case 'number':
      if (!Number.isFinite(value)) throw new StoreError(`cannot store the number ${value}`, { retryable: false });
      return { N: String(value) };
    case 'bigint':
      return { N: value.toString() };
    case 'boolean':
      return { BOOL: value };
    case 'object':
      if (Array.isArray(value)) return { L: value.map((v) => (v === undefined ? { NULL: true } : toAttr(v))) };
      if (value instanceof Uint8Array) return { B: value };
      return { M: toItem(value as Record<string, unknown>) };
    default:
      throw new StoreError(`cannot store a value of type ${typeof value}`, { retryable: false });
  }
}

function toItem(obj: object): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = toAttr(v);
  return out;
}

function fromAttr(a: AttributeValue): unknown {
  if (a.S !== undefined) return a.S;
  if (a.N !== undefined) return Number(a.N);
  if (a.BOOL !== undefined) return a.BOOL;
  if (a.NULL !== undefined) return null;
  if (a.L !== undefined) return a.L.map(fromAttr);
  if (a.M !== undefined) return fromMap(a.M);
  if (a.B !== undefined) return a.B;
  if (a.SS !== undefined) return [...a.SS];
  if (a.NS !== undefined) return a.NS.map(Number);
  if (a.BS !== undefined) return [...a.BS];
  return undefined;
}

function fromMap(m: Record<string, AttributeValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) out[k] = fromAttr(v);
  return out;
}

/** Unmarshals an item; the shape is ours (every writer is in this file), so it is asserted, not parsed. */
function fromItem<T>(item: Record<string, AttributeValue> | undefined): T | undefined {
  return item === undefined ? undefined : (fromMap(item) as T);
}
