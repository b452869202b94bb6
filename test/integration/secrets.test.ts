import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSecretsManagerClient, SecretCredentials } from '../../service/src/aws/secrets.js';
import { ErrorCode } from '../../service/src/errors.js';
import { startSecretsStandIn } from '../faults/secrets-stand-in.js';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A server that accepts connections and reads requests but never answers: a hung Secrets Manager endpoint. */
async function hungEndpoint(): Promise<{ endpoint: string; requests: () => number }> {
  const sockets = new Set<Socket>();
  // Connections that carried a request: each attempt opens its own (the last one was cut at its timeout).
  let requests = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('data', () => (requests += 1));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => requests };
}

describe('SecretCredentials over the Secrets Manager client', () => {
  it('reads the secret through the client the service builds', async () => {
    // Prepare
    const standIn = await startSecretsStandIn('smpp/creds', { system_id: 'acme', password: 'pw' });
    cleanups.push(() => standIn.stop());
    const client = createSecretsManagerClient({ region: 'us-east-1', endpoint: standIn.endpoint, credentials });
    // Act / Assess
    await expect(new SecretCredentials(client, 'smpp/creds').get()).resolves.toEqual({ systemId: 'acme', password: 'pw' });
  });

  it('gives up on an endpoint that never answers within the request timeout, instead of blocking every bind', async () => {
    // Prepare
    const hung = await hungEndpoint();
    const client = createSecretsManagerClient(
      { region: 'us-east-1', endpoint: hung.endpoint, credentials, maxAttempts: 1 },
      { connectionTimeoutMs: 200, requestTimeoutMs: 300 },
    );
    const started = Date.now();
    // Act
    const outcome = await Promise.race([
      new SecretCredentials(client, 'smpp/creds').get().then(
        () => 'resolved',
        (err: { code?: string }) => err.code,
      ),
      new Promise((resolve) => setTimeout(() => resolve('still waiting'), 5_000)),
    ]);
    // Assess
    expect(outcome).toBe(ErrorCode.SECRET);
    expect(hung.requests()).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('has request timeouts by default: a hung call fails after its two attempts of 5 s each', async () => {
    // Prepare: fake clocks, so the production timeouts elapse without waiting for them.
    const hung = await hungEndpoint();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const client = createSecretsManagerClient({ region: 'us-east-1', endpoint: hung.endpoint, credentials });
    const started = Date.now();
    let outcome = 'pending';
    let settledAfterMs = -1;
    const get = new SecretCredentials(client, 'smpp/creds').get().then(
      () => (outcome = 'resolved'),
      (err: { code?: string }) => {
        outcome = err.code ?? 'rejected';
        settledAfterMs = Date.now() - started;
      },
    );
    // Act: up to a minute of fake time, in steps so the real sockets get their turns.
    for (let t = 0; t < 60_000 && outcome === 'pending'; t += 250) {
      await vi.advanceTimersByTimeAsync(250);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await get;
    // Assess
    expect(outcome).toBe(ErrorCode.SECRET);
    expect(hung.requests()).toBe(2);
    expect(settledAfterMs).toBeGreaterThanOrEqual(10_000);
    expect(settledAfterMs).toBeLessThan(13_000);
  });
});
