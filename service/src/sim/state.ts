/**
 * What the simulator's parts share (docs/architecture.md §6): the resolved options, the faults now
 * in force, the live counters, the seeded PRNG, whether it is listening, and the event hook. One
 * object, made by `SmscSimulator` and handed to each part (sessions, requests, submits,
 * deliveries), so no part reaches into another's fields for them.
 */
import type { ResolvedOptions, SimLogger, SmscFaults } from './options.js';
import type { Prng } from './prng.js';
import type { SmscSimulatorEvents, SmscStats } from './types.js';

/** Emits a simulator event and re-checks every `waitFor`. */
export type Notify = <K extends keyof SmscSimulatorEvents>(event: K, ...args: SmscSimulatorEvents[K]) => void;

export interface SimState {
  readonly opts: ResolvedOptions;
  readonly logger: SimLogger;
  readonly prng: Prng;
  /** Live counters (the object `stats` returns). */
  readonly counters: SmscStats;
  /** The faults now in force: replaced by `setFaults()`; `dropAfterSubmits` clears itself once it fired. */
  faults: SmscFaults;
  /** Submits left before `dropAfterSubmits` fires. */
  dropCountdown: number | undefined;
  /** Listening: while false a new connection is cut and deliveries wait in the held queue. */
  running: boolean;
  notify: Notify;
}

/** Counters at zero. */
export function zeroStats(): SmscStats {
  return {
    accepted: 0,
    throttled: 0,
    failedByFault: 0,
    swallowed: 0,
    dropped: 0,
    receiptsSent: 0,
    receiptsAcked: 0,
    receiptsNacked: 0,
    receiptsTimedOut: 0,
    moSent: 0,
    moAcked: 0,
    binds: 0,
    bindRefusals: 0,
  };
}

/** Draws from the PRNG only for active faults, so a run's decisions depend on the faults set, not on call order elsewhere. */
export function chance(state: SimState, rate: number): boolean {
  return rate > 0 && state.prng() < rate;
}
