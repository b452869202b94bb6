/**
 * The service alone in a process of its own, for cpu.ts: built by `startService` exactly as the
 * production entry point builds it (its own SDK clients, pino at the configured level into
 * /dev/null, or the file CPU_BENCH_LOG names), so this process's CPU time is the service's and nothing else's. On request, the V8
 * sampling profiler runs over the measured window only (startup and module loading stay out).
 */
import { subscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { pino } from 'pino';
import { loadConfig } from '../../service/src/config.js';
import { createLogger } from '../../service/src/logger.js';
import { startService, type RunningService } from '../../service/src/main.js';
import { serve } from './children.js';

export interface CpuWindow {
  cpuMicros: number;
  /** Of which in the kernel (system time). */
  systemMicros: number;
  wallMs: number;
  /** HTTP requests the SDK clients sent in the window, by X-Amz-Target (the AWS operation). */
  calls: Record<string, number>;
  /**
   * Times the event loop's thread went to sleep in the window (its voluntary context switches, from
   * /proc): each is a wake-up later, which on a virtual machine costs CPU of its own. Absent off Linux.
   */
  sleeps?: number;
}

/** The main thread's voluntary context switches so far, or undefined where /proc has none. */
function sleeps(): number | undefined {
  try {
    const m = /^voluntary_ctxt_switches:\s+(\d+)$/m.exec(readFileSync(`/proc/self/task/${process.pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function since(from: number | undefined): { sleeps?: number } {
  const now = sleeps();
  return from === undefined || now === undefined ? {} : { sleeps: now - from };
}

let calls: Record<string, number> = {};
subscribe('http.client.request.start', (message) => {
  const target = String((message as { request: ClientRequest }).request.getHeader('x-amz-target') ?? 'other');
  calls[target] = (calls[target] ?? 0) + 1;
});

let service: RunningService | undefined;
let window: { cpu: NodeJS.CpuUsage; at: number; profile: string | undefined; slept: number | undefined } | undefined;
let session: Session | undefined;

function current(): RunningService {
  if (!service) throw new Error('no service running: call start first');
  return service;
}

serve({
  async start(env: Record<string, string>): Promise<void> {
    if (service) throw new Error('a service is running already');
    Object.assign(process.env, env);
    const config = loadConfig(env);
    const logger = createLogger(config.logLevel, pino.destination({ dest: process.env['CPU_BENCH_LOG'] ?? '/dev/null', sync: true }));
    service = await startService(config, { logger });
  },
  status(): { tx: number; rx: number; inFlight: number } {
    const s = current();
    const r = s.smpp.readiness();
    return { tx: r.tx, rx: r.rx, inFlight: s.outbound.inFlight };
  },
  /** CPU µs used over `ms` of doing nothing asked of it (bound, queue empty): the idle rate. */
  async idle(ms: number): Promise<CpuWindow> {
    const at = performance.now();
    const from = process.cpuUsage();
    const slept = sleeps();
    await new Promise((r) => setTimeout(r, ms));
    const used = process.cpuUsage(from);
    return { cpuMicros: used.user + used.system, systemMicros: used.system, wallMs: performance.now() - at, calls: {}, ...since(slept) };
  },
  /** Opens the measured window; with `profile` (a path), samples it with the V8 profiler. */
  async begin(profile?: string): Promise<void> {
    if (profile !== undefined) {
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 500 });
      await session.post('Profiler.start');
    }
    calls = {};
    window = { cpu: process.cpuUsage(), at: performance.now(), profile, slept: sleeps() };
  },
  async end(): Promise<CpuWindow> {
    if (!window) throw new Error('no window open');
    const used = process.cpuUsage(window.cpu);
    const out = { cpuMicros: used.user + used.system, systemMicros: used.system, wallMs: performance.now() - window.at, calls, ...since(window.slept) };
    if (window.profile !== undefined && session) {
      const { profile } = await session.post('Profiler.stop');
      await writeFile(window.profile, JSON.stringify(profile));
      session.disconnect();
    }
    window = undefined;
    return out;
  },
  async stop(): Promise<void> {
    await service?.stop();
    service = undefined;
  },
});
