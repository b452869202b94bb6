import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { BindError, ErrorCode } from '../../service/src/errors.js';
import { MetricName, type Metrics } from '../../service/src/metrics.js';
import { toSmppAddress } from '../../service/src/smpp/address.js';
import type { CredentialsProvider } from '../../service/src/smpp/bind.js';
import { SmppClient, type SmppClientOptions, type SubmitResult } from '../../service/src/smpp/client.js';
import type { DeliverFields } from '../../service/src/smpp/receipt.js';
import { segmentText } from '../../service/src/smpp/segment.js';
import type { OutboundPart } from '../../service/src/smpp/submit.js';
import { SmscSimulator, type SmscSimulatorOptions } from '../../service/src/sim/smsc-simulator.js';
import { startLoopbackClient } from '../support/loopback-client.js';

const fastBackoff = { baseMs: 20, maxMs: 200, authMinMs: 50, refusedMinMs: 50 };

class CountingCredentials implements CredentialsProvider {
  invalidations = 0;
  constructor(public systemId = 'test', public password = 'secret') {}
  get() {
    return Promise.resolve({ systemId: this.systemId, password: this.password });
  }
  invalidate() {
    this.invalidations += 1;
  }
}

function countingMetrics(): Metrics & { counts: Map<string, number> } {
  const counts = new Map<string, number>();
  return {
    counts,
    increment: (name, value = 1) => counts.set(name, (counts.get(name) ?? 0) + value),
    observe: () => undefined,
    gauge: () => undefined,
  };
}

function part(text = 'Hello', to = '+6591234567'): OutboundPart {
  const [segment] = segmentText(text, { encoding: 'auto', concat: 'udh8', reference: 1 }).segments;
  if (!segment) throw new Error('no segment');
  return { source: toSmppAddress('8x8'), destination: toSmppAddress(to), segment, receipt: true };
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function simulator(options: SmscSimulatorOptions = {}) {
  const sim = new SmscSimulator(options);
  const ports = await sim.start();
  cleanups.push(() => sim.stop());
  return { sim, ports };
}

function client(port: number, overrides: Partial<SmppClientOptions> = {}) {
  const c = startLoopbackClient(port, { rxBinds: 1, backoff: fastBackoff, credentials: new CountingCredentials(), ...overrides });
  cleanups.push(() => c.stop(500));
  return c;
}

const ready = (c: SmppClient, tx = 1, rx = 1): Promise<void> => c.whenReady(tx, rx);

describe('SmppClient against the simulator', () => {
  it('binds over TLS 1.3 with the simulator CA, submits, and gets the receipt on the receiver', async () => {
    const { sim, ports } = await simulator({ tls: {} });
    const receipts: DeliverFields[] = [];
    const c = client(ports.tlsPort ?? 0, {
      tls: true,
      ca: sim.caPem ?? '',
      host: 'localhost',
      onDeliver: async (f) => {
        receipts.push(f);
      },
    });
    await ready(c);

    const result = await c.submit(part());
    await sim.waitFor(() => sim.acknowledgedReceipts.length === 1, 5000, 'receipt acknowledged');

    expect(result).toMatchObject({ kind: 'accepted' });
    expect(c.binds.map((b) => b.session?.tlsInfo()?.protocol)).toEqual(['TLSv1.3', 'TLSv1.3']);
    expect(receipts[0]?.receiptedMessageId).toBe(result.kind === 'accepted' ? result.smscMessageId : 'none');
    expect(sim.submissions[0]).toMatchObject({ destinationAddr: '6591234567', destTon: 1, destNpi: 1, sourceTon: 5, dataCoding: 0, text: 'Hello' });
  });

  it('refuses a certificate it does not trust', async () => {
    const { ports } = await simulator({ tls: {} });
    const c = client(ports.tlsPort ?? 0, { tls: true, host: 'localhost', txBinds: 1, rxBinds: 0, trxBinds: 0 });
    const bind = c.binds[0];
    if (!bind) throw new Error('no bind');

    const [err] = (await once(bind, 'bind-failed')) as [BindError];

    expect(err.code).toBe(ErrorCode.SMPP_CONNECT);
    expect(err.message).toMatch(/self.signed|certificate/i);
    expect(c.readiness().tx).toBe(0);
  });

  it('reports a wrong password as an authentication failure and re-reads the credentials', async () => {
    const { ports } = await simulator();
    const credentials = new CountingCredentials('test', 'wrong');
    const c = client(ports.port, { credentials, txBinds: 1, rxBinds: 0 });
    const bind = c.binds[0];
    if (!bind) throw new Error('no bind');

    const [err] = (await once(bind, 'bind-failed')) as [BindError];

    expect(err.code).toBe(ErrorCode.SMPP_BIND_AUTH);
    expect(err.commandStatus).toBe(0x0e);
    expect(credentials.invalidations).toBe(1);
    credentials.password = 'secret';
    await ready(c, 1, 0);
  });

  it('backs off when the SMSC refuses a bind because the account is at its cap', async () => {
    const { sim, ports } = await simulator({ accounts: [{ systemId: 'test', password: 'secret', maxBinds: 1, mps: 50 }] });
    const c = client(ports.port, { txBinds: 1, rxBinds: 1 });
    const failed = once(c.binds[1] ?? c, 'bind-failed') as Promise<[BindError]>;

    const [err] = await failed;

    expect(err.code).toBe(ErrorCode.SMPP_BIND_REFUSED);
    expect(sim.boundCount('test')).toBe(1);
  });

  it('never has more requests outstanding than the window allows', async () => {
    const { sim, ports } = await simulator({ responseDelayMs: 20, accounts: [{ systemId: 'test', password: 'secret', maxBinds: 4, mps: 10_000 }] });
    const c = client(ports.port, { windowSize: 4, mpsPerBind: 10_000 });
    await ready(c);
    let maxOutstanding = 0;
    sim.on('submit', () => (maxOutstanding = Math.max(maxOutstanding, c.outstanding)));

    const results = await Promise.all(Array.from({ length: 60 }, () => c.submit(part())));

    expect(results.every((r) => r.kind === 'accepted')).toBe(true);
    expect(maxOutstanding).toBeGreaterThan(1);
    expect(maxOutstanding).toBeLessThanOrEqual(4);
  });

  it('paces submits so the SMSC never counts more than its per-bind limit in a second', async () => {
    const mps = 100;
    const { sim, ports } = await simulator({ accounts: [{ systemId: 'test', password: 'secret', maxBinds: 4, mps }] });
    // This simulator shares its event loop with the client and the CPU with the other test files: a
    // stall longer than the pacer's margin would bunch its arrival stamps (README, Performance). What
    // is tested here is the pacing rule, so the margin is wide enough for a loaded CI machine.
    const c = client(ports.port, { mpsPerBind: mps, windowSize: 20, txBinds: 2, pacerMarginMs: 250 });
    await ready(c, 2, 1);

    const results = await Promise.all(Array.from({ length: 400 }, () => c.submit(part())));

    expect(results.filter((r) => r.kind !== 'accepted')).toEqual([]);
    expect(sim.stats.throttled).toBe(0);
    const bySession = new Map<string, number[]>();
    for (const s of sim.submissions) bySession.set(s.sessionId, [...(bySession.get(s.sessionId) ?? []), s.receivedAt.getTime()]);
    expect(bySession.size).toBe(2);
    for (const times of bySession.values()) {
      for (let i = mps; i < times.length; i++) expect((times[i] ?? 0) - (times[i - mps] ?? 0)).toBeGreaterThanOrEqual(1000);
    }
  });

  it('re-sends throttled submits instead of failing them', async () => {
    const { sim, ports } = await simulator({ faults: { throttleRate: 0.3 }, accounts: [{ systemId: 'test', password: 'secret', maxBinds: 4, mps: 10_000 }] });
    const metrics = countingMetrics();
    const c = client(ports.port, { metrics, mpsPerBind: 2000 });
    await ready(c);

    const results = await Promise.all(Array.from({ length: 40 }, () => c.submit(part())));

    expect(results.map((r) => r.kind)).toEqual(Array(40).fill('accepted'));
    expect(sim.stats.throttled).toBeGreaterThan(0);
    expect(metrics.counts.get(MetricName.SubmitThrottled)).toBe(sim.stats.throttled);
    expect(sim.submissions).toHaveLength(40);
  });

  it('fails every pending submit at once when the link drops mid-window, then binds again', async () => {
    const { sim, ports } = await simulator({ responseDelayMs: 200, accounts: [{ systemId: 'test', password: 'secret', maxBinds: 4, mps: 10_000 }] });
    const c = client(ports.port, { windowSize: 10, mpsPerBind: 10_000, responseTimeoutMs: 10_000 });
    await ready(c);
    sim.setFaults({ dropAfterSubmits: 5 });
    const tx = c.binds[0];
    if (!tx) throw new Error('no bind');
    const rebound = new Promise((resolve) => tx.once('unbound', () => tx.once('bound', resolve)));

    const results: SubmitResult[] = await Promise.all(Array.from({ length: 30 }, () => c.submit(part())));
    await rebound;

    const unknown = results.filter((r) => r.kind === 'unknown');
    expect(unknown.length).toBeGreaterThan(0);
    expect(unknown.length).toBeLessThanOrEqual(10);
    expect(results.filter((r) => r.kind === 'accepted').length + unknown.length).toBe(30);
    expect(c.outstanding).toBe(0);
  });

  it('gives the receipt to whichever receiver the SMSC picks, not only the submitter', async () => {
    const { sim, ports } = await simulator();
    const c = client(ports.port, { rxBinds: 2 });
    await ready(c, 1, 2);

    await Promise.all(Array.from({ length: 6 }, () => c.submit(part())));
    await sim.waitFor(() => sim.acknowledgedReceipts.length === 6, 5000, 'six receipts');

    expect(new Set(sim.acknowledgedReceipts.map((r) => r.sessionId)).size).toBe(2);
  });

  it('answers ESME_RX_T_APPN when the handler fails, and the redelivered receipt is handled', async () => {
    const { sim, ports } = await simulator({ receiptRetryMs: 20 });
    let calls = 0;
    const c = client(ports.port, {
      onDeliver: async () => {
        calls += 1;
        if (calls === 1) throw new Error('store unavailable');
      },
    });
    await ready(c);

    await c.submit(part());
    await sim.waitFor(() => sim.acknowledgedReceipts.length === 1, 5000, 'receipt acknowledged after a retry');

    expect(sim.stats.receiptsNacked).toBe(1);
    expect(calls).toBe(2);
  });

  it('closes and rebinds when the SMSC stops answering enquire_link', async () => {
    const { sim, ports } = await simulator();
    const c = client(ports.port, { txBinds: 1, rxBinds: 0, enquireLinkIntervalMs: 600, responseTimeoutMs: 300 });
    await ready(c, 1, 0);
    sim.setFaults({ ignoreEnquireLink: true });
    const tx = c.binds[0];
    if (!tx) throw new Error('no bind');

    const [reason] = (await once(tx, 'unbound')) as [string];
    sim.setFaults({ ignoreEnquireLink: false });
    await once(tx, 'bound');

    expect(reason).toBe('enquire_link unanswered');
  });

  it('survives garbage on the socket: the link is closed and bound again', async () => {
    const { sim, ports } = await simulator();
    const c = client(ports.port);
    await ready(c);
    const rx = c.binds[1];
    if (!rx) throw new Error('no bind');
    const lost = once(rx, 'unbound');

    sim.sendGarbage(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await lost;
    await ready(c);

    expect((await c.submit(part())).kind).toBe('accepted');
  });
});
