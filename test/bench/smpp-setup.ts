/** The connector's SMPP client and the one message the SMPP-only scenarios send, set up alike everywhere. */
import { toSmppAddress } from '../../service/src/smpp/address.js';
import { SmppClient, type SmppClientOptions } from '../../service/src/smpp/client.js';
import { segmentText } from '../../service/src/smpp/segment.js';
import type { OutboundPart } from '../../service/src/smpp/submit.js';
import { SIM_ACCOUNT } from './sim-process.js';
import { startLoopbackClient } from '../support/loopback-client.js';

/**
 * The window we recommend: enough requests in flight to cover a round trip at the bind's rate,
 * with half as much again for jitter, and never fewer than 10.
 */
export function recommendedWindow(mpsPerBind: number, roundTripMs: number): number {
  return Math.max(10, Math.ceil((mpsPerBind * roundTripMs * 1.5) / 1000));
}

/** A single-part GSM7 message; `receipt` false unless asked, so no receipt traffic unless a scenario wants it. */
export function benchPart(receipt = false): OutboundPart {
  const [segment] = segmentText('Your verification code is 482913. It expires in 10 minutes.', { encoding: 'auto', concat: 'udh8', reference: 1 }).segments;
  if (!segment) throw new Error('segmentText returned no segment');
  return { source: toSmppAddress('8x8'), destination: toSmppAddress('+6591234567'), segment, receipt };
}

/** An SmppClient bound to the local simulator over plain TCP (loopback only), started. */
export function startClient(port: number, o: Pick<SmppClientOptions, 'txBinds' | 'mpsPerBind' | 'windowSize'> & Partial<SmppClientOptions>): SmppClient {
  return startLoopbackClient(port, {
    responseTimeoutMs: 10_000,
    enquireLinkIntervalMs: 30_000,
    credentials: { get: () => Promise.resolve({ ...SIM_ACCOUNT }), invalidate: () => undefined },
    ...o,
  });
}

/** Resolves once `tx` transmitting and `rx` receiving binds are bound; rejects after `timeoutMs`. */
export function bound(client: SmppClient, tx: number, rx = 0, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const r = client.readiness();
      if (r.tx < tx || r.rx < rx) return;
      clearTimeout(timer);
      client.off('readiness', check);
      resolve();
    };
    const timer = setTimeout(() => {
      client.off('readiness', check);
      reject(new Error(`binds not up within ${timeoutMs} ms: ${JSON.stringify(client.readiness())}`));
    }, timeoutMs);
    client.on('readiness', check);
    check();
  });
}
