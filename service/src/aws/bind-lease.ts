/**
 * The account's bind budget enforced at run time: a lease per bind slot in the messages table, which
 * every bind of every process (service tasks, old and new side by side during a deployment, the
 * operator's CLI) must hold before it opens a connection. It implements the `BindSlots` port of
 * `smpp/bind-slots.ts` structurally (this layer imports nothing from `smpp/`); `main.ts` wires it.
 *
 * ## Item — `id` = `BINDSLOT#<systemId>#<n>`, n = 1 … ACCOUNT_BINDS
 * | attribute | type | meaning |
 * |---|---|---|
 * | `kind` | S | `BINDSLOT` (the stream publisher turns only MESSAGE and MO items into events: its event source filter passes no other kind, and its `toEvent` ignores any other) |
 * | `systemId`, `slot` | S, N | whose budget, which slot |
 * | `owner`, `bind` | S | the holding process (`host:pid:random` in the service) and its bind (`tx1`, `rx1`, `tr1`…); kept after a release, as the last holder |
 * | `token` | S | a UUID per acquisition: renewals and the release are conditional on it, so a holder that lost the slot can never renew or free the next holder's lease |
 * | `leaseExpiresAt` | N | epoch ms; the slot is free once it has passed (0 after a release) |
 * | `acquiredAt`, `renewedAt`, `releasedAt` | N | epoch ms |
 * | `expiresAt` | N | TTL, epoch seconds, a week after the last write (an unused system_id's slots go away) |
 *
 * ## Rules
 * - Acquire: one conditional UpdateItem per slot, in order, until one succeeds. The condition: no
 *   lease, an expired one, or one already held by this same owner and bind (a release that never
 *   landed). Nothing is ever deleted: the task role needs no DeleteItem.
 * - Renew every third of the lease; after a failed renewal, retry every fifteenth.
 * - Lost: a renewal refused by its condition (another holder), or no successful renewal by
 *   `lease / 6` before the expiry (clock skew between tasks is far below that margin). The bind
 *   then closes its session at once, before another process can take the slot.
 * - Release: conditional on the token; a release that fails leaves the slot to expire.
 * - Clock skew: expiries are written by one process and compared by another; ECS tasks keep NTP
 *   time within milliseconds, far inside the margin.
 */
import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Clock } from '../clock.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../logger.js';
import { Expr, fromItem, key } from './item-codec.js';

/** Prefix of bind slot items' ids. */
export const BIND_SLOT_PREFIX = 'BINDSLOT#';
/** The `kind` of bind slot items. */
export const BIND_SLOT_KIND = 'BINDSLOT';

/** How long a slot item is kept after its last write (TTL). */
const ITEM_TTL_SECONDS = 7 * 86_400;

/** A slot item as read back (see the item model above). */
interface SlotItem {
  id: string;
  slot: number;
  owner?: string;
  bind?: string;
  token?: string;
  leaseExpiresAt?: number;
}

/** Who holds a slot (the `SlotHolder` of smpp/bind-slots.ts). */
export interface LeaseHolder {
  slot: number;
  owner: string;
  bind: string;
  /** Epoch ms. */
  expiresAt: number;
}

/** One acquisition attempt (the `SlotAttempt` of smpp/bind-slots.ts). */
export type LeaseAttempt =
  | { outcome: 'held'; slot: SlotLease }
  | { outcome: 'none-free'; holders: LeaseHolder[] }
  | { outcome: 'unavailable'; reason: string };

/** What a BindLease needs: the table, the budget, who this process is, and its clock. */
export interface BindLeaseOptions {
  client: Pick<DynamoDBClient, 'send'>;
  tableName: string;
  /** Slots per system_id: the binds the account allows (ACCOUNT_BINDS). */
  accountBinds: number;
  /** This process; with the bind's name it identifies a holder. Unique per process. */
  owner: string;
  /** Lease length, ms (BIND_LEASE_SECONDS). @defaultvalue 30000 */
  leaseMs?: number;
  clock: Clock;
  logger: Logger;
}

/**
 * Bind slots as leases in DynamoDB (see the item model above). `acquire` never rejects: a store it
 * cannot reach is the `unavailable` outcome, and the bind does not connect.
 */
export class BindLease {
  /** Slots per system_id. */
  readonly size: number;
  readonly #client: Pick<DynamoDBClient, 'send'>;
  readonly #table: string;
  readonly #owner: string;
  readonly #leaseMs: number;
  readonly #clock: Clock;
  readonly #logger: Logger;
  /** Slots held now, so the operator's tool can give them back when it is interrupted. */
  readonly #held = new Set<SlotLease>();

  constructor(options: BindLeaseOptions) {
    const leaseMs = options.leaseMs ?? 30_000;
    const problems: string[] = [];
    if (options.tableName.length === 0) problems.push('tableName must not be empty');
    if (options.owner.length === 0) problems.push('owner must not be empty');
    if (!Number.isInteger(options.accountBinds) || options.accountBinds < 1) problems.push(`accountBinds must be a whole number ≥ 1 (got ${options.accountBinds})`);
    // A renewal, its retries and the closing margin must all fit in one lease.
    if (!Number.isFinite(leaseMs) || leaseMs < 3_000) problems.push(`leaseMs must be at least 3000 (got ${leaseMs})`);
    if (problems.length > 0) throw new ConfigError(problems);
    this.size = options.accountBinds;
    this.#client = options.client;
    this.#table = options.tableName;
    this.#owner = options.owner;
    this.#leaseMs = leaseMs;
    this.#clock = options.clock;
    this.#logger = options.logger;
  }

  /** Tries each slot of `systemId`'s budget once, in order; takes the first that is free, expired, or already this bind's. */
  async acquire(request: { systemId: string; bind: string }): Promise<LeaseAttempt> {
    const holders: LeaseHolder[] = [];
    for (let n = 1; n <= this.size; n++) {
      const id = `${BIND_SLOT_PREFIX}${request.systemId}#${n}`;
      const now = this.#clock.now();
      const token = randomUUID();
      const expiresAt = now + this.#leaseMs;
      const e = new Expr();
      const free = `attribute_not_exists(${e.n('leaseExpiresAt')}) OR ${e.n('leaseExpiresAt')} <= ${e.v(now)}`;
      const ours = `(${e.n('owner')} = ${e.v(this.#owner)} AND ${e.n('bind')} = ${e.v(request.bind)})`;
      const set = [
        `${e.n('kind')} = ${e.v(BIND_SLOT_KIND)}`,
        `${e.n('systemId')} = ${e.v(request.systemId)}`,
        `${e.n('slot')} = ${e.v(n)}`,
        `${e.n('owner')} = ${e.v(this.#owner)}`,
        `${e.n('bind')} = ${e.v(request.bind)}`,
        `${e.n('token')} = ${e.v(token)}`,
        `${e.n('leaseExpiresAt')} = ${e.v(expiresAt)}`,
        `${e.n('acquiredAt')} = ${e.v(now)}`,
        `${e.n('renewedAt')} = ${e.v(now)}`,
        `${e.n('expiresAt')} = ${e.v(this.#ttl(now))}`,
      ];
      try {
        await this.#client.send(
          new UpdateItemCommand({
            TableName: this.#table,
            Key: key(id),
            UpdateExpression: `SET ${set.join(', ')} REMOVE ${e.n('releasedAt')}`,
            ConditionExpression: `${free} OR ${ours}`,
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            ...e.params(),
          }),
        );
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException) {
          holders.push(holderOf(err.Item, n));
          continue;
        }
        // The bind logs the wait (once per change, not every try).
        this.#logger.debug({ slot: n, bind: request.bind, err: (err as Error).message }, 'bind slot table unreachable');
        return { outcome: 'unavailable', reason: `the bind slot table cannot be reached: ${(err as Error).message}` };
      }
      const lease = new SlotLease(
        { id, slot: n, bind: request.bind, token, expiresAt },
        { client: this.#client, table: this.#table, leaseMs: this.#leaseMs, clock: this.#clock, logger: this.#logger, ttl: (t) => this.#ttl(t) },
        () => this.#held.delete(lease),
      );
      this.#held.add(lease);
      this.#logger.info({ slot: n, bind: request.bind, leaseMs: this.#leaseMs }, 'bind slot acquired');
      return { outcome: 'held', slot: lease };
    }
    return { outcome: 'none-free', holders };
  }

  /** Gives back every slot this instance holds (the operator's tool on Ctrl-C). */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.#held].map((l) => l.release()));
  }

  #ttl(now: number): number {
    return Math.floor(now / 1000) + ITEM_TTL_SECONDS;
  }
}

function holderOf(item: Record<string, AttributeValue> | undefined, slot: number): LeaseHolder {
  const it = fromItem<SlotItem>(item);
  return { slot, owner: it?.owner ?? 'unknown', bind: it?.bind ?? 'unknown', expiresAt: it?.leaseExpiresAt ?? 0 };
}

interface LeaseDeps {
  client: Pick<DynamoDBClient, 'send'>;
  table: string;
  leaseMs: number;
  clock: Clock;
  logger: Logger;
  ttl(now: number): number;
}

/** Outcome of one renewal. */
export type RenewOutcome = 'renewed' | 'lost' | 'failed' | 'ended';

/**
 * One held slot (the `HeldSlot` of smpp/bind-slots.ts): renews itself every third of the lease on
 * the injected clock and resolves `lost` when it can no longer be counted on.
 */
export class SlotLease {
  readonly slot: number;
  readonly lost: Promise<string>;
  readonly #id: string;
  readonly #bind: string;
  readonly #token: string;
  readonly #deps: LeaseDeps;
  readonly #onEnd: () => void;
  #expiresAt: number;
  #resolveLost: (reason: string) => void = () => undefined;
  #ended = false;
  #renewTimer: unknown;
  #deadlineTimer: unknown;
  #renewing: Promise<RenewOutcome> | undefined;
  #released: Promise<void> | undefined;

  constructor(held: { id: string; slot: number; bind: string; token: string; expiresAt: number }, deps: LeaseDeps, onEnd: () => void) {
    this.slot = held.slot;
    this.#id = held.id;
    this.#bind = held.bind;
    this.#token = held.token;
    this.#expiresAt = held.expiresAt;
    this.#deps = deps;
    this.#onEnd = onEnd;
    this.lost = new Promise((resolve) => (this.#resolveLost = resolve));
    this.#scheduleRenewal(deps.leaseMs / 3);
    this.#scheduleDeadline();
  }

  /** When the lease runs out unless renewed (epoch ms), as last written. */
  get expiresAt(): number {
    return this.#expiresAt;
  }

  /** The renewal in flight, if any (tests wait on it after moving a fake clock). */
  async idle(): Promise<void> {
    await this.#renewing;
  }

  /**
   * Extends the lease by a whole lease from now. `lost`: another holder has the slot, or our lease
   * had expired. `failed`: the store did not answer; the deadline still stands.
   */
  renew(): Promise<RenewOutcome> {
    if (this.#ended) return Promise.resolve('ended');
    this.#renewing ??= this.#renewOnce().finally(() => (this.#renewing = undefined));
    return this.#renewing;
  }

  /** Gives the slot back, only while its token is still ours. Idempotent, never rejects. */
  release(): Promise<void> {
    this.#released ??= this.#release();
    return this.#released;
  }

  async #renewOnce(): Promise<RenewOutcome> {
    const { clock, leaseMs, logger } = this.#deps;
    const now = clock.now();
    const expiresAt = now + leaseMs;
    const e = new Expr();
    try {
      await this.#deps.client.send(
        new UpdateItemCommand({
          TableName: this.#deps.table,
          Key: key(this.#id),
          UpdateExpression: `SET ${e.n('leaseExpiresAt')} = ${e.v(expiresAt)}, ${e.n('renewedAt')} = ${e.v(now)}, ${e.n('expiresAt')} = ${e.v(this.#deps.ttl(now))}`,
          // An expired lease is not ours any more, even if nobody has taken it yet.
          ConditionExpression: `${e.n('token')} = ${e.v(this.#token)} AND ${e.n('leaseExpiresAt')} > ${e.v(now)}`,
          ...e.params(),
        }),
      );
    } catch (err) {
      if (this.#ended) return 'ended';
      if (err instanceof ConditionalCheckFailedException) {
        this.#lose('another bind holds the slot, or the lease expired');
        return 'lost';
      }
      const retryMs = Math.max(200, leaseMs / 15);
      logger.warn(
        { slot: this.slot, bind: this.#bind, err: (err as Error).message, expiresInMs: this.#expiresAt - clock.now(), retryInMs: retryMs },
        'bind slot renewal failed: the bind closes before its lease expires unless a renewal succeeds',
      );
      this.#scheduleRenewal(retryMs);
      return 'failed';
    }
    if (this.#ended) return 'ended';
    this.#expiresAt = expiresAt;
    this.#scheduleRenewal(leaseMs / 3);
    this.#scheduleDeadline();
    logger.debug({ slot: this.slot, bind: this.#bind }, 'bind slot renewed');
    return 'renewed';
  }

  #scheduleRenewal(ms: number): void {
    const { clock } = this.#deps;
    clock.clearTimeout(this.#renewTimer);
    this.#renewTimer = clock.setTimeout(() => void this.renew(), Math.round(ms));
  }

  /** The close margin before the expiry: the bind's unbind must be over before anyone else may take the slot. */
  #scheduleDeadline(): void {
    const { clock, leaseMs } = this.#deps;
    clock.clearTimeout(this.#deadlineTimer);
    const at = this.#expiresAt - leaseMs / 6;
    this.#deadlineTimer = clock.setTimeout(() => this.#lose(`not renewed in time (expires in ${Math.round(this.#expiresAt - clock.now())} ms)`), Math.max(0, Math.round(at - clock.now())));
  }

  #lose(reason: string): void {
    if (this.#ended) return;
    this.#end();
    this.#deps.logger.warn({ slot: this.slot, bind: this.#bind, reason }, 'bind slot lost: the bind closes at once');
    this.#resolveLost(reason);
  }

  #end(): void {
    this.#ended = true;
    this.#deps.clock.clearTimeout(this.#renewTimer);
    this.#deps.clock.clearTimeout(this.#deadlineTimer);
    this.#onEnd();
  }

  async #release(): Promise<void> {
    if (!this.#ended) this.#end();
    const { clock, logger } = this.#deps;
    const now = clock.now();
    const e = new Expr();
    try {
      await this.#deps.client.send(
        new UpdateItemCommand({
          TableName: this.#deps.table,
          Key: key(this.#id),
          UpdateExpression: `SET ${e.n('leaseExpiresAt')} = ${e.v(0)}, ${e.n('releasedAt')} = ${e.v(now)}, ${e.n('expiresAt')} = ${e.v(this.#deps.ttl(now))}`,
          ConditionExpression: `${e.n('token')} = ${e.v(this.#token)}`,
          ...e.params(),
        }),
      );
      logger.info({ slot: this.slot, bind: this.#bind }, 'bind slot released');
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) {
        logger.debug({ slot: this.slot, bind: this.#bind }, 'bind slot already taken by another bind: nothing to release');
        return;
      }
      logger.warn(
        { slot: this.slot, bind: this.#bind, err: (err as Error).message, freeInMs: Math.max(0, this.#expiresAt - now) },
        'bind slot not released: it frees itself when its lease expires',
      );
    }
  }
}
