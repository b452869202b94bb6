/**
 * An in-process stand-in for AWS Secrets Manager's GetSecretValue, because no local Secrets
 * Manager server exists (docs/architecture.md §6). It speaks the real wire protocol — JSON 1.1, a POST with
 * `X-Amz-Target: secretsmanager.GetSecretValue` — so the service's own SDK client reaches it
 * through `AWS_ENDPOINT_URL_SECRETS_MANAGER`, exactly as it reaches the real service. The test
 * can rotate the secret while the service runs.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SecretsStandIn {
  endpoint: string;
  /** GetSecretValue calls answered so far. */
  readonly reads: number;
  /** Replaces the secret's value (a new version), as a rotation does. */
  rotate(value: { system_id: string; password: string }): void;
  stop(): Promise<void>;
}

export async function startSecretsStandIn(name: string, initial: { system_id: string; password: string }): Promise<SecretsStandIn> {
  let value = initial;
  let version = 1;
  let reads = 0;
  const arn = `arn:aws:secretsmanager:us-east-1:000000000000:secret:${name}-AbCdEf`;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const reply = (status: number, payload: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(payload));
      };
      if (req.method !== 'POST' || req.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') {
        return reply(400, { __type: 'UnknownOperationException', message: `stand-in serves GetSecretValue only (${String(req.headers['x-amz-target'])})` });
      }
      let secretId: unknown;
      try {
        secretId = (JSON.parse(body) as { SecretId?: unknown }).SecretId;
      } catch {
        secretId = undefined;
      }
      if (secretId !== name && secretId !== arn) {
        return reply(400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
      }
      reads += 1;
      reply(200, { ARN: arn, Name: name, SecretString: JSON.stringify(value), VersionId: `v${version}`, VersionStages: ['AWSCURRENT'], CreatedDate: Date.now() / 1000 });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get reads() {
      return reads;
    },
    rotate(next) {
      value = next;
      version += 1;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
