/**
 * The session's dead-link detection (docs/architecture.md §4, Keepalive): enquire_link on an idle
 * link, and at once after a run of response timeouts, since the idle keepalive never fires while
 * submits keep going out. An unanswered one means a half-open link: the session is closed and the
 * bind reconnects. Apart from `session.ts` because it owns its own timer and counters and talks to
 * the session only through the few calls in `KeepaliveHost`.
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';

/**
 * Submits that time out in a row, with no response of any kind in between, before the link is
 * probed with an enquire_link at once: the idle keepalive never fires while submits keep going out.
 */
export const PROBE_AFTER_TIMEOUTS = 3;

/** What the keepalive needs from its session. */
export interface KeepaliveHost {
  /** Sends enquire_link on the control window; rejects when it gets no answer. */
  enquireLink(): Promise<unknown>;
  close(reason: string): void;
  isClosed(): boolean;
  /** An unbind (ours or the SMSC's) is under way: the link is ending, no enquire_link. */
  isUnbinding(): boolean;
}

export interface KeepaliveOptions {
  /** Idle time before an enquire_link, ms. */
  intervalMs: number;
  clock: Clock;
  logger: Logger;
}

export class Keepalive {
  private lastActivity: number;
  private timer: NodeJS.Timeout | undefined;
  private silentTimeouts = 0;
  private probing = false;

  constructor(
    private readonly host: KeepaliveHost,
    private readonly options: KeepaliveOptions,
  ) {
    this.lastActivity = options.clock.now();
  }

  /** Starts the idle check (once bound). */
  start(): void {
    const interval = this.options.intervalMs;
    this.timer = setInterval(() => {
      if (this.options.clock.now() - this.lastActivity < interval || this.host.isUnbinding()) return;
      this.lastActivity = this.options.clock.now();
      this.host.enquireLink().catch((err: Error) => {
        // An unanswered enquire_link is the only reliable sign of a half-open TCP link.
        this.options.logger.warn({ err: err.message }, 'enquire_link failed: closing the link');
        this.host.close('enquire_link unanswered');
      });
    }, Math.max(250, Math.floor(interval / 4)));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** A frame arrived: the link is not idle. */
  touch(): void {
    this.lastActivity = this.options.clock.now();
  }

  /** Any answer, even a late one, shows the link carries traffic. */
  responseArrived(): void {
    this.silentTimeouts = 0;
  }

  /**
   * A submit timed out. After PROBE_AFTER_TIMEOUTS in a row, ask the link directly; an unanswered
   * probe means a dead link: close it and let the bind reconnect.
   */
  responseTimedOut(): void {
    this.silentTimeouts += 1;
    if (this.silentTimeouts < PROBE_AFTER_TIMEOUTS || this.probing || this.host.isClosed()) return;
    this.silentTimeouts = 0;
    this.probing = true;
    this.lastActivity = this.options.clock.now();
    this.options.logger.warn({ timeouts: PROBE_AFTER_TIMEOUTS }, 'submits time out: probing the link with enquire_link');
    this.host.enquireLink().then(
      () => {
        this.probing = false;
      },
      (err: Error) => {
        this.options.logger.warn({ err: err.message }, 'enquire_link probe failed: closing the link');
        this.host.close(`enquire_link unanswered after ${PROBE_AFTER_TIMEOUTS} response timeouts`);
      },
    );
  }
}
