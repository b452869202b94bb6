import { afterEach, describe, expect, it } from 'vitest';
import { makePdu, smpp, type Pdu, type Session } from '../../service/src/smpp/codec.js';
import { SimStatus, SmscSimulator, type SmscSimulatorOptions } from '../../service/src/sim/smsc-simulator.js';

// Real TCP / TLS against the simulator, with a bare smpp client: these tests pin
// the simulator's behaviour independently of the connector that will use it.

const WAIT_MS = 3000;
const ESME_RX_T_APPN = 0x64;

type BindCommand = 'bind_transmitter' | 'bind_receiver' | 'bind_transceiver';

const simulators: SmscSimulator[] = [];
const clients: TestEsme[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.session.destroy();
  await Promise.all(simulators.splice(0).map((sim) => sim.stop()));
});

async function startSim(options: SmscSimulatorOptions = {}): Promise<{ sim: SmscSimulator; port: number; tlsPort?: number }> {
  const sim = new SmscSimulator(options);
  simulators.push(sim);
  return { sim, ...(await sim.start()) };
}

function withTimeout<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A minimal ESME: records every PDU it receives and answers deliver_sm with the status `answerDeliver` picks. */
class TestEsme {
  readonly received: Pdu[] = [];
  readonly events: string[] = [];
  readonly errors: Error[] = [];
  answerDeliver: (pdu: Pdu) => number = () => 0;
  closed = false;
  private readonly closedPromise: Promise<void>;
  private readonly listeners = new Set<() => void>();

  constructor(readonly session: Session) {
    session.on('error', (err: Error) => {
      this.errors.push(err);
      this.changed();
    });
    this.closedPromise = new Promise((resolve) =>
      session.on('close', () => {
        this.closed = true;
        this.events.push('close');
        this.changed();
        resolve();
      }),
    );
    session.on('pdu', (pdu: Pdu) => {
      this.received.push(pdu);
      this.events.push(pdu.command);
      if (pdu.command === 'deliver_sm') session.send(pdu.response({ command_status: this.answerDeliver(pdu) }));
      this.changed();
    });
  }

  static connect(port: number, tls?: { ca: string | undefined; maxVersion?: string }): Promise<TestEsme> {
    const options = tls
      ? { host: '127.0.0.1', port, tls: true, ca: tls.ca, servername: 'localhost', ...(tls.maxVersion ? { minVersion: 'TLSv1.2', maxVersion: tls.maxVersion } : { minVersion: 'TLSv1.3' }) }
      : { host: '127.0.0.1', port };
    const session = smpp.connect(options);
    const esme = new TestEsme(session);
    clients.push(esme);
    return withTimeout(
      new Promise((resolve, reject) => {
        session.once(tls ? 'secureConnect' : 'connect', () => resolve(esme));
        session.once('error', reject);
      }),
      'connect',
    );
  }

  request(command: string, fields: Record<string, unknown> = {}): Promise<Pdu> {
    return withTimeout(
      new Promise((resolve, reject) => {
        if (!this.session.send(makePdu(command, fields), resolve)) reject(new Error(`${command}: session not writable`));
      }),
      `${command} response`,
    );
  }

  bind(command: BindCommand = 'bind_transceiver', password = 'secret', systemId = 'test'): Promise<Pdu> {
    return this.request(command, { system_id: systemId, password });
  }

  submit(fields: Record<string, unknown> = {}): Promise<Pdu> {
    return this.request('submit_sm', {
      source_addr: 'TEST',
      destination_addr: '6591234567',
      short_message: Buffer.from('hello world'),
      ...fields,
    });
  }

  /** Resolves with the first received PDU matching `match` (already received or arriving later). */
  next(match: (pdu: Pdu) => boolean, what: string): Promise<Pdu> {
    const found = this.received.find(match);
    if (found) return Promise.resolve(found);
    return withTimeout(
      new Promise((resolve) => {
        const check = (): void => {
          const pdu = this.received.find(match);
          if (pdu) {
            this.listeners.delete(check);
            resolve(pdu);
          }
        };
        this.listeners.add(check);
      }),
      what,
    );
  }

  whenClosed(): Promise<void> {
    return withTimeout(this.closedPromise, 'connection close');
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

const isReceipt = (pdu: Pdu): boolean => pdu.command === 'deliver_sm' && (Number(pdu['esm_class']) & 0x04) !== 0;
const receiptText = (pdu: Pdu): string => (pdu['short_message'] as Buffer).toString('latin1');

describe('SmscSimulator binds', () => {
  it('accepts the right credentials and refuses a wrong password with ESME_RINVPASWD', async () => {
    const { sim, port } = await startSim();
    const good = await TestEsme.connect(port);
    const bad = await TestEsme.connect(port);

    const ok = await good.bind('bind_transmitter');
    const refused = await bad.bind('bind_transmitter', 'wrong');

    expect(ok.command_status).toBe(0);
    expect(refused.command_status).toBe(SimStatus.ESME_RINVPASWD);
    expect(sim.stats).toMatchObject({ binds: 1, bindRefusals: 1 });
  });

  it('refuses an unknown system_id with ESME_RINVSYSID', async () => {
    const { port } = await startSim();
    const esme = await TestEsme.connect(port);

    const response = await esme.bind('bind_transceiver', 'secret', 'nobody');

    expect(response.command_status).toBe(SimStatus.ESME_RINVSYSID);
  });

  it('refuses the fifth bind of a system_id with ESME_RBINDFAIL, whatever the bind types', async () => {
    const { port } = await startSim();
    const types: BindCommand[] = ['bind_transmitter', 'bind_transmitter', 'bind_receiver', 'bind_transceiver', 'bind_receiver'];
    const esmes = await Promise.all(types.map(() => TestEsme.connect(port)));

    const statuses: number[] = [];
    for (const [i, esme] of esmes.entries()) statuses.push((await esme.bind(types[i])).command_status);

    expect(statuses).toEqual([0, 0, 0, 0, SimStatus.ESME_RBINDFAIL]);
  });

  it('answers ESME_RINVBNDSTS before a bind and on submit_sm over a receiver bind, and generic_nack to unknown commands', async () => {
    const { port } = await startSim();
    const esme = await TestEsme.connect(port);

    const beforeBind = await esme.submit();
    await esme.bind('bind_receiver');
    const onReceiver = await esme.submit();
    esme.session.socket.write(Buffer.from('00000010000000990000000000000007', 'hex'));
    const nack = await esme.next((pdu) => pdu.command === 'generic_nack', 'generic_nack');

    expect(beforeBind.command_status).toBe(SimStatus.ESME_RINVBNDSTS);
    expect(onReceiver.command_status).toBe(SimStatus.ESME_RINVBNDSTS);
    expect(nack).toMatchObject({ command_status: SimStatus.ESME_RINVCMDID, sequence_number: 7 });
  });

  it('closes a session that sends garbage and keeps serving others', async () => {
    const { sim, port } = await startSim();
    const noisy = await TestEsme.connect(port);
    await noisy.bind();

    noisy.session.socket.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    await noisy.whenClosed();
    const next = await TestEsme.connect(port);

    expect((await next.bind()).command_status).toBe(0);
    expect(sim.boundCount('test')).toBe(1);
  });
});

describe('SmscSimulator submit_sm', () => {
  it('throttles the (mps+1)th submit within one second with ESME_RTHROTTLED', async () => {
    const { sim, port } = await startSim({ accounts: [{ systemId: 'test', password: 'secret', mps: 5 }] });
    const esme = await TestEsme.connect(port);
    await esme.bind('bind_transmitter');

    const responses = await Promise.all(Array.from({ length: 6 }, () => esme.submit()));

    expect(responses.map((r) => r.command_status)).toEqual([0, 0, 0, 0, 0, SimStatus.ESME_RTHROTTLED]);
    expect(sim.stats).toMatchObject({ accepted: 5, throttled: 1 });
  });

  it('records the submission with its UDH split from the body and the text decoded', async () => {
    const { sim, port } = await startSim();
    const esme = await TestEsme.connect(port);
    await esme.bind('bind_transmitter');
    const udh = Buffer.from([0x05, 0x00, 0x03, 0x2a, 0x02, 0x01]);

    const response = await esme.submit({ esm_class: 0x40, data_coding: 8, short_message: Buffer.concat([udh, Buffer.from([0x00, 0x48, 0x00, 0xe9])]) });

    expect(sim.submissions).toHaveLength(1);
    expect(sim.submissions[0]).toMatchObject({
      smscMessageId: response['message_id'],
      udh,
      concat: { scheme: 'udh8', refNum: 0x2a, total: 2, seq: 1 },
      text: 'Hé',
      dataCoding: 8,
      bindType: 'transmitter',
    });
  });

  it('writes uppercase hex ids by default and decimal ids when idFormat is decimal', async () => {
    const hex = await startSim();
    const decimal = await startSim({ idFormat: 'decimal' });
    const hexEsme = await TestEsme.connect(hex.port);
    const decimalEsme = await TestEsme.connect(decimal.port);
    await hexEsme.bind('bind_transmitter');
    await decimalEsme.bind('bind_transmitter');

    const hexId = String((await hexEsme.submit())['message_id']);
    const decimalId = String((await decimalEsme.submit())['message_id']);

    expect(hexId).toMatch(/^[0-9A-F]+$/);
    expect(decimalId).toMatch(/^[0-9]+$/);
    expect(BigInt(decimalId)).toBeGreaterThan(0xffffffffn);
  });

  it('accepts and records a swallowed submit but never answers it', async () => {
    const { sim, port } = await startSim({ faults: { swallowRate: 1 } });
    const esme = await TestEsme.connect(port);
    await esme.bind('bind_transmitter');

    esme.session.send(makePdu('submit_sm', { destination_addr: '6591234567', short_message: Buffer.from('x') }));
    await sim.waitFor(() => sim.submissions.length === 1, WAIT_MS, 'submission recorded');
    sim.setFaults({ swallowRate: 0 });
    const answered = await esme.submit();

    expect(sim.submissions.map((r) => r.swallowed)).toEqual([true, false]);
    expect(esme.received.filter((pdu) => pdu.command === 'submit_sm_resp')).toEqual([answered]);
    expect(sim.stats.swallowed).toBe(1);
  });

  it('assigns the same ids for the same seed', async () => {
    const first = await startSim({ seed: 42 });
    const second = await startSim({ seed: 42 });
    const a = await TestEsme.connect(first.port);
    const b = await TestEsme.connect(second.port);
    await a.bind('bind_transmitter');
    await b.bind('bind_transmitter');

    const ids = await Promise.all([a.submit(), b.submit()]);

    expect(ids[0]['message_id']).toBe(ids[1]['message_id']);
  });

  it('closes the connection without answering the Nth submit when dropAfterSubmits is set', async () => {
    const { sim, port } = await startSim();
    const esme = await TestEsme.connect(port);
    await esme.bind('bind_transmitter');
    sim.setFaults({ dropAfterSubmits: 2 });

    const first = await esme.submit();
    esme.session.send(makePdu('submit_sm', { destination_addr: '6591234567', short_message: Buffer.from('x') }));
    await esme.whenClosed();

    expect(first.command_status).toBe(0);
    expect(esme.received.filter((pdu) => pdu.command === 'submit_sm_resp')).toHaveLength(1);
    expect(sim.stats).toMatchObject({ accepted: 1, dropped: 1 });
    expect(sim.faults.dropAfterSubmits).toBeUndefined();
  });
});

describe('SmscSimulator receipts', () => {
  it('sends the receipt to a receiver bind, not to the transmitter that submitted', async () => {
    const { sim, port } = await startSim();
    const tx = await TestEsme.connect(port);
    const rx = await TestEsme.connect(port);
    await tx.bind('bind_transmitter');
    await rx.bind('bind_receiver');

    const response = await tx.submit({ registered_delivery: 1, short_message: Buffer.from('a fairly long message body') });
    const receipt = await rx.next(isReceipt, 'receipt on the receiver');
    await sim.waitFor(() => sim.stats.receiptsAcked === 1, WAIT_MS, 'receipt acknowledged');

    const id = String(response['message_id']);
    expect(receipt['receipted_message_id']).toBe(id);
    expect(receipt['message_state']).toBe(2);
    expect(receiptText(receipt)).toMatch(
      new RegExp(`^id:${id} sub:001 dlvrd:001 submit date:\\d{10} done date:\\d{10} stat:DELIVRD err:000 Text:a fairly long messag$`),
    );
    expect(tx.received.some(isReceipt)).toBe(false);
    const receiverId = sim.sessionInfos().find((info) => info.bindType === 'receiver')?.sessionId;
    expect(sim.acknowledgedReceipts).toMatchObject([{ smscMessageId: id, stat: 'DELIVRD', sessionId: receiverId }]);
    expect(receiverId).not.toBe(sim.submissions[0]?.sessionId);
  });

  it('reports UNDELIV for destinations ending in 0000', async () => {
    const { port } = await startSim();
    const esme = await TestEsme.connect(port);
    await esme.bind('bind_transceiver');

    await esme.submit({ registered_delivery: 1, destination_addr: '6590000000' });
    const receipt = await esme.next(isReceipt, 'receipt');

    expect(receiptText(receipt)).toContain('stat:UNDELIV');
    expect(receipt['message_state']).toBe(5);
  });

  it('redelivers a receipt the ESME answered with ESME_RX_T_APPN', async () => {
    const { sim, port } = await startSim({ receiptRetryMs: 20 });
    const esme = await TestEsme.connect(port);
    let answers = 0;
    esme.answerDeliver = () => (answers++ === 0 ? ESME_RX_T_APPN : 0);
    await esme.bind('bind_transceiver');

    const response = await esme.submit({ registered_delivery: 1 });
    await sim.waitFor(() => sim.stats.receiptsAcked === 1, WAIT_MS, 'redelivered receipt acknowledged');

    const receipts = esme.received.filter(isReceipt);
    expect(receipts.map((r) => r['receipted_message_id'])).toEqual([response['message_id'], response['message_id']]);
    expect(sim.stats).toMatchObject({ receiptsSent: 2, receiptsNacked: 1, receiptsAcked: 1 });
  });

  it('holds receipts while no receiver is bound and delivers them when one binds', async () => {
    const { sim, port } = await startSim();
    const tx = await TestEsme.connect(port);
    await tx.bind('bind_transmitter');
    const response = await tx.submit({ registered_delivery: 1 });
    await sim.waitFor(() => sim.heldDeliveries === 1, WAIT_MS, 'receipt held');

    const rx = await TestEsme.connect(port);
    await rx.bind('bind_receiver');
    const receipt = await rx.next(isReceipt, 'held receipt');

    expect(receipt['receipted_message_id']).toBe(response['message_id']);
  });

  it('sends the receipt, and waits for its answer, before the submit_sm_resp when receiptBeforeResponse is set', async () => {
    const { sim, port } = await startSim({ faults: { receiptBeforeResponse: true } });
    const tx = await TestEsme.connect(port);
    const rx = await TestEsme.connect(port);
    await tx.bind('bind_transmitter');
    await rx.bind('bind_receiver');
    const order: string[] = [];
    rx.answerDeliver = () => {
      order.push('receipt');
      return 0;
    };

    const response = await tx.submit({ registered_delivery: 1 });
    order.push('response');

    expect(order).toEqual(['receipt', 'response']);
    expect(rx.received.find(isReceipt)?.['receipted_message_id']).toBe(response['message_id']);
    expect(sim.stats.receiptsAcked).toBe(1);
  });

  it('writes the receipt id in decimal for hex submit ids when receiptIdFormat is decimal', async () => {
    const { port } = await startSim({ idFormat: 'hex', receiptIdFormat: 'decimal' });
    const esme = await TestEsme.connect(port);
    await esme.bind('bind_transceiver');

    const hexId = String((await esme.submit({ registered_delivery: 1 }))['message_id']);
    const receipt = await esme.next(isReceipt, 'receipt');

    const decimalId = BigInt(`0x${hexId}`).toString(10);
    expect(receipt['receipted_message_id']).toBe(decimalId);
    expect(receiptText(receipt)).toMatch(new RegExp(`^id:${decimalId} `));
  });
});

describe('SmscSimulator robustness helpers', () => {
  it('sends garbage to every bound session, which the client cannot parse', async () => {
    const { sim, port } = await startSim();
    const esme = await TestEsme.connect(port);
    await esme.bind();

    const reached = sim.sendGarbage(Buffer.from('\xff\xff\xff\xffnot smpp at all', 'latin1'));
    await withTimeout(
      new Promise<void>((resolve) => (esme.errors.length > 0 ? resolve() : esme.session.once('error', () => resolve()))),
      'client parse error',
    );

    expect(reached).toBe(1);
    expect(esme.errors[0]?.message).toMatch(/PDU length was too large/);
  });

  it('cuts every session on dropAllSessions and reports why', async () => {
    const { sim, port } = await startSim();
    const esme = await TestEsme.connect(port);
    await esme.bind();
    const reasons: string[] = [];
    sim.on('session-closed', (e) => reasons.push(e.reason));

    expect(sim.dropAllSessions()).toBe(1);
    await esme.whenClosed();

    expect(reasons).toEqual(['dropAllSessions']);
    expect(sim.boundCount()).toBe(0);
  });
});

describe('SmscSimulator MO', () => {
  it('delivers a long MO as UDH-concatenated parts and resolves once every part is acknowledged', async () => {
    const { sim, port } = await startSim();
    const esme = await TestEsme.connect(port);
    await esme.bind('bind_receiver');
    const text = 'x'.repeat(200);

    await withTimeout(sim.sendMo({ from: '+6591234567', to: '8x8', text }), 'sendMo');

    const parts = esme.received.filter((pdu) => pdu.command === 'deliver_sm');
    expect(parts.map((p) => p['esm_class'])).toEqual([0x40, 0x40]);
    expect(parts.map((p) => (p['short_message'] as Buffer).subarray(6).toString('latin1')).join('')).toBe(text);
    expect(parts[0]?.['source_addr']).toBe('6591234567');
  });
});

describe('SmscSimulator TLS', () => {
  it('binds over TLS 1.3 trusting the generated certificate, and refuses a TLS 1.2-only client', async () => {
    const { sim, port, tlsPort } = await startSim({ tls: {} });
    expect(tlsPort).toBeDefined();
    expect(tlsPort).not.toBe(port);

    const esme = await TestEsme.connect(tlsPort!, { ca: sim.caPem });
    const bound = await esme.bind();
    const legacy = TestEsme.connect(tlsPort!, { ca: sim.caPem, maxVersion: 'TLSv1.2' });

    expect(bound.command_status).toBe(0);
    expect(esme.session.socket).toMatchObject({ encrypted: true });
    await expect(legacy).rejects.toThrow(/protocol version|alert/i);
  });

  it('keeps its ports and certificate across a restart', async () => {
    const { sim, port, tlsPort } = await startSim({ tls: {} });
    const ca = sim.caPem;

    const again = await sim.restart();
    const esme = await TestEsme.connect(again.tlsPort!, { ca: sim.caPem });

    expect(again).toEqual({ port, tlsPort });
    expect(sim.caPem).toBe(ca);
    expect((await esme.bind()).command_status).toBe(0);
  });
});

describe('SmscSimulator session faults', () => {
  it('answers every submit_sm ESME_RINVBNDSTS after resetSessions, still answers enquire_link, and binds new sessions normally', async () => {
    const { sim, port } = await startSim();
    const old = await TestEsme.connect(port);
    await old.bind('bind_transmitter');

    expect(sim.resetSessions()).toBe(1);
    const refused = await old.submit();
    const enquire = await old.request('enquire_link');
    const fresh = await TestEsme.connect(port);
    await fresh.bind('bind_transmitter');
    const accepted = await fresh.submit();

    expect(refused.command_status).toBe(SimStatus.ESME_RINVBNDSTS);
    expect(enquire.command_status).toBe(0);
    expect(accepted.command_status).toBe(0);
    expect(sim.stats).toMatchObject({ accepted: 1, failedByFault: 1 });
  });

  it('answers a bind ESME_ROK and closes the connection acceptThenDropMs later', async () => {
    const { sim, port } = await startSim({ faults: { acceptThenDropMs: 50 } });
    const reasons: string[] = [];
    sim.on('session-closed', (e) => reasons.push(e.reason));
    const esme = await TestEsme.connect(port);

    const bound = await esme.bind('bind_transmitter');
    await esme.whenClosed();

    expect(bound.command_status).toBe(0);
    expect(reasons).toEqual(['fault: acceptThenDrop']);
  });

  it('answers ESME_RMSGQFUL to every submit_sm for a destination in msgQFullDestinations, and accepts the others', async () => {
    const { sim, port } = await startSim({ faults: { msgQFullDestinations: ['6590001111'] } });
    const esme = await TestEsme.connect(port);
    await esme.bind('bind_transmitter');

    const full = await esme.submit({ destination_addr: '6590001111' });
    const other = await esme.submit({ destination_addr: '6590002222' });

    expect(full.command_status).toBe(SimStatus.ESME_RMSGQFUL);
    expect(other.command_status).toBe(0);
    expect(sim.submissions.map((r) => r.destinationAddr)).toEqual(['6590002222']);
  });

  it('sends unbind on unbindSessions, still sends the responses already due, and closes once the ESME answers', async () => {
    const { sim, port } = await startSim({ responseDelayMs: 100 });
    const esme = await TestEsme.connect(port);
    await esme.bind('bind_transmitter');
    const reasons: string[] = [];
    sim.on('session-closed', (e) => reasons.push(e.reason));

    const response = esme.submit();
    await sim.waitFor(() => sim.submissions.length === 1, WAIT_MS, 'the submit');
    expect(sim.unbindSessions()).toBe(1);
    const unbind = await esme.next((pdu) => pdu.command === 'unbind', 'unbind');
    expect((await response).command_status).toBe(0);
    esme.session.send(unbind.response());
    await esme.whenClosed();

    expect(esme.events).toEqual(['bind_transmitter_resp', 'unbind', 'submit_sm_resp', 'close']);
    expect(reasons).toEqual(['unbound by the SMSC']);
  });
});

