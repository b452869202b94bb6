/**
 * The reference point of the operator-tool scenario (tool.ts), in a fresh process per run as the
 * tool is: the bare windowed loop of baselines.ts on one transmitter of the bare `smpp` package,
 * asking for receipts, beside one bare receiver that answers every deliver_sm at once. What anyone
 * would write in a few lines; it sends the very submit_sm bytes the tool sends.
 */
import { makePdu, smpp, type Pdu, type Session } from '../../service/src/smpp/codec.js';
import { submitSmFields } from '../../service/src/smpp/submit.js';
import { bareBinds, bareWindowedLoop, closeBare } from './baselines.js';
import { serve } from './children.js';
import { SIM_ACCOUNT } from './sim-process.js';
import { benchPart } from './smpp-setup.js';

export interface BareRunRequest {
  port: number;
  window: number;
  count: number;
  receiptTimeoutMs: number;
}

export interface BareRunResult {
  accepted: number;
  receipts: number;
  /** Its own view, for comparison with the tool's own report: first send to last response, ms. */
  elapsedMs: number;
  /** CPU of this process from the first send to the last receipt, µs (user + system). */
  cpuMicros: number;
}

function bindReceiver(port: number, onDeliver: () => void): Promise<Session> {
  return new Promise((resolve, reject) => {
    const session = smpp.connect({ host: '127.0.0.1', port });
    session.on('error', reject);
    session.on('deliver_sm', (pdu: Pdu) => {
      session.send(pdu.response());
      onDeliver();
    });
    session.once('connect', () => {
      session.send(makePdu('bind_receiver', { system_id: SIM_ACCOUNT.systemId, password: SIM_ACCOUNT.password, interface_version: 0x34 }), (resp: Pdu) =>
        resp.command_status === 0 ? resolve(session) : reject(new Error(`bare receiver bind refused: ${resp.command_status}`)),
      );
    });
  });
}

serve({
  async run(r: BareRunRequest): Promise<BareRunResult> {
    let receipts = 0;
    let allIn: () => void = () => undefined;
    const receiver = await bindReceiver(r.port, () => {
      receipts += 1;
      if (receipts >= r.count) allIn();
    });
    const senders = await bareBinds(r.port, 1);
    try {
      const cpu = process.cpuUsage();
      const started = performance.now();
      const { accepted } = await bareWindowedLoop(senders, submitSmFields(benchPart(true)), { count: r.count, window: r.window });
      const elapsedMs = performance.now() - started;
      if (receipts < r.count) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, r.receiptTimeoutMs);
          allIn = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      const used = process.cpuUsage(cpu);
      return { accepted, receipts, elapsedMs, cpuMicros: used.user + used.system };
    } finally {
      await closeBare([...senders, receiver]);
    }
  },
});
