import { PutEventsCommand, type PutEventsCommandOutput, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import type { AttributeValue, DynamoDBRecord } from '../../service/src/lambdas/dynamodb-stream.js';
import { createHandler } from '../../service/src/lambdas/stream-publisher.js';

/*
 * EventBridge has no local emulator here, so the handler gets a tiny fake `send` that records the
 * PutEvents requests and answers with what each test needs. The handler only depends on
 * `Pick<EventBridgeClient, 'send'>`.
 */

type Answer = (entries: PutEventsRequestEntry[]) => Partial<PutEventsCommandOutput> | Error;

function fakeEventBridge(answer: Answer = (entries) => ({ FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e${i}` })) })) {
  const calls: PutEventsRequestEntry[][] = [];
  const client = {
    send: async (command: unknown) => {
      if (!(command instanceof PutEventsCommand)) throw new Error('unexpected command');
      const entries = command.input.Entries ?? [];
      calls.push(entries);
      const out = answer(entries);
      if (out instanceof Error) throw out;
      return out;
    },
  };
  return { client: client as never, calls };
}

const silent = { error: () => undefined };

let seq = 100;
/** A stream record as Lambda delivers it (images in DynamoDB JSON). */
function record(
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
  newImage: Record<string, AttributeValue> | undefined,
  oldImage?: Record<string, AttributeValue>,
): DynamoDBRecord {
  seq += 1;
  return {
    eventID: `ev-${seq}`,
    eventName,
    eventSource: 'aws:dynamodb',
    dynamodb: {
      ApproximateCreationDateTime: 1_767_225_600, // 2026-01-01T00:00:00Z
      SequenceNumber: String(seq),
      ...(newImage && { NewImage: newImage }),
      ...(oldImage && { OldImage: oldImage }),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

const message = (id: string, status: string, extra: Record<string, AttributeValue> = {}): Record<string, AttributeValue> => ({
  id: { S: id },
  kind: { S: 'MESSAGE' },
  status: { S: status },
  to: { S: '+6591234567' },
  segments: { N: '2' },
  ...extra,
});

const detailOf = (entry: PutEventsRequestEntry | undefined) => JSON.parse(entry?.Detail ?? 'null') as Record<string, unknown>;

describe('stream publisher', () => {
  it('publishes SmsStatusChanged when a message status changes', async () => {
    const eb = fakeEventBridge();
    const handle = createHandler({ eventBridge: eb.client, busName: 'bus', log: silent });
    const lastError = { M: { code: { S: 'ESME_RINVDSTADR' }, name: { S: 'invalid destination' }, description: { S: 'x' } } };
    const result = await handle({
      Records: [
        record('MODIFY', message('job-1', 'UNDELIVERED', { lastError, metadata: { M: { orderId: { S: 'o-7' } } } }), message('job-1', 'SUBMITTED')),
      ],
    });

    expect(result).toEqual({ batchItemFailures: [] });
    expect(eb.calls).toHaveLength(1);
    const [entry] = eb.calls[0]!;
    expect(entry).toMatchObject({ Source: 'smpp-connector', DetailType: 'SmsStatusChanged', EventBusName: 'bus' });
    expect(detailOf(entry)).toEqual({
      id: 'job-1',
      status: 'UNDELIVERED',
      previousStatus: 'SUBMITTED',
      to: '+6591234567',
      segments: 2,
      lastError: { code: 'ESME_RINVDSTADR', name: 'invalid destination', description: 'x' },
      updatedAt: '2026-01-01T00:00:00.000Z',
      metadata: { orderId: 'o-7' },
      version: null,
    });
  });

  it('counts the first write of a message as a change from nothing', async () => {
    const eb = fakeEventBridge();
    await createHandler({ eventBridge: eb.client, busName: 'bus', log: silent })({ Records: [record('INSERT', message('job-2', 'SUBMITTING'))] });
    expect(detailOf(eb.calls[0]?.[0])).toMatchObject({ id: 'job-2', status: 'SUBMITTING', previousStatus: null });
  });

  it('skips updates that leave the status as it was, and removals (TTL)', async () => {
    const eb = fakeEventBridge();
    const result = await createHandler({ eventBridge: eb.client, busName: 'bus', log: silent })({
      Records: [
        record('MODIFY', message('job-3', 'SUBMITTED', { attempts: { N: '2' } }), message('job-3', 'SUBMITTED')),
        record('REMOVE', undefined, message('job-3', 'DELIVERED')),
      ],
    });
    expect(result.batchItemFailures).toEqual([]);
    expect(eb.calls).toEqual([]);
  });

  it('publishes SmsReceived for a new MO item', async () => {
    const eb = fakeEventBridge();
    await createHandler({ eventBridge: eb.client, busName: 'bus', log: silent })({
      Records: [
        record('INSERT', {
          id: { S: 'MO#4b6f' },
          kind: { S: 'MO' },
          from: { S: '+6598765432' },
          to: { S: '12345' },
          text: { S: 'Héllo 👋' },
          dataCoding: { N: '8' },
          receivedAt: { S: '2026-01-01T00:00:01.000Z' },
          parts: { N: '1' },
        }),
      ],
    });
    const [entry] = eb.calls[0]!;
    expect(entry?.DetailType).toBe('SmsReceived');
    expect(detailOf(entry)).toEqual({ id: 'MO#4b6f', from: '+6598765432', to: '12345', text: 'Héllo 👋', receivedAt: '2026-01-01T00:00:01.000Z' });
  });

  it('never publishes correlation items (internal)', async () => {
    const eb = fakeEventBridge();
    const result = await createHandler({ eventBridge: eb.client, busName: 'bus', log: silent })({
      Records: [record('INSERT', { id: { S: 'SMSCID#1a2b' }, kind: { S: 'CORRELATION' }, messageId: { S: 'job-1' } })],
    });
    expect(result.batchItemFailures).toEqual([]);
    expect(eb.calls).toEqual([]);
  });

  it('sends at most 10 entries per PutEvents call', async () => {
    const eb = fakeEventBridge();
    const records = Array.from({ length: 23 }, (_, i) => record('INSERT', message(`bulk-${i}`, 'SUBMITTING')));
    await createHandler({ eventBridge: eb.client, busName: 'bus', log: silent })({ Records: records });
    expect(eb.calls.map((c) => c.length)).toEqual([10, 10, 3]);
  });

  it('stops at the first failed entry: that record and every later one are reported, nothing later is sent', async () => {
    // Prepare: entry 1 of the first call fails.
    const eb = fakeEventBridge((entries) => ({
      FailedEntryCount: 1,
      Entries: entries.map((_, i) => (i === 1 ? { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' } : { EventId: `e${i}` })),
    }));
    const records = Array.from({ length: 12 }, (_, i) => record('INSERT', message(`p-${i}`, 'SUBMITTING')));
    const seqs = records.map((r) => r.dynamodb!.SequenceNumber!);
    // Act
    const result = await createHandler({ eventBridge: eb.client, busName: 'bus', log: silent })({ Records: records });
    // Assess: Lambda retries from record 1, in order; records 10 and 11 were never sent.
    expect(result.batchItemFailures).toEqual(seqs.slice(1).map((itemIdentifier) => ({ itemIdentifier })));
    expect(eb.calls).toHaveLength(1);
  });

  it('stops at a call that failed as a whole, and reports from its first record on', async () => {
    // Prepare
    let call = 0;
    const eb = fakeEventBridge((entries) => {
      call += 1;
      return call === 2 ? new Error('ThrottlingException') : { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `e${i}` })) };
    });
    const records = Array.from({ length: 25 }, (_, i) => record('INSERT', message(`t-${i}`, 'SUBMITTING')));
    const seqs = records.map((r) => r.dynamodb!.SequenceNumber!);
    // Act
    const result = await createHandler({ eventBridge: eb.client, busName: 'bus', log: silent })({ Records: records });
    // Assess
    expect(result.batchItemFailures).toEqual(seqs.slice(10).map((itemIdentifier) => ({ itemIdentifier })));
    expect(eb.calls.map((c) => c.length)).toEqual([10, 10]);
  });

  it('never publishes a later status of a message after an earlier one failed (no DELIVERED, SUBMITTED, DELIVERED)', async () => {
    // Prepare: job-9 goes SUBMITTING → SUBMITTED → DELIVERED; the SUBMITTED event is refused.
    const eb = fakeEventBridge((entries) => ({
      FailedEntryCount: entries.some((e) => detailOf(e).status === 'SUBMITTED') ? 1 : 0,
      Entries: entries.map((e, i) => (detailOf(e).status === 'SUBMITTED' ? { ErrorCode: 'InternalFailure' } : { EventId: `e${i}` })),
    }));
    const records = [
      record('MODIFY', message('job-9', 'SUBMITTED', { version: { N: '2' } }), message('job-9', 'SUBMITTING')),
      record('MODIFY', message('job-9', 'DELIVERED', { version: { N: '3' } }), message('job-9', 'SUBMITTED')),
    ];
    // Act
    const result = await createHandler({ eventBridge: eb.client, busName: 'bus', log: silent })({ Records: records });
    // Assess: both come back for the retry, and DELIVERED was never put on the bus.
    expect(result.batchItemFailures).toEqual(records.map((r) => ({ itemIdentifier: r.dynamodb!.SequenceNumber! })));
    expect(eb.calls.flat().map((e) => detailOf(e).status)).toEqual(['SUBMITTED']);
  });

  it('stops at a record it cannot read, after publishing the records before it', async () => {
    // Prepare: the middle record's image holds an attribute value the unmarshaller does not know.
    const eb = fakeEventBridge();
    const broken = record('INSERT', { id: { S: 'bad' }, kind: { S: 'MESSAGE' }, status: { X: '?' } as never });
    const records = [record('INSERT', message('m-1', 'SUBMITTING')), broken, record('INSERT', message('m-2', 'SUBMITTING'))];
    // Act
    const result = await createHandler({ eventBridge: eb.client, busName: 'bus', log: silent })({ Records: records });
    // Assess
    expect(eb.calls.flat().map((e) => detailOf(e).id)).toEqual(['m-1']);
    expect(result.batchItemFailures).toEqual(records.slice(1).map((r) => ({ itemIdentifier: r.dynamodb!.SequenceNumber! })));
  });

  it('puts two changes of one message in separate calls, in stream order', async () => {
    // Prepare
    const eb = fakeEventBridge();
    const records = [
      record('INSERT', message('k-1', 'SUBMITTING')),
      record('INSERT', message('k-2', 'SUBMITTING')),
      record('MODIFY', message('k-1', 'SUBMITTED'), message('k-1', 'SUBMITTING')),
      record('INSERT', message('k-3', 'SUBMITTING')),
    ];
    // Act
    await createHandler({ eventBridge: eb.client, busName: 'bus', log: silent })({ Records: records });
    // Assess: a refused entry can never let the later change of the same message through first.
    expect(eb.calls.map((c) => c.map((e) => `${detailOf(e).id}:${detailOf(e).status}`))).toEqual([
      ['k-1:SUBMITTING', 'k-2:SUBMITTING'],
      ['k-1:SUBMITTED', 'k-3:SUBMITTING'],
    ]);
  });

  it("puts the item's version in the event, for consumers to drop duplicates and stale events", async () => {
    const eb = fakeEventBridge();
    await createHandler({ eventBridge: eb.client, busName: 'bus', log: silent })({
      Records: [record('MODIFY', message('job-v', 'DELIVERED', { version: { N: '7' } }), message('job-v', 'SUBMITTED', { version: { N: '6' } }))],
    });
    expect(detailOf(eb.calls[0]?.[0])).toMatchObject({ id: 'job-v', status: 'DELIVERED', version: 7 });
  });

  it('counts published events and held-back records as metrics (Powertools Metrics on Lambda)', async () => {
    // Prepare: the 3rd entry of 4 is refused.
    const eb = fakeEventBridge((entries) => ({
      FailedEntryCount: 1,
      Entries: entries.map((_, i) => (i === 2 ? { ErrorCode: 'InternalFailure' } : { EventId: `e${i}` })),
    }));
    const counted: [string, string, number][] = [];
    const metrics = { addMetric: (name: string, unit: 'Count', value: number) => counted.push([name, unit, value]) };
    const records = Array.from({ length: 4 }, (_, i) => record('INSERT', message(`c-${i}`, 'SUBMITTING')));
    // Act
    await createHandler({ eventBridge: eb.client, busName: 'bus', log: silent, metrics })({ Records: records });
    // Assess
    expect(counted).toEqual([
      ['EventsPublished', 'Count', 3],
      ['RecordsRetried', 'Count', 2],
    ]);
  });

  it('reports failures as a message with attributes, the way Powertools Logger takes them', async () => {
    const eb = fakeEventBridge(() => new Error('ThrottlingException'));
    const logged: [string, Record<string, unknown>][] = [];
    const r = record('INSERT', message('l-1', 'SUBMITTING'));
    await createHandler({ eventBridge: eb.client, busName: 'bus', log: { error: (m, a) => logged.push([m, a]) } })({ Records: [r] });
    expect(logged).toEqual([['PutEvents failed', { count: 1, error: 'Error: ThrottlingException' }]]);
  });

  it('accepts the stream time as the SDK gives it locally (a Date)', async () => {
    const eb = fakeEventBridge();
    const r = record('INSERT', message('job-5', 'SUBMITTING'));
    r.dynamodb!.ApproximateCreationDateTime = new Date('2026-02-03T04:05:06Z');
    await createHandler({ eventBridge: eb.client, busName: 'bus', log: silent })({ Records: [r] });
    expect(detailOf(eb.calls[0]?.[0])).toMatchObject({ updatedAt: '2026-02-03T04:05:06.000Z' });
  });
});

describe('stream publisher: suppression list (docs/architecture.md §7.5)', () => {
  const entry = (state: string, extra: Record<string, AttributeValue> = {}): Record<string, AttributeValue> => ({
    id: { S: 'OPTOUT#72345#6591234567' },
    kind: { S: 'OPTOUT' },
    number: { S: '6591234567' },
    sender: { S: '72345' },
    state: { S: state },
    changedAt: { S: '2026-01-01T00:00:01.000Z' },
    source: { S: 'mo' },
    moId: { S: 'MO#1f0c' },
    version: { N: '3' },
    ...extra,
  });

  it('publishes OptedOut and OptedIn when an entry changes state, with number, sender, source, time and version', async () => {
    // Prepare
    const eb = fakeEventBridge();
    const handle = createHandler({ eventBridge: eb.client, busName: 'bus', log: silent });
    // Act
    await handle({
      Records: [
        record('INSERT', entry('out', { version: { N: '1' } })),
        record('MODIFY', entry('in', { source: { S: 'operator' }, moId: { NULL: true }, version: { N: '2' } }), entry('out')),
      ],
    });
    // Assess: two changes of one item go in two calls, in order
    expect(eb.calls.map((c) => c.map((e) => e.DetailType))).toEqual([['OptedOut'], ['OptedIn']]);
    expect(eb.calls[0]?.[0]).toMatchObject({ Source: 'smpp-connector', EventBusName: 'bus' });
    expect(detailOf(eb.calls[0]?.[0])).toEqual({
      id: 'OPTOUT#72345#6591234567',
      number: '6591234567',
      sender: '72345',
      source: 'mo',
      moId: 'MO#1f0c',
      at: '2026-01-01T00:00:01.000Z',
      version: 1,
    });
    expect(detailOf(eb.calls[1]?.[0])).toMatchObject({ source: 'operator', moId: null, version: 2 });
  });

  it('publishes nothing for a write that leaves the state as it was, a first entry that is `in`, or a removal', async () => {
    const eb = fakeEventBridge();
    const handle = createHandler({ eventBridge: eb.client, busName: 'bus', log: silent });
    const result = await handle({
      Records: [record('MODIFY', entry('out', { version: { N: '4' } }), entry('out')), record('INSERT', entry('in')), record('REMOVE', undefined, entry('out'))],
    });
    expect(result).toEqual({ batchItemFailures: [] });
    expect(eb.calls).toEqual([]);
  });

  it('says why a message was REJECTED without being sent', async () => {
    const eb = fakeEventBridge();
    await createHandler({ eventBridge: eb.client, busName: 'bus', log: silent })({
      Records: [record('MODIFY', message('job-o', 'REJECTED', { reason: { S: 'opted out' } }), message('job-o', 'SUBMITTING'))],
    });
    expect(detailOf(eb.calls[0]?.[0])).toMatchObject({ id: 'job-o', status: 'REJECTED', previousStatus: 'SUBMITTING', reason: 'opted out' });
  });
});
