/**
 * The table's marshalling (aws/item-codec.ts, lambdas/dynamodb-stream.ts): @aws-sdk/util-dynamodb with
 * our options writes the attribute values the hand-written marshaller did, and reads every number back
 * as a number.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Expr, fromItem, toItem } from '../../service/src/aws/item-codec.js';
import { newClaimItem } from '../../service/src/core/message-state.js';
import { StoreError } from '../../service/src/errors.js';
import { unmarshall } from '../../service/src/lambdas/dynamodb-stream.js';

const numRuns = Number(process.env['PROPERTY_RUNS'] ?? 300);

describe('toItem / fromItem', () => {
  it('writes the attribute values the store always wrote, leaving undefined attributes out', () => {
    // Act
    const item = toItem({ id: 'a', n: 1, s: '', b: false, none: null, gone: undefined, l: [], m: { x: 2.5, y: undefined }, bin: new Uint8Array([1]) });
    // Assess
    expect(item).toEqual({
      id: { S: 'a' },
      n: { N: '1' },
      s: { S: '' },
      b: { BOOL: false },
      none: { NULL: true },
      l: { L: [] },
      m: { M: { x: { N: '2.5' } } },
      bin: { B: new Uint8Array([1]) },
    });
  });

  it('reads a MESSAGE item back as it was written, its numbers as numbers', () => {
    // Prepare
    const job = { id: 'order-42', to: '+6591234567', from: '8x8', text: 'x', encoding: 'auto' as const, receipt: true, metadata: { orderId: 42, tags: ['a'], nested: { ok: true } } };
    const item = newClaimItem(job, { owner: 'task-a', leaseMs: 15_000, sqsMessageId: 'sqs-1', encoding: 'GSM7', segments: 1, concat: 'udh8', concatRef: 7 }, { now: Date.parse('2030-01-01T00:00:00Z'), ttlSeconds: 86_400 });
    // Act
    const back = fromItem(toItem(item));
    // Assess
    expect(back).toEqual(item);
  });

  it("keeps any JSON number of a producer's metadata a number both ways, past 2^53 too", () => {
    fc.assert(
      fc.property(fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.constantFrom(2 ** 60, 1e21, -1e300, 5e-324)), (value) => {
        // Act
        const back = fromItem<{ metadata: { value: number } }>(toItem({ metadata: { value } }));
        // Assess: as the number DynamoDB holds (its text), never a BigInt or NumberValue
        expect(typeof back?.metadata.value).toBe('number');
        expect(back?.metadata.value).toBe(Number(String(value)));
      }),
      { numRuns },
    );
  });

  it('refuses a value DynamoDB cannot hold as a store error no retry will fix', () => {
    expect(() => toItem({ n: Number.NaN })).toThrow(StoreError);
    expect(() => toItem({ n: Number.POSITIVE_INFINITY })).toThrow(expect.objectContaining({ retryable: false }));
  });
});

describe('Expr', () => {
  it('names every attribute and value by placeholder, and leaves out what it did not use', () => {
    // Prepare
    const x = new Expr();
    // Act
    const update = `SET ${x.n('status')} = ${x.v('DELIVERED')}, ${x.n('history')} = list_append(${x.n('history')}, ${x.v([{ status: 'DELIVERED' }])})`;
    // Assess
    expect(update).toBe('SET #status = :v0, #history = list_append(#history, :v1)');
    expect(x.params()).toEqual({
      ExpressionAttributeNames: { '#status': 'status', '#history': 'history' },
      ExpressionAttributeValues: { ':v0': { S: 'DELIVERED' }, ':v1': { L: [{ M: { status: { S: 'DELIVERED' } } }] } },
    });
    expect(new Expr().params()).toEqual({});
  });
});

describe("the stream publisher's unmarshall", () => {
  it("reads Lambda's JSON image as plain JS: numbers as numbers, binary as given", () => {
    // Act
    const item = unmarshall({ id: { S: 'MO#1' }, big: { N: '12345678901234567890' }, e: { N: '1e+21' }, b: { B: 'AQI=' }, m: { M: { l: { L: [{ N: '1' }, { NULL: true }] } } } });
    // Assess
    expect(item).toEqual({ id: 'MO#1', big: Number('12345678901234567890'), e: 1e21, b: 'AQI=', m: { l: [1, null] } });
    expect(unmarshall(undefined)).toBeUndefined();
  });
});
