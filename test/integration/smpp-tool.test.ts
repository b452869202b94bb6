import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../service/src/config.js';
import { silentLogger } from '../../service/src/logger.js';
import { exactKey, smscIdKeys } from '../../service/src/core/receipt-keys.js';
import { SmscSimulator } from '../../service/src/sim/smsc-simulator.js';
import { sendDirect } from '../../service/src/tools/smpp-tool.js';
import { startScriptedSmsc } from '../support/scripted-smsc.js';

// Counted, not replaced: the tool's matching cost shows in how often it derives correlation keys.
vi.mock('../../service/src/core/receipt-keys.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../service/src/core/receipt-keys.js')>();
  return { ...original, smscIdKeys: vi.fn(original.smscIdKeys), exactKey: vi.fn(original.exactKey) };
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  vi.mocked(smscIdKeys).mockClear();
  vi.mocked(exactKey).mockClear();
});

/** The tool's configuration for an SMSC on loopback, read through the real loader. */
function configFor(port: number) {
  return loadConfig({
    SMPP_HOST: '127.0.0.1',
    SMPP_PORT: String(port),
    SMPP_TLS: 'false',
    SMPP_SYSTEM_ID: 'test',
    SMPP_PASSWORD: 'secret',
    MPS_PER_BIND: '2000',
    WINDOW_SIZE: '50',
    OUTBOUND_QUEUE_URL: 'http://unused.invalid',
    MESSAGES_TABLE: 'unused',
    AWS_REGION: 'us-east-1',
  });
}

/** Receipts come `receiptDelayMs` after each response: later than the last response, so the tool is waiting for them. */
async function simulator(receiptDelayMs: number) {
  const sim = new SmscSimulator({ accounts: [{ systemId: 'test', password: 'secret', mps: 2000 }], receiptDelayMs });
  const { port } = await sim.start();
  cleanups.push(() => sim.stop());
  return { sim, port };
}

const send = (port: number, count: number, receiptTimeoutMs = 10_000) =>
  sendDirect(configFor(port), silentLogger, { to: '+6591234567', from: '8x8', text: 'Hello', count, waitReceipts: true, receiptTimeoutMs });

describe('npm run smpp -- send --wait-receipts', () => {
  it('acknowledges every receipt, the last one included, before it unbinds', async () => {
    // Prepare: receipts 100 ms after each response, so the tool is already waiting for them.
    const smsc = await startScriptedSmsc({ receiptDelayMs: 100 });
    cleanups.push(() => smsc.stop());
    // Act
    const report = await send(smsc.port, 5);
    // Assess: every deliver_sm_resp went out before the unbind; none came too late.
    expect(report).toMatchObject({ accepted: 5, receiptsMissing: 0, duplicateReceipts: 0 });
    expect(smsc.answeredAfterUnbind).toBe(0);
    expect(smsc.acked).toBe(5);
  });

  it('counts messages, not receipt copies: a duplicate does not hide a message that got none', async () => {
    // Prepare: message 0 gets its receipt twice, message 1 none, messages 2 and 3 once.
    const smsc = await startScriptedSmsc({ copiesOf: (n) => [2, 0, 1, 1][n] ?? 1 });
    cleanups.push(() => smsc.stop());
    // Act: every receipt has been handled once the submits are answered, so a short wait is enough.
    const report = await send(smsc.port, 4, 200);
    // Assess
    expect(report).toMatchObject({ accepted: 4, receipts: { DELIVERED: 3 }, receiptsMissing: 1, duplicateReceipts: 1, unmatchedReceipts: 0 });
    expect(smsc.acked).toBe(4);
  });

  it('matches each receipt in constant time, not by scanning the receipts so far', async () => {
    // Prepare: the simulator's receipts come once every submit is answered (300 at 2000/s take ~150 ms).
    const { sim, port } = await simulator(500);
    const count = 300;
    // Act
    const report = await send(port, count);
    // Assess: a few key derivations per submit and per receipt; a rescan per arrival needs ~count²/2.
    expect(report).toMatchObject({ accepted: count, receiptsMissing: 0 });
    expect(sim.stats.receiptsAcked).toBe(count);
    expect(vi.mocked(smscIdKeys).mock.calls.length + vi.mocked(exactKey).mock.calls.length).toBeLessThanOrEqual(5 * count);
  });
});
