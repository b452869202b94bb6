/**
 * The SMSC simulator in a process of its own (see children.ts). Like `npm run smsc-sim`, plus what
 * the bench needs from the outside: counters with the simulator's own CPU time, acceptance times,
 * and link drops on demand. Its records of submissions and receipts are emptied every second:
 * the bench never reads them, and over a long run they would only grow.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { SmscSimulator } from '../../service/src/sim/smsc-simulator.js';
import { serve } from './children.js';

/** Settings of one simulator run. */
export interface SimSettings {
  /** Accepted submit_sm per bind in any 1-second window (ESME_RTHROTTLED beyond). */
  mps: number;
  maxBinds: number;
  responseDelayMs: number;
  receiptDelayMs: number;
  seed: number;
  /** Keep the arrival time of every accepted submit (for rate-over-time). */
  recordAcceptances: boolean;
  /** Also listen with TLS (a self-signed certificate; `start` returns its port and CA). */
  tls?: boolean;
  /** How long a deliver_sm may stay unanswered before it is sent again (the simulator's default: 5 s). */
  deliverTimeoutMs?: number;
}

/** Counters as the bench reads them. */
export interface SimCounters {
  accepted: number;
  throttled: number;
  receiptsAcked: number;
  /** deliver_sm receipts written, redeliveries included. */
  receiptsSent: number;
  /** Receipts the ESME answered too late (the simulator waits 5 s) or with an error; each is sent again. */
  receiptsTimedOut: number;
  receiptsNacked: number;
  binds: number;
  /** CPU time of the simulator process so far, µs (user + system). */
  cpuMicros: number;
  /**
   * Longest event-loop stall since start, ms. The simulator stamps a submit's arrival when its loop
   * reads it: a stall longer than the client's margin bunches arrivals that left evenly paced.
   */
  loopDelayMaxMs: number;
}

let sim: SmscSimulator | undefined;
let acceptances: number[] = [];
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();

const trim = setInterval(() => {
  sim?.submissions.splice(0);
  sim?.acknowledgedReceipts.splice(0);
}, 1000);
trim.unref();

function current(): SmscSimulator {
  if (!sim) throw new Error('no simulator running: call start first');
  return sim;
}

serve({
  async start(s: SimSettings): Promise<{ port: number; tlsPort?: number; caPem?: string }> {
    if (sim) await sim.stop();
    acceptances = [];
    loopDelay.reset();
    sim = new SmscSimulator({
      accounts: [{ systemId: 'bench', password: 'secret', maxBinds: s.maxBinds, mps: s.mps }],
      responseDelayMs: s.responseDelayMs,
      receiptDelayMs: s.receiptDelayMs,
      seed: s.seed,
      tls: s.tls === true ? {} : false,
      ...(s.deliverTimeoutMs !== undefined && { deliverTimeoutMs: s.deliverTimeoutMs }),
    });
    // Wall-clock milliseconds with sub-ms precision: comparable with the bench's own clock.
    if (s.recordAcceptances) sim.on('submit', () => acceptances.push(performance.timeOrigin + performance.now()));
    const { port, tlsPort } = await sim.start();
    return { port, ...(tlsPort !== undefined && { tlsPort, caPem: sim.caPem ?? '' }) };
  },
  counters(): SimCounters {
    const stats = current().stats;
    const cpu = process.cpuUsage();
    return {
      accepted: stats.accepted,
      throttled: stats.throttled,
      receiptsAcked: stats.receiptsAcked,
      receiptsSent: stats.receiptsSent,
      receiptsTimedOut: stats.receiptsTimedOut,
      receiptsNacked: stats.receiptsNacked,
      binds: stats.binds,
      cpuMicros: cpu.user + cpu.system,
      loopDelayMaxMs: loopDelay.max / 1e6,
    };
  },
  /** Acceptance times recorded since start (epoch ms), then forgets them. */
  takeAcceptances(): number[] {
    const out = acceptances;
    acceptances = [];
    return out;
  },
  drop(): number {
    return current().dropAllSessions();
  },
  async stop(): Promise<void> {
    await sim?.stop();
    sim = undefined;
  },
});
