import { describe, expect, it } from 'vitest';
import { RequestWindow } from '../../service/src/smpp/window.js';
import { FakeClock } from '../support/fake-clock.js';

describe('RequestWindow', () => {
  it('resolves a request with its response and frees the slot', async () => {
    const clock = new FakeClock();
    const window = new RequestWindow<string>(2, clock);
    const pending = window.track(7, 1000);

    expect(window.complete(7, 'resp')).toBe(true);

    await expect(pending).resolves.toBe('resp');
    expect(window.outstanding).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects a request whose response does not come before its deadline', async () => {
    const clock = new FakeClock();
    const window = new RequestWindow<string>(2, clock);
    const pending = window.track(1, 1000);

    clock.advance(999);
    expect(window.outstanding).toBe(1);
    clock.advance(1);

    await expect(pending).rejects.toEqual({ kind: 'timeout' });
    expect(window.complete(1, 'late')).toBe(false);
  });

  it('times out each request at its own deadline, whatever the order they were sent in', async () => {
    const clock = new FakeClock();
    const window = new RequestWindow<string>(4, clock);
    const outcomes: string[] = [];
    const watch = (name: string, p: Promise<string>) => p.then(() => outcomes.push(`${name} answered`), () => outcomes.push(`${name} timed out`));
    const all = [watch('a', window.track(1, 1000))];
    clock.advance(100);
    all.push(watch('b', window.track(2, 300)), watch('c', window.track(3, 2000)));
    clock.advance(100);
    window.complete(1, 'resp');

    clock.advance(199); // t = 399
    expect(window.outstanding).toBe(2);
    clock.advance(1); // t = 400: b's deadline
    expect(window.outstanding).toBe(1);
    clock.advance(1699); // t = 2099
    expect(window.outstanding).toBe(1);
    clock.advance(1); // t = 2100: c's deadline
    expect(window.outstanding).toBe(0);
    await Promise.all(all);

    expect(outcomes).toEqual(['a answered', 'b timed out', 'c timed out']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('fails every outstanding request at once when the link closes', async () => {
    const clock = new FakeClock();
    const window = new RequestWindow<string>(3, clock);
    const all = [1, 2, 3].map((seq) => window.track(seq, 60_000));

    expect(window.failAll('socket closed')).toBe(3);

    for (const p of all) await expect(p).rejects.toEqual({ kind: 'closed', reason: 'socket closed' });
    expect(window.outstanding).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('refuses to track beyond its size and wakes a waiter when a slot frees', async () => {
    const clock = new FakeClock();
    const window = new RequestWindow<string>(1, clock);
    void window.track(1, 1000);
    expect(() => window.track(2, 1000)).toThrow(/window is full/);
    let woke = false;
    const slot = window.waitForSlot().then(() => (woke = true));

    await Promise.resolve();
    expect(woke).toBe(false);
    window.complete(1, 'ok');
    await slot;

    expect(woke).toBe(true);
  });

  it('ignores a response for a sequence number it never saw', () => {
    const window = new RequestWindow<string>(1, new FakeClock());
    expect(window.complete(42, 'stray')).toBe(false);
  });

  it('does not take a response of the wrong kind for the answer, and the request still times out', async () => {
    const clock = new FakeClock();
    const window = new RequestWindow<string>(1, clock);
    const pending = window.track(5, 1000, (r) => r === 'submit_sm_resp');

    expect(window.complete(5, 'enquire_link_resp')).toBe(false);
    expect(window.outstanding).toBe(1);
    clock.advance(1000);

    await expect(pending).rejects.toEqual({ kind: 'timeout' });
  });
});

describe('RequestWindow.idle', () => {
  it('resolves at once when nothing is outstanding', async () => {
    const window = new RequestWindow<string>(2, new FakeClock());

    await expect(window.idle()).resolves.toBeUndefined();
  });

  it('resolves once the last outstanding request ends, answered or timed out', async () => {
    const clock = new FakeClock();
    const window = new RequestWindow<string>(2, clock);
    const answered = window.track(1, 1000);
    const expires = window.track(2, 500).catch((f: unknown) => f);
    let idle = false;
    const waiting = window.idle().then(() => (idle = true));

    window.complete(1, 'resp');
    await answered;
    expect(idle).toBe(false);
    clock.advance(500);
    await expires;
    await waiting;

    expect(idle).toBe(true);
  });
});
