import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './errors.js';

/**
 * Service configuration (docs/architecture.md §3.3), read once from the environment into a
 * frozen object. Every problem is reported together so an operator fixes a task
 * definition in one go, not one variable per restart.
 */
export interface Config {
  smpp: {
    /** SMSC host name; also the TLS servername checked against the certificate. */
    host: string;
    /** @defaultvalue 2776 (8x8's TLS port; 2775 is its legacy plaintext port) */
    port: number;
    /** @defaultvalue true */
    tls: boolean;
    /** @defaultvalue 'TLSv1.3' (what 8x8 offers on 2776) */
    tlsMinVersion: 'TLSv1.2' | 'TLSv1.3';
    /** Extra CA certificate (PEM), e.g. a simulator's self-signed one. */
    ca?: string;
    /** Local credentials; absent when they come from Secrets Manager. */
    systemId?: string;
    password?: string;
    credentialsSecretId?: string;
    /** @defaultvalue 1 */
    txBinds: number;
    /** @defaultvalue 1 */
    rxBinds: number;
    /** @defaultvalue 0 */
    trxBinds: number;
    /** Submits per second allowed per transmitting bind. @defaultvalue 50 (8x8 baseline) */
    mpsPerBind: number;
    /** Outstanding requests per bind. @defaultvalue 10 */
    windowSize: number;
    /** Milliseconds to wait for any response. @defaultvalue 10000 */
    responseTimeoutMs: number;
    /** Idle time before we send enquire_link. Must be > responseTimeoutMs. @defaultvalue 30000 */
    enquireLinkIntervalMs: number;
    /** Concatenation method for long messages. @defaultvalue 'udh8' */
    concat: 'udh8' | 'udh16' | 'sar';
    /** system_type sent in bind requests. @defaultvalue '' */
    systemType: string;
    /** TON/NPI forced on every source / destination address; derived from each address when absent. */
    sourceAddr: { ton?: number; npi?: number };
    destAddr: { ton?: number; npi?: number };
  };
  aws: {
    region: string;
    queueUrl: string;
    /** The urgent lane's queue (OUTBOUND_PRIORITY_QUEUE_URL); absent: one lane. */
    priorityQueueUrl?: string;
    tableName: string;
  };
  /**
   * Share of the transmitters' submits kept for bulk jobs while urgent ones wait, so a flood of
   * urgent jobs slows bulk but never stops it (docs/architecture.md §7.1). 0 – 0.9. @defaultvalue 0.1
   */
  bulkMinShare: number;
  /**
   * Hours after its submission (or its validity period, when shorter) that a message with no final
   * receipt becomes UNKNOWN ("no receipt"), as AWS End User Messaging does. @defaultvalue 72
   */
  finalStatusTimeoutHours: number;
  /** Opt-out handling (docs/architecture.md §7.5); off by default. */
  optOut: {
    /** @defaultvalue false */
    enabled: boolean;
    /** Whole-text MO keywords that opt a number out, upper case. @defaultvalue STOP, UNSUBSCRIBE, CANCEL, END, QUIT, STOPALL */
    stopKeywords: readonly string[];
    /** Whole-text MO keywords that opt it back in. @defaultvalue START, UNSTOP */
    startKeywords: readonly string[];
    /** 'sender': an opt-out holds for the sender (the MO's destination) it was sent to; 'all': for every sender. @defaultvalue 'sender' */
    scope: 'sender' | 'all';
  };
  /** Days a status item is kept (DynamoDB TTL). @defaultvalue 30 */
  messageTtlDays: number;
  /**
   * Seconds an incomplete long MO message waits for its missing parts before it is stored as what
   * arrived. At most a day: a part seen again after that counts as a new message. @defaultvalue 300
   */
  moReassemblyTimeoutSeconds: number;
  /** @defaultvalue 'info' */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** @defaultvalue 8080 */
  healthPort: number;
  /** Time allowed to drain the window on SIGTERM. @defaultvalue 20000 */
  shutdownGraceMs: number;
  /**
   * How long a status write (or read) waits for others to share one BatchExecuteStatement
   * (BatchGetItem) (docs/architecture.md §3.2, "Batched writes"): a request costs far more CPU than
   * the item it carries. 0: only those of one event-loop turn are batched. @defaultvalue 20
   */
  storeLingerMs: number;
  /**
   * Seconds a received job stays invisible on the queue, and this task's claim lease on it; the
   * heartbeat renews both every quarter of it while the job is in hand. A crashed task's jobs are
   * resumed by another task after at most this long. At least 10 s: a renewal must fit in it.
   * @defaultvalue 15
   */
  visibilityTimeoutSeconds: number;
  /** The queue's redrive maxReceiveCount: the attempt that reaches it records FAILED before the DLQ. @defaultvalue 10 */
  maxReceiveCount: number;
  /**
   * Binds the account allows for its system_id, shared by every process that binds with it (all
   * tasks, old and new during a deployment, the operator's tool): the number of bind slots leased
   * in the messages table. At least this process's own binds. @defaultvalue 4 (8x8's limit)
   */
  accountBinds: number;
  /**
   * Seconds a bind slot's lease lasts; renewed every third of it while the bind lives. A crashed
   * task's slots are free again after at most this long; a bound session whose renewals keep
   * failing closes a sixth of it before the expiry. 10 s – 5 min. @defaultvalue 30
   */
  bindLeaseSeconds: number;
}

const bool = z
  .string()
  .transform((v) => v.toLowerCase())
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' }))
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
// The range checks need their own messages: zod 4 would give them the schema-level 'must be a number' (TX_BINDS=-1).
const int = (min: number, max: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

/**
 * Defaults of the service's settings, by environment variable: the one place they are written. The
 * CDK construct (infra/) takes its own defaults from here, so a stack and a task started without it agree.
 */
export const SERVICE_DEFAULTS = Object.freeze({
  SMPP_PORT: 2776,
  SMPP_TLS: true,
  SMPP_TLS_MIN_VERSION: 'TLSv1.3',
  SMPP_SYSTEM_TYPE: '',
  SMPP_CONCAT: 'udh8',
  TX_BINDS: 1,
  RX_BINDS: 1,
  TRX_BINDS: 0,
  MPS_PER_BIND: 50,
  WINDOW_SIZE: 10,
  RESPONSE_TIMEOUT_MS: 10_000,
  ENQUIRE_LINK_INTERVAL_MS: 30_000,
  MESSAGE_TTL_DAYS: 30,
  MO_REASSEMBLY_TIMEOUT_SECONDS: 300,
  LOG_LEVEL: 'info',
  HEALTH_PORT: 8080,
  SHUTDOWN_GRACE_MS: 20_000,
  STORE_LINGER_MS: 20,
  VISIBILITY_TIMEOUT_SECONDS: 15,
  MAX_RECEIVE_COUNT: 10,
  ACCOUNT_BINDS: 4,
  BIND_LEASE_SECONDS: 30,
  BULK_MIN_SHARE: 0.1,
  FINAL_STATUS_TIMEOUT_HOURS: 72,
  OPT_OUT: false,
  OPT_OUT_KEYWORDS: 'STOP,UNSUBSCRIBE,CANCEL,END,QUIT,STOPALL',
  OPT_IN_KEYWORDS: 'START,UNSTOP',
  OPT_OUT_SCOPE: 'sender',
} as const);

const keywords = z
  .string()
  .transform((v) => v.split(',').map((k) => k.trim().toUpperCase()).filter((k) => k.length > 0))
  .pipe(z.array(z.string().max(32, 'keywords are at most 32 characters')).min(1, 'must list at least one keyword'));

const schema = z.object({
  SMPP_HOST: z.string().min(1, 'is required'),
  SMPP_PORT: int(1, 65535).default(SERVICE_DEFAULTS.SMPP_PORT),
  SMPP_TLS: bool.default(SERVICE_DEFAULTS.SMPP_TLS),
  SMPP_TLS_MIN_VERSION: z.enum(['TLSv1.2', 'TLSv1.3']).default(SERVICE_DEFAULTS.SMPP_TLS_MIN_VERSION),
  SMPP_CA_FILE: z.string().optional(),
  SMPP_SYSTEM_ID: z.string().max(15, 'is at most 15 characters (SMPP 3.4 system_id)').optional(),
  SMPP_PASSWORD: z.string().max(8, 'is at most 8 characters (SMPP 3.4 password)').optional(),
  SMPP_CREDENTIALS_SECRET_ID: z.string().optional(),
  SMPP_SYSTEM_TYPE: z.string().max(12).default(SERVICE_DEFAULTS.SMPP_SYSTEM_TYPE),
  SMPP_CONCAT: z.enum(['udh8', 'udh16', 'sar']).default(SERVICE_DEFAULTS.SMPP_CONCAT),
  SOURCE_ADDR_TON: int(0, 6).optional(),
  SOURCE_ADDR_NPI: int(0, 18).optional(),
  DEST_ADDR_TON: int(0, 6).optional(),
  DEST_ADDR_NPI: int(0, 18).optional(),
  TX_BINDS: int(0, 64).default(SERVICE_DEFAULTS.TX_BINDS),
  RX_BINDS: int(0, 64).default(SERVICE_DEFAULTS.RX_BINDS),
  TRX_BINDS: int(0, 64).default(SERVICE_DEFAULTS.TRX_BINDS),
  MPS_PER_BIND: int(1, 100_000).default(SERVICE_DEFAULTS.MPS_PER_BIND),
  WINDOW_SIZE: int(1, 1000).default(SERVICE_DEFAULTS.WINDOW_SIZE),
  RESPONSE_TIMEOUT_MS: int(100, 300_000).default(SERVICE_DEFAULTS.RESPONSE_TIMEOUT_MS),
  ENQUIRE_LINK_INTERVAL_MS: int(1000, 3_600_000).default(SERVICE_DEFAULTS.ENQUIRE_LINK_INTERVAL_MS),
  OUTBOUND_QUEUE_URL: z.string().url('must be a URL'),
  OUTBOUND_PRIORITY_QUEUE_URL: z.string().url('must be a URL').optional(),
  BULK_MIN_SHARE: z.coerce.number({ error: 'must be a number' }).min(0, 'must be at least 0').max(0.9, 'must be at most 0.9').default(SERVICE_DEFAULTS.BULK_MIN_SHARE),
  FINAL_STATUS_TIMEOUT_HOURS: int(1, 720).default(SERVICE_DEFAULTS.FINAL_STATUS_TIMEOUT_HOURS),
  OPT_OUT: bool.default(SERVICE_DEFAULTS.OPT_OUT),
  OPT_OUT_KEYWORDS: keywords.default(SERVICE_DEFAULTS.OPT_OUT_KEYWORDS.split(',')),
  OPT_IN_KEYWORDS: keywords.default(SERVICE_DEFAULTS.OPT_IN_KEYWORDS.split(',')),
  OPT_OUT_SCOPE: z.enum(['sender', 'all']).default(SERVICE_DEFAULTS.OPT_OUT_SCOPE),
  MESSAGES_TABLE: z.string().min(3).max(255),
  AWS_REGION: z.string().min(1, 'is required'),
  MESSAGE_TTL_DAYS: int(1, 3650).default(SERVICE_DEFAULTS.MESSAGE_TTL_DAYS),
  MO_REASSEMBLY_TIMEOUT_SECONDS: int(1, 86_400).default(SERVICE_DEFAULTS.MO_REASSEMBLY_TIMEOUT_SECONDS),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default(SERVICE_DEFAULTS.LOG_LEVEL),
  HEALTH_PORT: int(0, 65535).default(SERVICE_DEFAULTS.HEALTH_PORT),
  SHUTDOWN_GRACE_MS: int(0, 600_000).default(SERVICE_DEFAULTS.SHUTDOWN_GRACE_MS),
  STORE_LINGER_MS: int(0, 1_000).default(SERVICE_DEFAULTS.STORE_LINGER_MS),
  VISIBILITY_TIMEOUT_SECONDS: int(10, 43_200).default(SERVICE_DEFAULTS.VISIBILITY_TIMEOUT_SECONDS),
  MAX_RECEIVE_COUNT: int(1, 1000).default(SERVICE_DEFAULTS.MAX_RECEIVE_COUNT),
  ACCOUNT_BINDS: int(1, 1000).default(SERVICE_DEFAULTS.ACCOUNT_BINDS),
  BIND_LEASE_SECONDS: int(10, 300).default(SERVICE_DEFAULTS.BIND_LEASE_SECONDS),
});

/** Every environment variable the service reads: the construct's container environment is typed with it. */
export type ServiceEnvName = keyof typeof schema.shape;

type Env = z.output<typeof schema>;

const isCredentialProblem = (p: string) => p.startsWith('SMPP_SYSTEM_ID ') || p.startsWith('SMPP_PASSWORD ');

/** Reads and validates the environment; throws ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  // Each variable on its own, so a bad one does not hide the cross-field problems of the others.
  const problems: string[] = [];
  const v: Partial<Env> = {};
  for (const [key, field] of Object.entries(schema.shape)) {
    const r = field.safeParse(env[key]);
    if (r.success) (v as Record<string, unknown>)[key] = r.data;
    else problems.push(...r.error.issues.map((i) => `${key} ${i.message}`));
  }

  const localCreds = v.SMPP_SYSTEM_ID !== undefined || v.SMPP_PASSWORD !== undefined;
  if (localCreds && v.SMPP_CREDENTIALS_SECRET_ID) {
    problems.push('set either SMPP_SYSTEM_ID + SMPP_PASSWORD or SMPP_CREDENTIALS_SECRET_ID, not both');
  } else if (!v.SMPP_CREDENTIALS_SECRET_ID && (!v.SMPP_SYSTEM_ID || v.SMPP_PASSWORD === undefined) && !problems.some(isCredentialProblem)) {
    problems.push('credentials: set SMPP_SYSTEM_ID and SMPP_PASSWORD, or SMPP_CREDENTIALS_SECRET_ID');
  }
  if (v.TX_BINDS !== undefined && v.TRX_BINDS !== undefined && v.TX_BINDS + v.TRX_BINDS < 1) {
    problems.push('TX_BINDS + TRX_BINDS must be at least 1 (nothing could be sent)');
  }
  if (v.RX_BINDS !== undefined && v.TRX_BINDS !== undefined && v.RX_BINDS + v.TRX_BINDS < 1) {
    problems.push('RX_BINDS + TRX_BINDS must be at least 1 (receipts would be lost)');
  }
  // Each bind holds one of the account's slots: a process with more binds than slots could never bind them all.
  if (v.TX_BINDS !== undefined && v.RX_BINDS !== undefined && v.TRX_BINDS !== undefined && v.ACCOUNT_BINDS !== undefined) {
    const own = v.TX_BINDS + v.RX_BINDS + v.TRX_BINDS;
    if (own > v.ACCOUNT_BINDS) problems.push(`TX_BINDS + RX_BINDS + TRX_BINDS (${own}) must not exceed ACCOUNT_BINDS (${v.ACCOUNT_BINDS}), the binds the account allows`);
  }
  // A dead link is detected by an unanswered enquire_link; it must be able to time out before the next one.
  if (v.ENQUIRE_LINK_INTERVAL_MS !== undefined && v.RESPONSE_TIMEOUT_MS !== undefined && v.ENQUIRE_LINK_INTERVAL_MS <= v.RESPONSE_TIMEOUT_MS) {
    problems.push('ENQUIRE_LINK_INTERVAL_MS must be greater than RESPONSE_TIMEOUT_MS');
  }
  let ca: string | undefined;
  if (v.SMPP_CA_FILE) {
    try {
      ca = readFileSync(v.SMPP_CA_FILE, 'utf8');
    } catch (err) {
      problems.push(`SMPP_CA_FILE cannot be read: ${(err as Error).message}`);
    }
  }
  if (v.OUTBOUND_PRIORITY_QUEUE_URL !== undefined && v.OUTBOUND_PRIORITY_QUEUE_URL === v.OUTBOUND_QUEUE_URL) {
    problems.push('OUTBOUND_PRIORITY_QUEUE_URL must differ from OUTBOUND_QUEUE_URL');
  }
  const clash = (v.OPT_OUT_KEYWORDS ?? []).filter((k) => (v.OPT_IN_KEYWORDS ?? []).includes(k));
  if (clash.length > 0) problems.push(`OPT_OUT_KEYWORDS and OPT_IN_KEYWORDS share ${clash.join(', ')}`);
  if (problems.length > 0) throw new ConfigError(problems);
  const e = v as Env;

  return Object.freeze({
    smpp: Object.freeze({
      host: e.SMPP_HOST,
      port: e.SMPP_PORT,
      tls: e.SMPP_TLS,
      tlsMinVersion: e.SMPP_TLS_MIN_VERSION,
      ...(ca !== undefined && { ca }),
      ...(e.SMPP_SYSTEM_ID !== undefined && { systemId: e.SMPP_SYSTEM_ID }),
      ...(e.SMPP_PASSWORD !== undefined && { password: e.SMPP_PASSWORD }),
      ...(e.SMPP_CREDENTIALS_SECRET_ID !== undefined && { credentialsSecretId: e.SMPP_CREDENTIALS_SECRET_ID }),
      txBinds: e.TX_BINDS,
      rxBinds: e.RX_BINDS,
      trxBinds: e.TRX_BINDS,
      mpsPerBind: e.MPS_PER_BIND,
      windowSize: e.WINDOW_SIZE,
      responseTimeoutMs: e.RESPONSE_TIMEOUT_MS,
      enquireLinkIntervalMs: e.ENQUIRE_LINK_INTERVAL_MS,
      concat: e.SMPP_CONCAT,
      systemType: e.SMPP_SYSTEM_TYPE,
      sourceAddr: tonNpi(e.SOURCE_ADDR_TON, e.SOURCE_ADDR_NPI),
      destAddr: tonNpi(e.DEST_ADDR_TON, e.DEST_ADDR_NPI),
    }),
    aws: Object.freeze({
      region: e.AWS_REGION,
      queueUrl: e.OUTBOUND_QUEUE_URL,
      ...(e.OUTBOUND_PRIORITY_QUEUE_URL !== undefined && { priorityQueueUrl: e.OUTBOUND_PRIORITY_QUEUE_URL }),
      tableName: e.MESSAGES_TABLE,
    }),
    bulkMinShare: e.BULK_MIN_SHARE,
    finalStatusTimeoutHours: e.FINAL_STATUS_TIMEOUT_HOURS,
    optOut: Object.freeze({
      enabled: e.OPT_OUT,
      stopKeywords: Object.freeze([...e.OPT_OUT_KEYWORDS]),
      startKeywords: Object.freeze([...e.OPT_IN_KEYWORDS]),
      scope: e.OPT_OUT_SCOPE,
    }),
    messageTtlDays: e.MESSAGE_TTL_DAYS,
    moReassemblyTimeoutSeconds: e.MO_REASSEMBLY_TIMEOUT_SECONDS,
    logLevel: e.LOG_LEVEL,
    healthPort: e.HEALTH_PORT,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    storeLingerMs: e.STORE_LINGER_MS,
    visibilityTimeoutSeconds: e.VISIBILITY_TIMEOUT_SECONDS,
    maxReceiveCount: e.MAX_RECEIVE_COUNT,
    accountBinds: e.ACCOUNT_BINDS,
    bindLeaseSeconds: e.BIND_LEASE_SECONDS,
  });
}

function tonNpi(ton: number | undefined, npi: number | undefined): { ton?: number; npi?: number } {
  return Object.freeze({ ...(ton !== undefined && { ton }), ...(npi !== undefined && { npi }) });
}
