/**
 * The messages table's definition, shared by the CDK stack and the local stand-ins so both build
 * the same thing: partition key `id` (string), no sort key, on-demand, a NEW_AND_OLD_IMAGES stream
 * for downstream Lambdas, TTL on `expiresAt` (epoch seconds), and the sparse indexes below.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { StoreError } from '../errors.js';

/**
 * The table's sparse global secondary indexes (docs/architecture.md §3.2). Each keys on attributes
 * only one item kind carries, so no other item is indexed, and each projects keys only: an update
 * that changes neither key (a receipt, a history entry) writes nothing to the index. Reading the
 * full items takes a BatchGetItem after the query.
 * - `byRecipient`: MESSAGE items by `to` and `createdAt` (one index write per message).
 * - `byOriginator`: MO items by `from` and `receivedAt` (one index write per MO).
 * - `openByDeadline`: MESSAGE items that were ever open (waiting for a final status), by `openShard`
 *   and `finalBy` (epoch seconds): written when a message is submitted and kept when it ends (one
 *   index write per message). The final-status sweep reads each entry once, past its deadline.
 */
export const MESSAGE_INDEXES = {
  byRecipient: { partitionKey: { name: 'to', type: 'S' }, sortKey: { name: 'createdAt', type: 'S' } },
  byOriginator: { partitionKey: { name: 'from', type: 'S' }, sortKey: { name: 'receivedAt', type: 'S' } },
  openByDeadline: { partitionKey: { name: 'openShard', type: 'S' }, sortKey: { name: 'finalBy', type: 'N' } },
} as const;
export type MessageIndexName = keyof typeof MESSAGE_INDEXES;

/**
 * Every attribute an index keys on. DynamoDB refuses a whole write that gives one of them the wrong
 * type or an empty string, on any item kind, indexed or not (docs/architecture.md §7.3).
 */
export const INDEX_KEY_ATTRIBUTES: ReadonlySet<string> = new Set(Object.values(MESSAGE_INDEXES).flatMap((ix) => [ix.partitionKey.name, ix.sortKey.name]));

/** The item without the index key attributes that hold an empty string (an SMSC may send an empty address): absent instead. */
export function withoutEmptyIndexKeys<T extends object>(item: T): T {
  const copy = { ...item } as Record<string, unknown>;
  for (const name of INDEX_KEY_ATTRIBUTES) if (copy[name] === '') delete copy[name];
  return copy as T;
}

/** Shards of `openByDeadline`: open messages spread over this many partition key values (`OPEN#0`..). */
export const OPEN_SHARDS = 8;

/** Table attributes the CDK stack and the local stand-ins both use. */
export const MESSAGES_TABLE = {
  partitionKey: { name: 'id', type: 'S' },
  billingMode: 'PAY_PER_REQUEST',
  streamViewType: 'NEW_AND_OLD_IMAGES',
  timeToLiveAttribute: 'expiresAt',
  indexes: MESSAGE_INDEXES,
} as const;

/** How long `createMessagesTable` waits for ACTIVE. */
const ACTIVE_TIMEOUT_MS = 60_000;

/**
 * Creates the messages table if it does not exist (ResourceInUseException is ignored), waits until
 * it is ACTIVE and turns TTL on. Idempotent, and safe when several processes race to create it.
 */
export async function createMessagesTable(client: Pick<DynamoDBClient, 'send'>, name: string): Promise<void> {
  try {
    await createIfMissing(client, name);
    await waitUntilActive(client, name);
    await enableTtl(client, name);
  } catch (err) {
    throw err instanceof StoreError ? err : new StoreError(`could not set up table ${name}`, { cause: err });
  }
}

async function createIfMissing(client: Pick<DynamoDBClient, 'send'>, name: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: attributeDefinitions(),
        KeySchema: [{ AttributeName: MESSAGES_TABLE.partitionKey.name, KeyType: 'HASH' }],
        GlobalSecondaryIndexes: Object.entries(MESSAGE_INDEXES).map(([IndexName, ix]) => ({
          IndexName,
          KeySchema: [
            { AttributeName: ix.partitionKey.name, KeyType: 'HASH' as const },
            { AttributeName: ix.sortKey.name, KeyType: 'RANGE' as const },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' as const },
        })),
        BillingMode: MESSAGES_TABLE.billingMode,
        StreamSpecification: { StreamEnabled: true, StreamViewType: MESSAGES_TABLE.streamViewType },
      }),
    );
  } catch (err) {
    if (!(err instanceof ResourceInUseException)) throw new StoreError(`could not create table ${name}`, { cause: err });
  }
}

function attributeDefinitions(): { AttributeName: string; AttributeType: 'S' | 'N' }[] {
  const all = new Map<string, 'S' | 'N'>([[MESSAGES_TABLE.partitionKey.name, MESSAGES_TABLE.partitionKey.type]]);
  for (const ix of Object.values(MESSAGE_INDEXES)) {
    all.set(ix.partitionKey.name, ix.partitionKey.type);
    all.set(ix.sortKey.name, ix.sortKey.type);
  }
  return [...all].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType }));
}

async function waitUntilActive(client: Pick<DynamoDBClient, 'send'>, name: string): Promise<void> {
  const deadline = Date.now() + ACTIVE_TIMEOUT_MS;
  let delay = 50;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    if (Table?.TableStatus === 'ACTIVE' && (Table.GlobalSecondaryIndexes ?? []).every((ix) => ix.IndexStatus === 'ACTIVE')) return;
    if (Date.now() + delay > deadline) throw new StoreError(`table ${name} not ACTIVE after ${ACTIVE_TIMEOUT_MS} ms (${Table?.TableStatus ?? 'unknown'})`);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 1_000);
  }
}

async function enableTtl(client: Pick<DynamoDBClient, 'send'>, name: string): Promise<void> {
  const { TimeToLiveDescription } = await client.send(new DescribeTimeToLiveCommand({ TableName: name }));
  const status = TimeToLiveDescription?.TimeToLiveStatus;
  if (status === 'ENABLED' || status === 'ENABLING') return;
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: name,
        TimeToLiveSpecification: { Enabled: true, AttributeName: MESSAGES_TABLE.timeToLiveAttribute },
      }),
    );
  } catch (err) {
    // A racing creator enabled it first: real DynamoDB answers "TimeToLive is already enabled".
    const again = await client.send(new DescribeTimeToLiveCommand({ TableName: name }));
    const now = again.TimeToLiveDescription?.TimeToLiveStatus;
    if (now !== 'ENABLED' && now !== 'ENABLING') throw new StoreError(`could not enable TTL on ${name}`, { cause: err });
  }
}
