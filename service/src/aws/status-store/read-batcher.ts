/**
 * Consistent single-item reads made within the same linger go out together as one BatchGetItem
 * (docs/architecture.md §3.2, "Batched writes": the reads of a receipt that arrives on another
 * task, its correlation and then its message). A batched read bills as the GetItems it replaces.
 * A read alone in its linger is not sent, and a key the batch could not settle (left unprocessed,
 * or the call failed) is handed back: the caller makes its usual GetItem.
 */
import { BatchGetItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { StoreLogger } from './item-writer.js';
import { Linger } from './linger.js';

/** The item as stored (undefined: there is none), or `single`: make the GetItem. */
export type ReadOutcome = { item: Record<string, AttributeValue> | undefined } | 'single';

/** BatchGetItem takes at most 100 keys, no two alike. */
export const MAX_KEYS = 100;

/** Gathers one linger's reads into BatchGetItems (see the module comment). */
export class ReadBatcher {
  readonly #client: Pick<DynamoDBClient, 'send'>;
  readonly #table: string;
  readonly #logger: StoreLogger | undefined;
  readonly #linger: Linger;
  /** Per id, everyone waiting for it: one key in the batch however many ask. */
  #pending = new Map<string, ((outcome: ReadOutcome) => void)[]>();

  /** `lingerMs`: how long the first read of a batch waits for others; 0 is to the end of the turn. */
  constructor(client: Pick<DynamoDBClient, 'send'>, table: string, logger?: StoreLogger, lingerMs = 0) {
    this.#client = client;
    this.#table = table;
    this.#logger = logger;
    this.#linger = new Linger(lingerMs, () => this.#flush());
  }

  /** The item with key `id`, read consistently in the next batch; never rejects. */
  get(id: string): Promise<ReadOutcome> {
    return new Promise((resolve) => {
      const waiting = this.#pending.get(id);
      if (waiting !== undefined) waiting.push(resolve);
      else this.#pending.set(id, [resolve]);
      this.#linger.joined(this.#pending.size >= MAX_KEYS);
    });
  }

  #flush(): void {
    const pending = [...this.#pending];
    this.#pending = new Map();
    for (let i = 0; i < pending.length; i += MAX_KEYS) {
      const batch = pending.slice(i, i + MAX_KEYS);
      if (batch.length === 1) for (const resolve of batch[0]?.[1] ?? []) resolve('single');
      else void this.#send(batch);
    }
  }

  async #send(batch: [string, ((outcome: ReadOutcome) => void)[]][]): Promise<void> {
    let found: Map<string, Record<string, AttributeValue>> | undefined;
    const unprocessed = new Set<string>();
    try {
      const out = await this.#client.send(
        new BatchGetItemCommand({ RequestItems: { [this.#table]: { Keys: batch.map(([id]) => ({ id: { S: id } })), ConsistentRead: true } } }),
      );
      found = new Map((out.Responses?.[this.#table] ?? []).map((item) => [item['id']?.S ?? '', item]));
      for (const k of out.UnprocessedKeys?.[this.#table]?.Keys ?? []) unprocessed.add(k['id']?.S ?? '');
    } catch (err) {
      this.#logger?.debug({ err: (err as Error).message, keys: batch.length }, 'batched read failed; reading one by one');
    }
    for (const [id, waiting] of batch) {
      const outcome: ReadOutcome = found === undefined || unprocessed.has(id) ? 'single' : { item: found.get(id) };
      for (const resolve of waiting) resolve(outcome);
    }
  }
}
