import { z } from 'zod';
import { isFinal, MessageStatus } from '../service/src/domain.js';
import { SERVICE_DEFAULTS } from '../service/src/config.js';
import { MESSAGE_INDEXES, type MessageIndexName } from '../service/src/aws/table.js';
import { ConfigError } from '../service/src/errors.js';

/**
 * Deployment configuration: one entry per regional stack, read from the `smppConnector`
 * key of the CDK context (cdk.json). Everything is checked together and reported in one
 * {@link ConfigError}, so an operator fixes cdk.json in one pass instead of one synth per typo.
 */

/** The context key that holds the configuration in cdk.json. */
export const CONTEXT_KEY = 'smppConnector';

/**
 * The example account in cdk.json. When a stack is configured with it, the account the CLI
 * resolved from the caller's credentials (`CDK_DEFAULT_ACCOUNT`) is used instead, so the
 * committed file works offline and deploys into whichever account the credentials belong to.
 * A real account id in the configuration always wins.
 */
export const PLACEHOLDER_ACCOUNT = '123456789012';

/** Retention periods CloudWatch Logs accepts, in days. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

/** Fargate's valid memory sizes (MiB) per CPU size (vCPU units). */
const FARGATE_MEMORY: Readonly<Record<number, readonly number[]>> = {
  256: [512, 1024, 2048],
  512: [1024, 2048, 3072, 4096],
  1024: [2048, 3072, 4096, 5120, 6144, 7168, 8192],
  2048: Array.from({ length: 13 }, (_, i) => 4096 + i * 1024),
  4096: Array.from({ length: 23 }, (_, i) => 8192 + i * 1024),
};

/** ECS waits at most this long after SIGTERM before it kills a Fargate container (`stopTimeout`). */
export const MAX_STOP_TIMEOUT_SECONDS = 120;
/** Margin between the service's drain deadline and ECS's SIGKILL: unbind, flush logs and metrics. */
export const STOP_TIMEOUT_MARGIN_SECONDS = 10;

const int = (min: number, max: number) => z.number({ error: 'must be a number' }).int('must be a whole number').min(min).max(max);

/** The detail types the stream publisher puts on the bus (service/src/lambdas/stream-publisher.ts). */
export const EVENT_DETAIL_TYPES = ['SmsStatusChanged', 'SmsReceived', 'OptedOut', 'OptedIn'] as const;
/** What a consumer gets when it names none: the message events; the opt-out events only when named. */
const DEFAULT_CONSUMER_DETAIL_TYPES = ['SmsStatusChanged', 'SmsReceived'] as const;

/** An opt-out keyword: the service reads each list as one comma-separated variable. */
const optOutKeyword = z.string().regex(/^[^,]{1,32}$/, 'must be 1–32 characters without commas');

/**
 * A user's own Lambda on the stack's bus: the stack creates its rule (source `smpp-connector`, the
 * listed detail types, and statuses if given), the retry policy, a dead-letter queue, and the
 * permission for EventBridge to invoke it.
 */
const consumerSchema = z
  .object({
    /** Names the rule, its dead-letter queue and its alarm; unique per stack. */
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,47}$/, 'must be 1–48 letters, digits or hyphens, starting with a letter'),
    /** The function (or its alias/version), in the stack's account and region: EventBridge invokes no other. */
    lambdaArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]{1,128})?$/, 'must be a Lambda function ARN'),
    /** Also `OptedOut`, `OptedIn` when named. @default ['SmsStatusChanged', 'SmsReceived'] */
    detailTypes: z.array(z.enum(EVENT_DETAIL_TYPES)).min(1, 'must list at least one detail type').default([...DEFAULT_CONSUMER_DETAIL_TYPES]),
    /** Only SmsStatusChanged events with one of these statuses. @default - every status */
    statuses: z.array(z.enum(MessageStatus)).min(1, 'must list at least one status, or be left out').optional(),
    /** Retries of a failed invocation before the event goes to the consumer's DLQ (0–185). @default 185 (EventBridge's maximum) */
    retryAttempts: int(0, 185).default(185),
    /** How long EventBridge keeps retrying one event, in seconds (60 s – 24 h). @default 86400 */
    maxEventAgeSeconds: int(60, 86_400).default(86_400),
  })
  .strict();

const stackSchema = z
  .object({
    /** CloudFormation stack name, also the `Service` dimension of the service's metrics. */
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'must be a CloudFormation stack name (letters, digits, hyphens)'),
    /** AWS account id; see {@link PLACEHOLDER_ACCOUNT}. */
    account: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id'),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region such as ap-southeast-1'),
    /** SMSC host name: smpp.8x8.com (Asia Pacific) or smpp.8x8.uk (Europe). */
    smppHost: z.string().regex(/^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/, 'must be a host name'),
    /** @default 2776 (8x8's TLS port; 2775 is the plaintext legacy port) */
    smppPort: int(1, 65535).default(SERVICE_DEFAULTS.SMPP_PORT),
    /** @default true */
    smppTls: z.boolean().default(SERVICE_DEFAULTS.SMPP_TLS),
    /** @default 'TLSv1.3' (what 8x8 offers on 2776) */
    smppTlsMinVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default(SERVICE_DEFAULTS.SMPP_TLS_MIN_VERSION),
    /** Binds per task, by type. @default 1 / 1 / 0 (8x8 advises separate TX and RX binds) */
    txBinds: int(0, 64).default(SERVICE_DEFAULTS.TX_BINDS),
    rxBinds: int(0, 64).default(SERVICE_DEFAULTS.RX_BINDS),
    trxBinds: int(0, 64).default(SERVICE_DEFAULTS.TRX_BINDS),
    /** Fargate tasks. 0 deploys everything but the running service (first deploy, before 8x8 whitelists the IPs). @default 2 */
    tasks: int(0, 100).default(2),
    /** Concurrent binds the account (system_id) may hold across all tasks. @default 4 (8x8's baseline) */
    accountBinds: int(1, 1000).default(SERVICE_DEFAULTS.ACCOUNT_BINDS),
    /** @default 50 (8x8's baseline MPS per bind) */
    mpsPerBind: int(1, 100_000).default(SERVICE_DEFAULTS.MPS_PER_BIND),
    /** @default 10 */
    windowSize: int(1, 1000).default(SERVICE_DEFAULTS.WINDOW_SIZE),
    /** How long a status write waits for others to share its batch call; also how long the SMSC waits for a receipt's answer. @default 20 */
    storeLingerMs: int(0, 1000).default(SERVICE_DEFAULTS.STORE_LINGER_MS),
    /** Availability zones of the VPC. @default 2 */
    maxAzs: int(2, 6).default(2),
    /** NAT gateways, one Elastic IP each: the egress IPs 8x8 whitelists. @default 2 */
    natGateways: int(1, 6).default(2),
    /**
     * Existing Elastic IP allocations for the NAT gateways. Empty: the IP stack ({@link ipStackName})
     * creates them. @default []
     */
    eipAllocationIds: z.array(z.string().regex(/^eipalloc-[0-9a-f]{8,17}$/, 'must be an EIP allocation id (eipalloc-…)')).default([]),
    /** @default '10.0.0.0/16' */
    vpcCidr: z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/(1[6-9]|20)$/, 'must be an IPv4 CIDR between /16 and /20').default('10.0.0.0/16'),
    /** Interface/gateway endpoints for SQS, DynamoDB, Secrets Manager, Logs, ECR, S3. @default true */
    vpcEndpoints: z.boolean().default(true),
    /** Import the credentials secret instead of creating one. @default - a secret is created */
    credentialsSecretArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/, 'must be a Secrets Manager secret ARN')
      .optional(),
    /** Where alarms are e-mailed. @default - no subscription, only the SNS topic */
    alarmEmail: z.email('must be an e-mail address').optional(),
    /** @default 'info' */
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default(SERVICE_DEFAULTS.LOG_LEVEL),
    /** @default 30 */
    logRetentionDays: z
      .number()
      .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), `must be one of ${LOG_RETENTION_DAYS.join(', ')}`)
      .default(30),
    /** Drain deadline on SIGTERM; ECS's stopTimeout is this plus a margin, at most 120 s. @default 20000 */
    shutdownGraceMs: int(0, (MAX_STOP_TIMEOUT_SECONDS - STOP_TIMEOUT_MARGIN_SECONDS) * 1000).default(SERVICE_DEFAULTS.SHUTDOWN_GRACE_MS),
    /** @default 30 */
    messageTtlDays: int(1, 3650).default(SERVICE_DEFAULTS.MESSAGE_TTL_DAYS),
    /** Share of the submits bulk jobs keep while urgent ones wait too (README, Priority lanes). 0 – 0.9. @default 0.1 */
    bulkMinShare: z.number({ error: 'must be a number' }).min(0).max(0.9).default(SERVICE_DEFAULTS.BULK_MIN_SHARE),
    /** Hours a submitted message waits for a final receipt before it becomes UNKNOWN (README, A final status for every message). @default 72 */
    finalStatusTimeoutHours: int(1, 720).default(SERVICE_DEFAULTS.FINAL_STATUS_TIMEOUT_HOURS),
    /**
     * The table's secondary indexes (README, Indexes). CloudFormation adds one index per table update,
     * so a stack deployed before they existed is upgraded one index per deploy. @default all three
     */
    indexes: z
      .array(z.enum(Object.keys(MESSAGE_INDEXES) as [MessageIndexName, ...MessageIndexName[]]))
      .refine((l) => new Set(l).size === l.length, 'must not repeat an index')
      .optional(),
    /**
     * Which status changes the stream publisher puts on the bus as SmsStatusChanged (README, Cost):
     * a list of statuses, or 'consumers' for just those the configured consumers subscribe to.
     * Each published change is one EventBridge event and part of a Lambda invocation. @default every status
     */
    publishStatuses: z.union([z.literal('consumers'), z.array(z.enum(MessageStatus)).min(1, 'must list at least one status')]).optional(),
    /** Task size. @default 512 CPU units / 1024 MiB */
    cpu: z.union([z.literal(256), z.literal(512), z.literal(1024), z.literal(2048), z.literal(4096)]).default(512),
    memoryMiB: int(512, 30_720).default(1024),
    /** Override the computed deployment percentages; still checked against the bind budget. */
    minHealthyPercent: int(0, 100).optional(),
    maxHealthyPercent: int(100, 200).optional(),
    /** Alarm when the oldest queued job is older than this. @default 300 */
    oldestMessageAlarmSeconds: int(60, 1_209_600).default(300),
    /**
     * The termination-protected stack that holds the egress EIPs (when none are imported).
     * @default the stack name with `Ips` before its last `-part`: SmppConnector-ap → SmppConnectorIps-ap
     */
    ipStackName: z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'must be a CloudFormation stack name (letters, digits, hyphens)').optional(),
    /**
     * The 8x8 system_id this stack binds with (not a secret; the password stays in Secrets Manager).
     * Only checked: two stacks must not share one, since 8x8 delivers an account's receipts and MO to
     * any of its binds, and one region's binds cannot match the other region's messages. @default none
     */
    systemId: z.string().min(1).max(15, 'is at most 15 characters (SMPP 3.4 system_id)').optional(),
    /** The users' own Lambdas on the stack's bus. @default [] */
    consumers: z.array(consumerSchema).default([]),
    /** Days the bus's archive keeps the connector's events for replay; 0 keeps them indefinitely. @default 30 */
    eventArchiveDays: int(0, 3650).default(30),
    /**
     * Opt-out by MO keyword (README, Opt-out): `{ "enabled": true }` turns it on; `stopKeywords`,
     * `startKeywords` and `scope` ('sender' | 'all') as the service's OPT_OUT_* settings. @default - off
     */
    optOut: z
      .object({
        enabled: z.boolean().default(SERVICE_DEFAULTS.OPT_OUT),
        stopKeywords: z.array(optOutKeyword).min(1, 'must list at least one keyword').default(SERVICE_DEFAULTS.OPT_OUT_KEYWORDS.split(',')),
        startKeywords: z.array(optOutKeyword).min(1, 'must list at least one keyword').default(SERVICE_DEFAULTS.OPT_IN_KEYWORDS.split(',')),
        scope: z.enum(['sender', 'all']).default(SERVICE_DEFAULTS.OPT_OUT_SCOPE),
      })
      .strict()
      .optional(),
  })
  .strict();

const configSchema = z.object({ stacks: z.array(stackSchema).min(1, 'must list at least one stack') }).strict();

/** One regional stack, with every default applied. */
export type StackConfig = z.output<typeof stackSchema>;
/** One user Lambda on the bus, with its defaults applied. */
export type ConsumerConfig = z.output<typeof consumerSchema>;
/** What cdk.json may hold for one stack (defaults not yet applied). */
export type StackConfigInput = z.input<typeof stackSchema>;
export interface ConnectorConfig {
  readonly stacks: readonly Readonly<StackConfig>[];
}

/** How many tasks (and so binds) ECS may run at once, and the percentages that keep it there. */
export interface DeploymentLimits {
  minHealthyPercent: number;
  maxHealthyPercent: number;
  /** Most tasks ECS runs at once during a rolling deployment. */
  peakTasks: number;
  /** peakTasks × binds per task: never more than the account's binds. */
  peakBinds: number;
}

export interface BindBudgetInput {
  tasks: number;
  txBinds: number;
  rxBinds: number;
  trxBinds: number;
  accountBinds: number;
  minHealthyPercent?: number | undefined;
  maxHealthyPercent?: number | undefined;
}

/** ECS runs at most floor(desired × maximumPercent / 100) tasks (RUNNING or PENDING) during a deployment. */
const peakOf = (tasks: number, maxPercent: number) => Math.max(tasks, Math.floor((tasks * maxPercent) / 100));
/** ECS keeps at least ceil(desired × minimumHealthyPercent / 100) tasks running during a deployment. */
const floorOf = (tasks: number, minPercent: number) => Math.ceil((tasks * minPercent) / 100);

/**
 * Chooses ECS deployment percentages so that the binds of every task ECS runs at once (PENDING or
 * RUNNING) never exceed the account's budget. When the budget has room for extra tasks, new tasks
 * start before old ones stop (min 100 %, no dip in capacity); when it has none, max is 100 % and
 * tasks are replaced one at a time (min = (tasks − 1) / tasks). Returns the problems instead when
 * the budget cannot hold.
 *
 * Limit: ECS stops counting a task once it is STOPPING, i.e. while it drains after SIGTERM. A
 * replacement's binds could overlap that drain only if the new Fargate task started and bound
 * faster than the old one drained (seconds, SHUTDOWN_GRACE_MS at most); the SMSC would then refuse
 * the extra bind and the service backs off and retries (docs/architecture.md §4).
 */
export function deploymentLimits(input: BindBudgetInput): { limits?: DeploymentLimits; problems: string[] } {
  const { tasks, accountBinds } = input;
  const perTask = input.txBinds + input.rxBinds + input.trxBinds;
  const problems: string[] = [];
  if (perTask === 0) return { problems: ['each task needs at least one bind'] };
  if (tasks * perTask > accountBinds) {
    problems.push(
      `bind budget exceeded: ${tasks} tasks × ${perTask} binds per task = ${tasks * perTask} binds, but the account allows ${accountBinds}` +
        ` — lower tasks or binds per task, or ask 8x8 for more binds and raise accountBinds`,
    );
    return { problems };
  }
  const maxTasks = Math.min(Math.floor(accountBinds / perTask), 2 * tasks);
  // Smallest percentage that reaches maxTasks; ceil keeps ECS's floor() from rounding it away.
  const computedMax = tasks === 0 ? 100 : Math.min(200, Math.max(100, Math.ceil((maxTasks * 100) / tasks)));
  const maxHealthyPercent = input.maxHealthyPercent ?? computedMax;
  const peakTasks = peakOf(tasks, maxHealthyPercent);
  if (peakTasks * perTask > accountBinds) {
    problems.push(
      `maxHealthyPercent ${maxHealthyPercent} lets a deployment run ${peakTasks} tasks × ${perTask} binds = ${peakTasks * perTask} binds,` +
        ` more than the account's ${accountBinds}; use at most ${computedMax}`,
    );
  }
  const computedMin = peakTasks > tasks ? 100 : tasks === 0 ? 0 : Math.floor(((tasks - 1) * 100) / tasks);
  const minHealthyPercent = input.minHealthyPercent ?? computedMin;
  if (tasks > 0 && peakTasks === tasks && floorOf(tasks, minHealthyPercent) >= tasks) {
    problems.push(
      `minHealthyPercent ${minHealthyPercent} with maxHealthyPercent ${maxHealthyPercent} leaves ECS no room to replace a task` +
        ` (the bind budget allows no extra task); use at most ${computedMin}`,
    );
  }
  if (problems.length > 0) return { problems };
  return { limits: { minHealthyPercent, maxHealthyPercent, peakTasks, peakBinds: peakTasks * perTask }, problems };
}

/** The bind rules shared by the configuration and the SmppConnector construct: bind types, then the budget. */
export function checkBinds(input: BindBudgetInput): { limits?: DeploymentLimits; problems: string[] } {
  const problems: string[] = [];
  if (input.txBinds + input.trxBinds < 1) problems.push('txBinds + trxBinds must be at least 1 (nothing could be sent)');
  if (input.rxBinds + input.trxBinds < 1) problems.push('rxBinds + trxBinds must be at least 1 (receipts and MO would be lost)');
  const budget = deploymentLimits(input);
  problems.push(...budget.problems);
  return problems.length > 0 || budget.limits === undefined ? { problems } : budget;
}

/** Cross-field rules of one stack; `where` prefixes every message. */
function stackProblems(s: StackConfig, where: string): string[] {
  const out: string[] = [];
  const say = (m: string) => out.push(`${where}: ${m}`);
  for (const p of checkBinds(s).problems) say(p);
  if (s.natGateways > s.maxAzs) say(`natGateways (${s.natGateways}) cannot exceed maxAzs (${s.maxAzs}): one NAT gateway per AZ`);
  if (s.eipAllocationIds.length > 0 && s.eipAllocationIds.length !== s.natGateways) {
    say(`eipAllocationIds lists ${s.eipAllocationIds.length} allocation(s) but natGateways is ${s.natGateways}: give one per NAT gateway, or none to create them`);
  }
  // Each AZ gets a /24 public and a /22 private subnet.
  const addresses = 2 ** (32 - Number(s.vpcCidr.split('/')[1]));
  if (s.maxAzs * (256 + 1024) > addresses) say(`vpcCidr ${s.vpcCidr} is too small for ${s.maxAzs} AZs (each needs a /24 and a /22)`);
  if (new Set(s.eipAllocationIds).size !== s.eipAllocationIds.length) say('eipAllocationIds contains duplicates');
  const memories = FARGATE_MEMORY[s.cpu] ?? [];
  if (!memories.includes(s.memoryMiB)) say(`memoryMiB ${s.memoryMiB} is not valid for cpu ${s.cpu} on Fargate (valid: ${memories.join(', ')})`);
  if (s.credentialsSecretArn !== undefined) {
    const region = s.credentialsSecretArn.split(':')[3];
    if (region !== s.region) say(`credentialsSecretArn is in ${region}, but the stack is in ${s.region} (the service reads it from its own region)`);
  }
  if (!s.smppTls && s.smppPort === 2776) say('smppTls is false but smppPort 2776 is 8x8\'s TLS port; use 2775 for plaintext');
  const consumerNames = new Set<string>();
  s.consumers.forEach((c, i) => {
    const at = `consumers[${i}] (${c.name})`;
    if (consumerNames.has(c.name.toLowerCase())) say(`${at}: the name is used twice (names are compared ignoring case)`);
    consumerNames.add(c.name.toLowerCase());
    const [, , , region, account] = c.lambdaArn.split(':');
    if (region !== s.region) say(`${at}: lambdaArn is in ${region}, but the stack is in ${s.region} (EventBridge invokes functions of its own region only)`);
    if (s.account !== PLACEHOLDER_ACCOUNT && account !== s.account) {
      say(`${at}: lambdaArn is in account ${account}, but the stack is in ${s.account} (EventBridge invokes functions of its own account only)`);
    }
    const published = s.publishStatuses;
    if (Array.isArray(published) && c.detailTypes.includes('SmsStatusChanged')) {
      const missing = (c.statuses ?? Object.values(MessageStatus)).filter((st) => !published.includes(st));
      if (missing.length > 0) say(`${at}: subscribes to ${missing.join(', ')}, which publishStatuses does not publish`);
    }
    if (c.statuses !== undefined && c.detailTypes.some((t) => t !== 'SmsStatusChanged')) {
      const others = c.detailTypes.filter((t) => t !== 'SmsStatusChanged').join(', ');
      say(`${at}: statuses filter SmsStatusChanged events, which ${others} events would never match; give ${others} a consumer of its own`);
    }
  });
  return out;
}

/** The stack that holds `s`'s EIPs: SmppConnector-ap → SmppConnectorIps-ap. */
export function ipStackNameOf(s: Pick<StackConfig, 'name' | 'ipStackName'>): string {
  if (s.ipStackName !== undefined) return s.ipStackName;
  const dash = s.name.lastIndexOf('-');
  return dash > 0 ? `${s.name.slice(0, dash)}Ips${s.name.slice(dash)}` : `${s.name}Ips`;
}

/**
 * Validates the raw `smppConnector` context value. Throws one ConfigError listing every
 * problem of every stack, including bind budgets and duplicate stack names.
 */
export function parseConnectorConfig(raw: unknown): ConnectorConfig {
  if (raw === undefined) {
    throw new ConfigError([`cdk.json has no "${CONTEXT_KEY}" context; see the README's Deployment section for its shape`]);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${[CONTEXT_KEY, ...i.path].map(String).join('.')}: ${i.message}`));
  }
  const problems: string[] = [];
  const names = parsed.data.stacks.map((s) => s.name);
  // Stacks with imported EIPs have no IP stack.
  const ipNames = parsed.data.stacks.map((s) => (s.eipAllocationIds.length === 0 ? ipStackNameOf(s) : undefined));
  parsed.data.stacks.forEach((s, i) => {
    const where = `${CONTEXT_KEY}.stacks[${i}] (${s.name})`;
    const duplicate = names.indexOf(s.name) !== i;
    if (duplicate) problems.push(`${where}: the stack name is used twice`);
    const ips = ipNames[i];
    if (!duplicate && ips !== undefined && (names.includes(ips) || ipNames.indexOf(ips) !== i)) {
      problems.push(`${where}: its IP stack name ${ips} is already taken by another stack; set ipStackName`);
    }
    if (s.systemId !== undefined && parsed.data.stacks.findIndex((o) => o.systemId === s.systemId) !== i) {
      problems.push(`${where}: systemId ${s.systemId} is used by another stack; each region needs its own 8x8 account (see the README, One system_id per region)`);
    }
    problems.push(...stackProblems(s, where));
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return { stacks: parsed.data.stacks.map((s) => Object.freeze(s)) };
}

/** Account the stack deploys to: the configured one, except that the placeholder yields to the caller's. */
export function resolveAccount(s: Pick<StackConfig, 'account'>, env: NodeJS.ProcessEnv = process.env): string {
  return s.account === PLACEHOLDER_ACCOUNT && env.CDK_DEFAULT_ACCOUNT ? env.CDK_DEFAULT_ACCOUNT : s.account;
}

/** `cdk deploy -c tasks=0`: one task count for every stack of this synth (first deploy, or a quick stop). */
export function applyTaskOverride(raw: unknown, override: unknown): unknown {
  if (override === undefined) return raw;
  const tasks = typeof override === 'string' ? Number(override) : override;
  if (typeof raw !== 'object' || raw === null || !Array.isArray((raw as { stacks?: unknown }).stacks)) return raw;
  const r = raw as { stacks: unknown[] };
  return { ...r, stacks: r.stacks.map((s) => (typeof s === 'object' && s !== null ? { ...s, tasks } : s)) };
}

/** ECS stopTimeout for a drain deadline: the deadline plus a margin to unbind and flush. */
export function stopTimeoutSeconds(shutdownGraceMs: number): number {
  return Math.min(MAX_STOP_TIMEOUT_SECONDS, Math.ceil(shutdownGraceMs / 1000) + STOP_TIMEOUT_MARGIN_SECONDS);
}

/**
 * The statuses the stream publisher publishes, from `publishStatuses`: undefined for every status
 * ('consumers' with a consumer of every status counts as that); with no consumer of SmsStatusChanged
 * at all, only the final ones, so the bus and its archive still see how every message ended.
 */
export function publishedStatuses(s: Pick<StackConfig, 'publishStatuses' | 'consumers'>): MessageStatus[] | undefined {
  if (s.publishStatuses === undefined) return undefined;
  if (s.publishStatuses !== 'consumers') return [...s.publishStatuses];
  const wanting = s.consumers.filter((c) => c.detailTypes.includes('SmsStatusChanged'));
  if (wanting.some((c) => c.statuses === undefined)) return undefined;
  const all = new Set<MessageStatus>(wanting.flatMap((c) => c.statuses ?? []));
  if (all.size === 0) for (const st of Object.values(MessageStatus)) if (isFinal(st)) all.add(st);
  return Object.values(MessageStatus).filter((st) => all.has(st));
}

