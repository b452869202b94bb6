import { EventEmitter } from 'node:events';
import { within } from '../clock.js';
import { BindError, ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import type { BindSlots, HeldSlot, SlotAttempt } from './bind-slots.js';
import { SmppSession, type BindType, type Credentials, type SessionOptions } from './session.js';

/** Where credentials come from; invalidate() after an auth failure so a rotated secret is re-read. */
export interface CredentialsProvider {
  get(): Promise<Credentials>;
  invalidate(): void;
}

/** How long a bind waits between attempts, per kind of failure. */
export interface BackoffPolicy {
  /** First delay after a failure; it doubles with every failure in a row. @defaultvalue 500 */
  baseMs: number;
  /** Ceiling of that doubling. @defaultvalue 30000 */
  maxMs: number;
  /**
   * First wait after an authentication failure; it doubles with each one in a row, up to
   * `authMaxMs`: hammering a wrong password can lock the account. @defaultvalue 30000
   */
  authMinMs: number;
  /** Ceiling of the authentication floor. @defaultvalue 300000 (5 minutes) */
  authMaxMs?: number;
  /** The SMSC refused the bind (cap reached): another task may hold it for a while. @defaultvalue 5000 */
  refusedMinMs: number;
  /**
   * How long a link must stay up before the failure count starts again from zero. An SMSC that
   * accepts a bind and drops it at once would otherwise be hit again within `baseMs`, for ever.
   * @defaultvalue 60000
   */
  stableAfterMs?: number;
  /**
   * First wait for a bind slot when none is free, or the slot table cannot be reached; it doubles
   * with each wait in a row up to `slotWaitMaxMs`. @defaultvalue 1000
   */
  slotWaitMs?: number;
  /** Ceiling of the slot wait (half of each wait is random): a freed slot is taken within this long. @defaultvalue 4000 */
  slotWaitMaxMs?: number;
}

/** The policy of every production bind (BindOptions.backoff overrides it in tests). */
export const defaultBackoff: Required<BackoffPolicy> = {
  baseMs: 500,
  maxMs: 30_000,
  authMinMs: 30_000,
  authMaxMs: 300_000,
  refusedMinMs: 5_000,
  stableAfterMs: 60_000,
  slotWaitMs: 1_000,
  slotWaitMaxMs: 4_000,
};

/** How long a bind whose slot is lost may take to unbind: the slot's lease still has its margin (lease / 6) to run. */
const LOST_SLOT_UNBIND_MS = 1_000;

/**
 * The wait before the next bind attempt. `attempt` counts failures in a row (0 for the first);
 * `authFailures` counts authentication failures in a row, this one included.
 *
 * Equal jitter: half of the doubled delay is fixed and half random, so each wait is at least as
 * long as the previous one could have been (the delay really grows) while the binds of many tasks
 * still spread out. A floor is a floor: the jitter of an authentication or refusal wait goes
 * above it (floor × 1–1.5), never below.
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, error: unknown, random: () => number = Math.random, authFailures = 1): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  let delay = ceiling / 2 + (random() * ceiling) / 2;
  const code = error instanceof BindError ? error.code : undefined;
  if (code === ErrorCode.SMPP_BIND_AUTH) {
    const floor = Math.min(policy.authMaxMs ?? defaultBackoff.authMaxMs, policy.authMinMs * 2 ** Math.min(Math.max(0, authFailures - 1), 30));
    delay = Math.max(delay, floor * (1 + random() / 2));
  } else if (code === ErrorCode.SMPP_BIND_REFUSED) {
    delay = Math.max(delay, policy.refusedMinMs * (1 + random() / 2));
  }
  return Math.round(delay);
}

/**
 * A bind's failure counters. A link lost after it stayed up `stableAfterMs` starts the count
 * again; one lost sooner counts as another failure in a row, like a bind that failed outright.
 * Authentication failures are counted apart and forgotten at the first successful bind.
 */
export class ReconnectBackoff {
  private attempt = 0;
  private authFailures = 0;
  private boundAt: number | undefined;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  /** Failures in a row so far. */
  get failures(): number {
    return this.attempt;
  }

  /** A bind succeeded at `now`. */
  bound(now: number): void {
    this.boundAt = now;
    this.authFailures = 0;
  }

  /** A bind attempt failed, or the link was lost, at `now`: the wait before the next attempt. */
  failed(error: unknown, now: number): number {
    if (this.boundAt !== undefined && now - this.boundAt >= (this.policy.stableAfterMs ?? defaultBackoff.stableAfterMs)) this.attempt = 0;
    this.boundAt = undefined;
    if (error instanceof BindError && error.code === ErrorCode.SMPP_BIND_AUTH) this.authFailures += 1;
    return backoffDelay(this.policy, this.attempt++, error, this.random, this.authFailures);
  }
}

export type BindState = 'idle' | 'waiting-for-slot' | 'connecting' | 'bound' | 'backoff' | 'stopped';

export interface BindOptions extends Omit<SessionOptions, 'bindType' | 'credentials'> {
  credentials: CredentialsProvider;
  backoff?: BackoffPolicy;
  /**
   * The account's bind budget: a slot is held from before each connection is opened until it has
   * ended. Every bind of the service and of the operator's tool gets it (main.ts, smpp-cli.ts);
   * without it the bind counts on nothing but the SMSC's refusals (tests of a lone bind).
   */
  slots?: BindSlots;
}

/**
 * One bind of the account, kept bound for the life of the process: take a bind slot, connect,
 * bind, and on any loss give the slot back and start again with backoff. A bind never opens a
 * connection without a slot: none free, or a slot table it cannot reach, means waiting (1–4 s
 * between tries); a slot lost while bound (not renewed, or taken) closes the session at once.
 *
 * Events: 'bound' (session), 'unbound' (reason), 'bind-failed' (error, delayMs),
 * 'slot-wait' (attempt: the SlotAttempt that held no slot, delayMs).
 */
export class Bind extends EventEmitter {
  private current: SmppSession | undefined;
  private stateValue: BindState = 'idle';
  private readonly backoff: ReconnectBackoff;
  private retryTimer: NodeJS.Timeout | undefined;
  private boundWaiters: Array<(s: SmppSession | undefined) => void> = [];
  /** The slot of the connection being opened or bound. */
  private held: HeldSlot | undefined;
  /** The attempt under way (slot, credentials, connect, bind): stop() lets it end. */
  private attempt: Promise<void> | undefined;
  /** Slot waits in a row, for their doubling. */
  private slotWaits = 0;
  private lastSlotOutcome: SlotAttempt['outcome'] | undefined;

  constructor(
    readonly name: string,
    readonly type: BindType,
    private readonly options: BindOptions,
    private readonly logger: Logger,
  ) {
    super();
    this.backoff = new ReconnectBackoff(options.backoff ?? defaultBackoff);
  }

  get state(): BindState {
    return this.stateValue;
  }

  /** The bound session, while it takes submits (not once it is retiring or unbinding). */
  get session(): SmppSession | undefined {
    return this.current?.acceptingSubmits ? this.current : undefined;
  }

  start(): void {
    if (this.stateValue !== 'idle') return;
    this.attemptNow();
  }

  /** Resolves with the bound session, or undefined once the bind is stopped. */
  waitBound(): Promise<SmppSession | undefined> {
    const s = this.session;
    if (s || this.stateValue === 'stopped') return Promise.resolve(s);
    return new Promise((resolve) => this.boundWaiters.push(resolve));
  }

  /** Unbinds within the deadline, then gives its slot back; no reconnect afterwards. */
  async stop(deadlineMs: number): Promise<void> {
    if (this.stateValue === 'stopped') return;
    this.stateValue = 'stopped';
    clearTimeout(this.retryTimer);
    this.flushWaiters(undefined);
    await this.current?.unbind(deadlineMs);
    // An attempt under way sees the stop and gives its slot back; wait for that within the deadline.
    if (this.attempt) await within(this.attempt, deadlineMs, undefined);
    await this.held?.release();
  }

  private attemptNow(): void {
    this.attempt = this.connect().finally(() => (this.attempt = undefined));
  }

  private async connect(): Promise<void> {
    if (this.stateValue === 'stopped') return;
    this.stateValue = 'connecting';
    let credentials: Credentials;
    try {
      credentials = await this.options.credentials.get();
    } catch (err) {
      this.scheduleRetry(err);
      return;
    }
    let held: HeldSlot | undefined;
    let lostReason: string | undefined;
    if (this.options.slots) {
      // Never a connection without a slot: the SMSC must not see more binds than the budget.
      const attempt = await this.options.slots
        // The type too: the client names a transmitter and a transceiver alike (`tr1`), and a holder must be unique in its process.
        .acquire({ systemId: credentials.systemId, bind: `${this.type}:${this.name}` })
        .catch((err: unknown): SlotAttempt => ({ outcome: 'unavailable', reason: (err as Error).message }));
      if (attempt.outcome === 'held') held = attempt.slot;
      if ((this.stateValue as BindState) === 'stopped') {
        await held?.release();
        return;
      }
      if (attempt.outcome !== 'held') {
        this.waitForSlot(attempt);
        return;
      }
      this.slotWaits = 0;
      this.lastSlotOutcome = undefined;
      this.held = held;
      void attempt.slot.lost.then((reason) => (lostReason = reason));
    }
    let session: SmppSession;
    try {
      session = await SmppSession.open({ ...this.options, bindType: this.type, credentials, logger: this.logger });
    } catch (err) {
      await held?.release();
      this.scheduleRetry(err);
      return;
    }
    // stop() may have run while we were binding (the await above).
    if ((this.stateValue as BindState) === 'stopped') {
      await session.unbind(1000);
      await held?.release();
      return;
    }
    if (lostReason !== undefined) {
      // The slot went while we were connecting (renewals failed meanwhile): not a moment on it.
      session.close(`bind slot lost: ${lostReason}`);
      await held?.release();
      this.scheduleRetry(new BindError(ErrorCode.SMPP_CONNECT, `bind slot lost: ${lostReason}`));
      return;
    }
    this.backoff.bound(this.options.clock.now());
    this.current = session;
    this.stateValue = 'bound';
    session.once('close', (reason: string) => {
      // The connection is over: its slot goes back at once, whatever ended it.
      void held?.release();
      if (this.stateValue === 'stopped') return;
      this.logger.warn({ bind: this.name, reason }, 'bind lost: reconnecting');
      this.emit('unbound', reason);
      this.scheduleRetry(new BindError(ErrorCode.SMPP_CONNECT, reason));
    });
    void held?.lost.then((reason) => {
      if (this.current !== session || session.isClosed) return;
      this.logger.warn({ bind: this.name, reason }, 'bind slot lost: closing the session before another process may take the slot');
      void session.unbind(LOST_SLOT_UNBIND_MS);
    });
    this.logger.info({ bind: this.name, type: this.type, tls: session.tlsInfo()?.protocol ?? 'plaintext', ...(held && { slot: held.slot }) }, 'bound');
    this.emit('bound', session);
    this.flushWaiters(session);
  }

  /** No slot this time: try again in 1–4 s (the ceiling bounds how long a freed slot waits for us). */
  private waitForSlot(attempt: Exclude<SlotAttempt, { outcome: 'held' }>): void {
    const policy = this.options.backoff ?? defaultBackoff;
    const ceiling = Math.min(policy.slotWaitMaxMs ?? defaultBackoff.slotWaitMaxMs, (policy.slotWaitMs ?? defaultBackoff.slotWaitMs) * 2 ** Math.min(this.slotWaits++, 20));
    const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    this.stateValue = 'waiting-for-slot';
    // Said once per change of outcome, not every few seconds of a long wait.
    const level = attempt.outcome === this.lastSlotOutcome ? 'debug' : attempt.outcome === 'unavailable' ? 'warn' : 'info';
    this.lastSlotOutcome = attempt.outcome;
    if (attempt.outcome === 'none-free') {
      const holders = attempt.holders.map((h) => `${h.slot}: ${h.owner} ${h.bind}`);
      this.logger[level]({ bind: this.name, holders, retryInMs: delay }, 'no bind slot free: waiting (not connecting)');
    } else {
      this.logger[level]({ bind: this.name, reason: attempt.reason, retryInMs: delay }, 'bind slots unavailable: not connecting without a slot');
    }
    this.emit('slot-wait', attempt, delay);
    this.retryTimer = setTimeout(() => this.attemptNow(), delay);
  }

  private scheduleRetry(err: unknown): void {
    if (this.stateValue === 'stopped') return;
    const delay = this.backoff.failed(err, this.options.clock.now());
    if (err instanceof BindError && err.code === ErrorCode.SMPP_BIND_AUTH) {
      // The password may have been rotated: the next attempt re-reads the secret.
      this.options.credentials.invalidate();
    }
    this.stateValue = 'backoff';
    const code = err instanceof BindError ? err.code : 'UNKNOWN';
    this.logger[code === ErrorCode.SMPP_BIND_AUTH ? 'error' : 'warn'](
      {
        bind: this.name,
        code,
        commandStatus: err instanceof BindError ? err.commandStatus : undefined,
        err: (err as Error).message,
        failuresInARow: this.backoff.failures,
        retryInMs: delay,
      },
      code === ErrorCode.SMPP_BIND_AUTH ? 'bind rejected: authentication failure' : 'bind failed',
    );
    this.emit('bind-failed', err, delay);
    this.retryTimer = setTimeout(() => this.attemptNow(), delay);
  }

  private flushWaiters(session: SmppSession | undefined): void {
    const waiters = this.boundWaiters;
    this.boundWaiters = [];
    for (const w of waiters) w(session);
  }
}
