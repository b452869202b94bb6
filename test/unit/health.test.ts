import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { EventLoopWatch, startHealthServer } from '../../service/src/health.js';
import { FakeClock } from '../support/fake-clock.js';

/** A FakeClock whose time can also jump without firing timers: what a blocked event loop looks like. */
class StallableClock extends FakeClock {
  #offset = 0;
  override now(): number {
    return super.now() + this.#offset;
  }
  stall(ms: number): void {
    this.#offset += ms;
  }
}

describe('EventLoopWatch', () => {
  it('reports no delay while its heartbeat runs on time', () => {
    const clock = new FakeClock();
    const watch = new EventLoopWatch(clock, 1000).start();
    clock.advance(10_000);
    expect(watch.delayMs()).toBe(0);
    watch.stop();
  });

  it('reports a stall while it lasts, and for one beat after the loop recovers', () => {
    const clock = new StallableClock();
    const watch = new EventLoopWatch(clock, 1000).start();
    clock.advance(500);
    clock.stall(20_000);
    expect(watch.delayMs()).toBe(19_500);
    clock.advance(500); // the late beat fires
    expect(watch.delayMs()).toBe(20_000);
    clock.advance(1000); // the next beat is on time
    expect(watch.delayMs()).toBe(0);
    watch.stop();
  });

  it('stops its heartbeat', () => {
    const clock = new FakeClock();
    const watch = new EventLoopWatch(clock).start();
    watch.stop();
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('health server', () => {
  it('answers /healthz 200 while not ready, /readyz 503', async () => {
    const server = await startHealthServer(0, () => ({ ok: false, detail: { binds: { tx: 0, rx: 0 } } }));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const live = await fetch(`${base}/healthz`);
      expect(live.status).toBe(200);
      expect(await live.json()).toMatchObject({ ok: true, eventLoopDelayMs: expect.any(Number) });
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ ok: false, binds: { tx: 0, rx: 0 } });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('fails /healthz once the event loop has been blocked longer than allowed', async () => {
    const clock = new StallableClock();
    const server = await startHealthServer(0, () => ({ ok: true, detail: {} }), { clock, maxEventLoopDelayMs: 10_000 });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`;
    try {
      clock.stall(15_000);
      const res = await fetch(url);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ ok: false, eventLoopDelayMs: 14_000 });
    } finally {
      await new Promise((r) => server.close(r));
    }
    expect(clock.pendingTimers).toBe(0);
  });
});
