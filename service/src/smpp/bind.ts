import { EventEmitter } from 'node:events';
import { BindError, ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import { SmppSession, type BindType, type Credentials, type SessionOptions } from './session.js';

/** Where credentials come from; invalidate() after an auth failure so a rotated secret is re-read. */
export interface CredentialsProvider {
  get(): Promise<Credentials>;
  invalidate(): void;
}

export interface BackoffPolicy {
  /** @defaultvalue 500 */
  baseMs: number;
  /** @defaultvalue 30000 */
  maxMs: number;
  /** Auth failures wait at least this long: hammering a wrong password can lock the account. @defaultvalue 30000 */
  authMinMs: number;
  /** The SMSC refused the bind (cap reached): another task may hold it for a while. @defaultvalue 5000 */
  refusedMinMs: number;
}

export const defaultBackoff: BackoffPolicy = { baseMs: 500, maxMs: 30_000, authMinMs: 30_000, refusedMinMs: 5_000 };

/** Full-jitter exponential backoff (AWS architecture blog), with a floor per failure kind. */
export function backoffDelay(policy: BackoffPolicy, attempt: number, error: unknown, random = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 16));
  let delay = random() * ceiling;
  if (error instanceof BindError && error.code === ErrorCode.SMPP_BIND_AUTH) delay = Math.max(delay, policy.authMinMs * (0.5 + random() / 2));
  if (error instanceof BindError && error.code === ErrorCode.SMPP_BIND_REFUSED) delay = Math.max(delay, policy.refusedMinMs * (0.5 + random() / 2));
  return Math.round(delay);
}

export type BindState = 'idle' | 'connecting' | 'bound' | 'backoff' | 'stopped';

export interface BindOptions extends Omit<SessionOptions, 'bindType' | 'credentials'> {
  credentials: CredentialsProvider;
  backoff?: BackoffPolicy;
}

/**
 * One bind slot of the account, kept bound for the life of the process:
 * connect, bind, and on any loss reconnect with backoff.
 *
 * Events: 'bound' (session), 'unbound' (reason), 'bind-failed' (error, delayMs).
 */
export class Bind extends EventEmitter {
  private current: SmppSession | undefined;
  private stateValue: BindState = 'idle';
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private boundWaiters: Array<(s: SmppSession | undefined) => void> = [];

  constructor(
    readonly name: string,
    readonly type: BindType,
    private readonly options: BindOptions,
    private readonly logger: Logger,
  ) {
    super();
  }

  get state(): BindState {
    return this.stateValue;
  }

  get session(): SmppSession | undefined {
    return this.current && !this.current.isClosed ? this.current : undefined;
  }

  start(): void {
    if (this.stateValue !== 'idle') return;
    void this.connect();
  }

  /** Resolves with the bound session, or undefined once the bind is stopped. */
  waitBound(): Promise<SmppSession | undefined> {
    const s = this.session;
    if (s || this.stateValue === 'stopped') return Promise.resolve(s);
    return new Promise((resolve) => this.boundWaiters.push(resolve));
  }

  /** Unbinds within the deadline; no reconnect afterwards. */
  async stop(deadlineMs: number): Promise<void> {
    if (this.stateValue === 'stopped') return;
    this.stateValue = 'stopped';
    clearTimeout(this.retryTimer);
    this.flushWaiters(undefined);
    await this.current?.unbind(deadlineMs);
  }

  private async connect(): Promise<void> {
    if (this.stateValue === 'stopped') return;
    this.stateValue = 'connecting';
    let session: SmppSession;
    try {
      const credentials = await this.options.credentials.get();
      session = await SmppSession.open({ ...this.options, bindType: this.type, credentials, logger: this.logger });
    } catch (err) {
      this.scheduleRetry(err);
      return;
    }
    // stop() may have run while we were binding (the await above).
    if ((this.stateValue as BindState) === 'stopped') {
      await session.unbind(1000);
      return;
    }
    this.attempt = 0;
    this.current = session;
    this.stateValue = 'bound';
    session.once('close', (reason: string) => {
      if (this.stateValue === 'stopped') return;
      this.logger.warn({ bind: this.name, reason }, 'bind lost: reconnecting');
      this.emit('unbound', reason);
      this.scheduleRetry(new BindError(ErrorCode.SMPP_CONNECT, reason));
    });
    this.logger.info({ bind: this.name, type: this.type, tls: session.tlsInfo()?.protocol ?? 'plaintext' }, 'bound');
    this.emit('bound', session);
    this.flushWaiters(session);
  }

  private scheduleRetry(err: unknown): void {
    if (this.stateValue === 'stopped') return;
    const delay = backoffDelay(this.options.backoff ?? defaultBackoff, this.attempt++, err);
    if (err instanceof BindError && err.code === ErrorCode.SMPP_BIND_AUTH) {
      // The password may have been rotated: the next attempt re-reads the secret.
      this.options.credentials.invalidate();
    }
    this.stateValue = 'backoff';
    const code = err instanceof BindError ? err.code : 'UNKNOWN';
    this.logger[code === ErrorCode.SMPP_BIND_AUTH ? 'error' : 'warn'](
      { bind: this.name, code, commandStatus: err instanceof BindError ? err.commandStatus : undefined, err: (err as Error).message, retryInMs: delay },
      code === ErrorCode.SMPP_BIND_AUTH ? 'bind rejected: authentication failure' : 'bind failed',
    );
    this.emit('bind-failed', err, delay);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }

  private flushWaiters(session: SmppSession | undefined): void {
    const waiters = this.boundWaiters;
    this.boundWaiters = [];
    for (const w of waiters) w(session);
  }
}
