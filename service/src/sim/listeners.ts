/**
 * The simulator's TCP and TLS listeners (docs/architecture.md §6): the ports (kept across a restart,
 * so clients reconnect to the same address), the TLS key pair (given, or a generated self-signed
 * localhost certificate), and the raw sockets, tracked so a stop can cut connections still in the
 * TLS handshake. Apart from the facade, which decides when to listen and what a stop closes first.
 */
import type { Socket } from 'node:net';
import { smpp, type Server, type Session } from '../smpp/codec.js';
import type { ResolvedOptions, SimLogger } from './options.js';
import { generateLocalhostCertificate, type TlsKeyPair } from './tls-cert.js';
import type { Transport } from './types.js';

export type Ports = { port: number; tlsPort?: number };

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

export class Listeners {
  private servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private keyPair: TlsKeyPair | undefined;
  /** Ports actually listened on, once a start succeeded. */
  ports: Ports | undefined;

  constructor(
    private readonly opts: Pick<ResolvedOptions, 'host' | 'port' | 'tls'>,
    private readonly logger: SimLogger,
  ) {}

  /** PEM of the TLS listener's certificate; undefined until a TLS listener has started. */
  get caPem(): string | undefined {
    return this.keyPair?.cert.toString();
  }

  /** Listening, or not yet fully closed. */
  get open(): boolean {
    return this.servers.length > 0;
  }

  /** Listens on the plaintext port and, if configured, the TLS port; on failure closes whatever it opened. */
  async listen(onSession: (session: Session, transport: Transport) => void): Promise<Ports> {
    const { host, tls } = this.opts;
    const plain = smpp.createServer({}, (session) => onSession(session, 'tcp'));
    this.watchServer(plain, 'tcp');
    this.servers = [plain];
    try {
      const port = await listen(plain, this.ports?.port ?? this.opts.port, host);
      let tlsPort: number | undefined;
      if (tls) {
        this.keyPair ??= tls.key !== undefined && tls.cert !== undefined ? { key: tls.key.toString(), cert: tls.cert.toString() } : await generateLocalhostCertificate();
        const secure = smpp.createServer({ ...this.keyPair, minVersion: tls.minVersion }, (session) => onSession(session, 'tls'));
        this.watchServer(secure, 'tls');
        this.servers.push(secure);
        tlsPort = await listen(secure, this.ports?.tlsPort ?? tls.port, host);
      }
      this.ports = tlsPort === undefined ? { port } : { port, tlsPort };
    } catch (err) {
      await Promise.all(this.servers.map(closeServer));
      this.servers = [];
      throw err;
    }
    return this.ports;
  }

  /** Cuts every raw socket left (sessions are closed first) and closes the servers. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await Promise.all(this.servers.map(closeServer));
    this.servers = [];
  }

  private watchServer(server: Server, transport: Transport): void {
    server.on('error', (err: Error) => this.logger.error({ err, transport }, 'smsc-sim listener error'));
    // Raw sockets are tracked so stop() can cut connections still in the TLS handshake.
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('tlsClientError', (err: Error) => this.logger.warn({ err: err.message }, 'smsc-sim TLS handshake refused'));
  }
}
