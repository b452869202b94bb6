/**
 * The cost bench's arithmetic (test/bench/ddb-units.ts, cost-bill.ts, cost-link.ts, cost-price.ts,
 * cost-publish.ts, cost-report.ts): DynamoDB's size and billing rules on hand-computed items, the
 * matching of calls to stream records, the TLS record counter, the dollars, the stream publisher's
 * filter with and without `publishStatuses`, the before/after table, and that the priced
 * deployment is the one infra/ deploys by default; and how the cpu bench reads a tree (cpu.ts).
 */
import type { _Record } from '@aws-sdk/client-dynamodb-streams';
import { describe, expect, it } from 'vitest';
import { SMPP_CONNECTOR_DEFAULTS } from '../../infra/constructs/smpp-connector.js';
import { SERVICE_DEFAULTS } from '../../service/src/config.js';
import { toEvent } from '../../service/src/lambdas/stream-publisher.js';
import type { DynamoDBRecord } from '../../service/src/lambdas/dynamodb-stream.js';
import type { CostRun } from '../bench/cost.js';
import { billCalls, type DdbCall, type StreamRec } from '../bench/cost-bill.js';
import { TlsRecordCounter } from '../bench/cost-link.js';
import { treeSpec } from '../bench/cpu.js';
import { lambdaBatch, priceMessage, type UnitsPerMessage } from '../bench/cost-price.js';
import { FINAL_STATUSES, publishing, reachesLambda } from '../bench/cost-publish.js';
import { comparisonMarkdown, comparisonRows, costMarkdown, dynamoDbAndEventBridge } from '../bench/cost-report.js';
import {
  billWrite,
  callReadUnits,
  indexWriteUnits,
  itemSize,
  numberSize,
  putEventsEntrySize,
  reportedUnits,
  statementId,
  writeTargets,
  type Image,
  type IndexDef,
  type WriteOutcome,
} from '../bench/ddb-units.js';
import { ASSUMPTIONS, DEPLOYMENT, PRICES } from '../bench/prices.js';

const S = (s: string) => ({ S: s });
const N = (n: string) => ({ N: n });
const BY_RECIPIENT: IndexDef = { name: 'byRecipient', keys: ['to', 'createdAt'], projection: 'KEYS_ONLY', include: [] };
const OPEN: IndexDef = { name: 'openByDeadline', keys: ['openShard', 'finalBy'], projection: 'KEYS_ONLY', include: [] };
/** An item of exactly `bytes` bytes: `id` (2 + 1) and a string attribute `x` (1 + the rest). */
const sized = (bytes: number, extra: Image = {}): Image => ({ id: S('a'), x: S('y'.repeat(bytes - 4 - itemSize(extra))), ...extra });

describe('item size (DynamoDB rules)', () => {
  it('sums names and values: strings as UTF-8, numbers by significant digits, lists and maps with their overheads', () => {
    // 'id'+'abc' = 5; 'n'+123 (3 digits: 2 + 1) = 4; 'l' + 3 + (1+1) + (1+2) = 9; 'm' + 3 + (1 + 'k' + 1) = 7; 'é' (2) + 'é' (2) = 4
    const item: Image = { id: S('abc'), n: N('123'), l: { L: [S('a'), N('1')] }, m: { M: { k: { BOOL: true } } }, é: S('é') };
    expect(itemSize(item)).toBe(5 + 4 + 9 + 7 + 4);
  });

  it('counts a number by its significant digits, leading and trailing zeros trimmed', () => {
    expect(numberSize('0.0012300')).toBe(3); // 123
    expect(numberSize('-1000')).toBe(2); // 1
    expect(numberSize('12345678901234567890')).toBe(11); // 19 digits
    expect(numberSize('0')).toBe(2);
  });

  it('has no size for a missing item, and builds the test items it claims to', () => {
    expect(itemSize(undefined)).toBe(0);
    expect(itemSize(sized(1024))).toBe(1024);
  });
});

describe('write units', () => {
  it('bills the larger of the item before and after, per started KB, twice in a transaction', () => {
    expect(billWrite(undefined, sized(1024), [], false).table).toBe(1);
    expect(billWrite(undefined, sized(1025), [], false).table).toBe(2);
    expect(billWrite(sized(2100), sized(300), [], false).table).toBe(3);
    expect(billWrite(sized(300), sized(1500), [], true).table).toBe(4);
    expect(billWrite(sized(300), undefined, [], false).table).toBe(1);
  });

  it('bills an index when its entry is added, removed or re-keyed, not when only other attributes change', () => {
    const keys = { to: S('+6591234567'), createdAt: S('2030-01-01T00:00:00.000Z') };
    expect(indexWriteUnits(undefined, { id: S('a'), ...keys }, BY_RECIPIENT)).toBe(1);
    expect(indexWriteUnits({ id: S('a'), ...keys }, { id: S('a'), ...keys, status: S('DELIVERED') }, BY_RECIPIENT)).toBe(0);
    expect(indexWriteUnits({ id: S('a'), ...keys }, { id: S('a'), ...keys, to: S('+6500000000') }, BY_RECIPIENT)).toBe(2);
    expect(indexWriteUnits({ id: S('a'), openShard: S('OPEN#1'), finalBy: N('1') }, { id: S('a') }, OPEN)).toBe(1);
    expect(indexWriteUnits({ id: S('a'), openShard: S('OPEN#1') }, { id: S('a'), openShard: S('OPEN#2') }, OPEN)).toBe(0); // sparse: no sort key, no entry
    const include: IndexDef = { ...BY_RECIPIENT, projection: 'INCLUDE', include: ['status'] };
    expect(indexWriteUnits({ id: S('a'), ...keys, status: S('SUBMITTED') }, { id: S('a'), ...keys, status: S('DELIVERED') }, include)).toBe(1);
  });

  it('doubles index writes in a transaction, and names each index', () => {
    const bill = billWrite({ id: S('a') }, { id: S('a'), openShard: S('OPEN#3'), finalBy: N('1796253754') }, [BY_RECIPIENT, OPEN], true);
    expect(bill).toEqual({ table: 2, indexes: { openByDeadline: 2 } });
  });
});

describe('the items a call writes', () => {
  it('reads ids from PartiQL INSERTs and WHEREs, with their parameters in order', () => {
    expect(statementId(`INSERT INTO "t" VALUE {'kind': ?, 'id': ?}`, [S('MESSAGE'), S('job-1')])).toBe('job-1');
    expect(statementId(`INSERT INTO "t" VALUE {'id': 'job-2'}`)).toBe('job-2');
    expect(statementId(`UPDATE "t" SET a = ? WHERE "id" = ?`, [N('1'), S('job-3')])).toBe('job-3');
    expect(statementId('SELECT * FROM "t"')).toBeUndefined();
  });

  it('marks each statement of a PartiQL batch by its own answer, and each item of a transaction as transactional', () => {
    const input = {
      Statements: [
        { Statement: `INSERT INTO "t" VALUE {'id': ?}`, Parameters: [S('a')] },
        { Statement: `INSERT INTO "t" VALUE {'id': ?}`, Parameters: [S('b')] },
      ],
    };
    const answers = { Responses: [{}, { Error: { Code: 'DuplicateItem' } }, { Error: { Code: 'ThrottlingError' } }] };
    input.Statements.push({ Statement: `INSERT INTO "t" VALUE {'id': ?}`, Parameters: [S('c')] });
    expect(writeTargets('BatchExecuteStatement', input, answers)).toEqual([
      { id: 'a', op: 'insert', transactional: false, outcome: 'applied' },
      { id: 'b', op: 'insert', transactional: false, outcome: 'refused' },
      { id: 'c', op: 'insert', transactional: false, outcome: 'failed' },
    ]);
    const tx = { TransactItems: [{ Update: { Key: { id: S('SMSCID#x:1') } } }, { Put: { Item: { id: S('job-1') } } }, { ConditionCheck: { Key: { id: S('c') } } }] };
    expect(writeTargets('TransactWriteItems', tx, undefined, 'TransactionCanceledException').map((t) => [t.id, t.op, t.transactional, t.outcome])).toEqual([
      ['SMSCID#x:1', 'update', true, 'refused'],
      ['job-1', 'put', true, 'refused'],
      ['c', 'check', true, 'refused'],
    ]);
    expect(writeTargets('PutItem', { Item: { id: S('a') } }, undefined, 'TimeoutError')).toEqual([{ id: 'a', op: 'put', transactional: false, outcome: 'unknown' }]);
    expect(writeTargets('GetItem', { Key: { id: S('a') } }, {})).toEqual([]);
  });

  it('bills reads from what came back: per started 4 KB, half when eventually consistent, 1 for a miss', () => {
    expect(callReadUnits('GetItem', { ConsistentRead: true }, { Item: sized(4097) })).toBe(2);
    expect(callReadUnits('GetItem', {}, { Item: sized(100) })).toBe(0.5);
    expect(callReadUnits('GetItem', { ConsistentRead: true }, {})).toBe(1);
    expect(callReadUnits('Query', {}, { Items: [sized(3000), sized(3000)], ScannedCount: 2 })).toBe(1);
    expect(callReadUnits('BatchGetItem', { RequestItems: { t: { Keys: [{}, {}, {}] } } }, { Responses: { t: [sized(100)] }, UnprocessedKeys: { t: { Keys: [{}] } } })).toBe(1);
    expect(callReadUnits('PutItem', {}, {})).toBe(0);
  });

  it('sums DynamoDB Local\'s ConsumedCapacity, one object or a list', () => {
    expect(reportedUnits({ CapacityUnits: 3, Table: { CapacityUnits: 1 }, GlobalSecondaryIndexes: { a: { CapacityUnits: 2 } } })).toEqual({ table: 1, indexes: 2 });
    expect(reportedUnits([{ CapacityUnits: 4 }, { Table: { CapacityUnits: 2 } }])).toEqual({ table: 6, indexes: 0 });
    expect(reportedUnits(undefined)).toBeUndefined();
  });
});

describe('billing calls against the stream', () => {
  const call = (t: number, command: string, targets: DdbCall['targets'], ok = true): DdbCall => ({ t, command, ok, targets, readUnits: 0 });
  const rec = (id: string, oldImage: Image | undefined, newImage: Image | undefined): StreamRec => ({
    id,
    eventName: oldImage ? 'MODIFY' : 'INSERT',
    ...(oldImage && { oldImage }),
    ...(newImage && { newImage }),
  });

  it('pairs each applied write with its item\'s next record, bills only the window, and bills a refused write for the item as it stood', () => {
    const w = (id: string, transactional = false, outcome: WriteOutcome = 'applied') => [{ id, op: 'put' as const, transactional, outcome }];
    const calls = [
      call(30, 'PutItem', w('a'), true), // in the window: 1.5 KB → 2.5 KB = 3
      call(10, 'PutItem', w('a')), // before the window: consumes the first record
      call(40, 'TransactWriteItems', w('a', true)), // 2.5 KB → 2.5 KB, transactional = 6
      call(50, 'PutItem', w('a', false, 'refused'), false), // refused: the 2.5 KB item = 3
      call(55, 'PutItem', w('a', false, 'failed'), false), // throttled: nothing
    ];
    const records = [rec('a', undefined, sized(1500)), rec('a', sized(1500), sized(2500)), rec('a', sized(2500), sized(2500))];
    const bill = billCalls(calls, records, [], { from: 20, to: 60 });
    expect(bill.calls).toBe(4);
    expect(bill.tableWriteUnits).toBe(3 + 6 + 3);
    expect(bill.refusedWrites).toBe(1);
    expect(bill.byCommand['TransactWriteItems']?.tableWriteUnits).toBe(6);
    expect([bill.unmatchedWrites, bill.unmatchedRecords]).toEqual([0, 0]);
  });

  it('counts writes with no record and records with no write', () => {
    const bill = billCalls([call(1, 'PutItem', [{ id: 'a', op: 'put', transactional: false, outcome: 'applied' }])], [rec('b', undefined, sized(10))], [], { from: 0, to: 2 });
    expect([bill.unmatchedWrites, bill.unmatchedRecords, bill.tableWriteUnits]).toEqual([1, 1, 1]);
  });

  it('lets a write that timed out take a record only when its item has one more than its applied writes', () => {
    const put = (outcome: WriteOutcome) => [{ id: 'a', op: 'put' as const, transactional: false, outcome }];
    const records = [rec('a', undefined, sized(100)), rec('a', sized(100), sized(1500)), rec('a', sized(1500), sized(3000))];
    // Timed out but applied (the stream has a record for it), then a timeout that was not, then an applied write.
    const applied = billCalls([call(1, 'PutItem', put('applied')), call(2, 'PutItem', put('unknown'), false), call(3, 'PutItem', put('applied'))], records, [], { from: 0, to: 9 });
    expect([applied.unknownWrites, applied.unknownApplied, applied.tableWriteUnits, applied.unmatchedRecords]).toEqual([1, 1, 1 + 2 + 3, 0]);
    const notApplied = billCalls([call(1, 'PutItem', put('applied')), call(2, 'PutItem', put('unknown'), false), call(3, 'PutItem', put('applied')), call(4, 'PutItem', put('applied'))], records, [], { from: 0, to: 9 });
    expect([notApplied.unknownWrites, notApplied.unknownApplied, notApplied.tableWriteUnits, notApplied.unmatchedWrites]).toEqual([1, 0, 1 + 2 + 3, 0]);
  });

  it('bills a write refused on the SDK\'s retry as its first attempt\'s too, when the stream shows that attempt applied', () => {
    const insert = { id: 'a', op: 'insert' as const, transactional: false, outcome: 'refused' as const };
    const records = [rec('a', undefined, sized(100)), rec('a', sized(100), sized(1500))];
    const calls = [call(1, 'BatchExecuteStatement', [{ ...insert, retried: true }]), call(2, 'PutItem', [{ id: 'a', op: 'put', transactional: false, outcome: 'applied' }])];
    const bill = billCalls(calls, records, [], { from: 0, to: 9 });
    // The retry's refusal (1) and the first attempt's insert (1), then the put (2); every record paired.
    expect([bill.tableWriteUnits, bill.unknownApplied, bill.unmatchedRecords]).toEqual([1 + 1 + 2, 1, 0]);
    expect(writeTargets('PutItem', { Item: { id: S('a') } }, {}, undefined, 2)[0]?.retried).toBe(true);
  });
});

describe('TLS record counter', () => {
  it('counts records whose headers and bodies are split across chunks', () => {
    const record = (len: number): Buffer => Buffer.concat([Buffer.from([0x17, 0x03, 0x03, len >> 8, len & 0xff]), Buffer.alloc(len)]);
    const stream = Buffer.concat([record(10), record(300), record(0), record(2)]);
    const counter = new TlsRecordCounter();
    for (let i = 0; i < stream.length; i += 3) counter.push(stream.subarray(i, i + 3));
    expect(counter.records).toBe(4);
  });
});

describe('dollars', () => {
  const zero: UnitsPerMessage = {
    parts: 1,
    tableWriteUnits: 0,
    indexWriteUnits: 0,
    readUnits: 0,
    storageTableBytes: 0,
    storageIndexBytes: 0,
    sqsRequests: 0,
    lambdaRecords: 0,
    putEventsCallsPerRecord: 0,
    events: 0,
    eventBytes: 0,
    smppBytes: 0,
    smppTlsRecords: 0,
    sqsBytes: 0,
    logBytes: 0,
    logLines: 0,
  };

  it('prices counted units per million messages, and spreads the hourly costs over the full rate', () => {
    const p = priceMessage({ ...zero, tableWriteUnits: 4, indexWriteUnits: 2, readUnits: 1, sqsRequests: 1.5, events: 3 });
    expect(p.usdPerMillion.dynamodbWrites).toBeCloseTo(2.5, 10);
    expect(p.usdPerMillion.dynamodbIndexWrites).toBeCloseTo(1.25, 10);
    expect(p.usdPerMillion.dynamodbReads).toBeCloseTo(0.125, 10);
    expect(p.usdPerMillion.sqs).toBeCloseTo(0.6, 10);
    expect(p.usdPerMillion.eventBridge).toBeCloseTo(3, 10);
    // 2 tasks × (0.5 vCPU × 0.04048 + 1 GB × 0.004445) per hour, over 100 msg/s × 3600.
    expect(p.messagesPerHour).toBe(360_000);
    expect(p.usdPerMillion.fargate).toBeCloseTo((2 * (0.5 * 0.04048 + 0.004445) * 1e6) / 360_000, 10);
    // 2 NAT gateways + 5 interface endpoints × 2 AZs + 2 IPv4 addresses.
    expect(p.usdPerMillion.network).toBeCloseTo(((2 * 0.045 + 10 * 0.01 + 2 * 0.005) * 1e6) / 360_000, 10);
    expect(p.total - p.variable).toBeCloseTo(p.usdPerMillion.fargate + p.usdPerMillion.network, 10);
    // A 3-part message takes three times the bind capacity: three times the hourly share.
    expect(priceMessage({ ...zero, parts: 3 }).usdPerMillion.fargate).toBeCloseTo(3 * p.usdPerMillion.fargate, 10);
  });

  it('batches the stream publisher by full batches or by the window per shard, whichever gives more invocations', () => {
    expect(lambdaBatch(3, 1)).toEqual({ invocationsPerSecond: 4, recordsPerInvocation: 75 });
    expect(lambdaBatch(9, 1)).toEqual({ invocationsPerSecond: 9, recordsPerInvocation: 100 });
    expect(lambdaBatch(0, 1).invocationsPerSecond).toBe(0);
  });

  it('sizes a PutEvents entry as EventBridge bills it', () => {
    expect(putEventsEntrySize({ Source: 'abc', DetailType: 'de', Detail: '{"a":1}', Time: new Date() })).toBe(14 + 3 + 2 + 7);
  });

  it('prices the deployment infra/ deploys by default', () => {
    const d = SMPP_CONNECTOR_DEFAULTS;
    expect({ tasks: d.tasks, tx: d.txBinds, rx: d.rxBinds, mps: d.mpsPerBind, vcpu: d.cpu / 1024, gb: d.memoryLimitMiB / 1024, ttl: SERVICE_DEFAULTS.MESSAGE_TTL_DAYS }).toEqual({
      tasks: DEPLOYMENT.tasks,
      tx: DEPLOYMENT.txBindsPerTask,
      rx: DEPLOYMENT.rxBindsPerTask,
      mps: DEPLOYMENT.mpsPerBind,
      vcpu: DEPLOYMENT.taskVcpu,
      gb: DEPLOYMENT.taskMemoryGb,
      ttl: DEPLOYMENT.ttlDays,
    });
  });
});

/** Units of a message that costs nothing per message. */
const ZERO: UnitsPerMessage = {
  ...{ parts: 1, tableWriteUnits: 0, indexWriteUnits: 0, readUnits: 0, storageTableBytes: 0, storageIndexBytes: 0, sqsRequests: 0, lambdaRecords: 0 },
  ...{ putEventsCallsPerRecord: 0, events: 0, eventBytes: 0, smppBytes: 0, smppTlsRecords: 0, sqsBytes: 0, logBytes: 0, logLines: 0 },
};

describe('the stream publisher with publishStatuses', () => {
  let seq = 0;
  const record = (eventName: 'INSERT' | 'MODIFY' | 'REMOVE', newImage: Image | undefined, oldImage?: Image): _Record => {
    const id = (newImage ?? oldImage)?.['id'] ?? S('?');
    seq += 1;
    return {
      eventName,
      dynamodb: {
        Keys: { id } as never,
        SequenceNumber: String(seq),
        ApproximateCreationDateTime: new Date(1_800_000_000_000 + seq),
        ...(newImage && { NewImage: newImage as never }),
        ...(oldImage && { OldImage: oldImage as never }),
      },
    };
  };
  const message = (id: string, status: string, version: number): Image => ({ id: S(id), kind: S('MESSAGE'), status: S(status), to: S('+6591234567'), segments: N('1'), version: N(String(version)) });
  /** A single-part message with a receipt, as the stream shows it: claim, accepted submit, receipt; and a correlation item beside it. */
  const lifecycle = (id: string): _Record[][] => [
    [record('INSERT', message(id, 'SUBMITTING', 1)), record('INSERT', { id: S(`SMSCID#${id}`), kind: S('CORRELATION'), messageId: S(id) })],
    [record('MODIFY', message(id, 'SUBMITTED', 2), message(id, 'SUBMITTING', 1))],
    [record('MODIFY', message(id, 'DELIVERED', 3), message(id, 'SUBMITTED', 2))],
  ];
  /** Two messages, their changes interleaved in stream order. */
  const stream = (): _Record[] => {
    const [a, b] = [lifecycle('job-a'), lifecycle('job-b')];
    return a.flatMap((step, i) => [...step, ...(b[i] ?? [])]);
  };

  it('takes the final statuses from the domain: every status ranked final, none before', () => {
    expect([...FINAL_STATUSES].sort()).toEqual(['DELETED', 'DELIVERED', 'EXPIRED', 'FAILED', 'INVALID', 'REJECTED', 'UNDELIVERED', 'UNKNOWN']);
  });

  it('lets MESSAGE items through by their new status when statuses are given, OPTOUT items and new MO items regardless', () => {
    const submitted = record('MODIFY', message('m', 'SUBMITTED', 2), message('m', 'SUBMITTING', 1));
    const delivered = record('MODIFY', message('m', 'DELIVERED', 3), message('m', 'SUBMITTED', 2));
    const optOut = record('INSERT', { id: S('OPTOUT#x'), kind: S('OPTOUT'), state: S('out') });
    const moNew = record('INSERT', { id: S('MO#1'), kind: S('MO') });
    const moDone = record('MODIFY', { id: S('MO#1'), kind: S('MO'), doneAt: S('x') }, { id: S('MO#1'), kind: S('MO') });
    const correlation = record('INSERT', { id: S('SMSCID#x'), kind: S('CORRELATION') });
    const removed = record('REMOVE', undefined, message('m', 'DELIVERED', 3));
    const all = [submitted, delivered, optOut, moNew, moDone, correlation, removed];
    expect(all.map((r) => reachesLambda(r))).toEqual([true, true, true, true, false, false, false]);
    expect(all.map((r) => reachesLambda(r, FINAL_STATUSES))).toEqual([false, true, true, true, false, false, false]);
    expect(reachesLambda(record('INSERT', { id: S('m'), kind: S('MESSAGE') }), FINAL_STATUSES)).toBe(false); // no status: the filter's match fails
  });

  it('recounts records, events, their bytes and PutEvents calls per message over what the filter lets through', async () => {
    const records = stream();
    const every = await publishing(records, 2, 1);
    // 3 status changes each; the handler never puts two changes of one item in one call: 3 calls.
    expect(every.units.lambdaRecords).toBe(3);
    expect(every.units.events).toBe(3);
    expect([every.putEventsCalls, every.units.putEventsCallsPerRecord]).toEqual([1.5, 0.5]);
    const final = await publishing(records, 2, 1, FINAL_STATUSES);
    expect(final.units.lambdaRecords).toBe(1);
    expect(final.units.events).toBe(1);
    expect([final.putEventsCalls, final.units.putEventsCallsPerRecord]).toEqual([0.5, 0.5]);
    const delivered = records.filter((r) => r.dynamodb?.NewImage?.['status']?.S === 'DELIVERED');
    const bytes = delivered.reduce((n, r) => n + putEventsEntrySize(toEvent(r as DynamoDBRecord, 'bench') ?? {}), 0);
    expect(final.units.eventBytes).toBe(bytes / 2);
    expect(every.units.eventBytes).toBeGreaterThan(final.units.eventBytes * 2);
  });

  it('prices final-only publishing at one event per message instead of three, everything else as counted', async () => {
    const records = stream();
    const base = { ...ZERO, tableWriteUnits: 10 };
    const every = priceMessage({ ...base, ...(await publishing(records, 2, 1)).units });
    const final = priceMessage({ ...base, ...(await publishing(records, 2, 1, FINAL_STATUSES)).units });
    const archive = (bytes: number): number => (bytes / 2 ** 30) * (PRICES.eventBridge.archivePerGb + PRICES.eventBridge.archiveStoragePerGbMonth * (DEPLOYMENT.archiveDays / ASSUMPTIONS.daysPerMonth)) * 1e6;
    const finalUnits = (await publishing(records, 2, 1, FINAL_STATUSES)).units;
    expect(final.usdPerMillion.eventBridge).toBeCloseTo(1 * PRICES.eventBridge.perMillionEvents + archive(finalUnits.eventBytes), 10);
    expect(every.usdPerMillion.eventBridge - final.usdPerMillion.eventBridge).toBeGreaterThan(2 * PRICES.eventBridge.perMillionEvents);
    expect(final.usdPerMillion.lambda).toBeLessThan(every.usdPerMillion.lambda);
    expect(final.usdPerMillion.dynamodbWrites).toBe(every.usdPerMillion.dynamodbWrites);
  });
});

describe('the before/after table', () => {
  const priced = (u: Partial<UnitsPerMessage>) => priceMessage({ ...ZERO, ...u });
  const run = (o: { key?: string; units: Partial<UnitsPerMessage>; final: Partial<UnitsPerMessage>; calls: Record<string, number>; cpu: number | null; redeliveries?: number }): CostRun =>
    ({
      spec: { key: o.key ?? 'gsm7', label: 'GSM-7, 1 part, receipt', mix: 'gsm7', jobs: 10, receipts: true },
      parts: 10,
      done: 10,
      aborted: undefined,
      windowS: 1,
      bindUse: 0.5,
      receiptRedeliveries: o.redeliveries ?? 0,
      dynamoDbLocalMs: 1,
      units: { ...ZERO, ...o.units },
      priced: priced(o.units),
      publishFinal: { statuses: FINAL_STATUSES, units: { lambdaRecords: 1, events: 1, eventBytes: 0, putEventsCallsPerRecord: 1 }, priced: priced({ ...o.units, ...o.final }) },
      detail: { dynamodbCalls: o.calls, indexWriteUnits: {}, refusedWrites: 0, sqsRequests: { service: {}, producer: 0 }, streamRecords: 0, putEventsCalls: 0, smpp: {} as never },
      crossCheck: {},
      matching: { unknownWrites: 0, unknownApplied: 0, unmatchedWrites: 0, unmatchedRecords: 0 },
      messageItem: { steps: [], final: { min: 0, median: 0, max: 0 } },
      cpu: { msPerJob: o.cpu, windowMsPerJob: null, idleMsPerTaskSecond: null, taskShareAtFullRate: null },
      peakRssMb: [],
      logMessages: {},
    }) as CostRun;
  // Before: a transaction of 3 items (6 units) and 3 events; after: 4 plain writes, the same events; final-only: 1 event.
  const before = run({ units: { tableWriteUnits: 10, indexWriteUnits: 4, events: 3 }, final: { events: 1 }, calls: { TransactWriteItems: 1, PutItem: 1, UpdateItem: 2 }, cpu: 20 });
  const after = run({ units: { tableWriteUnits: 5, indexWriteUnits: 3, events: 3 }, final: { events: 1 }, calls: { UpdateItem: 2, PutItem: 1 }, cpu: 15 });
  const rowOf = (rows: ReturnType<typeof comparisonRows>, start: string) => {
    const row = rows.find((r) => r.label.startsWith(start));
    if (!row) throw new Error(`no row ${start}`);
    return row;
  };

  it('gives each component before, after and after ÷ before, with no ratio where before is 0', () => {
    const rows = comparisonRows(before, after);
    const writes = rowOf(rows, 'DynamoDB writes (table)');
    expect([writes.before, writes.after, writes.ratio]).toEqual(['6.25', '3.13', 0.5]);
    expect(rowOf(rows, 'DynamoDB reads').ratio).toBeNull();
    expect(rowOf(rows, '**total**').ratio).toBeCloseTo(after.priced.total / before.priced.total, 10);
  });

  it('sums DynamoDB and EventBridge, and compares before at the default with after at both publishStatuses', () => {
    const rows = comparisonRows(before, after);
    // before: (10 + 4) × $0.625 + 3 × $1; after: (5 + 3) × $0.625 + 3; final-only: (5 + 3) × $0.625 + 1.
    expect(dynamoDbAndEventBridge(before.priced)).toBeCloseTo(8.75 + 3, 10);
    const share = rowOf(rows, '**DynamoDB (writes + index writes + reads + storage) + EventBridge**');
    expect(share.ratio).toBeCloseTo((5 + 3) / 11.75, 10);
    expect(share.before).toBe(`11.75 (${Math.round((11.75 / before.priced.total) * 100)} %)`);
    const final = rowOf(rows, 'the same, after with publishStatuses = final statuses');
    expect(final.before).toBe(share.before);
    expect(final.ratio).toBeCloseTo((5 + 1) / 11.75, 10);
    expect(rowOf(rows, 'total, after with publishStatuses').ratio).toBeCloseTo(after.publishFinal.priced.total / before.priced.total, 10);
  });

  it('compares write units, DynamoDB calls by command and CPU per job', () => {
    const rows = comparisonRows(before, after);
    expect(rowOf(rows, 'write units per message')).toEqual({ label: 'write units per message: table + indexes', before: '10.00 + 4.00', after: '5.00 + 3.00', ratio: 8 / 14 });
    const calls = rowOf(rows, 'DynamoDB calls per message');
    expect([calls.before, calls.after, calls.ratio]).toEqual(['Update 2.000 · Transact 1.000 · Put 1.000', 'Update 2.000 · Put 1.000', 0.75]);
    expect(rowOf(rows, 'CPU ms per job').ratio).toBe(0.75);
    expect(rowOf(comparisonRows(before, { ...after, cpu: { ...after.cpu, msPerJob: null } }), 'CPU ms per job').ratio).toBeNull();
  });

  it('prints one table per scenario that ran on both sides, flags an overloaded side, and nothing without --before', () => {
    const result = { prices: PRICES, deployment: DEPLOYMENT, assumptions: ASSUMPTIONS, runs: [after, { ...after, spec: { ...after.spec, key: 'other', label: 'Other' } }] };
    expect(comparisonMarkdown(result)).toBe('');
    expect(costMarkdown(result)).not.toContain('Before/after');
    const md = comparisonMarkdown({ ...result, beforeRev: { rev: 'e82ea5f', commit: 'e82ea5f0123456789' }, before: [{ ...before, receiptRedeliveries: 2 }] });
    expect(md).toContain('| GSM-7, 1 part, receipt: USD per million messages | before (`e82ea5f`) | after (this checkout) | after ÷ before |');
    expect(md).toContain('| DynamoDB writes (table) | 6.25 | 3.13 | 0.500 |');
    expect(md).toContain('| DynamoDB reads | 0 | 0 | – |');
    expect(md).not.toContain('Other');
    expect(md).toContain('Overloaded here (see above): before.');
  });

  it('adds the final-only publisher and total to the main table', () => {
    const md = costMarkdown({ prices: PRICES, deployment: DEPLOYMENT, assumptions: ASSUMPTIONS, runs: [after] });
    const u = after.publishFinal.priced.usdPerMillion;
    expect(md).toContain(`| EventBridge + Lambda, publishStatuses = final statuses | ${(u.eventBridge + u.lambda).toFixed(2)} |`);
  });
});

describe('cpu bench tree specs', () => {
  it('reads a checkout, its rate and its own settings', () => {
    expect(treeSpec('/w/main')).toEqual({ tree: '/w/main', rate: undefined, env: {} });
    expect(treeSpec('/w/main@250+STORE_LINGER_MS=100+LOG_LEVEL=warn')).toEqual({ tree: '/w/main', rate: '250', env: { STORE_LINGER_MS: '100', LOG_LEVEL: 'warn' } });
    expect(treeSpec('/w/main+A=b=c').env).toEqual({ A: 'b=c' });
  });

  it('refuses a setting that is not KEY=VALUE', () => {
    expect(() => treeSpec('/w/main+STORE_LINGER_MS')).toThrow(/KEY=VALUE/);
    expect(() => treeSpec('/w/main+=1')).toThrow(/KEY=VALUE/);
  });
});
