/**
 * Opens the TCP or TLS socket of a session through the `smpp` package, with certificate and host
 * name verification (docs/architecture.md §4) and the workarounds its edges need (§6). Apart from
 * `session.ts` because it runs before there is a session: it only resolves a connected socket or
 * rejects with a BindError.
 */
import { rootCertificates } from 'node:tls';
import { BindError, ErrorCode } from '../errors.js';
import { smpp, type Session } from './codec.js';
import type { SessionOptions } from './session-options.js';

/** Opens the TCP/TLS socket through the `smpp` package; resolves once connected (and the TLS handshake verified). */
export function connect(options: SessionOptions): Promise<Session> {
  return new Promise((resolve, reject) => {
    const socketOptions: Record<string, unknown> = { host: options.host, port: options.port };
    if (options.tls) {
      // Never `url: 'ssmpp://…'`: smpp 0.5.1 then connects in plaintext (docs/architecture.md §6).
      Object.assign(socketOptions, {
        tls: true,
        minVersion: options.tlsMinVersion,
        servername: options.servername ?? options.host,
        rejectUnauthorized: true,
        // `ca` replaces Node's bundled store; keep it so a public certificate still verifies.
        ...(options.ca !== undefined && { ca: [options.ca, ...rootCertificates] }),
      });
    }
    const session = smpp.connect(socketOptions);
    const timer = setTimeout(() => fail(new Error(`connect timed out after ${options.connectTimeoutMs ?? 10_000} ms`)), options.connectTimeoutMs ?? 10_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      session.removeAllListeners();
      session.on('error', () => undefined);
      session.destroy();
      reject(new BindError(ErrorCode.SMPP_CONNECT, `cannot connect to ${options.host}:${options.port}: ${err.message}`, undefined, { cause: err }));
    };
    session.once('error', fail);
    session.once('close', () => fail(new Error('connection closed during set-up')));
    session.once(options.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      // Nagle would hold small PDUs for the peer's delayed ACK (~40 ms) and send them in
      // pairs: paced submits would then arrive bunched and trip the SMSC's 1-second window.
      session.socket.setNoDelay(true);
      session.removeAllListeners();
      resolve(session);
    });
  });
}
