/**
 * The messages table's definition, shared by the CDK stack and the local stand-ins so both build
 * the same thing: partition key `id` (string), no sort key, on-demand, a NEW_AND_OLD_IMAGES stream
 * for downstream Lambdas, and TTL on `expiresAt` (epoch seconds).
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

/** Table attributes the CDK stack and the local stand-ins both use. */
export const MESSAGES_TABLE = {
  partitionKey: { name: 'id', type: 'S' },
  billingMode: 'PAY_PER_REQUEST',
  streamViewType: 'NEW_AND_OLD_IMAGES',
  timeToLiveAttribute: 'expiresAt',
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
        AttributeDefinitions: [{ AttributeName: MESSAGES_TABLE.partitionKey.name, AttributeType: MESSAGES_TABLE.partitionKey.type }],
        KeySchema: [{ AttributeName: MESSAGES_TABLE.partitionKey.name, KeyType: 'HASH' }],
        BillingMode: MESSAGES_TABLE.billingMode,
        StreamSpecification: { StreamEnabled: true, StreamViewType: MESSAGES_TABLE.streamViewType },
      }),
    );
  } catch (err) {
    if (!(err instanceof ResourceInUseException)) throw new StoreError(`could not create table ${name}`, { cause: err });
  }
}

async function waitUntilActive(client: Pick<DynamoDBClient, 'send'>, name: string): Promise<void> {
  const deadline = Date.now() + ACTIVE_TIMEOUT_MS;
  let delay = 50;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    if (Table?.TableStatus === 'ACTIVE') return;
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
