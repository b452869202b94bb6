/**
 * What one DynamoDB request costs the calling process in CPU, against DynamoDB Local, with the
 * service's own client settings (README, "CPU per job"): the same conditional-free PutItem sent one
 * at a time with a pause between (as a quiet service sends them), back to back, and 8 at a time;
 * then 25 items in one BatchExecuteStatement, per item; and a bare 20 ms timer wake-up with no request, the
 * floor a quiet process pays each time it wakes. Every figure is a ratio to the back-to-back
 * single request, measured in the same run. It says how much of the service's CPU per job is the
 * request's fixed cost, and how that cost falls when requests overlap or share a call.
 *
 *   npx tsx test/bench/request-cpu.ts [--calls 600]
 */
import { BatchExecuteStatementCommand, DynamoDBClient, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { startDynamoDbLocal } from '../../service/src/local/dynamodb-local.js';
import { createMessagesTable } from '../../service/src/aws/table.js';

const { values: args } = parseArgs({ options: { calls: { type: 'string', default: '600' } } });
const CALLS = Number(args.calls);
const TABLE = 'request-cpu';

const local = await startDynamoDbLocal();
// As service/src/main.ts builds it.
const pool = { maxSockets: 256, keepAlive: true };
const client = new DynamoDBClient({
  region: 'us-east-1',
  endpoint: local.endpoint,
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  cacheMiddleware: true,
  requestHandler: { httpAgent: pool, httpsAgent: pool, connectionTimeout: 5_000, requestTimeout: 10_000, throwOnRequestTimeout: true },
});

/** An item the size of a submitted single-part message's (~600 bytes). */
const item = (): Record<string, AttributeValue> => ({
  id: { S: `M#${randomUUID()}` },
  kind: { S: 'MESSAGE' },
  status: { S: 'SUBMITTED' },
  version: { N: '2' },
  parts: { M: { '1': { M: { smscMessageId: { S: randomUUID() }, status: { S: 'SUBMITTED' }, keys: { L: [{ S: randomUUID() }] } } } } },
  history: { L: [{ M: { status: { S: 'SUBMITTING' }, at: { S: new Date().toISOString() } } }, { M: { status: { S: 'SUBMITTED' }, at: { S: new Date().toISOString() } } }] },
  text: { S: 'x'.repeat(300) },
});
const put = (): Promise<unknown> => client.send(new PutItemCommand({ TableName: TABLE, Item: item() }));
const batch = (): Promise<unknown> =>
  client.send(
    new BatchExecuteStatementCommand({
      Statements: Array.from({ length: 25 }, () => {
        const it = item();
        const names = Object.keys(it);
        return { Statement: `INSERT INTO "${TABLE}" VALUE {${names.map((n) => `'${n}': ?`).join(', ')}}`, Parameters: names.map((n) => it[n] as AttributeValue) };
      }),
    }),
  );

/** CPU µs per call of `one`, `calls` of them, `concurrency` at a time, each worker pausing `gapMs` after each. */
async function measure(one: () => Promise<unknown>, calls: number, concurrency: number, gapMs: number): Promise<number> {
  let left = calls;
  const from = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) {
        await one();
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      }
    }),
  );
  const used = process.cpuUsage(from);
  return (used.user + used.system) / calls;
}

try {
  await createMessagesTable(client, TABLE);
  await measure(put, 500, 4, 0); // warm-up: JIT, sockets
  await measure(batch, 40, 2, 0);
  const rows: [string, number][] = [];
  // Interleaved rounds, so drift on this shared machine touches every case alike.
  const cases: [string, () => Promise<number>][] = [
    ['PutItem back to back (1 at a time)', () => measure(put, CALLS, 1, 0)],
    ['PutItem 1 at a time, 20 ms apart (a quiet service)', () => measure(put, CALLS / 4, 1, 20)],
    ['PutItem 8 at a time', () => measure(put, CALLS, 8, 0)],
    ['per item of a 25-statement BatchExecuteStatement', async () => (await measure(batch, Math.max(4, CALLS / 25), 1, 0)) / 25],
    // No request at all: what waking from a 20 ms sleep costs by itself, the floor under each wake-up of a quiet service.
    ['no request: a timer wake-up alone, 20 ms apart', () => measure(() => Promise.resolve(), CALLS / 4, 1, 20)],
  ];
  const sums = new Map<string, number[]>();
  for (let round = 0; round < 3; round++) for (const [name, run] of cases) sums.set(name, [...(sums.get(name) ?? []), await run()]);
  for (const [name] of cases) {
    const v = [...(sums.get(name) ?? [])].sort((a, b) => a - b);
    rows.push([name, v[1] ?? NaN]);
  }
  const base = rows[0]?.[1] ?? NaN;
  console.log('| request | median µs CPU (3 rounds) | ÷ back to back |\n| --- | --- | --- |');
  for (const [name, us] of rows) console.log(`| ${name} | ${us.toFixed(0)} | ${(us / base).toFixed(2)} |`);
} finally {
  client.destroy();
  await local.stop();
}
