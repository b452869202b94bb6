import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StatusStore } from '../../service/src/aws/status-store/index.js';
import { loadConfig } from '../../service/src/config.js';
import { STATUS_RANK } from '../../service/src/domain.js';
import { createQueues } from '../../service/src/local/emulators.js';
import { silentLogger } from '../../service/src/logger.js';
import { startService } from '../../service/src/main.js';
import { toSmppAddress } from '../../service/src/smpp/address.js';
import type { Bind } from '../../service/src/smpp/bind.js';
import { smpp } from '../../service/src/smpp/codec.js';
import { SmppClient, type SmppClientOptions } from '../../service/src/smpp/client.js';
import { segmentText } from '../../service/src/smpp/segment.js';
import type { OutboundPart } from '../../service/src/smpp/submit.js';
import { sendSms } from '../../service/src/tools/client.js';
import { useLocalAws } from '../support/aws.js';
import { startLoopbackClient } from '../support/loopback-client.js';
import { FuzzSmsc, HOSTILE_KINDS, STREAM_BREAKING_KINDS, rawPdu, type Attack, type FuzzSmscOptions, type HostileKind } from '../support/fuzz-smsc.js';
import { serviceEnv } from '../support/stack.js';
import { BIND_TRANSMITTER } from '../unit/fixtures/golden-pdus.js';

/** Override to replay a failing run: FUZZ_SEED=1234 npx vitest run test/integration/hostile-smsc.test.ts */
const SEED = Number(process.env['FUZZ_SEED'] ?? 20_260_601);

const fastBackoff = { baseMs: 5, maxMs: 50, authMinMs: 50, refusedMinMs: 50 };

// Anything thrown out of a socket callback or an unhandled 'error' event lands here instead of crashing the worker.
const crashes: unknown[] = [];
const onCrash = (err: unknown) => crashes.push(err);
const cleanups: Array<() => Promise<unknown>> = [];
beforeEach(() => {
  crashes.length = 0;
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
});

async function fuzzSmsc(options: FuzzSmscOptions) {
  const smsc = new FuzzSmsc({ seed: SEED, ...options });
  const port = await smsc.start();
  cleanups.push(() => smsc.stop());
  return { smsc, port };
}

/** Attacks only the first `count` bound sessions, so the client ends on a clean one. */
const firstBinds = (count: number, attack: (prng: () => number, index: number) => Attack): FuzzSmscOptions['plan'] => (index, prng) =>
  index < count ? attack(prng, index) : undefined;

function client(port: number, overrides: Partial<SmppClientOptions> = {}): SmppClient {
  const c = startLoopbackClient(port, {
    // Short keepalive: a stream the codec waits on forever (a length of 1-4, a truncated PDU) is only noticed by it.
    responseTimeoutMs: 200,
    enquireLinkIntervalMs: 400,
    backoff: fastBackoff,
    ...overrides,
  });
  cleanups.push(() => c.stop(200));
  return c;
}

const ready = (c: SmppClient, tx = 1, rx = 0): Promise<void> => c.whenReady(tx, rx);

/**
 * Why the bind lost its link: 'unbound' once it was bound, or 'bind-failed' when the garbage
 * arrived in the same read as the bind response (the session closed before it was handed out).
 */
function linkLost(bind: Bind): Promise<string> {
  return new Promise((resolve) => {
    const done = (reason: string) => {
      bind.off('unbound', onUnbound);
      bind.off('bind-failed', onFailed);
      resolve(reason);
    };
    const onUnbound = (reason: string) => done(reason);
    const onFailed = (err: Error) => done(err.message);
    bind.on('unbound', onUnbound);
    bind.on('bind-failed', onFailed);
  });
}

function part(): OutboundPart {
  const [segment] = segmentText('Hello', { encoding: 'auto', concat: 'udh8', reference: 1 }).segments;
  if (!segment) throw new Error('no segment');
  return { source: toSmppAddress('8x8'), destination: toSmppAddress('+6591234567'), segment, receipt: true };
}

describe('SmppClient against a hostile SMSC', () => {
  it.each(STREAM_BREAKING_KINDS)('drops the link after %s and binds again', async (kind) => {
    // Prepare
    const { smsc, port } = await fuzzSmsc({ plan: firstBinds(1, () => ({ kinds: [kind] })) });
    const c = client(port);
    const tx = c.binds[0];
    if (!tx) throw new Error('no bind');
    const lost = linkLost(tx);
    // Act
    const reason = await lost;
    await smsc.waitFor(() => smsc.binds === 2, 5000, 'second bind');
    await ready(c);
    const result = await c.submit(part());
    // Assess
    expect(reason).toMatch(/socket or protocol error|enquire_link unanswered|socket closed/);
    expect(result.kind).toBe('accepted');
    expect(smsc.connections).toBe(2);
    expect(c.outstanding).toBe(0);
    expect(crashes).toEqual([]);
  });

  it('answers an unknown command with generic_nack ESME_RINVCMDID and keeps the link', async () => {
    const { smsc, port } = await fuzzSmsc({ plan: firstBinds(1, () => ({ kinds: ['unknown-command'] })) });
    const c = client(port);

    await smsc.waitFor(() => smsc.receivedCounts.has('generic_nack'), 5000, 'generic_nack');
    const result = await c.submit(part());

    const nack = smsc.received.find((r) => r.command === 'generic_nack');
    expect(nack?.commandStatus).toBe(0x03);
    expect(nack?.sequenceNumber).toBeGreaterThanOrEqual(0x40000000);
    expect(result.kind).toBe('accepted');
    expect(smsc.connections).toBe(1);
    expect(crashes).toEqual([]);
  });

  it('ignores responses to sequence numbers it never used and keeps the link', async () => {
    const { smsc, port } = await fuzzSmsc({ plan: firstBinds(1, () => ({ kinds: Array<HostileKind>(8).fill('unknown-sequence-response') })) });
    const c = client(port);
    await smsc.waitFor(() => smsc.attacks === 1, 5000, 'attack');

    // TCP keeps order: the submit is answered after the stray responses were read.
    const result = await c.submit(part());

    expect(result.kind).toBe('accepted');
    expect(smsc.connections).toBe(1);
    expect(c.outstanding).toBe(0);
    expect(crashes).toEqual([]);
  });

  it('takes an alert_notification without answering it (it has no response PDU) and keeps the link', async () => {
    const { smsc, port } = await fuzzSmsc({ plan: firstBinds(1, () => ({ kinds: ['alert-notification'] })) });
    const c = client(port);
    await smsc.waitFor(() => smsc.attacks === 1, 5000, 'attack');

    const result = await c.submit(part());

    expect(result.kind).toBe('accepted');
    expect([...smsc.receivedCounts.keys()]).toEqual(['submit_sm']);
    expect(smsc.connections).toBe(1);
    expect(crashes).toEqual([]);
  });

  it('answers an outbind on a bound session with generic_nack and keeps the link', async () => {
    const { smsc, port } = await fuzzSmsc({ plan: firstBinds(1, () => ({ kinds: ['outbind'] })) });
    const c = client(port);

    await smsc.waitFor(() => smsc.receivedCounts.has('generic_nack'), 5000, 'generic_nack');
    const result = await c.submit(part());

    expect(smsc.received.find((r) => r.command === 'generic_nack')?.commandStatus).toBe(0x03);
    expect(result.kind).toBe('accepted');
    expect(smsc.connections).toBe(1);
    expect(crashes).toEqual([]);
  });

  // A response PDU of another kind carrying a submit's sequence number must not pass for its submit_sm_resp
  // (it would be "accepted" with an empty SMSC id, and its receipt could never be matched).
  it('does not report a submit as accepted when the SMSC answers it with another command’s response', async () => {
    const { port } = await fuzzSmsc({ respond: (pdu) => (pdu.command === 'submit_sm' ? rawPdu(0x80000015, 0, pdu.sequence_number) : undefined) });
    const c = client(port);

    const result = await c.submit(part());

    expect(result.kind).not.toBe('accepted');
  });

  it('answers a garbage deliver_sm OK only once the handler took it, and rebinds when it cannot read on', async () => {
    // Prepare: a receiver gets 10 bursts of garbage deliver_sm / TLVs; the SMSC closes each session soon after.
    const bursts = 10;
    const { smsc, port } = await fuzzSmsc({
      plan: firstBinds(bursts, () => ({ kinds: ['garbage-deliver-sm', 'garbage-tlvs', 'garbage-tlvs', 'garbage-deliver-sm'], closeAfterMs: 100 })),
    });
    let handled = 0;
    let answeredOk = 0;
    smsc.on('received', (r) => {
      if (r.command === 'deliver_sm_resp' && r.commandStatus === 0) answeredOk += 1;
    });
    const c = client(port, { txBinds: 0, rxBinds: 1, onDeliver: async () => void (handled += 1) });
    // Act
    await smsc.waitFor(() => smsc.binds === bursts + 1, 15_000, 'a clean bind after every burst');
    await ready(c, 0, 1);
    // Assess: an answer can be lost with its link (the SMSC then redelivers), but never sent before the handler ran.
    expect(handled).toBeGreaterThan(0);
    expect(answeredOk).toBeGreaterThan(0);
    expect(answeredOk).toBeLessThanOrEqual(handled);
    expect(crashes).toEqual([]);
  });

  it(`stays up through 30 seeded bursts of mixed hostile input, binding again after each (seed ${SEED})`, async () => {
    // Prepare
    const bursts = 30;
    const { smsc, port } = await fuzzSmsc({
      plan: firstBinds(bursts, (prng) => ({
        kinds: Array.from({ length: 1 + Math.floor(prng() * 4) }, () => HOSTILE_KINDS[Math.floor(prng() * HOSTILE_KINDS.length)] ?? 'random-bytes'),
        closeAfterMs: 150,
      })),
    });
    const c = client(port, { txBinds: 1, rxBinds: 1 });
    // Act
    await smsc.waitFor(() => smsc.binds >= bursts + 2, 30_000, 'every burst survived');
    await ready(c, 1, 1);
    const result = await c.submit(part());
    // Assess
    expect(result.kind).toBe('accepted');
    expect(smsc.attacks).toBe(bursts);
    expect(smsc.openSockets).toBeLessThanOrEqual(2);
    expect(c.outstanding).toBe(0);
    expect(crashes).toEqual([]);
  });

  it('keeps memory flat over 200 garbage connections: no session, socket or request is kept', async () => {
    // Prepare: gc() without --expose-gc (vitest starts the worker), through V8's runtime flag.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const collect = async () => {
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((r) => setImmediate(r));
      }
    };
    const connections = 200;
    const fast: HostileKind[] = ['random-bytes', 'length-max', 'length-over-limit', 'length-five', 'http-request', 'garbage-deliver-sm'];
    const { smsc, port } = await fuzzSmsc({
      plan: firstBinds(connections, (prng) => ({ kinds: [fast[Math.floor(prng() * fast.length)] ?? 'length-max'], closeAfterMs: 30 })),
    });
    // Every socket session the client opens, held weakly: whatever is still reachable after gc() is retained.
    const sessions: Array<WeakRef<object>> = [];
    // Wrapped by hand: a vi.spyOn mock would itself keep every result.
    const connect = smpp.connect;
    // (Arguments passed through as given: smpp.connect reads arguments.length.)
    smpp.connect = (...args: Parameters<typeof connect>) => {
      const session = connect(...args);
      sessions.push(new WeakRef(session));
      return session;
    };
    cleanups.push(async () => void (smpp.connect = connect));
    const c = client(port, { backoff: { baseMs: 1, maxMs: 5, authMinMs: 5, refusedMinMs: 5 } });
    await smsc.waitFor(() => smsc.binds >= 20, 10_000, 'warm-up');
    await collect();
    const before = process.memoryUsage().heapUsed;
    // Act
    await smsc.waitFor(() => smsc.binds >= connections + 1, 30_000, `${connections} garbage connections`);
    await ready(c);
    await collect();
    const after = process.memoryUsage().heapUsed;
    // Assess
    const alive = sessions.filter((w) => w.deref() !== undefined).length;
    expect(sessions.length).toBe(connections + 1);
    expect(alive).toBeLessThanOrEqual(2);
    expect(after - before).toBeLessThan(2 * 1024 * 1024);
    expect(smsc.maxOpenSockets).toBeLessThanOrEqual(2);
    expect(c.outstanding).toBe(0);
    expect(crashes).toEqual([]);
  });
});

describe('what the client puts on the wire', () => {
  it('binds with exactly the bytes of the golden bind_transmitter fixture', async () => {
    const { smsc, port } = await fuzzSmsc({});
    const c = client(port);

    await ready(c);

    expect(smsc.bindRequests[0]?.toString('hex')).toBe(BIND_TRANSMITTER);
  });
});

describe('the full service against a hostile SMSC', () => {
  it('keeps running, binds again after each burst of garbage and still submits a job', async () => {
    // Prepare: the real composition root, with local SQS and DynamoDB, bound to the fuzzing SMSC.
    const aws = useLocalAws();
    const bursts = 6;
    const { smsc, port } = await fuzzSmsc({
      plan: firstBinds(bursts, (prng) => ({ kinds: [STREAM_BREAKING_KINDS[Math.floor(prng() * STREAM_BREAKING_KINDS.length)] ?? 'length-max', 'garbage-tlvs'], closeAfterMs: 200 })),
    });
    const { queueUrl } = await createQueues(aws.sqs, aws.uniqueName('hostile'));
    const tableName = await aws.sharedTable();
    const config = loadConfig(serviceEnv(port, queueUrl, tableName, { ENQUIRE_LINK_INTERVAL_MS: '1000', RESPONSE_TIMEOUT_MS: '500' }));
    const service = await startService(config, { logger: silentLogger });
    cleanups.push(() => service.stop());
    const store = new StatusStore({ client: aws.dynamodb, tableName });
    const id = aws.uniqueName('hostile-job');
    // Act
    await smsc.waitFor(() => smsc.binds >= bursts + 2, 20_000, 'a clean TX and RX bind after the bursts');
    await service.ready();
    await sendSms([{ id, to: '+6598000001', from: '8x8', text: 'after the storm' }], { queueUrl, sqs: aws.sqs });
    const deadline = Date.now() + 15_000;
    let status: string | undefined;
    for (;;) {
      const item = await store.get(id);
      status = item?.status;
      if ((item?.statusRank ?? 0) >= STATUS_RANK.SUBMITTED || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // Assess
    expect(status).toBe('SUBMITTED');
    expect(service.smpp.readiness()).toEqual({ tx: 1, rx: 1 });
    expect(smsc.attacks).toBe(bursts);
    expect(crashes).toEqual([]);
  });
});
