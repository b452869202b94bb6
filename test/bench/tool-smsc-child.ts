/**
 * The SMSC of the operator-tool scenario (tool.ts) in a process of its own (see children.ts):
 * either the project's simulator, unthrottled, or the independent SMSC of test/support (written
 * from the specification, no `smpp` package). Both answer at once and send each receipt as soon
 * as its submit is answered. The clients under test are timed here, on the SMSC's side, the same
 * way for both: from the first submit_sm read to the last submit_sm_resp written, and to the last
 * deliver_sm_resp read. Records the servers keep for tests are emptied every second.
 */
import { SmscSimulator } from '../../service/src/sim/smsc-simulator.js';
import { IndependentSmsc } from '../support/independent-smsc.js';
import { serve } from './children.js';
import { SIM_ACCOUNT } from './sim-process.js';

export type ToolSmscKind = 'simulator' | 'independent';

/** One client run as the SMSC saw it; times are this process's performance.now(), ms. */
export interface ToolSmscWindow {
  submits: number;
  receiptsAcked: number;
  firstSubmitAt: number;
  lastSubmitRespAt: number;
  lastReceiptAckAt: number;
  /** CPU time of this process over the run, µs (user + system). */
  cpuMicros: number;
}

let sim: SmscSimulator | undefined;
let independent: IndependentSmsc | undefined;
let w = fresh();
let cpuAtReset = process.cpuUsage();

function fresh(): Omit<ToolSmscWindow, 'cpuMicros'> {
  return { submits: 0, receiptsAcked: 0, firstSubmitAt: NaN, lastSubmitRespAt: NaN, lastReceiptAckAt: NaN };
}

function submitRead(): void {
  if (Number.isNaN(w.firstSubmitAt)) w.firstSubmitAt = performance.now();
}

function submitAnswered(): void {
  w.submits += 1;
  w.lastSubmitRespAt = performance.now();
}

function receiptAcked(): void {
  w.receiptsAcked += 1;
  w.lastReceiptAckAt = performance.now();
}

const trim = setInterval(() => {
  sim?.submissions.splice(0);
  sim?.acknowledgedReceipts.splice(0);
  if (independent) {
    independent.submissions.splice(0);
    independent.delivers.splice(0);
    independent.binds.splice(0);
  }
}, 1000);
trim.unref();

async function stopAll(): Promise<void> {
  await sim?.stop();
  await independent?.stop();
  sim = undefined;
  independent = undefined;
}

serve({
  async start(s: { kind: ToolSmscKind }): Promise<{ port: number }> {
    await stopAll();
    if (s.kind === 'simulator') {
      const smsc = new SmscSimulator({
        accounts: [{ systemId: SIM_ACCOUNT.systemId, password: SIM_ACCOUNT.password, maxBinds: 8, mps: 10_000_000 }],
        responseDelayMs: 0,
        receiptDelayMs: 0,
        seed: 1,
      });
      // 'submit' is the acceptance, stamped as the submit is read; the response follows in the same turn.
      smsc.on('submit', submitRead);
      smsc.on('submit-responded', submitAnswered);
      smsc.on('receipt-acked', receiptAcked);
      sim = smsc;
      const { port } = await smsc.start();
      return { port };
    }
    const smsc = new IndependentSmsc({ systemId: SIM_ACCOUNT.systemId, password: SIM_ACCOUNT.password });
    // It reads, answers and then announces each PDU: the last one read tells what was just done.
    let seen = 0;
    smsc.waitFor(
      () => {
        if (smsc.received.length === seen) return false;
        const last = smsc.received[smsc.received.length - 1];
        if (last?.pdu.command === 'submit_sm') {
          submitRead();
          submitAnswered();
        } else if (last?.pdu.command === 'deliver_sm_resp' && last.pdu.commandStatus === 0) receiptAcked();
        // Its record of every PDU read would only grow: emptied here, where it is counted.
        if (smsc.received.length >= 10_000) smsc.received.splice(0);
        seen = smsc.received.length;
        return false;
      },
      'the end of the bench',
      2 ** 31 - 1,
    ).catch(() => undefined);
    independent = smsc;
    return { port: await smsc.start() };
  },
  /** Forgets the last run's times and counts. */
  reset(): void {
    w = fresh();
    cpuAtReset = process.cpuUsage();
  },
  window(): ToolSmscWindow {
    const cpu = process.cpuUsage(cpuAtReset);
    return { ...w, cpuMicros: cpu.user + cpu.system };
  },
  stop: stopAll,
});
