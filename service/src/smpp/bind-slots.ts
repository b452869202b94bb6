/**
 * The account's bind budget as the SMPP layer sees it: a fixed number of slots per system_id,
 * shared by every process that binds with it (each task of the service, old and new side by side
 * during a deployment, the operator's CLI). A bind holds a slot from before it opens its
 * connection until that connection has ended, so the SMSC never sees more binds than slots.
 *
 * Only the port lives here; `aws/bind-lease.ts` implements it with a lease per slot in DynamoDB
 * and `main.ts` wires the two. Nothing here knows where the slots are kept.
 */

/** What a bind asks for: a slot of `systemId`'s budget, for the bind called `bind`. */
export interface SlotRequest {
  /** The system_id the bind will use (from its credentials: a rotated secret may change it). */
  systemId: string;
  /** The bind's name within its process, e.g. `tx1`; with the process it names the holder. */
  bind: string;
}

/** Who holds a slot, as far as the last look at it told. */
export interface SlotHolder {
  /** 1 … the number of slots */
  slot: number;
  /** The holding process. */
  owner: string;
  /** The bind within it. */
  bind: string;
  /** When the holder's lease runs out unless it is renewed (epoch ms). */
  expiresAt: number;
}

/** A slot this bind holds. Its lease is renewed in the background until `release()`. */
export interface HeldSlot {
  /** 1 … the number of slots */
  readonly slot: number;
  /**
   * Resolves, with the reason, once the slot can no longer be counted on: another process took it,
   * or it could not be renewed and would expire soon. The bind must close its session at once;
   * the lease's owner never resolves it later than a safety margin before the expiry.
   * Never rejects; stays pending after `release()`.
   */
  readonly lost: Promise<string>;
  /** Gives the slot back, only if it is still this bind's; stops renewing. Idempotent, never rejects. */
  release(): Promise<void>;
}

/** One attempt to take a slot. */
export type SlotAttempt =
  | { outcome: 'held'; slot: HeldSlot }
  /** Every slot is held by another bind: wait and try again, do not connect. */
  | { outcome: 'none-free'; holders: SlotHolder[] }
  /** The slots could not be read or written (store unreachable): do not connect without one. */
  | { outcome: 'unavailable'; reason: string };

/** The bind budget of an account (README, "Binds"). */
export interface BindSlots {
  /** Slots per system_id (ACCOUNT_BINDS). */
  readonly size: number;
  /** Tries once to take a free slot (free, expired, or already this bind's). Never rejects. */
  acquire(request: SlotRequest): Promise<SlotAttempt>;
}
