import { createServer, type Server } from 'node:http';
import { systemClock, type Clock } from './clock.js';

/** Options for {@link startHealthServer}. */
export interface HealthOptions {
  /**
   * `/healthz` fails while the event loop is, or just was, this late, in ms. The default is the
   * default response timeout: a loop that late has already failed the requests of every bind.
   * @defaultValue 10000
   */
  maxEventLoopDelayMs?: number;
  /** @defaultValue systemClock */
  clock?: Clock;
}

/**
 * How late the event loop runs, from a heartbeat timer: the longer of the current silence
 * beyond the beat and the lateness of the last beat (so a check answered right after a long
 * block still sees it, for one beat).
 */
export class EventLoopWatch {
  #lastBeat: number;
  #lastLateness = 0;
  #timer: unknown;
  #stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly beatMs = 1000,
  ) {
    this.#lastBeat = clock.now();
  }

  /** Starts the heartbeat (its timer is unref'd by the system clock). */
  start(): this {
    this.#schedule();
    return this;
  }

  /** Ends the heartbeat; safe to call twice. */
  stop(): void {
    this.#stopped = true;
    this.clock.clearTimeout(this.#timer);
  }

  /** Milliseconds the loop is (or was, at the last beat) behind its heartbeat. */
  delayMs(): number {
    const silence = this.clock.now() - this.#lastBeat - this.beatMs;
    return Math.max(0, silence, this.#lastLateness);
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = this.clock.setTimeout(() => {
      const now = this.clock.now();
      this.#lastLateness = Math.max(0, now - this.#lastBeat - this.beatMs);
      this.#lastBeat = now;
      this.#schedule();
    }, this.beatMs);
  }
}

/**
 * The health endpoints.
 *
 * `/healthz` is liveness, what the ECS container health check calls: it answers from the
 * event loop, and fails when that loop has been blocked for long (a wedged process that
 * a restart fixes). It never depends on the SMSC: an 8x8 outage or refused binds must not
 * get healthy tasks killed and replaced, which only adds bind attempts.
 *
 * `/readyz` is readiness, at least one bind can send and one can receive: for the local
 * launcher and operators. In AWS it is a metric (`BindsBound`) and the `NoBoundBinds` alarm.
 */
export function startHealthServer(
  port: number,
  ready: () => { ok: boolean; detail: Record<string, unknown> },
  options: HealthOptions = {},
): Promise<Server> {
  const maxDelayMs = options.maxEventLoopDelayMs ?? 10_000;
  const watch = new EventLoopWatch(options.clock ?? systemClock).start();
  const server = createServer((req, res) => {
    if (req.url === '/healthz') {
      const eventLoopDelayMs = watch.delayMs();
      const ok = eventLoopDelayMs <= maxDelayMs;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok, eventLoopDelayMs }));
      return;
    }
    if (req.url === '/readyz') {
      const r = ready();
      res.writeHead(r.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: r.ok, ...r.detail }));
      return;
    }
    res.writeHead(404).end();
  });
  server.once('close', () => watch.stop());
  return new Promise((resolve, reject) => {
    server.once('error', (err) => {
      watch.stop();
      reject(err);
    });
    server.listen(port, () => resolve(server));
  });
}
