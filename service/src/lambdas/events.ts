/**
 * The events the stream publisher puts on the stack's EventBridge bus: their source, detail types
 * and detail shapes. Shared by the publisher, the example consumer and the CDK app (which builds
 * the consumers' rules and the archive from them), so it imports nothing.
 */

export const EVENT_SOURCE = 'smpp-connector';
export const DetailType = { StatusChanged: 'SmsStatusChanged', Received: 'SmsReceived' } as const;
export type DetailType = (typeof DetailType)[keyof typeof DetailType];

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
}

export interface SmsReceivedDetail {
  id: string;
  from: string | null;
  to: string | null;
  text: string | null;
  receivedAt: string | null;
}
