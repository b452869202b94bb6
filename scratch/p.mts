import { DynamoDBClient, BatchExecuteStatementCommand, TransactWriteItemsCommand, CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { startDynamoDbLocal } from '../service/src/local/dynamodb-local.js';
const d = await startDynamoDbLocal({});
console.log(Object.keys(d));
const c = new DynamoDBClient({ endpoint: (d as any).endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
await c.send(new CreateTableCommand({ TableName: 'ttt', KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST' }));
const stmt = (id: string) => ({ Statement: `INSERT INTO "ttt" VALUE {'id': ?, 'parts': ?, 'history': ?, 'n': ?}`, Parameters: [{ S: id }, { M: {} }, { L: [{ M: { s: { S: 'x' } } }] }, { N: '1' }] });
let r = await c.send(new BatchExecuteStatementCommand({ Statements: [stmt('a'), stmt('b')] }));
console.log(JSON.stringify(r.Responses));
r = await c.send(new BatchExecuteStatementCommand({ Statements: [stmt('a'), stmt('c')] }));
console.log(JSON.stringify(r.Responses));
try {
  await c.send(new TransactWriteItemsCommand({ TransactItems: [
    { Update: { TableName: 'ttt', Key: { id: { S: 'corr' } }, UpdateExpression: 'SET m = :m', ConditionExpression: 'attribute_not_exists(receipts)', ExpressionAttributeValues: { ':m': { S: 'a' } } } },
    { Put: { TableName: 'ttt', Item: { id: { S: 'a' }, n: { N: '2' } }, ConditionExpression: 'n = :one', ExpressionAttributeValues: { ':one': { N: '5' } } } },
  ] }));
} catch (e: any) { console.log(e.name, JSON.stringify(e.CancellationReasons)); }
await (d as any).stop?.();
process.exit(0);
