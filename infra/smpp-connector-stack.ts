import { CfnOutput, Duration, Fn, Stack, Token, Validations, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { ConfigError } from '../service/src/errors.js';
import { PLACEHOLDER_ACCOUNT, publishedStatuses, type StackConfig } from './config.js';
import { EgressIpLookup } from './constructs/egress-ip-lookup.js';
import { EgressNetwork } from './constructs/egress-network.js';
import { EventConsumers } from './constructs/event-consumers.js';
import { FinalStatusSweep } from './constructs/final-status-sweep.js';
import { ConnectorMonitoring } from './constructs/monitoring.js';
import { SmppConnector } from './constructs/smpp-connector.js';
import { StreamPublisher } from './constructs/stream-publisher.js';
import type { EgressIpSource, EgressIpsStack } from './egress-ips-stack.js';

export interface SmppConnectorStackProps extends StackProps {
  readonly config: StackConfig;
  /**
   * The stack that holds the egress EIPs, which this stack imports and is deployed after.
   * @default - none: `config.eipAllocationIds` must then list existing allocations
   */
  readonly ipStack?: EgressIpsStack;
}

/**
 * One region's connector: egress network bound to the static IPs, the service, the stream
 * publisher and the users' consumers, access policies for producers and readers, alarms.
 */
export class SmppConnectorStack extends Stack {
  public readonly network: EgressNetwork;
  public readonly connector: SmppConnector;
  public readonly publisher: StreamPublisher;
  public readonly consumers: EventConsumers;
  /** Makes messages with no final receipt by their deadline UNKNOWN (docs/architecture.md §7.2). */
  public readonly finalStatusSweep: FinalStatusSweep;
  public readonly monitoring: ConnectorMonitoring;
  /** For producers' roles: send jobs to the queue. */
  public readonly sendJobsPolicy: iam.ManagedPolicy;
  /** For status readers' roles: read status items. */
  public readonly readStatusPolicy: iam.ManagedPolicy;
  /** For operators' roles: redrive the DLQ and retry FAILED jobs (README, Replay: redrive and retry). */
  public readonly operatorPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: SmppConnectorStackProps) {
    super(scope, id, props);
    const c = props.config;
    const logRetention = c.logRetentionDays as logs.RetentionDays;
    this.checkConsumerAccounts(c);

    const egressIps = this.egressIpSource(c, props.ipStack, logRetention);
    this.network = new EgressNetwork(this, 'Network', {
      natGateways: c.natGateways,
      maxAzs: c.maxAzs,
      eipAllocationIds: egressIps.allocationIds,
      cidr: c.vpcCidr,
      vpcEndpoints: c.vpcEndpoints,
    });

    const credentialsSecret =
      c.credentialsSecretArn === undefined
        ? undefined
        : /-[A-Za-z0-9]{6}$/.test(c.credentialsSecretArn)
          ? secretsmanager.Secret.fromSecretCompleteArn(this, 'ImportedCredentials', c.credentialsSecretArn)
          : secretsmanager.Secret.fromSecretPartialArn(this, 'ImportedCredentials', c.credentialsSecretArn);

    this.connector = new SmppConnector(this, 'Connector', {
      vpc: this.network.vpc,
      smppHost: c.smppHost,
      smppPort: c.smppPort,
      smppTls: c.smppTls,
      smppTlsMinVersion: c.smppTlsMinVersion,
      txBinds: c.txBinds,
      rxBinds: c.rxBinds,
      trxBinds: c.trxBinds,
      tasks: c.tasks,
      accountBinds: c.accountBinds,
      mpsPerBind: c.mpsPerBind,
      windowSize: c.windowSize,
      storeLingerMs: c.storeLingerMs,
      minHealthyPercent: c.minHealthyPercent,
      maxHealthyPercent: c.maxHealthyPercent,
      ...(credentialsSecret && { credentialsSecret }),
      serviceName: c.name,
      logLevel: c.logLevel,
      logRetention,
      shutdownGraceMs: c.shutdownGraceMs,
      messageTtlDays: c.messageTtlDays,
      finalStatusTimeoutHours: c.finalStatusTimeoutHours,
      bulkMinShare: c.bulkMinShare,
      ...(c.indexes && { indexes: c.indexes }),
      cpu: c.cpu,
      memoryLimitMiB: c.memoryMiB,
      ...(c.optOut && { optOut: c.optOut.enabled, optOutKeywords: c.optOut.stopKeywords, optInKeywords: c.optOut.startKeywords, optOutScope: c.optOut.scope }),
    });

    this.network.allowEndpointsFrom(this.connector.securityGroup);

    this.publisher = new StreamPublisher(this, 'StreamPublisher', {
      table: this.connector.table,
      logRetention,
      archiveRetention: Duration.days(c.eventArchiveDays),
      ...(publishedStatuses(c) !== undefined && { statuses: publishedStatuses(c) }),
    });
    this.finalStatusSweep = new FinalStatusSweep(this, 'FinalStatusSweep', {
      table: this.connector.table,
      messageTtlDays: c.messageTtlDays,
      logRetention,
      enabled: c.indexes === undefined || c.indexes.includes('openByDeadline'),
    });
    this.consumers = new EventConsumers(this, 'Consumers', {
      eventBus: this.publisher.eventBus,
      consumers: c.consumers.map((k) => ({ ...k, maxEventAge: Duration.seconds(k.maxEventAgeSeconds) })),
    });

    // For the users' own roles. SendMessage also authorises SendMessageBatch; the queues are encrypted
    // with SQS-managed keys, which need no KMS permission. Urgent jobs go to the priority queue.
    this.sendJobsPolicy = new iam.ManagedPolicy(this, 'SendJobsPolicy', {
      description: `Send SMS jobs to the ${this.stackName} outbound and priority queues`,
      statements: [new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.connector.queue.queueArn, this.connector.priorityQueue.queueArn] })],
    });
    this.readStatusPolicy = new iam.ManagedPolicy(this, 'ReadStatusPolicy', {
      description: `Read SMS status items from the ${this.stackName} table (key id)`,
      statements: [
        new iam.PolicyStatement({
          actions: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'],
          // Look-ups by number query the two look-up indexes (service/src/aws/table.ts).
          resources: [this.connector.table.tableArn, `${this.connector.table.tableArn}/index/byRecipient`, `${this.connector.table.tableArn}/index/byOriginator`],
        }),
      ],
    });
    // What `npm run redrive` and `npm run retry` call (docs/architecture.md §7.4), for both lanes: receive,
    // delete and un-hide (a dry run's look) on the DLQs, find a DLQ from its queue's redrive policy, send to
    // the queues; read and conditionally update a message. Nothing else on the table: no Put, no Delete.
    this.operatorPolicy = new iam.ManagedPolicy(this, 'OperatorPolicy', {
      description: `Redrive the ${this.stackName} dead-letter queues and retry FAILED jobs`,
      statements: [
        new iam.PolicyStatement({
          actions: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'],
          resources: [this.connector.deadLetterQueue.queueArn, this.connector.priorityDeadLetterQueue.queueArn],
        }),
        new iam.PolicyStatement({ actions: ['sqs:GetQueueAttributes', 'sqs:SendMessage'], resources: [this.connector.queue.queueArn, this.connector.priorityQueue.queueArn] }),
        new iam.PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [this.connector.table.tableArn] }),
      ],
    });

    this.monitoring = new ConnectorMonitoring(this, 'Monitoring', {
      serviceName: this.connector.serviceName,
      queue: this.connector.queue,
      deadLetterQueue: this.connector.deadLetterQueue,
      priorityQueue: this.connector.priorityQueue,
      priorityDeadLetterQueue: this.connector.priorityDeadLetterQueue,
      service: this.connector.service,
      desiredCount: this.connector.desiredCount,
      taskCpu: c.cpu,
      publisher: this.publisher.function,
      publisherFailureQueue: this.publisher.failureQueue,
      finalStatusSweep: this.finalStatusSweep.function,
      alarmEmail: c.alarmEmail,
      oldestMessageAge: Duration.seconds(c.oldestMessageAlarmSeconds),
      natGatewayIds: this.network.natGatewayIds,
      consumerDeadLetterQueues: this.consumers.consumers.map((k) => ({ name: k.name, queue: k.deadLetterQueue })),
    });

    this.addOutputs(c, egressIps);
    this.acknowledgeNagFindings();
  }

  /**
   * The configuration checks the consumers' account against a real `account`; with the placeholder
   * the account is known only once the CLI resolved the caller's, here. Offline it stays the
   * placeholder, and nothing is checked.
   */
  private checkConsumerAccounts(c: StackConfig): void {
    if (Token.isUnresolved(this.account) || this.account === PLACEHOLDER_ACCOUNT) return;
    const problems = c.consumers
      .filter((k) => k.lambdaArn.split(':')[4] !== this.account)
      .map((k) => `${this.stackName}: consumer ${k.name}: lambdaArn is in account ${k.lambdaArn.split(':')[4]}, but the stack deploys to ${this.account}`);
    if (problems.length > 0) throw new ConfigError(problems);
  }

  /** The IP stack's exports, or the configured allocations with their addresses looked up. */
  private egressIpSource(c: StackConfig, ipStack: EgressIpsStack | undefined, logRetention: logs.RetentionDays): EgressIpSource {
    const imported = c.eipAllocationIds.length > 0;
    if (imported === (ipStack !== undefined)) {
      throw new ConfigError([`${this.stackName}: give either eipAllocationIds (existing EIPs) or an IP stack, not ${imported ? 'both' : 'neither'}`]);
    }
    if (ipStack !== undefined) return ipStack.importInto(this);
    const lookup = new EgressIpLookup(this, 'EgressIpLookup', { allocationIds: c.eipAllocationIds, logRetention });
    return { allocationIds: c.eipAllocationIds, publicIps: lookup.publicIps };
  }

  private addOutputs(c: StackConfig, egressIps: EgressIpSource): void {
    const { connector, publisher } = this;
    new CfnOutput(this, 'EgressIps', {
      value: Fn.join(',', [...egressIps.publicIps]),
      description: 'Static egress IPs (NAT gateway EIPs): give these to 8x8 for whitelisting',
    });
    new CfnOutput(this, 'EgressIpAllocationIds', {
      value: Fn.join(',', [...egressIps.allocationIds]),
      description: 'The EIP allocations of the NAT gateways (eipAllocationIds, to bring them into another stack)',
    });
    new CfnOutput(this, 'QueueUrl', { value: connector.queue.queueUrl, description: 'Outbound SMS jobs (JSON, docs/architecture.md §3.1)' });
    new CfnOutput(this, 'QueueArn', { value: connector.queue.queueArn });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: connector.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'PriorityQueueUrl', { value: connector.priorityQueue.queueUrl, description: 'Urgent SMS jobs (one-time passwords): sent ahead of the outbound queue\'s' });
    new CfnOutput(this, 'PriorityQueueArn', { value: connector.priorityQueue.queueArn });
    new CfnOutput(this, 'PriorityDeadLetterQueueUrl', { value: connector.priorityDeadLetterQueue.queueUrl });
    new CfnOutput(this, 'TableName', { value: connector.table.tableName, description: 'Message status items, key `id`' });
    new CfnOutput(this, 'TableArn', { value: connector.table.tableArn });
    new CfnOutput(this, 'SendJobsPolicyArn', { value: this.sendJobsPolicy.managedPolicyArn, description: 'Attach to producers\' roles: sqs:SendMessage on the outbound and priority queues' });
    new CfnOutput(this, 'ReadStatusPolicyArn', {
      value: this.readStatusPolicy.managedPolicyArn,
      description: 'Attach to status readers\' roles: GetItem, BatchGetItem, Query on the table',
    });
    new CfnOutput(this, 'OperatorPolicyArn', {
      value: this.operatorPolicy.managedPolicyArn,
      description: 'Attach to operators\' roles: npm run redrive / retry (the DLQ, SendMessage on the queue, GetItem and UpdateItem on the table)',
    });
    new CfnOutput(this, 'SecretArn', {
      value: connector.credentialsSecret.secretArn,
      description: 'SMPP credentials: put-secret-value with {"system_id": "...", "password": "..."}',
    });
    new CfnOutput(this, 'EventBusName', { value: publisher.eventBus.eventBusName, description: 'SmsStatusChanged / SmsReceived events' });
    new CfnOutput(this, 'EventBusArn', { value: publisher.eventBus.eventBusArn, description: 'SmsStatusChanged / SmsReceived events (source smpp-connector)' });
    new CfnOutput(this, 'EventArchiveArn', { value: publisher.archive.archiveArn, description: 'Replay source: aws events start-replay' });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn });
    new CfnOutput(this, 'BindBudget', {
      value: `${connector.desiredCount} tasks, peak ${connector.deployment.peakTasks} during deployments = ${connector.deployment.peakBinds}/${c.accountBinds} binds`,
    });
    // What the README's first-deployment steps use to scale the service and read its logs.
    new CfnOutput(this, 'ClusterName', { value: connector.cluster.clusterName });
    new CfnOutput(this, 'ServiceName', { value: connector.service.serviceName });
    new CfnOutput(this, 'ServiceLogGroup', { value: connector.logGroup.logGroupName, description: 'Service logs: aws logs tail <group> --follow' });
  }

  /** cdk-nag AwsSolutions findings accepted on purpose, each with its reason. */
  private acknowledgeNagFindings(): void {
    const ack = (scope: Construct, id: string, reason: string) => Validations.of(scope).acknowledge({ id, reason });
    const { connector, publisher } = this;
    ack(
      connector.taskDefinition,
      'AwsSolutions-ECS2',
      'The variables are non-secret settings (docs/architecture.md §3.3); the SMPP credentials are read at run time from Secrets Manager by ARN.',
    );
    ack(
      connector.credentialsSecret,
      'AwsSolutions-SMG4',
      'The SMPP password is issued by 8x8 and cannot be rotated by a Lambda; rotation is a documented manual step, and the service re-reads the secret after an auth failure.',
    );
    ack(
      publisher.failureQueue,
      'AwsSolutions-SQS3',
      'This queue is itself a dead-letter destination: the on-failure destination of the stream event source mapping.',
    );
    const executionPolicy = connector.taskDefinition.executionRole?.node.tryFindChild('DefaultPolicy');
    if (executionPolicy !== undefined) {
      ack(
        executionPolicy,
        'AwsSolutions-IAM5[Resource::*]',
        'ecr:GetAuthorizationToken has no resource-level permissions; it must be granted on "*" for the task to pull its image.',
      );
    }
    ack(
      publisher.function.role ?? publisher,
      'AwsSolutions-IAM5[Resource::*]',
      'dynamodb:ListStreams has no resource-level permissions; the event source mapping needs it on "*". Reading records is limited to the table stream.',
    );
    for (const { deadLetterQueue } of this.consumers.consumers) {
      ack(deadLetterQueue, 'AwsSolutions-SQS3', 'This queue is itself a dead-letter queue: of the consumer rule\'s Lambda target.');
    }
    const lookupRole = this.node.tryFindChild('EgressIpLookup')?.node.tryFindChild('Role');
    if (lookupRole !== undefined) {
      ack(lookupRole, 'AwsSolutions-IAM5[Resource::*]', 'ec2:DescribeAddresses has no resource-level permissions; it only reads the addresses of the imported EIPs.');
    }
    for (const fn of [publisher.function, this.finalStatusSweep.function]) {
      ack(
        fn,
        'AwsSolutions-L1',
        'Node.js 22 is deliberate: it matches the service image (node:22) and the toolchain the project is verified with (docs/architecture.md §6).',
      );
    }
  }
}
