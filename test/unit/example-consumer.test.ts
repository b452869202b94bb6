import { describe, expect, it } from 'vitest';
import type { SmsReceivedDetail, SmsStatusChangedDetail } from '../../service/src/lambdas/events.js';
import { createConsumer, MemoryLedger, type ConnectorEvent, type ConsumerActions } from '../../service/src/lambdas/example-consumer.js';

/** The actions record what reached them; `failNext` makes the next one throw. */
function recorder() {
  const seen: string[] = [];
  let failNext = false;
  const actions: ConsumerActions = {
    onStatusChanged: (d) => {
      if (failNext) {
        failNext = false;
        return Promise.reject(new Error('downstream unavailable'));
      }
      seen.push(`${d.id}:${d.status}:${d.version}`);
      return Promise.resolve();
    },
    onReceived: (d) => {
      seen.push(`${d.id}:received`);
      return Promise.resolve();
    },
  };
  return { actions, seen, failOnce: () => (failNext = true) };
}

let n = 0;
function event<D>(detailType: string, detail: D, source = 'smpp-connector'): ConnectorEvent<D> {
  n += 1;
  return { version: '0', id: `ev-${n}`, 'detail-type': detailType, source, account: '123456789012', time: '2026-01-01T00:00:00Z', region: 'ap-southeast-1', resources: [], detail };
}

const status = (id: string, value: string, version: number | null): ConnectorEvent<SmsStatusChangedDetail> =>
  event('SmsStatusChanged', { id, status: value, previousStatus: null, to: '+6591234567', segments: 1, lastError: null, updatedAt: '2026-01-01T00:00:00Z', metadata: null, version });

const received = (id: string): ConnectorEvent<SmsReceivedDetail> =>
  event('SmsReceived', { id, from: '+6598765432', to: '12345', text: 'YES', receivedAt: '2026-01-01T00:00:01Z' });

describe('example consumer', () => {
  it('handles a status change once per (id, version): a repeat is dropped as a duplicate', async () => {
    // Prepare
    const r = recorder();
    const consume = createConsumer({ ledger: new MemoryLedger(), actions: r.actions });
    // Act
    const first = await consume(status('job-1', 'SUBMITTED', 2));
    const again = await consume(status('job-1', 'SUBMITTED', 2));
    // Assess
    expect(first).toEqual({ outcome: 'handled', detailType: 'SmsStatusChanged', id: 'job-1', version: 2 });
    expect(again).toEqual({ outcome: 'duplicate', id: 'job-1', version: 2, recorded: 2 });
    expect(r.seen).toEqual(['job-1:SUBMITTED:2']);
  });

  it('drops an older status that arrives after a newer one (EventBridge does not keep order)', async () => {
    const r = recorder();
    const consume = createConsumer({ ledger: new MemoryLedger(), actions: r.actions });
    await consume(status('job-2', 'DELIVERED', 5));
    expect(await consume(status('job-2', 'SUBMITTED', 3))).toEqual({ outcome: 'stale', id: 'job-2', version: 3, recorded: 5 });
    expect(r.seen).toEqual(['job-2:DELIVERED:5']);
  });

  it('gives the version back when handling fails, so EventBridge\'s retry is handled and not taken for a duplicate', async () => {
    // Prepare
    const r = recorder();
    const consume = createConsumer({ ledger: new MemoryLedger(), actions: r.actions });
    await consume(status('job-3', 'SUBMITTED', 2));
    r.failOnce();
    // Act
    await expect(consume(status('job-3', 'DELIVERED', 4))).rejects.toThrow('downstream unavailable');
    const retried = await consume(status('job-3', 'DELIVERED', 4));
    // Assess: the retry went through, and the earlier version still counts as handled.
    expect(retried.outcome).toBe('handled');
    expect(await consume(status('job-3', 'SUBMITTED', 2))).toMatchObject({ outcome: 'stale', recorded: 4 });
    expect(r.seen).toEqual(['job-3:SUBMITTED:2', 'job-3:DELIVERED:4']);
  });

  it('keeps the ids apart', async () => {
    const r = recorder();
    const consume = createConsumer({ ledger: new MemoryLedger(), actions: r.actions });
    await consume(status('a', 'SUBMITTED', 2));
    await consume(status('b', 'SUBMITTED', 2));
    expect(r.seen).toEqual(['a:SUBMITTED:2', 'b:SUBMITTED:2']);
  });

  it('handles a received SMS once per id', async () => {
    const r = recorder();
    const consume = createConsumer({ ledger: new MemoryLedger(), actions: r.actions });
    expect(await consume(received('MO#4b6f'))).toMatchObject({ outcome: 'handled', detailType: 'SmsReceived' });
    expect(await consume(received('MO#4b6f'))).toMatchObject({ outcome: 'duplicate' });
    expect(r.seen).toEqual(['MO#4b6f:received']);
  });

  it('handles a status without a version every time (nothing to order it by)', async () => {
    const r = recorder();
    const consume = createConsumer({ ledger: new MemoryLedger(), actions: r.actions });
    await consume(status('old', 'DELIVERED', null));
    await consume(status('old', 'DELIVERED', null));
    expect(r.seen).toEqual(['old:DELIVERED:null', 'old:DELIVERED:null']);
  });

  it('ignores events that are not the connector\'s, and malformed details, without calling the actions', async () => {
    const r = recorder();
    const consume = createConsumer({ ledger: new MemoryLedger(), actions: r.actions });
    expect(await consume(event('SmsStatusChanged', { id: 'x', status: 'DELIVERED', version: 1 }, 'someone.else'))).toMatchObject({ outcome: 'ignored' });
    expect(await consume(event('OrderPlaced', { id: 'x' }))).toMatchObject({ outcome: 'ignored' });
    expect(await consume(event('SmsStatusChanged', { status: 'DELIVERED' }))).toEqual({ outcome: 'ignored', reason: 'detail has no id' });
    expect(await consume(event('SmsStatusChanged', { id: 'x', status: 'DELIVERED', version: 'seven' }))).toMatchObject({ outcome: 'ignored' });
    expect(r.seen).toEqual([]);
  });

  it('remembers at most its capacity of ids, forgetting the least recently advanced first', async () => {
    const ledger = new MemoryLedger(2);
    await ledger.advance('a', 1);
    await ledger.advance('b', 1);
    await ledger.advance('a', 2);
    await ledger.advance('c', 1);
    // b went first: a was advanced after it.
    expect(await ledger.advance('b', 1)).toEqual({ advanced: true, previous: undefined });
    expect(await ledger.advance('c', 1)).toEqual({ advanced: false, recorded: 1 });
  });
});
