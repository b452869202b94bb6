/**
 * The inbound pipeline's MO side without AWS: what it asks the MO store, and when its notes of
 * incomplete messages come due. The store's own behaviour is tested against DynamoDB Local
 * (test/integration/inbound-mo.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { MoExpireResult, MoPartInput, MoPartResult } from '../../service/src/aws/mo-store.js';
import { silentLogger } from '../../service/src/logger.js';
import { noMetrics } from '../../service/src/metrics.js';
import { InboundPipeline, type InboundMoStore } from '../../service/src/pipeline/inbound.js';
import type { DeliverFields } from '../../service/src/smpp/receipt.js';
import { FakeClock } from '../support/fake-clock.js';

const TIMEOUT_MS = 300_000;

/** A store that answers as told and records what it was asked. */
class ScriptedMoStore implements InboundMoStore {
  readonly parts: MoPartInput[] = [];
  readonly expiries: Array<{ groupId: string; at: number }> = [];
  partResult: (part: MoPartInput) => MoPartResult = () => ({ groupId: 'g1', recorded: [], duplicate: false });
  expireResult: (groupId: string) => Promise<MoExpireResult> = async () => ({ recorded: [] });

  constructor(private readonly clock: FakeClock) {}

  async addPart(part: MoPartInput): Promise<MoPartResult> {
    this.parts.push(part);
    return this.partResult(part);
  }

  expireGroup(groupId: string): Promise<MoExpireResult> {
    this.expiries.push({ groupId, at: this.clock.now() });
    return this.expireResult(groupId);
  }
}

function setup(): { clock: FakeClock; mo: ScriptedMoStore; pipeline: InboundPipeline } {
  const clock = new FakeClock();
  const mo = new ScriptedMoStore(clock);
  const store = { recordReceipt: () => Promise.reject(new Error('no receipts here')) };
  const pipeline = new InboundPipeline({ store, mo, logger: silentLogger, metrics: noMetrics, clock });
  pipeline.start();
  return { clock, mo, pipeline };
}

/** Part `seq` of 3 of an 8-bit-reference long message. */
function part(seq: number): DeliverFields {
  return {
    esmClass: 0x40,
    dataCoding: 0,
    shortMessage: Buffer.concat([Buffer.from([0x05, 0x00, 0x03, 7, 3, seq]), Buffer.from(`part ${seq}`)]),
    sourceAddr: '6591234567',
    destinationAddr: '8x8',
  };
}

/** Lets the sweep the timer started run to its end. */
const settle = () => new Promise((r) => setImmediate(r));

describe('InboundPipeline (MO)', () => {
  it('hands the store the decoded part with its position and arrival time', async () => {
    // Prepare
    const { clock, mo, pipeline } = setup();
    // Act
    await pipeline.onDeliver(part(2));
    // Assess
    expect(mo.parts).toEqual([
      {
        from: '6591234567',
        to: '8x8',
        text: 'part 2',
        dataCoding: 0,
        receivedAt: new Date(clock.now()).toISOString(),
        concat: { scheme: 'udh8', ref: 7, total: 3, seq: 2 },
      },
    ]);
  });

  it('rejects when the store does, so the session answers ESME_RX_T_APPN', async () => {
    // Prepare
    const { mo, pipeline } = setup();
    mo.partResult = () => {
      throw new Error('store down');
    };
    // Act / Assess
    await expect(pipeline.onDeliver(part(1))).rejects.toThrow('store down');
  });

  it('has an incomplete message expired when it comes due, not before', async () => {
    // Prepare
    const { clock, mo, pipeline } = setup();
    const dueAt = clock.now() + TIMEOUT_MS;
    mo.partResult = () => ({ groupId: 'g1', recorded: [], duplicate: false, dueAt });
    await pipeline.onDeliver(part(1));
    // Act
    clock.advance(TIMEOUT_MS - 1);
    await settle();
    const early = mo.expiries.length;
    clock.advance(1);
    await settle();
    // Assess
    expect(early).toBe(0);
    expect(mo.expiries).toEqual([{ groupId: 'g1', at: dueAt }]);
    await pipeline.stop();
    expect(mo.expiries).toHaveLength(1);
  });

  it('forgets an incomplete message once a later part of it completes it here', async () => {
    // Prepare
    const { clock, mo, pipeline } = setup();
    mo.partResult = () => ({ groupId: 'g1', recorded: [], duplicate: false, dueAt: clock.now() + TIMEOUT_MS });
    await pipeline.onDeliver(part(1));
    mo.partResult = () => ({ groupId: 'g1', recorded: [], duplicate: false });
    // Act
    await pipeline.onDeliver(part(2));
    clock.advance(TIMEOUT_MS);
    await settle();
    // Assess
    expect(mo.expiries).toEqual([]);
  });

  it('looks again later when the store says a newer message under the key is not due yet', async () => {
    // Prepare
    const { clock, mo, pipeline } = setup();
    mo.partResult = () => ({ groupId: 'g1', recorded: [], duplicate: false, dueAt: clock.now() + TIMEOUT_MS });
    await pipeline.onDeliver(part(1));
    mo.expireResult = async () => ({ recorded: [], dueAt: clock.now() + 60_000 });
    // Act
    clock.advance(TIMEOUT_MS);
    await settle();
    mo.expireResult = async () => ({ recorded: [] });
    clock.advance(60_000);
    await settle();
    clock.advance(TIMEOUT_MS);
    await settle();
    // Assess
    expect(mo.expiries.map((e) => e.at - mo.expiries[0]!.at)).toEqual([0, 60_000]);
  });

  it('tries a failed expiry again 30 s later', async () => {
    // Prepare
    const { clock, mo, pipeline } = setup();
    mo.partResult = () => ({ groupId: 'g1', recorded: [], duplicate: false, dueAt: clock.now() + TIMEOUT_MS });
    await pipeline.onDeliver(part(1));
    mo.expireResult = () => Promise.reject(new Error('store down'));
    // Act
    clock.advance(TIMEOUT_MS);
    await settle();
    mo.expireResult = async () => ({ recorded: [] });
    clock.advance(30_000);
    await settle();
    // Assess
    expect(mo.expiries.map((e) => e.at - mo.expiries[0]!.at)).toEqual([0, 30_000]);
  });
});
