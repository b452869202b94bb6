import { SERVICE_DEFAULTS, type ServiceEnvName } from '../../service/src/config.js';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { MESSAGE_INDEXES, type MessageIndexName } from '../../service/src/aws/table.js';
import { ConfigError } from '../../service/src/errors.js';
import { checkBinds, stopTimeoutSeconds, type DeploymentLimits } from '../config.js';
import { REPO_ROOT } from '../paths.js';

/** CloudWatch namespace of the service's EMF metrics. */
export const METRICS_NAMESPACE = 'SmppConnector';

export interface SmppConnectorProps {
  /** VPC whose PRIVATE_WITH_EGRESS subnets run the tasks (their NAT gateways carry the whitelisted IPs). */
  readonly vpc: ec2.IVpc;
  /** SMSC host name, e.g. smpp.8x8.com (Asia Pacific) or smpp.8x8.uk (Europe). */
  readonly smppHost: string;
  /** @default 2776 */
  readonly smppPort?: number;
  /** @default true */
  readonly smppTls?: boolean;
  /** @default 'TLSv1.3' */
  readonly smppTlsMinVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Transmitter binds per task. @default 1 */
  readonly txBinds?: number;
  /** Receiver binds per task. @default 1 */
  readonly rxBinds?: number;
  /** Transceiver binds per task. @default 0 */
  readonly trxBinds?: number;
  /** Running tasks. @default 2 */
  readonly tasks?: number;
  /** Binds the account allows across all tasks, deployments included. @default 4 */
  readonly accountBinds?: number;
  /** @default 50 */
  readonly mpsPerBind?: number;
  /** @default 10 */
  readonly windowSize?: number;
  /** STORE_LINGER_MS (docs/architecture.md §3.2, "Batched writes"). @default 20 */
  readonly storeLingerMs?: number;
  /** ECS deployment percentages. @default - computed from the bind budget (see deploymentLimits) */
  readonly minHealthyPercent?: number;
  readonly maxHealthyPercent?: number;
  /** Secret holding `{ "system_id": "...", "password": "..." }`. @default - a secret is created with a placeholder value */
  readonly credentialsSecret?: secretsmanager.ISecret;
  /** @default - the service image built from service/Dockerfile with the repository root as context */
  readonly image?: ecs.ContainerImage;
  /** Value of the `Service` dimension of the service's metrics. @default the stack name */
  readonly serviceName?: string;
  /** @default 'info' */
  readonly logLevel?: string;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Drain deadline on SIGTERM; stopTimeout is this plus 10 s. At most 110000. @default 20000 */
  readonly shutdownGraceMs?: number;
  /** @default 30 */
  readonly messageTtlDays?: number;
  /** Hours a submitted message waits for a final receipt before the sweep makes it UNKNOWN (docs/architecture.md §7.2). @default 72 */
  readonly finalStatusTimeoutHours?: number;
  /** @default 512 */
  readonly cpu?: number;
  /** @default 1024 */
  readonly memoryLimitMiB?: number;
  /**
   * Outbound queue visibility, also the service's claim lease (`VISIBILITY_TIMEOUT_SECONDS`): the
   * service renews both while a job is in hand, so this is how long a crashed task's jobs wait
   * before another task resumes them. 10 s – 12 h. @default Duration.seconds(15)
   */
  readonly visibilityTimeout?: Duration;
  /** Receives before a job goes to the DLQ. @default 10 */
  readonly maxReceiveCount?: number;
  /**
   * Share of the submits kept for bulk jobs while urgent ones (from the priority queue) wait too
   * (`BULK_MIN_SHARE`, docs/architecture.md §7.1). 0 – 0.9. @default 0.1
   */
  readonly bulkMinShare?: number;
  /** @default 8080 */
  readonly healthPort?: number;
  /**
   * The table's secondary indexes to create (`service/src/aws/table.ts`). CloudFormation adds at most
   * one index to an existing table per update: a stack deployed before they existed is upgraded by
   * deploying with one more each time (README, Deployment). @default every index
   */
  readonly indexes?: readonly MessageIndexName[];
  /** Opt-out by MO keyword and the suppression check before each job (`OPT_OUT`; README, Opt-out). @default false */
  readonly optOut?: boolean;
  /** Whole-text MO keywords that opt a number out (`OPT_OUT_KEYWORDS`). @default STOP, UNSUBSCRIBE, CANCEL, END, QUIT, STOPALL */
  readonly optOutKeywords?: readonly string[];
  /** Whole-text MO keywords that opt it back in (`OPT_IN_KEYWORDS`). @default START, UNSTOP */
  readonly optInKeywords?: readonly string[];
  /** `sender`: an opt-out holds for the sender it was sent to; `all`: for every sender (`OPT_OUT_SCOPE`). @default 'sender' */
  readonly optOutScope?: 'sender' | 'all';
}

/**
 * The connector: outbound and priority queues, each with its DLQ, the status table, the credentials
 * secret, and the Fargate service that joins them (after aws-ecs-patterns'
 * QueueProcessingFargateService, minus queue-depth autoscaling, which would break the account's bind budget).
 */
export class SmppConnector extends Construct {
  public readonly queue: sqs.Queue;
  public readonly deadLetterQueue: sqs.Queue;
  /** Urgent jobs (one-time passwords): sent ahead of the outbound queue's (docs/architecture.md §7.1). */
  public readonly priorityQueue: sqs.Queue;
  public readonly priorityDeadLetterQueue: sqs.Queue;
  public readonly table: dynamodb.Table;
  public readonly credentialsSecret: secretsmanager.ISecret;
  public readonly cluster: ecs.Cluster;
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  public readonly container: ecs.ContainerDefinition;
  public readonly service: ecs.FargateService;
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly logGroup: logs.LogGroup;
  /** The deployment percentages chosen and the peak binds they allow. */
  public readonly deployment: DeploymentLimits;
  /** Value of the `Service` metric dimension. */
  public readonly serviceName: string;
  public readonly desiredCount: number;

  constructor(scope: Construct, id: string, props: SmppConnectorProps) {
    super(scope, id);
    const p = withDefaults(props);
    this.deployment = validate(p);
    this.desiredCount = p.tasks;
    this.serviceName = props.serviceName ?? Stack.of(this).stackName;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: p.visibilityTimeout,
      retentionPeriod: Duration.days(4),
      receiveMessageWaitTime: Duration.seconds(20),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: p.maxReceiveCount },
    });
    // The urgent lane's queue: the same job schema and settings, a DLQ of its own.
    this.priorityDeadLetterQueue = new sqs.Queue(this, 'PriorityDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.priorityQueue = new sqs.Queue(this, 'PriorityQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: p.visibilityTimeout,
      retentionPeriod: Duration.days(4),
      receiveMessageWaitTime: Duration.seconds(20),
      deadLetterQueue: { queue: this.priorityDeadLetterQueue, maxReceiveCount: p.maxReceiveCount },
    });

    this.table = new dynamodb.Table(this, 'Messages', {
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: 'expiresAt',
      stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const name of props.indexes ?? (Object.keys(MESSAGE_INDEXES) as MessageIndexName[])) {
      const ix = MESSAGE_INDEXES[name];
      this.table.addGlobalSecondaryIndex({
        indexName: name,
        partitionKey: { name: ix.partitionKey.name, type: ix.partitionKey.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER },
        sortKey: { name: ix.sortKey.name, type: ix.sortKey.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER },
        projectionType: dynamodb.ProjectionType.KEYS_ONLY,
      });
    }

    this.credentialsSecret =
      props.credentialsSecret ??
      new secretsmanager.Secret(this, 'Credentials', {
        description: 'SMPP credentials for 8x8, JSON {"system_id": "...", "password": "..."}; replace the placeholder values',
        // Documents the shape; the generated password is only a placeholder until the operator stores the real one.
        generateSecretString: {
          secretStringTemplate: JSON.stringify({ system_id: 'REPLACE_ME' }),
          generateStringKey: 'password',
          passwordLength: 8,
          excludePunctuation: true,
        },
      });

    this.securityGroup = new ec2.SecurityGroup(this, 'TaskSecurityGroup', {
      vpc: props.vpc,
      allowAllOutbound: false,
      description: 'SMPP connector tasks: no ingress; egress to the SMSC port and HTTPS only',
    });
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(p.smppPort), 'SMPP to the SMSC');
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs');

    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc: props.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: p.cpu,
      memoryLimitMiB: p.memoryLimitMiB,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
      // The root filesystem is read-only; tsx caches its transpiled files under /tmp.
      volumes: [{ name: 'tmp' }],
    });

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const stopTimeout = stopTimeoutSeconds(p.shutdownGraceMs);
    this.container = this.taskDefinition.addContainer('smpp-connector', {
      image:
        props.image ??
        ecs.ContainerImage.fromAsset(REPO_ROOT, {
          file: 'service/Dockerfile',
          platform: Platform.LINUX_AMD64,
          // What goes into the build context is decided by the repository's .dockerignore (an allowlist).
        }),
      essential: true,
      readonlyRootFilesystem: true,
      linuxParameters: new ecs.LinuxParameters(this, 'LinuxParameters', { initProcessEnabled: true }),
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'service' }),
      stopTimeout: Duration.seconds(stopTimeout),
      // Typed by the service's own list of variables: a name it does not read fails the build.
      environment: {
        SMPP_HOST: p.smppHost,
        SMPP_PORT: String(p.smppPort),
        SMPP_TLS: String(p.smppTls),
        SMPP_TLS_MIN_VERSION: p.smppTlsMinVersion,
        SMPP_CREDENTIALS_SECRET_ID: this.credentialsSecret.secretArn,
        TX_BINDS: String(p.txBinds),
        RX_BINDS: String(p.rxBinds),
        TRX_BINDS: String(p.trxBinds),
        // The slots of the run-time bind lease: every task and the operator's tool hold one per bind.
        ACCOUNT_BINDS: String(p.accountBinds),
        MPS_PER_BIND: String(p.mpsPerBind),
        WINDOW_SIZE: String(p.windowSize),
        STORE_LINGER_MS: String(p.storeLingerMs),
        OUTBOUND_QUEUE_URL: this.queue.queueUrl,
        OUTBOUND_PRIORITY_QUEUE_URL: this.priorityQueue.queueUrl,
        BULK_MIN_SHARE: String(p.bulkMinShare),
        MESSAGES_TABLE: this.table.tableName,
        MESSAGE_TTL_DAYS: String(p.messageTtlDays),
        FINAL_STATUS_TIMEOUT_HOURS: String(p.finalStatusTimeoutHours),
        LOG_LEVEL: p.logLevel,
        HEALTH_PORT: String(p.healthPort),
        SHUTDOWN_GRACE_MS: String(p.shutdownGraceMs),
        // The service sets this visibility on every receive and records FAILED on the last receive.
        VISIBILITY_TIMEOUT_SECONDS: String(p.visibilityTimeout.toSeconds()),
        MAX_RECEIVE_COUNT: String(p.maxReceiveCount),
        OPT_OUT: String(p.optOut),
        OPT_OUT_KEYWORDS: p.optOutKeywords.join(','),
        OPT_IN_KEYWORDS: p.optInKeywords.join(','),
        OPT_OUT_SCOPE: p.optOutScope,
        // The `Service` dimension of the EMF metrics the alarms watch.
        SERVICE_NAME: this.serviceName,
      } satisfies Partial<Record<ServiceEnvName | 'SERVICE_NAME', string>>,
      // Liveness, not readiness: an SMSC outage or refused binds must not get tasks killed and
      // replaced (each replacement only adds bind attempts); BindsBound and its alarm cover that.
      // The slim image has no curl; node is there.
      healthCheck: {
        command: [
          'CMD',
          'node',
          '-e',
          `require('http').get('http://127.0.0.1:${p.healthPort}/healthz',r=>process.exit(r.statusCode===200?0:1))` +
            `.on('error',()=>process.exit(1)).setTimeout(4000,()=>process.exit(1))`,
        ],
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        retries: 4,
        // The health server listens before the first bind is tried, so only Node's start-up counts.
        startPeriod: Duration.seconds(30),
      },
    });
    this.container.addMountPoints({ containerPath: '/tmp', sourceVolume: 'tmp', readOnly: false });

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: p.tasks,
      minHealthyPercent: this.deployment.minHealthyPercent,
      maxHealthyPercent: this.deployment.maxHealthyPercent,
      // Trips only on tasks that stop or fail liveness (a broken image or configuration), never on
      // refused binds, and no alarm is a deployment alarm: a deploy before 8x8 whitelists the IPs completes.
      circuitBreaker: { enable: true, rollback: true },
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.securityGroup],
      assignPublicIp: false,
      platformVersion: ecs.FargatePlatformVersion.LATEST,
      propagateTags: ecs.PropagatedTagSource.SERVICE,
      enableECSManagedTags: true,
    });
    // AZ rebalancing would start a task before stopping one, outside the bind budget computed above.
    (this.service.node.defaultChild as ecs.CfnService).availabilityZoneRebalancing = 'DISABLED';

    const taskRole = this.taskDefinition.taskRole;
    this.queue.grantConsumeMessages(taskRole);
    this.priorityQueue.grantConsumeMessages(taskRole);
    // On the table alone: the service never queries an index (Table.grant would add index/*).
    taskRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: [...TASK_TABLE_ACTIONS], resources: [this.table.tableArn] }));
    this.credentialsSecret.grantRead(taskRole);
  }
}

/**
 * What the service does to its table, and nothing more (no Scan, no DeleteItem, no stream):
 * GetItem, PutItem and UpdateItem; TransactWriteItems, which IAM authorises per Put and Update in
 * it; BatchExecuteStatement of PartiQL INSERTs and UPDATEs (the claims of a receive, and the
 * single-item writes of one linger batched: docs/architecture.md §3.2), authorised by PartiQLInsert
 * and PartiQLUpdate; and BatchGetItem (the consistent reads of one linger batched, and with opt-out
 * on the suppression check of a receive, §7.5). The bind leases are UpdateItems on the same table.
 */
export const TASK_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:PartiQLInsert', 'dynamodb:PartiQLUpdate'] as const;

/** Defaults of the optional props, apart from the builder. */
const S = SERVICE_DEFAULTS;
/** Defaults of the props; those the service also has come from its own defaults (service/src/config.ts). */
export const SMPP_CONNECTOR_DEFAULTS = {
  smppPort: S.SMPP_PORT,
  smppTls: S.SMPP_TLS,
  smppTlsMinVersion: S.SMPP_TLS_MIN_VERSION,
  txBinds: S.TX_BINDS,
  rxBinds: S.RX_BINDS,
  trxBinds: S.TRX_BINDS,
  tasks: 2,
  accountBinds: S.ACCOUNT_BINDS,
  mpsPerBind: S.MPS_PER_BIND,
  windowSize: S.WINDOW_SIZE,
  storeLingerMs: S.STORE_LINGER_MS,
  logLevel: S.LOG_LEVEL,
  shutdownGraceMs: S.SHUTDOWN_GRACE_MS,
  messageTtlDays: S.MESSAGE_TTL_DAYS,
  finalStatusTimeoutHours: S.FINAL_STATUS_TIMEOUT_HOURS,
  cpu: 512,
  memoryLimitMiB: 1024,
  maxReceiveCount: S.MAX_RECEIVE_COUNT,
  bulkMinShare: S.BULK_MIN_SHARE,
  visibilityTimeout: Duration.seconds(S.VISIBILITY_TIMEOUT_SECONDS),
  healthPort: S.HEALTH_PORT,
  optOut: S.OPT_OUT,
  optOutKeywords: S.OPT_OUT_KEYWORDS.split(','),
  optInKeywords: S.OPT_IN_KEYWORDS.split(','),
  optOutScope: S.OPT_OUT_SCOPE,
} as const satisfies Partial<SmppConnectorProps>;

type Defaulted = keyof typeof SMPP_CONNECTOR_DEFAULTS;
type ResolvedProps = SmppConnectorProps & Required<Pick<SmppConnectorProps, Defaulted>>;

/** Props with every default applied; an explicit `undefined` also takes the default. */
function withDefaults(props: SmppConnectorProps): ResolvedProps {
  const d = SMPP_CONNECTOR_DEFAULTS;
  return {
    ...props,
    smppPort: props.smppPort ?? d.smppPort,
    smppTls: props.smppTls ?? d.smppTls,
    smppTlsMinVersion: props.smppTlsMinVersion ?? d.smppTlsMinVersion,
    txBinds: props.txBinds ?? d.txBinds,
    rxBinds: props.rxBinds ?? d.rxBinds,
    trxBinds: props.trxBinds ?? d.trxBinds,
    tasks: props.tasks ?? d.tasks,
    accountBinds: props.accountBinds ?? d.accountBinds,
    mpsPerBind: props.mpsPerBind ?? d.mpsPerBind,
    windowSize: props.windowSize ?? d.windowSize,
    storeLingerMs: props.storeLingerMs ?? d.storeLingerMs,
    logLevel: props.logLevel ?? d.logLevel,
    shutdownGraceMs: props.shutdownGraceMs ?? d.shutdownGraceMs,
    messageTtlDays: props.messageTtlDays ?? d.messageTtlDays,
    finalStatusTimeoutHours: props.finalStatusTimeoutHours ?? d.finalStatusTimeoutHours,
    cpu: props.cpu ?? d.cpu,
    memoryLimitMiB: props.memoryLimitMiB ?? d.memoryLimitMiB,
    maxReceiveCount: props.maxReceiveCount ?? d.maxReceiveCount,
    bulkMinShare: props.bulkMinShare ?? d.bulkMinShare,
    visibilityTimeout: props.visibilityTimeout ?? d.visibilityTimeout,
    healthPort: props.healthPort ?? d.healthPort,
    optOut: props.optOut ?? d.optOut,
    optOutKeywords: props.optOutKeywords ?? d.optOutKeywords,
    optInKeywords: props.optInKeywords ?? d.optInKeywords,
    optOutScope: props.optOutScope ?? d.optOutScope,
  };
}

/** Every invalid prop, reported in one error. */
function validate(p: ResolvedProps): DeploymentLimits {
  const { limits, problems } = checkBinds(p);
  if (p.shutdownGraceMs < 0 || p.shutdownGraceMs > 110_000) problems.push('shutdownGraceMs must be 0–110000 (stopTimeout = grace + 10 s, and ECS allows at most 120 s)');
  if (p.maxReceiveCount < 1 || p.maxReceiveCount > 1000) problems.push('maxReceiveCount must be 1–1000');
  if (!(p.bulkMinShare >= 0 && p.bulkMinShare <= 0.9)) problems.push('bulkMinShare must be 0–0.9');
  const visibility = p.visibilityTimeout.toSeconds();
  // The service renews visibility every quarter of it; below 10 s one slow SQS call could let it lapse.
  if (visibility < 10 || visibility > 43_200) problems.push('visibilityTimeout must be 10 s – 12 h (the service renews it every quarter while a job is in hand)');
  // The service reads each list as one comma-separated variable, upper-cased (service/src/config.ts).
  for (const [name, list] of [['optOutKeywords', p.optOutKeywords], ['optInKeywords', p.optInKeywords]] as const) {
    if (list.length === 0 || list.some((k) => k.trim().length === 0 || k.length > 32 || k.includes(','))) problems.push(`${name} must list 1–32 character keywords without commas`);
  }
  const shared = p.optOutKeywords.filter((k) => p.optInKeywords.some((i) => i.trim().toUpperCase() === k.trim().toUpperCase()));
  if (shared.length > 0) problems.push(`optOutKeywords and optInKeywords share ${shared.join(', ')}`);
  if (problems.length > 0 || limits === undefined) throw new ConfigError(problems.map((m) => `SmppConnector: ${m}`));
  return limits;
}
