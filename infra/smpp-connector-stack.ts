import { CfnOutput, Duration, Fn, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { StackConfig } from './config.js';
import { EgressNetwork } from './constructs/egress-network.js';
import { ConnectorMonitoring } from './constructs/monitoring.js';
import { SmppConnector } from './constructs/smpp-connector.js';
import { StreamPublisher } from './constructs/stream-publisher.js';

export interface SmppConnectorStackProps extends StackProps {
  readonly config: StackConfig;
}

/** One region's connector: egress network with static IPs, the service, the stream publisher, alarms. */
export class SmppConnectorStack extends Stack {
  public readonly network: EgressNetwork;
  public readonly connector: SmppConnector;
  public readonly publisher: StreamPublisher;
  public readonly monitoring: ConnectorMonitoring;

  constructor(scope: Construct, id: string, props: SmppConnectorStackProps) {
    super(scope, id, props);
    const c = props.config;
    const logRetention = c.logRetentionDays as logs.RetentionDays;

    this.network = new EgressNetwork(this, 'Network', {
      natGateways: c.natGateways,
      maxAzs: c.maxAzs,
      eipAllocationIds: c.eipAllocationIds,
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
      minHealthyPercent: c.minHealthyPercent,
      maxHealthyPercent: c.maxHealthyPercent,
      ...(credentialsSecret && { credentialsSecret }),
      serviceName: c.name,
      logLevel: c.logLevel,
      logRetention,
      shutdownGraceMs: c.shutdownGraceMs,
      messageTtlDays: c.messageTtlDays,
      cpu: c.cpu,
      memoryLimitMiB: c.memoryMiB,
    });

    this.network.allowEndpointsFrom(this.connector.securityGroup);

    this.publisher = new StreamPublisher(this, 'StreamPublisher', { table: this.connector.table, logRetention });

    this.monitoring = new ConnectorMonitoring(this, 'Monitoring', {
      serviceName: this.connector.serviceName,
      queue: this.connector.queue,
      deadLetterQueue: this.connector.deadLetterQueue,
      service: this.connector.service,
      desiredCount: this.connector.desiredCount,
      publisher: this.publisher.function,
      publisherFailureQueue: this.publisher.failureQueue,
      alarmEmail: c.alarmEmail,
      oldestMessageAge: Duration.seconds(c.oldestMessageAlarmSeconds),
    });

    const created = this.network.egressIps !== undefined;
    new CfnOutput(this, 'EgressIps', {
      value: Fn.join(',', [...(this.network.egressIps ?? this.network.eipAllocationIds)]),
      description: created
        ? 'Static egress IPs (NAT gateway EIPs): give these to 8x8 for whitelisting'
        : 'EIP allocation ids of the imported egress IPs (aws ec2 describe-addresses --allocation-ids …): give their addresses to 8x8',
    });
    new CfnOutput(this, 'EgressIpAllocationIds', {
      value: Fn.join(',', [...this.network.eipAllocationIds]),
      description: 'Put these in eipAllocationIds to keep the same IPs when this stack is recreated',
    });
    new CfnOutput(this, 'QueueUrl', { value: this.connector.queue.queueUrl, description: 'Outbound SMS jobs (JSON, docs/architecture.md §3.1)' });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.connector.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'TableName', { value: this.connector.table.tableName, description: 'Message status items, key `id`' });
    new CfnOutput(this, 'SecretArn', {
      value: this.connector.credentialsSecret.secretArn,
      description: 'SMPP credentials: put-secret-value with {"system_id": "...", "password": "..."}',
    });
    new CfnOutput(this, 'EventBusName', { value: this.publisher.eventBus.eventBusName, description: 'SmsStatusChanged / SmsReceived events' });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn });
    new CfnOutput(this, 'BindBudget', {
      value: `${this.connector.desiredCount} tasks, peak ${this.connector.deployment.peakTasks} during deployments = ${this.connector.deployment.peakBinds}/${c.accountBinds} binds`,
    });

    this.acknowledgeNagFindings();
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
    ack(
      publisher.function,
      'AwsSolutions-L1',
      'Node.js 22 is deliberate: it matches the service image (node:22) and the toolchain the project is verified with (docs/architecture.md §6).',
    );
  }
}
