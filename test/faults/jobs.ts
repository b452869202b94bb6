import type { SmsInput } from '../../service/src/tools/client.js';
import type { ReceiptStat } from '../../service/src/sim/smsc-simulator.js';

/** One job of a fault run, with what the ledger needs to find it at the SMSC. */
export interface FaultJob {
  id: string;
  /** Unique per run, so the simulator's records map back to the job. */
  destination: string;
  /** SMS parts the text needs (the record's `segments` should agree). */
  parts: number;
  input: SmsInput & { id: string };
}

/** 200 GSM-7 characters: two concatenated parts (153 + 47). */
const LONG_FILLER = 'Long message under a fault: every part must arrive once, receipts for each part must be stored. '.repeat(3);

/**
 * `count` jobs with ids `<prefix>-<n>`. One in ten is a two-part message, so faults also hit
 * concatenation (a part accepted, the next one lost). Destinations are `+6598nnnnnn`.
 */
export function makeJobs(prefix: string, count: number): FaultJob[] {
  return Array.from({ length: count }, (_, n) => {
    const long = n % 10 === 9;
    const destination = `6598${String(n).padStart(6, '0')}`;
    const text = long ? `${n}: ${LONG_FILLER}`.slice(0, 200) : `Fault matrix job ${n}`;
    const id = `${prefix}-${n}`;
    return { id, destination, parts: long ? 2 : 1, input: { id, to: `+${destination}`, from: '8x8', text } };
  });
}

/** The simulator's receipt outcome for the matrix: about 1 % undeliverable, so both final states appear. */
export function receiptOutcome(destination: string): ReceiptStat {
  return destination.endsWith('13') ? 'UNDELIV' : 'DELIVRD';
}
