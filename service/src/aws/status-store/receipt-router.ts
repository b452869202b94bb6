/**
 * Where a receipt goes (docs/architecture.md §5 rule 6). A receipt for a part this task recorded
 * (most of them) is applied to its message in one write, found through an in-memory route. Any
 * other first reads the correlation items its part can have (one per part, under the part's exact
 * key: `candidateExactKeys`, its own exact key first): when one names a message (the usual case, a
 * receipt on another task's receiver a second after the submit), it is applied there. Otherwise it
 * is appended to those correlation items in one atomic update each that also returns them, so either the
 * receipt sees the part's correlation or the record of the part sees the receipt: a racing pair
 * never loses it. Of several parts whose keys a receipt shares, the exact match wins
 * (`core/receipt-keys.ts`); a receipt whose two ids disagree goes by the one a submit is known under.
 */
import { UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { within } from '../../clock.js';
import { isFinal, STATUS_RANK, type MessageStatus, type Receipt } from '../../domain.js';
import { StoreError } from '../../errors.js';
import { expiresAt, withReceipt, type AcceptedPart, type FinalStatusRule, type ParkedReceipt } from '../../core/message-state.js';
import { bestMatch, candidateExactKeys, keysOfExact } from '../../core/receipt-keys.js';
import { Expr, fromItem, key, toItem } from '../item-codec.js';
import { CORRELATION_PREFIX, ItemKind } from './item-model.js';
import { setBounded, type ItemWriter, type StoreLogger, type TableAccess } from './item-writer.js';
import { insertStatement } from './statement-batcher.js';

/** What became of a receipt. */
export type ReceiptOutcome =
  | { outcome: 'applied'; messageId: string; status: MessageStatus }
  /** No correlation yet: stored, and applied when the submit response is recorded. */
  | { outcome: 'parked' }
  /** Matched, but changed nothing (duplicate, stale, or the message item is gone). */
  | { outcome: 'ignored'; messageId: string };

/** A correlation item that names a part: under which key, and the part. */
interface Correlation {
  key: string;
  messageId: string;
  part: number;
}

/** #apply's outcome, which also tells a message item that is gone. */
type Applied = ReceiptOutcome | { outcome: 'missing'; messageId: string };

/** Where a receipt with one of `keys` goes, once `recorded` resolves true. */
export interface Route {
  messageId: string;
  part: number;
  /** The part's correlation keys, exact key first. */
  keys: readonly string[];
  recorded: Promise<boolean>;
  /** Set once `recorded` has resolved. */
  settled: boolean;
  settle(recorded: boolean): void;
}

/** What the router needs: the table, the message writer, and its limits. */
export interface ReceiptRouterOptions extends TableAccess {
  writer: ItemWriter;
  clock: () => number;
  ttlSeconds: number;
  /** Routes (and lists of parked receipts) kept in memory; 0 keeps none. */
  maxRoutes: number;
  /** How long a receipt waits for the record of its part before taking the correlation-item path. */
  receiptWaitMs: number;
  /** The final-status deadline a receipt that opens a message gives it (docs/architecture.md §7.2). */
  finalStatus: FinalStatusRule;
}

/** Routes receipts to message parts and parks those that come before their part (see the module comment). */
export class ReceiptRouter {
  readonly #client: Pick<DynamoDBClient, 'send'>;
  readonly #table: string;
  readonly #logger: StoreLogger | undefined;
  readonly #writer: ItemWriter;
  readonly #clock: () => number;
  readonly #ttlSeconds: number;
  readonly #maxRoutes: number;
  readonly #receiptWaitMs: number;
  readonly #finalStatus: FinalStatusRule;
  /**
   * Correlation key → the part it was accepted for, with the promise of that record landing. The
   * durable correlation item is still written (receipts may arrive on any task's receiver); this
   * only spares a receipt arriving here the extra write and the race with its own recordAccepted.
   */
  readonly #routes = new Map<string, Route>();

  constructor(options: ReceiptRouterOptions) {
    this.#client = options.client;
    this.#table = options.table;
    this.#logger = options.logger;
    this.#writer = options.writer;
    this.#clock = options.clock;
    this.#ttlSeconds = options.ttlSeconds;
    this.#maxRoutes = options.maxRoutes;
    this.#receiptWaitMs = options.receiptWaitMs;
    this.#finalStatus = options.finalStatus;
  }

  /** The pending route of the part's keys, created unless an announced one is waiting. */
  expect(id: string, part: AcceptedPart): Route {
    const existing = this.#routes.get(part.keys[0] ?? '');
    if (existing !== undefined && existing.messageId === id && existing.part === part.part && !existing.settled) return existing;
    let settle: (recorded: boolean) => void = () => undefined;
    const route: Route = {
      messageId: id,
      part: part.part,
      keys: part.keys,
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
      if (i === 0 || held === undefined || held.messageId === id || (held.settled && !this.#routes.has(held.keys[0] ?? ''))) {
        setBounded(this.#routes, k, route, this.#maxRoutes);
      }
    });
    return route;
  }

  /** Stores a receipt and applies it to the part it correlates with (see `StatusStore.recordReceipt`). */
  async recordReceipt(r: Receipt, keys: string[], alternativeKeys?: string[]): Promise<ReceiptOutcome> {
    if (alternativeKeys !== undefined && alternativeKeys.length > 0 && !keys.some((k) => alternativeKeys.includes(k))) {
      keys = await this.#whichIdIsKnown(keys, alternativeKeys);
    }
    const now = this.#clock();
    const route = this.#findRoute(keys);
    if (route !== undefined && (await (route.settled ? route.recorded : within(route.recorded, this.#receiptWaitMs, false)))) {
      const outcome = await this.#apply(route.messageId, route.part, r, now);
      // A final receipt ends the part; later copies of it find the correlation item instead.
      if (isFinal(r.status)) for (const k of keys) if (this.#routes.get(k) === route) this.#routes.delete(k);
      if (outcome.outcome !== 'missing') return outcome;
    } else if (route === undefined) {
      // A read costs a fifth of a write: parking (a write per key) is kept for the receipts whose
      // part is not recorded yet.
      const known = await this.#lookUp(keys);
      if (known !== undefined) {
        const outcome = await this.#apply(known.messageId, known.part, r, now);
        if (outcome.outcome !== 'missing') return outcome;
      }
    }
    // No part known for it yet, or its message item is gone: the receipt is stored under every key
    // a matching part's correlation can have, so whichever part records later finds it.
    const keysToPark = candidateExactKeys(keys);
    const found = await Promise.all(keysToPark.map((k) => this.#park(k, r, now)));
    const match = this.#best(keys, found);
    if (match === undefined) return { outcome: 'parked' };
    const outcome = await this.#apply(match.messageId, match.part, r, now);
    return outcome.outcome === 'missing' ? { outcome: 'ignored', messageId: match.messageId } : outcome;
  }

  /**
   * Points each part's exact key at (messageId, part), one update each; returns the receipts that
   * were parked there. One item per part: a receipt rendering the id otherwise looks under the
   * exact keys its match could have (`candidateExactKeys`). A key another message held is taken
   * over (SMSC ids wrap around), but its receipts stay that message's.
   */
  async pointCorrelations(messageId: string, parts: readonly AcceptedPart[], now: number): Promise<ParkedReceipt[]> {
    const olds = await Promise.all(parts.map((p) => this.#correlate(p.keys[0] ?? '', messageId, p.part, now)));
    const parked: ParkedReceipt[] = [];
    parts.forEach((p, i) => {
      const old = olds[i];
      if (old === undefined) return;
      if (old.messageId !== undefined && old.messageId !== messageId) {
        this.#logger?.warn({ messageId, previous: old.messageId, part: p.part }, 'SMSC message id reused; correlation moved');
        return;
      }
      for (const receipt of old.receipts) parked.push({ part: p.part, receipt });
    });
    return parked;
  }

  /** The part a receipt belongs to by the correlation items (consistent reads): its exact key first, which no other can beat. */
  async #lookUp(keys: string[]): Promise<Correlation | undefined> {
    const [exact, ...others] = candidateExactKeys(keys);
    const first = await this.#correlationOf(exact ?? '');
    if (first !== undefined) return first;
    return this.#best(keys, await Promise.all(others.map((k) => this.#correlationOf(k))));
  }

  /** Of the correlations found under a receipt's candidate keys, the one {@link bestMatch} picks. */
  #best(keys: string[], found: (Correlation | undefined)[]): Correlation | undefined {
    const named = found.filter((c): c is Correlation => c !== undefined);
    return bestMatch(keys, named, (c) => keysOfExact(c.key))?.value;
  }

  /** The route of `keys`: the one recorded under the same exact key first, then a reading's. */
  #findRoute(keys: string[]): Route | undefined {
    const candidates = keys.map((k) => this.#routes.get(k)).filter((x): x is Route => x !== undefined);
    return bestMatch(keys, candidates, (route) => route.keys)?.value;
  }

  /**
   * A receipt whose two ids disagree (TLV and text; a codec can corrupt one): the keys of the one
   * a submit of ours is recorded under, the first one's when both or neither are — then both
   * are parked, so whichever submit is recorded later finds it.
   */
  async #whichIdIsKnown(keys: string[], alternativeKeys: string[]): Promise<string[]> {
    const known = async (ks: string[]): Promise<boolean> => this.#findRoute(ks) !== undefined || (await this.#correlationOf(ks[0] ?? '')) !== undefined;
    if (await known(keys)) return keys;
    if (await known(alternativeKeys)) return alternativeKeys;
    return [...keys, ...alternativeKeys.filter((k) => !keys.includes(k))];
  }

  /** The part correlation key `k` points at (consistent read), or undefined when it points at none. */
  async #correlationOf(k: string): Promise<Correlation | undefined> {
    const item = await this.#writer.getRaw(CORRELATION_PREFIX + k);
    const messageId = item?.['messageId'];
    if (typeof messageId !== 'string') return undefined;
    const part = item?.['part'];
    return { key: k, messageId, part: typeof part === 'number' ? part : 1 };
  }

  async #apply(messageId: string, part: number, r: Receipt, now: number): Promise<Applied> {
    let changed = false;
    const result = await this.#writer.mutate(messageId, (item) => {
      if (item === undefined) return undefined;
      // The time of this attempt (as recordAccepted's): a deadline set now is never already past when it lands.
      const next = withReceipt(item, part, r, { now: Math.max(now, this.#clock()), ttlSeconds: this.#ttlSeconds }, this.#finalStatus);
      changed = next !== undefined;
      return next;
    });
    if (result === undefined) {
      this.#logger?.warn({ messageId, smscMessageId: r.smscMessageId }, 'receipt for a message item that no longer exists');
      return { outcome: 'missing', messageId };
    }
    return changed ? { outcome: 'applied', messageId, status: result.status } : { outcome: 'ignored', messageId };
  }

  /** What a correlation item pointing at (messageId, part) holds, besides its id and parked receipts. */
  #pointing(messageId: string, part: number, now: number): Record<string, unknown> {
    return { kind: ItemKind.CORRELATION, messageId, part, expiresAt: this.#expiresAt(now) };
  }

  /**
   * Points correlation key `k` at (messageId, part); returns the item as it was before. A `reading`
   * (not the part's exact key) is left alone when another message holds it, and then returns undefined.
   */
  async #correlate(k: string, messageId: string, part: number, now: number): Promise<{ messageId?: string; receipts: Receipt[] } | undefined> {
    // Usually nothing is there yet: an INSERT (batched with the other writes of its linger) says so as the
    // update's empty answer would. When one is there, the update returns it.
    const pointing = this.#pointing(messageId, part, now);
    const inserted = await this.#writer.statements.write(insertStatement(this.#table, toItem({ id: CORRELATION_PREFIX + k, ...pointing })));
    if (inserted === 'written') return undefined;
    const x = new Expr();
    const update = `SET ${Object.entries(pointing).map(([n, v]) => `${x.n(n)} = ${x.v(v)}`).join(', ')}`;
    try {
      const out = await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: key(CORRELATION_PREFIX + k),
          UpdateExpression: update,
          ...x.params(),
          ReturnValues: 'ALL_OLD',
        }),
      );
      const old = fromItem<{ messageId?: string; receipts?: unknown[] }>(out.Attributes);
      if (old === undefined) return undefined;
      return { ...(old.messageId === undefined ? {} : { messageId: old.messageId }), receipts: this.#receipts(old.receipts) };
    } catch (err) {
      throw new StoreError(`correlation of ${k} failed`, { cause: err });
    }
  }

  /** Appends the receipt to correlation key `k`; returns the correlation when it names a message. */
  async #park(k: string, r: Receipt, now: number): Promise<Correlation | undefined> {
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
      const item = fromItem<{ messageId?: string; part?: number }>(out.Attributes);
      return item?.messageId === undefined ? undefined : { key: k, messageId: item.messageId, part: item.part ?? 1 };
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

  #expiresAt(now: number): number {
    return expiresAt({ now, ttlSeconds: this.#ttlSeconds });
  }
}

function isReceipt(v: unknown): v is Receipt {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return typeof r.smscMessageId === 'string' && typeof r.receivedAt === 'string' && typeof r.status === 'string' && r.status in STATUS_RANK;
}
