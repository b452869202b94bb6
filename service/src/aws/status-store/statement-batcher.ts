/**
 * Single-item writes made within `lingerMs` of each other (0: in the same turn of the event loop) go
 * out together as one BatchExecuteStatement of PartiQL statements (docs/architecture.md §3.2,
 * "Batched writes"). Each statement succeeds or fails on its own and bills as the single write it
 * replaces; the batch saves the per-request cost (HTTP, signing, the SDK's middleware), which is most
 * of the service's CPU per job. The higher the rate, the fuller the batches.
 *
 * A statement alone in its linger is not sent: the caller makes its usual single-item call. A
 * statement the batch could not settle (throttled, an internal error, the whole call failed) is
 * handed back the same way, and the single call, with the SDK's own retries, decides it.
 */
import { BatchExecuteStatementCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { StoreLogger } from './item-writer.js';
import { Linger } from './linger.js';

/** One write statement, on the item with key `id`. */
export interface Statement {
  id: string;
  statement: string;
  parameters: AttributeValue[];
}

/** The PartiQL INSERT of `item` (which has its `id`): refused with `DuplicateItem` when the id exists. */
export function insertStatement(table: string, item: Record<string, AttributeValue>): Statement {
  const names = Object.keys(item);
  return {
    id: item['id']?.S ?? '',
    statement: `INSERT INTO "${table}" VALUE {${names.map((n) => `'${n}': ?`).join(', ')}}`,
    parameters: names.map((n) => item[n] as AttributeValue),
  };
}

/**
 * What became of a statement:
 * - `written`: applied;
 * - `refused`: its condition failed (`ConditionalCheckFailed`) or, for an INSERT, the item exists (`DuplicateItem`);
 * - `single`: not settled here (alone in its linger, or the batch could not settle it): make the single-item call.
 */
export type StatementOutcome = 'written' | 'refused' | 'single';

/** BatchExecuteStatement takes at most 25 statements, each on a different item. */
export const MAX_STATEMENTS = 25;

const REFUSED = new Set(['ConditionalCheckFailed', 'DuplicateItem']);

interface Pending {
  statement: Statement;
  resolve: (outcome: StatementOutcome) => void;
}

/** Gathers one linger's statements into batches (see the module comment). */
export class StatementBatcher {
  readonly #client: Pick<DynamoDBClient, 'send'>;
  readonly #logger: StoreLogger | undefined;
  #pending: Pending[] = [];
  readonly #linger: Linger;

  /** `lingerMs`: how long the first statement of a batch waits for others; 0 is to the end of the turn. */
  constructor(client: Pick<DynamoDBClient, 'send'>, logger?: StoreLogger, lingerMs = 0) {
    this.#client = client;
    this.#logger = logger;
    this.#linger = new Linger(lingerMs, () => this.#flush());
  }

  /** Queues `statement` for the next batch; never rejects. */
  write(statement: Statement): Promise<StatementOutcome> {
    return new Promise((resolve) => {
      this.#pending.push({ statement, resolve });
      this.#linger.joined(this.#pending.length >= MAX_STATEMENTS);
    });
  }

  #flush(): void {
    const pending = this.#pending;
    this.#pending = [];
    for (const batch of batchesOf(pending)) {
      if (batch.length === 1) batch[0]?.resolve('single');
      else void this.#send(batch);
    }
  }

  async #send(batch: Pending[]): Promise<void> {
    let responses: { Error?: { Code?: string } }[] | undefined;
    try {
      const out = await this.#client.send(
        new BatchExecuteStatementCommand({ Statements: batch.map(({ statement: s }) => ({ Statement: s.statement, Parameters: s.parameters })) }),
      );
      responses = out.Responses;
    } catch (err) {
      this.#logger?.debug({ err: (err as Error).message, statements: batch.length }, 'batched write failed; writing one by one');
    }
    batch.forEach((p, i) => {
      const r = responses?.[i];
      const code = r?.Error?.Code;
      p.resolve(r === undefined ? 'single' : code === undefined ? 'written' : REFUSED.has(code) ? 'refused' : 'single');
    });
  }
}

/** Splits statements into batches of at most MAX_STATEMENTS, no two on one item (DynamoDB refuses the whole batch otherwise), in order. */
export function batchesOf<T extends { statement: Pick<Statement, 'id'> }>(pending: readonly T[]): T[][] {
  const batches: { items: T[]; ids: Set<string> }[] = [];
  for (const p of pending) {
    let batch = batches.find((b) => b.items.length < MAX_STATEMENTS && !b.ids.has(p.statement.id));
    if (batch === undefined) {
      batch = { items: [], ids: new Set() };
      batches.push(batch);
    }
    batch.items.push(p);
    batch.ids.add(p.statement.id);
  }
  return batches.map((b) => b.items);
}
