import type { SecureVersion } from 'node:tls';
import type { Logger } from 'pino';
import { ConfigError } from '../errors.js';
import type { IdFormat } from './message-ids.js';
import type { ReceiptStat } from './receipt-text.js';

/** One SMPP account (system_id) the simulator accepts. */
export interface SmscAccount {
  systemId: string;
  password: string;
  /**
   * Concurrent bound sessions (of any type) allowed for this system_id; the next bind gets ESME_RBINDFAIL.
   * @defaultvalue 4 (the 8x8 baseline)
   */
  maxBinds?: number;
  /**
   * Accepted submit_sm per bind in any 1-second window; the next one gets ESME_RTHROTTLED.
   * @defaultvalue 50 (the 8x8 baseline)
   */
  mps?: number;
}

/** TLS listener settings. */
export interface SmscTlsOptions {
  /** Port of the TLS listener. @defaultvalue 0 (ephemeral) */
  port?: number;
  /** Lowest TLS version accepted. @defaultvalue 'TLSv1.3' (8x8 offers TLS 1.3 only on 2776) */
  minVersion?: SecureVersion;
  /** PEM key; with `cert`, used instead of a generated self-signed certificate. */
  key?: string | Buffer;
  /** PEM certificate chain matching `key`. */
  cert?: string | Buffer;
}

/** How the receipt writes the message id: as the submit_sm_resp did, or always hex / decimal. */
export type ReceiptIdFormat = 'same' | IdFormat;

/** The receipt outcome for a destination, or null for "no receipt at all". */
export type ReceiptOutcome = (destination: string) => ReceiptStat | null;

/** Faults injected on demand; all off by default. Rates are probabilities in [0, 1] per submit_sm. */
export interface SmscFaults {
  /** Close the TCP connection right after the Nth submit_sm received from now on, without answering it; then clears itself. */
  dropAfterSubmits: number | undefined;
  /** Accept the submit (id assigned, recorded with `swallowed: true`, receipt still sent) but never answer it. */
  swallowRate: number;
  /** Answer ESME_RTHROTTLED whatever the rate. */
  throttleRate: number;
  /** Answer ESME_RMSGQFUL (temporary). */
  msgQFullRate: number;
  /** Answer ESME_RSUBMITFAIL (permanent). */
  submitFailRate: number;
  /** Send the receipt (and wait for its answer) before the submit_sm_resp. */
  receiptBeforeResponse: boolean;
  /** Stop answering enquire_link. */
  ignoreEnquireLink: boolean;
  /** Answer every bind with ESME_RBINDFAIL. */
  refuseBinds: boolean;
  /**
   * Answer binds with ESME_ROK, then close the connection this many ms later (an SMSC, or a
   * load balancer before it, that takes binds and drops them). Clearing it spares sessions not yet dropped.
   */
  acceptThenDropMs: number | undefined;
  /** Answer ESME_RMSGQFUL to every submit_sm for these destination addresses (a queue kept per handset, full). */
  msgQFullDestinations: readonly string[];
  /** Answer ESME_RSYSERR (temporary) to every submit_sm for these destination addresses: a route that keeps failing. */
  systemErrorDestinations: readonly string[];
}

export const NO_FAULTS: Readonly<SmscFaults> = Object.freeze({
  dropAfterSubmits: undefined,
  swallowRate: 0,
  throttleRate: 0,
  msgQFullRate: 0,
  submitFailRate: 0,
  receiptBeforeResponse: false,
  ignoreEnquireLink: false,
  refuseBinds: false,
  acceptThenDropMs: undefined,
  msgQFullDestinations: [],
  systemErrorDestinations: [],
});

/** The logging surface the simulator uses (a pino logger fits). */
export type SimLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface SmscSimulatorOptions {
  /** Interface to listen on. @defaultvalue '127.0.0.1' */
  host?: string;
  /** Plaintext port. @defaultvalue 0 (ephemeral; see `start()`'s result) */
  port?: number;
  /** A second, TLS listener with a self-signed certificate (see `caPem`) unless key and cert are given. @defaultvalue false */
  tls?: false | SmscTlsOptions;
  /** @defaultvalue [{ systemId: 'test', password: 'secret', maxBinds: 4, mps: 50 }] */
  accounts?: SmscAccount[];
  /** How submit_sm_resp message ids are written (hex is uppercase). @defaultvalue 'hex' */
  idFormat?: IdFormat;
  /** How receipts write the id ('decimal' with hex ids reproduces the classic correlation bug). @defaultvalue 'same' */
  receiptIdFormat?: ReceiptIdFormat;
  /** Delay before each submit_sm_resp, in ms (responses keep arrival order per session). @defaultvalue 0 */
  responseDelayMs?: number;
  /** Delay between a submit_sm_resp and its receipt, in ms (swallowed submits: from acceptance). @defaultvalue 0 */
  receiptDelayMs?: number;
  /** Receipt outcome per destination. @defaultvalue destinations ending in '0000' → 'UNDELIV', others → 'DELIVRD' */
  receiptOutcome?: ReceiptOutcome;
  /** Wait before redelivering a receipt or MO that was refused, unanswered or lost with its bind, in ms. @defaultvalue 250 */
  receiptRetryMs?: number;
  /** How long a deliver_sm may stay unanswered before it counts as failed and is retried, in ms. @defaultvalue 5000 */
  deliverTimeoutMs?: number;
  /** When set, the simulator sends enquire_link on every bound session at this interval and closes a session that left the previous one unanswered. */
  enquireLinkIntervalMs?: number;
  /** Faults active from the start. @defaultvalue none */
  faults?: Partial<SmscFaults>;
  /** Seed of the PRNG behind fault decisions, id start and MO references. @defaultvalue 1 */
  seed?: number;
  /** system_id the simulator answers binds with. @defaultvalue 'SMSCSIM' */
  smscSystemId?: string;
  /** @defaultvalue a silent pino logger */
  logger?: SimLogger;
}

/** Options after defaults, as the simulator uses them. */
export interface ResolvedOptions {
  host: string;
  port: number;
  tls: false | (Required<Pick<SmscTlsOptions, 'port' | 'minVersion'>> & Pick<SmscTlsOptions, 'key' | 'cert'>);
  accounts: Array<Required<SmscAccount>>;
  idFormat: IdFormat;
  receiptIdFormat: ReceiptIdFormat;
  responseDelayMs: number;
  receiptDelayMs: number;
  receiptOutcome: ReceiptOutcome;
  receiptRetryMs: number;
  deliverTimeoutMs: number;
  enquireLinkIntervalMs: number | undefined;
  faults: SmscFaults;
  seed: number;
  smscSystemId: string;
}

/** 8x8-like default: numbers ending in 0000 are undeliverable, everything else is delivered. */
export const defaultReceiptOutcome: ReceiptOutcome = (destination) => (destination.endsWith('0000') ? 'UNDELIV' : 'DELIVRD');

const isPort = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 65535;
const isRate = (n: number): boolean => Number.isFinite(n) && n >= 0 && n <= 1;
const isDelay = (n: number): boolean => Number.isFinite(n) && n >= 0;

/** Problems with a fault setting, empty when valid. */
export function faultProblems(faults: Partial<SmscFaults>): string[] {
  const problems: string[] = [];
  for (const key of ['swallowRate', 'throttleRate', 'msgQFullRate', 'submitFailRate'] as const) {
    const value = faults[key];
    if (value !== undefined && !isRate(value)) problems.push(`faults.${key} must be between 0 and 1 (got ${value})`);
  }
  const acceptThenDrop = faults.acceptThenDropMs;
  if (acceptThenDrop !== undefined && !(Number.isFinite(acceptThenDrop) && acceptThenDrop >= 0)) {
    problems.push(`faults.acceptThenDropMs must be a non-negative number of ms (got ${acceptThenDrop})`);
  }
  const drop = faults.dropAfterSubmits;
  if (drop !== undefined && !(Number.isInteger(drop) && drop >= 1)) {
    problems.push(`faults.dropAfterSubmits must be a positive integer (got ${drop})`);
  }
  return problems;
}

/** Applies defaults and validates; every problem is reported in one ConfigError. */
export function resolveOptions(options: SmscSimulatorOptions): ResolvedOptions {
  const problems: string[] = [];
  const accounts = (options.accounts ?? [{ systemId: 'test', password: 'secret' }]).map((a) => ({
    systemId: a.systemId,
    password: a.password,
    maxBinds: a.maxBinds ?? 4,
    mps: a.mps ?? 50,
  }));
  if (accounts.length === 0) problems.push('accounts must list at least one account');
  const seen = new Set<string>();
  for (const a of accounts) {
    // system_id is a C-Octet String of at most 16 octets (SMPP 3.4 §4.1). Passwords are not
    // held to the spec's 9 octets: real SMSCs accept longer ones, and so does the codec.
    if (!a.systemId || a.systemId.length > 15) problems.push(`account systemId ${JSON.stringify(a.systemId)} must be 1-15 characters`);
    if (seen.has(a.systemId)) problems.push(`account ${a.systemId} is listed twice`);
    seen.add(a.systemId);
    if (!(Number.isInteger(a.maxBinds) && a.maxBinds >= 1)) problems.push(`account ${a.systemId}: maxBinds must be a positive integer`);
    if (!(Number.isInteger(a.mps) && a.mps >= 1)) problems.push(`account ${a.systemId}: mps must be a positive integer`);
  }
  const port = options.port ?? 0;
  if (!isPort(port)) problems.push(`port must be 0-65535 (got ${port})`);
  const tls = options.tls
    ? { port: options.tls.port ?? 0, minVersion: options.tls.minVersion ?? ('TLSv1.3' as const), key: options.tls.key, cert: options.tls.cert }
    : false;
  if (tls) {
    if (!isPort(tls.port)) problems.push(`tls.port must be 0-65535 (got ${tls.port})`);
    if (tls.port !== 0 && tls.port === port) problems.push('tls.port must differ from port');
    if ((tls.key === undefined) !== (tls.cert === undefined)) problems.push('tls.key and tls.cert go together');
  }
  const delays = {
    responseDelayMs: options.responseDelayMs ?? 0,
    receiptDelayMs: options.receiptDelayMs ?? 0,
    receiptRetryMs: options.receiptRetryMs ?? 250,
    deliverTimeoutMs: options.deliverTimeoutMs ?? 5000,
  };
  for (const [name, value] of Object.entries(delays)) {
    if (!isDelay(value)) problems.push(`${name} must be a non-negative number of ms (got ${value})`);
  }
  if (delays.deliverTimeoutMs <= 0) problems.push('deliverTimeoutMs must be positive');
  const enquire = options.enquireLinkIntervalMs;
  if (enquire !== undefined && !(Number.isFinite(enquire) && enquire > 0)) {
    problems.push(`enquireLinkIntervalMs must be positive (got ${enquire})`);
  }
  problems.push(...faultProblems(options.faults ?? {}));
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    host: options.host ?? '127.0.0.1',
    port,
    tls,
    accounts,
    idFormat: options.idFormat ?? 'hex',
    receiptIdFormat: options.receiptIdFormat ?? 'same',
    ...delays,
    receiptOutcome: options.receiptOutcome ?? defaultReceiptOutcome,
    enquireLinkIntervalMs: enquire,
    faults: { ...NO_FAULTS, ...options.faults },
    seed: options.seed ?? 1,
    smscSystemId: options.smscSystemId ?? 'SMSCSIM',
  };
}
