/**
 * The events the stream publisher puts on the stack's EventBridge bus: their source, detail types
 * and detail shapes. Shared by the publisher, the example consumer and the CDK app (which builds
 * the consumers' rules and the archive from them), so it imports nothing.
 */

export const EVENT_SOURCE = 'smpp-connector';
export const DetailType = { StatusChanged: 'SmsStatusChanged', Received: 'SmsReceived', OptedOut: 'OptedOut', OptedIn: 'OptedIn' } as const;
export type DetailType = (typeof DetailType)[keyof typeof DetailType];
/** What a consumer gets when it names no detail types: the message events (opt-out events are asked for by name). */
export const DEFAULT_DETAIL_TYPES: readonly DetailType[] = [DetailType.StatusChanged, DetailType.Received];

export interface SmsStatusChangedDetail {
  id: string;
  status: string;
  previousStatus: string | null;
  to: string | null;
  segments: number | null;
  lastError: unknown;
  updatedAt: string;
  metadata: unknown;
  /**
   * The item's `version` after this change (it grows with every write): `(id, version)` names
   * one change, so a consumer drops a repeat (a retried batch) and anything older than what it
   * has seen.
   */
  version: number | null;
  /** Why it is INVALID, or `opted out` when it was REJECTED unsent (docs/architecture.md §7.5); absent otherwise. */
  reason?: string;
}

export interface SmsReceivedDetail {
  id: string;
  from: string | null;
  to: string | null;
  text: string | null;
  receivedAt: string | null;
}

/**
 * `OptedOut` / `OptedIn`: a number's entry in the suppression list changed state (docs/architecture.md
 * §7.5). `(id, version)` names one change, as for the message events.
 */
export interface OptOutChangedDetail {
  /** The entry's item id, `OPTOUT#<sender>#<number>`. */
  id: string;
  /** Digits only. */
  number: string;
  /** The sender id or short code it concerns; `*` for every sender. */
  sender: string;
  /** `mo` (a keyword from the number) or `operator` (`npm run optout`). */
  source: string;
  /** The MO that carried the keyword, when `source` is `mo`. */
  moId: string | null;
  /** ISO-8601, when the entry changed. */
  at: string;
  version: number | null;
}
