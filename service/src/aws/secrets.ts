import { GetSecretValueCommand, SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { ConnectorError, ErrorCode } from '../errors.js';

/** Timeouts of the Secrets Manager client. */
export interface SecretsClientTimeouts {
  /** Time to establish the connection. @defaultvalue 3000 */
  connectionTimeoutMs?: number;
  /** Time for the whole GetSecretValue call, per attempt. @defaultvalue 5000 */
  requestTimeoutMs?: number;
}

/**
 * The Secrets Manager client of the service and the operator tool. Every bind waits for the
 * credentials, so a call must end: without timeouts a silent endpoint holds it for ever.
 *
 * `throwOnRequestTimeout` is what makes `requestTimeout` end the call: without it the SDK
 * (@smithy/node-http-handler 4.x) only logs a warning when it passes and keeps waiting. Two
 * attempts at most, so a hung endpoint costs a bind about 2 × requestTimeoutMs before its
 * backoff; the bind's own retries do the rest.
 *
 * @param config - region, and for tests an endpoint and credentials; the SDK's environment
 *   (`AWS_ENDPOINT_URL_SECRETS_MANAGER`) applies as usual.
 */
export function createSecretsManagerClient(config: SecretsManagerClientConfig = {}, timeouts: SecretsClientTimeouts = {}): SecretsManagerClient {
  return new SecretsManagerClient({
    maxAttempts: 2,
    ...config,
    requestHandler: {
      connectionTimeout: timeouts.connectionTimeoutMs ?? 3_000,
      requestTimeout: timeouts.requestTimeoutMs ?? 5_000,
      throwOnRequestTimeout: true,
    },
  });
}

export interface SmppCredentials {
  systemId: string;
  password: string;
}

/**
 * Credentials from a Secrets Manager secret holding `{ "system_id", "password" }`.
 * Cached for the life of the process; invalidate() after an auth failure makes
 * the next bind read the secret again, which is how a rotation is picked up.
 */
export class SecretCredentials {
  private cached: Promise<SmppCredentials> | undefined;

  constructor(
    private readonly client: Pick<SecretsManagerClient, 'send'>,
    private readonly secretId: string,
  ) {}

  get(): Promise<SmppCredentials> {
    this.cached ??= this.load().catch((err: unknown) => {
      this.cached = undefined;
      throw err;
    });
    return this.cached;
  }

  invalidate(): void {
    this.cached = undefined;
  }

  private async load(): Promise<SmppCredentials> {
    let text: string | undefined;
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }));
      text = out.SecretString;
    } catch (err) {
      throw new ConnectorError(ErrorCode.SECRET, `cannot read secret ${this.secretId}: ${(err as Error).message}`, { cause: err, retryable: true });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text ?? '');
    } catch {
      parsed = undefined;
    }
    const p = parsed as { system_id?: unknown; password?: unknown } | undefined;
    if (typeof p?.system_id !== 'string' || typeof p.password !== 'string' || p.system_id.length === 0) {
      // Never echo the secret's content: it may hold the password.
      throw new ConnectorError(ErrorCode.SECRET, `secret ${this.secretId} must be JSON {"system_id": "...", "password": "..."}`);
    }
    return { systemId: p.system_id, password: p.password };
  }
}

/** Credentials given directly (local runs, tests). */
export class StaticCredentials {
  constructor(private readonly value: SmppCredentials) {}
  get(): Promise<SmppCredentials> {
    return Promise.resolve(this.value);
  }
  invalidate(): void {}
}
