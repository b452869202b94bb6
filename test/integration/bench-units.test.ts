/**
 * The cost bench's billing rules (test/bench/ddb-units.ts) against DynamoDB Local's own
 * ConsumedCapacity, where DynamoDB Local follows DynamoDB's rules: single-item writes on the
 * messages table with its indexes, at the 1 KB boundary, with index entries added, kept, re-keyed
 * and removed. The bench bills from the stream's images exactly as here.
 */
import { DeleteItemCommand, PutItemCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStream, toStreamRec } from '../bench/cost.js';
import { billWrite, itemSize, reportedUnits, type Image } from '../bench/ddb-units.js';
import { useLocalAws, uniqueName } from '../support/aws.js';

const aws = useLocalAws();
const streams = new DynamoDBStreamsClient({ endpoint: aws.env.AWS_ENDPOINT_URL_DYNAMODB });
let table: string;

beforeAll(async () => {
  table = await aws.sharedTable();
});
afterAll(() => streams.destroy());

const S = (s: string): AttributeValue => ({ S: s });

/** `base` padded with a string attribute `x` to exactly `bytes` bytes by the bench's size rule. */
function padded(base: Record<string, AttributeValue>, bytes: number): Record<string, AttributeValue> {
  const room = bytes - itemSize(base as unknown as Image) - 1;
  return { ...base, x: S('y'.repeat(room)) };
}

describe('write units: the bench\'s rules and DynamoDB Local agree', () => {
  it('on puts, updates and deletes, table and indexes', async () => {
    const id = uniqueName('units');
    const keys = { id: S(id), to: S('+6591234567'), createdAt: S('2030-01-01T00:00:00.000Z') };
    const steps: Array<{ what: string; send: () => Promise<{ ConsumedCapacity?: unknown }> }> = [
      { what: 'new item of exactly 1024 bytes, in byRecipient', send: () => aws.dynamodb.send(new PutItemCommand({ TableName: table, Item: padded(keys, 1024), ReturnConsumedCapacity: 'INDEXES' })) },
      { what: 'grown to 1025 bytes, same index key', send: () => aws.dynamodb.send(new PutItemCommand({ TableName: table, Item: padded(keys, 1025), ReturnConsumedCapacity: 'INDEXES' })) },
      {
        what: 'openByDeadline entry added by an update',
        send: () =>
          aws.dynamodb.send(
            new UpdateItemCommand({
              TableName: table,
              Key: { id: S(id) },
              UpdateExpression: 'SET openShard = :s, finalBy = :f',
              ExpressionAttributeValues: { ':s': S('OPEN#3'), ':f': { N: '1796253754' } },
              ReturnConsumedCapacity: 'INDEXES',
            }),
          ),
      },
      {
        what: 'byRecipient re-keyed, openByDeadline removed, item shrunk below 1 KB',
        send: () =>
          aws.dynamodb.send(
            new UpdateItemCommand({
              TableName: table,
              Key: { id: S(id) },
              UpdateExpression: 'SET #to = :to REMOVE openShard, finalBy, x',
              ExpressionAttributeNames: { '#to': 'to' },
              ExpressionAttributeValues: { ':to': S('+6500000000') },
              ReturnConsumedCapacity: 'INDEXES',
            }),
          ),
      },
      { what: 'deleted', send: () => aws.dynamodb.send(new DeleteItemCommand({ TableName: table, Key: { id: S(id) }, ReturnConsumedCapacity: 'INDEXES' })) },
    ];
    const reported = [];
    for (const step of steps) reported.push({ what: step.what, ...reportedUnits((await step.send()).ConsumedCapacity) });

    const { indexes, records } = await readStream(aws.dynamodb, streams, table);
    const mine = records.map(toStreamRec).filter((r) => r.id === id);
    expect(mine).toHaveLength(steps.length);
    const ours = mine.map((r, i) => {
      const bill = billWrite(r.oldImage, r.newImage, indexes, false);
      return { what: steps[i]?.what, table: bill.table, indexes: Object.values(bill.indexes).reduce((a, b) => a + b, 0) };
    });
    expect(ours).toEqual(reported);
    // And the boundary is where the bench's size rule puts it: 1 unit at 1024 bytes, 2 at 1025.
    expect(ours.slice(0, 2).map((o) => o.table)).toEqual([1, 2]);
    expect(indexes.map((ix) => ix.name).sort()).toEqual(['byOriginator', 'byRecipient', 'openByDeadline']);
  });
});
