/**
 * Long MO messages reassembled in DynamoDB Local, through the inbound pipeline as the SMPP session
 * drives it (a deliver_sm is acknowledged when `onDeliver` resolves, and answered with a temporary
 * error when it rejects). Several pipelines on one table play several tasks; each has its own
 * MoStore and SDK client, as separate processes would. Parts are encoded by the simulator's own
 * MO encoder, not by the connector's.
 */
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fromItem } from '../../service/src/aws/item-codec.js';
import { MoStore } from '../../service/src/aws/mo-store.js';
import { StatusStore } from '../../service/src/aws/status-store/index.js';
import type { DynamoDBRecord } from '../../service/src/lambdas/dynamodb-stream.js';
import { toEvent } from '../../service/src/lambdas/stream-publisher.js';
import { silentLogger } from '../../service/src/logger.js';
import { noMetrics } from '../../service/src/metrics.js';
import { InboundPipeline } from '../../service/src/pipeline/inbound.js';
import { encodeMoParts, type MoDataCoding } from '../../service/src/sim/mo-encoder.js';
import type { DeliverFields } from '../../service/src/smpp/receipt.js';
import { useLocalAws } from '../support/aws.js';
import { FakeClock } from '../support/fake-clock.js';

const aws = useLocalAws();
let tableName: string;

beforeAll(async () => {
  tableName = await aws.sharedTable();
});

const TIMEOUT_MS = 300_000;

/** A test clock in 2030: DynamoDB Local deletes items whose TTL (`expiresAt`) has passed, even mid-test. */
function futureClock(): FakeClock {
  const clock = new FakeClock();
  clock.advance(Date.parse('2030-01-01T00:00:00.000Z') - clock.now());
  return clock;
}
/** 400 GSM characters: three UDH parts (153 + 153 + 94), or three SAR parts (160 + 160 + 80). */
const LONG = (tag: string): string => `${tag} `.padEnd(400, 'abcdefghij');

/** One task: its own SDK client, status store, MO store and pipeline, on a shared clock. */
interface Task {
  pipeline: InboundPipeline;
  client: DynamoDBClient;
}

const tasks: Task[] = [];
afterEach(async () => {
  for (const t of tasks.splice(0)) {
    await t.pipeline.stop().catch(() => undefined);
    t.client.destroy();
  }
});

function startTask(clock: FakeClock, options: { client?: DynamoDBClient } = {}): Task {
  const client = options.client ?? new DynamoDBClient({});
  const now = () => clock.now();
  const store = new StatusStore({ client, tableName, clock: now });
  const mo = new MoStore({ client, tableName, clock: now, reassemblyTimeoutMs: TIMEOUT_MS });
  const pipeline = new InboundPipeline({ store, mo, logger: silentLogger, metrics: noMetrics, clock });
  pipeline.start();
  const task = { pipeline, client };
  tasks.push(task);
  return task;
}

/** A sender number unique to the test, so its MO items can be found among the file's. */
function newSender(): string {
  return `659${Math.floor(Math.random() * 1e7)
    .toString()
    .padStart(7, '0')}`;
}

/** The deliver_sm fields of each part of `text`, as the SMSC would send them. */
function moParts(from: string, text: string, options: { ref?: number; dataCoding?: MoDataCoding; concat?: 'udh8' | 'sar' } = {}): DeliverFields[] {
  const dataCoding = options.dataCoding ?? 0;
  return encodeMoParts(text, dataCoding, options.concat ?? 'udh8', options.ref ?? 42).map((p) => ({
    esmClass: p.esmClass,
    dataCoding,
    shortMessage: p.shortMessage,
    sourceAddr: from,
    destinationAddr: '8x8',
    ...(p.sar ? { sarRefNum: p.sar.refNum, sarTotalSegments: p.sar.total, sarSegmentSeqnum: p.sar.seq } : {}),
  }));
}

function part(parts: DeliverFields[], seq: number): DeliverFields {
  const p = parts[seq - 1];
  if (p === undefined) throw new Error(`no part ${seq}`);
  return p;
}

interface RawItem {
  raw: Record<string, AttributeValue>;
  item: Record<string, unknown>;
}

/** Every item of `kind` from this sender (a consistent scan: the table holds only this file's items). */
async function itemsFrom(from: string, kind: 'MO' | 'MOPART'): Promise<RawItem[]> {
  const out: RawItem[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await aws.dynamodb.send(
      new ScanCommand({
        TableName: tableName,
        ConsistentRead: true,
        FilterExpression: '#kind = :kind AND #from = :from',
        ExpressionAttributeNames: { '#kind': 'kind', '#from': 'from' },
        ExpressionAttributeValues: { ':kind': { S: kind }, ':from': { S: from } },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const raw of page.Items ?? []) out.push({ raw, item: fromItem<Record<string, unknown>>(raw) ?? {} });
    start = page.LastEvaluatedKey;
  } while (start);
  return out;
}

async function mosFrom(from: string): Promise<Array<Record<string, unknown>>> {
  return (await itemsFrom(from, 'MO')).map((r) => r.item);
}

/** A client whose first write of an MO item fails, as a network error would. */
function clientFailingFirstMoWrite(): { client: DynamoDBClient; failures: () => number } {
  const client = new DynamoDBClient({});
  let failures = 0;
  const writesMo = (input: Record<string, unknown>): boolean => {
    const put = input['Item'] as Record<string, AttributeValue> | undefined;
    const items = (input['TransactItems'] as Array<{ Put?: { Item?: Record<string, AttributeValue> } }> | undefined) ?? [];
    return put?.['kind']?.S === 'MO' || items.some((t) => t.Put?.Item?.['kind']?.S === 'MO');
  };
  client.middlewareStack.add(
    (next) => async (args) => {
      if (failures === 0 && writesMo(args.input as Record<string, unknown>)) {
        failures++;
        throw new Error('injected: connection reset');
      }
      return next(args);
    },
    { step: 'initialize', name: 'failFirstMoWrite' },
  );
  return { client, failures: () => failures };
}

describe('long MO messages, reassembled in DynamoDB', () => {
  it('has a part in the table by the time its deliver_sm handler resolves', async () => {
    // Prepare
    const clock = futureClock();
    const a = startTask(clock);
    const from = newSender();
    const text = LONG('stored-first');
    const parts = moParts(from, text);
    // Act
    await a.pipeline.onDeliver(part(parts, 1));
    // Assess
    const groups = await itemsFrom(from, 'MOPART');
    expect(groups).toHaveLength(1);
    expect(groups[0]?.item['p1']).toMatchObject({ text: text.slice(0, 153), dataCoding: 0 });
    expect(await mosFrom(from)).toEqual([]);
  });

  it('completes a message whose first part was acknowledged by a task that then died', async () => {
    // Prepare: task A acknowledges part 1 and is gone (no stop, nothing flushed).
    const clock = futureClock();
    const a = startTask(clock);
    const b = startTask(clock);
    const from = newSender();
    const text = LONG('survives');
    const parts = moParts(from, text);
    await a.pipeline.onDeliver(part(parts, 1));
    // Act
    await b.pipeline.onDeliver(part(parts, 2));
    await b.pipeline.onDeliver(part(parts, 3));
    // Assess
    const mos = await mosFrom(from);
    expect(mos).toHaveLength(1);
    expect(mos[0]).toMatchObject({ kind: 'MO', from, to: '8x8', text, dataCoding: 0, parts: 3, receivedAt: new Date(clock.now()).toISOString() });
  });

  it('assembles exactly one message from parts spread over two tasks at once, in any order', async () => {
    // Prepare
    const clock = futureClock();
    const a = startTask(clock);
    const b = startTask(clock);
    const senders = Array.from({ length: 6 }, () => newSender());
    const texts = senders.map((s, i) => LONG(`spread-${i}`));
    // Act: parts 3 and 1 on A, part 2 on B, all in flight together, for six messages.
    await Promise.all(
      senders.flatMap((from, i) => {
        const parts = moParts(from, texts[i] ?? '', { ref: i });
        return [a.pipeline.onDeliver(part(parts, 3)), b.pipeline.onDeliver(part(parts, 2)), a.pipeline.onDeliver(part(parts, 1))];
      }),
    );
    // Assess
    for (const [i, from] of senders.entries()) {
      const mos = await mosFrom(from);
      expect(mos.map((m) => m['text'])).toEqual([texts[i]]);
    }
  });

  it('stores a message once when the SMSC sends one part twice, and when it sends the whole message twice', async () => {
    // Prepare
    const clock = futureClock();
    const a = startTask(clock);
    const b = startTask(clock);
    const from = newSender();
    const text = LONG('twice');
    const parts = moParts(from, text, { concat: 'sar' });
    // Act: part 2 is redelivered before the message completes, then every part comes again on the other task.
    await a.pipeline.onDeliver(part(parts, 1));
    await a.pipeline.onDeliver(part(parts, 2));
    clock.advance(2_000);
    await b.pipeline.onDeliver(part(parts, 2));
    await a.pipeline.onDeliver(part(parts, 3));
    clock.advance(30_000);
    for (const p of parts) await b.pipeline.onDeliver(p);
    // Assess
    const mos = await mosFrom(from);
    expect(mos.map((m) => m['text'])).toEqual([text]);
  });

  it('completes a message when the SMSC redelivers the part whose message write failed', async () => {
    // Prepare
    const clock = futureClock();
    const { client, failures } = clientFailingFirstMoWrite();
    const a = startTask(clock, { client });
    const from = newSender();
    const text = LONG('retried');
    const parts = moParts(from, text);
    await a.pipeline.onDeliver(part(parts, 1));
    await a.pipeline.onDeliver(part(parts, 2));
    // Act: the last part's handler rejects (the session answers ESME_RX_T_APPN); the SMSC sends it again.
    const first = a.pipeline.onDeliver(part(parts, 3));
    await expect(first).rejects.toThrow();
    expect(await mosFrom(from)).toEqual([]);
    clock.advance(250);
    await a.pipeline.onDeliver(part(parts, 3));
    // Assess
    expect(failures()).toBe(1);
    const mos = await mosFrom(from);
    expect(mos.map((m) => m['text'])).toEqual([text]);
  });

  it('stores an incomplete message once, as what arrived, when two tasks both reach its timeout', async () => {
    // Prepare: part 1 on A, part 3 on B; part 2 never comes.
    const clock = futureClock();
    const a = startTask(clock);
    const b = startTask(clock);
    const from = newSender();
    const text = LONG('partial');
    const parts = moParts(from, text);
    await a.pipeline.onDeliver(part(parts, 1));
    await b.pipeline.onDeliver(part(parts, 3));
    clock.advance(TIMEOUT_MS - 1_000);
    expect(await mosFrom(from)).toEqual([]);
    // Act: both tasks' timers fire; their expiries race (stop waits for them).
    clock.advance(1_000);
    await Promise.all([a.pipeline.stop(), b.pipeline.stop()]);
    // Assess
    const mos = await mosFrom(from);
    expect(mos).toHaveLength(1);
    expect(mos[0]).toMatchObject({ text: text.slice(0, 153) + text.slice(306), parts: 2 });
  });

  it('stores a single-part message redelivered within a minute once, and the same text two minutes later again', async () => {
    // Prepare
    const clock = futureClock();
    const a = startTask(clock);
    const b = startTask(clock);
    const from = newSender();
    const [yes] = moParts(from, 'YES');
    if (yes === undefined) throw new Error('no part');
    // Act: a redelivery (its response was lost) 5 s later on the other task; the person says YES again later.
    await a.pipeline.onDeliver(yes);
    clock.advance(5_000);
    await b.pipeline.onDeliver(yes);
    const afterRedelivery = await mosFrom(from);
    clock.advance(120_000);
    await b.pipeline.onDeliver(yes);
    // Assess
    expect(afterRedelivery).toHaveLength(1);
    const mos = await mosFrom(from);
    expect(mos.map((m) => m['text'])).toEqual(['YES', 'YES']);
    expect(new Set(mos.map((m) => m['id'])).size).toBe(2);
  });

  it('stores a later long message that reuses a finished one’s reference as its own message', async () => {
    // Prepare
    const clock = futureClock();
    const a = startTask(clock);
    const from = newSender();
    const first = LONG('first');
    const second = LONG('second');
    for (const p of moParts(from, first, { ref: 7 })) await a.pipeline.onDeliver(p);
    clock.advance(60_000);
    // Act: the phone's 8-bit reference came round.
    for (const p of moParts(from, second, { ref: 7 })) await a.pipeline.onDeliver(p);
    // Assess
    const texts = (await mosFrom(from)).map((m) => m['text']).sort();
    expect(texts).toEqual([first, second].sort());
  });

  it('keeps the MO item readable by getMo and published by the stream publisher, and never publishes the parts', async () => {
    // Prepare
    const clock = futureClock();
    const a = startTask(clock);
    const from = newSender();
    const text = LONG('published');
    // Act
    for (const p of moParts(from, text)) await a.pipeline.onDeliver(p);
    // Assess
    const [mo] = await itemsFrom(from, 'MO');
    const [group] = await itemsFrom(from, 'MOPART');
    const id = String(mo?.item['id']);
    expect(id).toMatch(/^MO#[0-9a-f-]{36}$/);
    expect(await new StatusStore({ client: aws.dynamodb, tableName }).getMo(id)).toMatchObject({ id, kind: 'MO', text, parts: 3 });
    // The item as the table's stream carries it on INSERT (same wire shape; the stream's own AttributeValue type).
    const insert = (image: Record<string, AttributeValue> | undefined) => ({ eventName: 'INSERT', dynamodb: { NewImage: image } }) as unknown as DynamoDBRecord;
    expect(JSON.parse(toEvent(insert(mo?.raw), 'bus')?.Detail ?? '{}')).toMatchObject({ id, from, text });
    expect(toEvent(insert(group?.raw), 'bus')).toBeUndefined();
  });
});

describe('MoStore', () => {
  const storeOn = (clock: FakeClock) => new MoStore({ client: aws.dynamodb, tableName, clock: () => clock.now(), reassemblyTimeoutMs: TIMEOUT_MS });
  const asInput = (from: string, text: string, seq: number, total: number) => ({
    from,
    to: '8x8',
    text,
    dataCoding: 0,
    receivedAt: new Date().toISOString(),
    concat: { scheme: 'udh8', ref: 9, total, seq },
  });

  it('stores a group its tasks left behind as what arrived when a part comes after its timeout, and starts a new one with that part', async () => {
    // Prepare: task A stored part 1 and died before the timeout; nobody expired the group.
    const clock = futureClock();
    const from = newSender();
    await storeOn(clock).addPart(asInput(from, 'one ', 1, 3));
    clock.advance(TIMEOUT_MS + 1_000);
    // Act
    const result = await storeOn(clock).addPart(asInput(from, 'two ', 2, 3));
    // Assess
    expect(result.recorded.map((m) => ({ text: m.text, parts: m.parts }))).toEqual([{ text: 'one ', parts: 1 }]);
    expect(result.dueAt).toBe(clock.now() + TIMEOUT_MS);
    expect((await mosFrom(from)).map((m) => m['text'])).toEqual(['one ']);
  });

  it('stores an incomplete message as it is when a different part takes its slot, and starts a new one with that part', async () => {
    // Prepare: the reference came round while the older message still missed a part.
    const clock = futureClock();
    const from = newSender();
    await storeOn(clock).addPart(asInput(from, 'old one ', 1, 2));
    clock.advance(1_000);
    // Act
    const result = await storeOn(clock).addPart(asInput(from, 'new one ', 1, 2));
    const completed = await storeOn(clock).addPart(asInput(from, 'new two', 2, 2));
    // Assess
    expect(result.recorded.map((m) => m.text)).toEqual(['old one ']);
    expect(completed.recorded.map((m) => m.text)).toEqual(['new one new two']);
    expect((await mosFrom(from)).map((m) => m['text']).sort()).toEqual(['new one new two', 'old one ']);
  });

  it('expires a group once when two tasks expire it at the same moment', async () => {
    // Prepare
    const clock = futureClock();
    const from = newSender();
    const first = await storeOn(clock).addPart(asInput(from, 'one ', 1, 3));
    const groupId = first.groupId;
    clock.advance(TIMEOUT_MS);
    // Act
    const results = await Promise.all([storeOn(clock).expireGroup(groupId), storeOn(clock).expireGroup(groupId)]);
    // Assess
    expect(results.flatMap((r) => r.recorded).map((m) => m.text)).toEqual(['one ']);
    expect(await mosFrom(from)).toHaveLength(1);
  });

  it('does not expire a group before its timeout', async () => {
    // Prepare
    const clock = futureClock();
    const from = newSender();
    const first = await storeOn(clock).addPart(asInput(from, 'one ', 1, 2));
    clock.advance(TIMEOUT_MS - 1);
    // Act
    const result = await storeOn(clock).expireGroup(first.groupId);
    // Assess
    expect(result).toEqual({ recorded: [], dueAt: first.dueAt });
    expect(await mosFrom(from)).toEqual([]);
  });
});
