import { systemClock } from '../../service/src/clock.js';
import { silentLogger } from '../../service/src/logger.js';
import { SmppClient, type SmppClientOptions } from '../../service/src/smpp/client.js';

/**
 * An SmppClient to an SMSC on loopback (plain TCP: TLS is tested where it is the point), with quiet
 * defaults — 1 TX bind at 1000/s, window 10, credentials test/secret — and already started.
 */
export function startLoopbackClient(port: number, options: Partial<SmppClientOptions> = {}): SmppClient {
  const client = new SmppClient({
    host: '127.0.0.1',
    port,
    tls: false,
    tlsMinVersion: 'TLSv1.3',
    systemType: '',
    txBinds: 1,
    rxBinds: 0,
    trxBinds: 0,
    mpsPerBind: 1000,
    windowSize: 10,
    responseTimeoutMs: 2000,
    enquireLinkIntervalMs: 5000,
    credentials: { get: () => Promise.resolve({ systemId: 'test', password: 'secret' }), invalidate: () => undefined },
    onDeliver: () => Promise.resolve(),
    logger: silentLogger,
    clock: systemClock,
    ...options,
  });
  client.start();
  return client;
}
