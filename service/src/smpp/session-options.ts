/**
 * What an SMPP session is opened with: the link (host, TLS, window, deadlines, keepalive), shared by
 * every bind of an account, and the bind itself (type, credentials, the deliver_sm handler). Types
 * only, apart from `session.ts` so the socket set-up (`connect.ts`) and the session's parts can
 * name them without importing the session (docs/architecture.md §4).
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { DeliverFields } from './receipt.js';

export type BindType = 'transmitter' | 'receiver' | 'transceiver';

export interface Credentials {
  systemId: string;
  password: string;
}

/** How to reach and talk to the SMSC: the same for every bind of an account. */
export interface LinkOptions {
  host: string;
  port: number;
  tls: boolean;
  tlsMinVersion: 'TLSv1.2' | 'TLSv1.3';
  /** Extra trusted CA (PEM); the system store is always trusted too. */
  ca?: string;
  /** Name checked against the certificate. @defaultvalue host */
  servername?: string;
  systemType: string;
  windowSize: number;
  responseTimeoutMs: number;
  enquireLinkIntervalMs: number;
}

export interface SessionOptions extends LinkOptions {
  bindType: BindType;
  credentials: Credentials;
  /** @defaultvalue 10000 */
  connectTimeoutMs?: number;
  /**
   * Handles a deliver_sm / data_sm. The PDU is answered only after this
   * resolves (so a receipt is stored before the SMSC forgets it); a rejection
   * answers ESME_RX_T_APPN and the SMSC redelivers.
   */
  onDeliver?: (fields: DeliverFields) => Promise<void>;
  logger: Logger;
  clock: Clock;
  metrics?: Metrics;
}
