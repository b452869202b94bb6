/**
 * The soak's connector: an SmppClient (1 TX + 1 RX, receipts on) fed at a steady rate, in a process
 * of its own so that its RSS is the client's alone — the simulator (another process) keeps records
 * of everything, and the bench process holds other scenarios' leftovers. Run with --expose-gc: a
 * sample follows a full collection, so growth means memory still referenced.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import type { SubmitResult } from '../../service/src/smpp/client.js';
import { serve } from './children.js';
import { sleep } from './load.js';
import { benchPart, bound, startClient } from './smpp-setup.js';

export interface SoakRequest {
  port: number;
  durationMs: number;
  ratePerSecond: number;
  sampleEveryMs: number;
  mpsPerBind: number;
  windowSize: number;
}

export interface SoakSample {
  /** Seconds since the start. */
  t: number;
  rssMb: number;
  heapUsedMb: number;
  /** Buffers and other memory V8 tracks outside its heap. */
  externalMb: number;
  /** Memory V8 holds for its heap (used or not), and of that the young generation. */
  heapTotalMb: number;
  newSpaceMb: number;
  /** Submits sent and waiting for a response, plus submits queued for a bind. */
  pending: number;
}

export interface SoakReport {
  samples: SoakSample[];
  submitted: number;
  outcomes: Record<SubmitResult['kind'], number>;
  /** Reasons of the outcomes other than accepted, with counts. */
  reasons: Record<string, number>;
}

const TICK_MS = 10;

async function soak(r: SoakRequest): Promise<SoakReport> {
  const client = startClient(r.port, { txBinds: 1, rxBinds: 1, mpsPerBind: r.mpsPerBind, windowSize: r.windowSize, responseTimeoutMs: 5000 });
  const outcomes: SoakReport['outcomes'] = { accepted: 0, 'handed-back': 0, retryable: 0, permanent: 0, unknown: 0 };
  const reasons: Record<string, number> = {};
  const samples: SoakSample[] = [];
  const inFlight = new Set<Promise<void>>();
  const gc = (globalThis as { gc?: () => void }).gc;
  const sample = (started: number): void => {
    gc?.();
    const m = process.memoryUsage();
    const young = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    samples.push({
      t: (Date.now() - started) / 1000,
      rssMb: m.rss / 2 ** 20,
      heapUsedMb: m.heapUsed / 2 ** 20,
      externalMb: m.external / 2 ** 20,
      heapTotalMb: m.heapTotal / 2 ** 20,
      newSpaceMb: (young?.space_size ?? 0) / 2 ** 20,
      pending: client.outstanding + client.queued,
    });
  };
  let submitted = 0;
  try {
    await bound(client, 1, 1);
    const part = benchPart(true);
    const started = Date.now();
    const total = Math.floor((r.durationMs * r.ratePerSecond) / 1000);
    let nextSample = started;
    // Open loop: submits leave on schedule whatever happens to the link, as jobs keep arriving.
    while (submitted < total && Date.now() < started + r.durationMs + 1000) {
      const now = Date.now();
      if (now >= nextSample && now < started + r.durationMs) {
        sample(started);
        nextSample += r.sampleEveryMs;
      }
      const due = Math.min(total, Math.floor(((now - started) * r.ratePerSecond) / 1000));
      for (; submitted < due; submitted++) {
        const p: Promise<void> = client.submit(part).then((result) => {
          outcomes[result.kind] += 1;
          if (result.kind !== 'accepted') {
            const why = `${result.kind}: ${result.kind === 'permanent' || result.kind === 'retryable' ? result.name : result.reason}`;
            reasons[why] = (reasons[why] ?? 0) + 1;
          }
          inFlight.delete(p);
        });
        inFlight.add(p);
      }
      await sleep(TICK_MS);
    }
    await Promise.race([Promise.all(inFlight), sleep(30_000)]);
    // One more once everything sent has ended: what is left behind after the load stops.
    sample(started);
  } finally {
    await client.stop(2000);
  }
  return { samples, submitted, outcomes, reasons };
}

serve({ soak });
