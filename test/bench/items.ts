/** Reads the status items of a run back (after it, outside every measurement) for their timestamps. */
import { BatchGetItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { sleep } from './load.js';

/** What the latency figures need from a MESSAGE item. */
export interface ItemTimes {
  status: string;
  /** Epoch ms of each status the history recorded (first occurrence). */
  history: Partial<Record<string, number>>;
  submittedAt: number | undefined;
}

const BATCH = 100;
const MAX_ATTEMPTS = 20;

/** BatchGetItem (consistent) in chunks of 100, retrying unprocessed keys a bounded number of times. */
export async function readItemTimes(ddb: Pick<DynamoDBClient, 'send'>, table: string, ids: readonly string[]): Promise<Map<string, ItemTimes>> {
  const out = new Map<string, ItemTimes>();
  for (let i = 0; i < ids.length; i += BATCH) {
    let keys: Array<Record<string, AttributeValue>> = ids.slice(i, i + BATCH).map((id) => ({ id: { S: id } }));
    for (let attempt = 0; keys.length > 0 && attempt < MAX_ATTEMPTS; attempt++) {
      const res = await ddb.send(
        new BatchGetItemCommand({
          RequestItems: {
            [table]: { Keys: keys, ConsistentRead: true, ProjectionExpression: 'id, #s, history, submittedAt', ExpressionAttributeNames: { '#s': 'status' } },
          },
        }),
      );
      for (const item of res.Responses?.[table] ?? []) {
        const id = item['id']?.S;
        if (id !== undefined) out.set(id, times(item));
      }
      keys = res.UnprocessedKeys?.[table]?.Keys ?? [];
      if (keys.length > 0) await sleep(50 * (attempt + 1));
    }
  }
  return out;
}

function times(item: Record<string, AttributeValue>): ItemTimes {
  const history: Partial<Record<string, number>> = {};
  for (const entry of item['history']?.L ?? []) {
    const status = entry.M?.['status']?.S;
    const at = entry.M?.['at']?.S;
    if (status !== undefined && at !== undefined) history[status] ??= Date.parse(at);
  }
  const submittedAt = item['submittedAt']?.S;
  return { status: item['status']?.S ?? 'MISSING', history, submittedAt: submittedAt === undefined ? undefined : Date.parse(submittedAt) };
}
