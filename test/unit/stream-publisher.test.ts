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

  it('reports the records whose entries failed, and every record of a call that failed', async () => {
    let call = 0;
    const eb = fakeEventBridge((entries) => {
      call += 1;
      if (call === 2) return new Error('ThrottlingException');
      return {
        FailedEntryCount: 1,
        Entries: entries.map((_, i) => (i === 1 ? { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' } : { EventId: `e${i}` })),
      };
    });
    const records = Array.from({ length: 12 }, (_, i) => record('INSERT', message(`p-${i}`, 'SUBMITTING')));
    const seqs = records.map((r) => r.dynamodb!.SequenceNumber!);

    const result = await createHandler({ eventBridge: eb.client, busName: 'bus', log: silent })({ Records: records });

    // Entry 1 of the first call failed; the second call (records 10 and 11) failed as a whole.
    expect(result.batchItemFailures).toEqual([seqs[1], seqs[10], seqs[11]].map((itemIdentifier) => ({ itemIdentifier })));
  });

  it('accepts the stream time as the SDK gives it locally (a Date)', async () => {
    const eb = fakeEventBridge();
    const r = record('INSERT', message('job-5', 'SUBMITTING'));
    r.dynamodb!.ApproximateCreationDateTime = new Date('2026-02-03T04:05:06Z');
    await createHandler({ eventBridge: eb.client, busName: 'bus', log: silent })({ Records: [r] });
    expect(detailOf(eb.calls[0]?.[0])).toMatchObject({ updatedAt: '2026-02-03T04:05:06.000Z' });
  });
});
