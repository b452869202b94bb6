import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from './smpp-connector.js';

export interface ConnectorMonitoringProps {
  /** `Service` dimension of the EMF metrics. */
  readonly serviceName: string;
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  /** The urgent lane's queue and its DLQ (docs/architecture.md §7.1). @default - none watched */
  readonly priorityQueue?: sqs.IQueue;
  readonly priorityDeadLetterQueue?: sqs.IQueue;
  readonly service: ecs.FargateService;
  /** Desired tasks; with 0 the bind and task alarms stay silent (nothing is meant to run). */
  readonly desiredCount: number;
  readonly publisher: lambda.IFunction;
  readonly publisherFailureQueue: sqs.IQueue;
  /** The scheduled final-status sweep (docs/architecture.md §7.2). @default - none watched */
  readonly finalStatusSweep?: lambda.IFunction;
  /** The NAT gateways that carry the egress IPs. @default [] */
  readonly natGatewayIds?: readonly string[];
  /** The users' consumers' dead-letter queues, by consumer name. @default [] */
  readonly consumerDeadLetterQueues?: readonly { readonly name: string; readonly queue: sqs.IQueue }[];
  /** @default - no e-mail subscription */
  readonly alarmEmail?: string;
  /** @default Duration.minutes(5) */
  readonly oldestMessageAge?: Duration;
  /** Share of submit attempts answered with a throttle, in percent, sustained for 15 minutes. @default 20 */
  readonly throttledPercent?: number;
  /** Failed submits in 5 minutes. @default 10 */
  readonly failedSubmitsPer5Min?: number;
  /** @default Duration.minutes(1) */
  readonly maxIteratorAge?: Duration;
  /** The tasks' average CPU use, in percent of their vCPU, sustained for 15 minutes. @default 80 */
  readonly cpuPercent?: number;
  /** CPU units of a task (1024 = 1 vCPU), drawn on the CPU widget with the desired count. @default - not drawn */
  readonly taskCpu?: number;
}

/**
 * Alarms to an SNS topic, failed ECS deployments to the same topic, and a dashboard of the
 * service's EMF metrics, the queues and the publisher.
 */
export class ConnectorMonitoring extends Construct {
  public readonly topic: sns.Topic;
  public readonly alarms: cloudwatch.Alarm[] = [];
  public readonly dashboard: cloudwatch.Dashboard;
  /** Puts failed deployments of the service on the alarm topic. */
  public readonly deploymentFailedRule: events.Rule;

  constructor(scope: Construct, id: string, props: ConnectorMonitoringProps) {
    super(scope, id);
    const stack = Stack.of(this);
    // CloudWatch cannot publish to a topic under the AWS-managed SNS key, so the topic has its own.
    const key = new kms.Key(this, 'TopicKey', { enableKeyRotation: true, description: 'SMPP connector alarm topic' });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    // No aws:Source* condition here: they are not supported in a key policy for EventBridge's
    // deliveries to an encrypted topic, and a condition that never matches would drop every
    // notification in silence. The topic policy below scopes EventBridge to our rule.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', { masterKey: key, enforceSSL: true, displayName: 'SMPP connector alarms' });
    // A topic policy replaces SNS's default one, which is what lets CloudWatch publish when no
    // policy is set: with only enforceSSL's deny, no alarm would ever arrive. Alarms of this
    // account and region may publish (the check: `aws cloudwatch set-alarm-state`, see the README).
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
        },
      }),
    );
    if (props.alarmEmail !== undefined) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    this.deploymentFailedRule = new events.Rule(this, 'DeploymentFailed', {
      description: 'A deployment of the SMPP connector service failed (circuit breaker): tell the alarm topic',
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Deployment State Change'],
        resources: [props.service.serviceArn],
        detail: { eventName: ['SERVICE_DEPLOYMENT_FAILED'] },
      },
    });
    // Its own target rather than targets.SnsTopic, whose grant lets any rule of any account publish.
    this.deploymentFailedRule.addTarget({
      bind: () => ({
        arn: this.topic.topicArn,
        input: events.RuleTargetInput.fromText(
          `ECS deployment ${events.EventField.fromPath('$.detail.deploymentId')} of ${events.EventField.fromPath('$.resources[0]')} failed: ` +
            `${events.EventField.fromPath('$.detail.reason')} (the circuit breaker rolls back to the last deployment that completed)`,
        ),
      }),
    });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowDeploymentFailedRule',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { ArnEquals: { 'aws:SourceArn': this.deploymentFailedRule.ruleArn } },
      }),
    );

    const emf = (metricName: string, statistic: string, period = Duration.minutes(1)) =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { Service: props.serviceName }, statistic, period });
    const running = props.desiredCount > 0;

    const accepted5 = emf('SubmitAccepted', 'Sum', Duration.minutes(5));
    const throttled5 = emf('SubmitThrottled', 'Sum', Duration.minutes(5));
    const cpu5 = emf('ProcessCpuMs', 'Sum', Duration.minutes(5));

    this.alarm('DeadLetterQueueNotEmpty', {
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      alarmDescription: 'Jobs reached the outbound DLQ (received too often without an outcome); inspect and redrive',
    });
    if (props.priorityDeadLetterQueue !== undefined) {
      this.alarm('PriorityDeadLetterQueueNotEmpty', {
        metric: props.priorityDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        alarmDescription: 'Urgent jobs reached the priority DLQ (received too often without an outcome); inspect and redrive',
      });
    }
    this.alarm('OldestMessageAge', {
      metric: props.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: Duration.minutes(1) }),
      threshold: (props.oldestMessageAge ?? Duration.minutes(5)).toSeconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      alarmDescription: 'Jobs wait in the outbound queue longer than expected: binds down, throttled, or too few binds for the load',
    });
    this.alarm('NoBoundBinds', {
      metric: emf('BindsBound', 'Maximum'),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 3,
      // No data means no task is reporting: as bad as no binds.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      actionsEnabled: running,
      alarmDescription: 'No task has a bound SMPP bind (tasks stay up and keep retrying): check the SMSC, the credentials secret and the IP whitelist',
    });
    this.alarm('RunningTasksBelowDesired', {
      metric: new cloudwatch.Metric({
        namespace: 'ECS/ContainerInsights',
        metricName: 'RunningTaskCount',
        dimensionsMap: { ClusterName: props.service.cluster.clusterName, ServiceName: props.service.serviceName },
        statistic: 'Minimum',
        period: Duration.minutes(1),
      }),
      threshold: props.desiredCount,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      // A rolling deployment replaces tasks one at a time (bind budget): allow for that dip.
      evaluationPeriods: 10,
      treatMissingData: running ? cloudwatch.TreatMissingData.BREACHING : cloudwatch.TreatMissingData.NOT_BREACHING,
      actionsEnabled: running,
      alarmDescription: 'Fewer tasks are running than desired (crashing, or failing the /healthz liveness check: event loop blocked)',
    });
    // A task short of CPU is late for everything on its event loop: the pacer's sends, enquire_link, the
    // answers to deliver_sm. ECS's own metric: the service's tasks, averaged, in percent of their vCPU.
    this.alarm('ServiceCpuHigh', {
      metric: props.service.metricCpuUtilization({ statistic: 'Average', period: Duration.minutes(5) }),
      threshold: props.cpuPercent ?? 80,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      actionsEnabled: running,
      alarmDescription: 'The tasks use most of their vCPU: raise the task cpu, or spread the binds over more tasks (README, "CPU per job"; the dashboard shows CPU ms per submit)',
    });
    this.alarm('HighThrottleRate', {
      metric: new cloudwatch.MathExpression({
        expression: 'IF(a + t > 0, 100 * t / (a + t), 0)',
        usingMetrics: { a: accepted5, t: throttled5 },
        label: 'Throttled submits (%)',
        period: Duration.minutes(5),
      }),
      threshold: props.throttledPercent ?? 20,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      alarmDescription: 'The SMSC throttles a large share of submits: MPS_PER_BIND is above what 8x8 provisioned',
    });
    this.alarm('SubmitFailures', {
      metric: emf('SubmitFailed', 'Sum', Duration.minutes(5)),
      threshold: props.failedSubmitsPer5Min ?? 10,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      alarmDescription: 'Many submits failed permanently (see lastError on the status items)',
    });
    this.alarm('PublisherErrors', {
      metric: props.publisher.metricErrors({ statistic: 'Sum', period: Duration.minutes(5) }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      alarmDescription: 'The stream publisher Lambda failed invocations',
    });
    if (props.finalStatusSweep !== undefined) {
      // One run every 15 minutes: a window of that length sees every run, and the next good run clears it.
      this.alarm('FinalStatusSweepErrors', {
        metric: props.finalStatusSweep.metricErrors({ statistic: 'Sum', period: Duration.minutes(15) }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        alarmDescription: 'The final-status sweep failed (its log names the writes); messages past their deadline stay open until a run succeeds',
      });
    }
    this.alarm('PublisherIteratorAge', {
      metric: props.publisher.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1) }),
      threshold: (props.maxIteratorAge ?? Duration.minutes(1)).toMilliseconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 5,
      alarmDescription: 'Status events are published late: the publisher falls behind the table stream',
    });
    (props.natGatewayIds ?? []).forEach((natGatewayId, i) => {
      const nat = (metricName: string) =>
        new cloudwatch.Metric({ namespace: 'AWS/NATGateway', metricName, dimensionsMap: { NatGatewayId: natGatewayId }, statistic: 'Sum', period: Duration.minutes(1) });
      // The connector opens few connections, so a port allocation error is no load peak: a bind or AWS call could not connect.
      this.alarm(`NatGateway${i + 1}PortAllocationErrors`, {
        metric: nat('ErrorPortAllocation').with({ period: Duration.minutes(5) }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        alarmDescription: `NAT gateway ${i + 1} (egress IP ${i + 1}) could not allocate a source port: connections through it failed`,
      });
      // AWS's recommended alarm: drops above 0.01 % of the gateway's packets, five minutes in a row.
      this.alarm(`NatGateway${i + 1}PacketsDropped`, {
        metric: new cloudwatch.MathExpression({
          expression: 'IF(s + d > 0, 100 * x / (s + d), 0)',
          usingMetrics: { x: nat('PacketsDropCount'), s: nat('PacketsInFromSource'), d: nat('PacketsInFromDestination') },
          label: `NAT gateway ${i + 1} packets dropped (%)`,
          period: Duration.minutes(1),
        }),
        threshold: 0.01,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 5,
        alarmDescription: `NAT gateway ${i + 1} (egress IP ${i + 1}) drops packets: check the AWS Health Dashboard for the NAT gateway service`,
      });
    });
    for (const { name, queue } of props.consumerDeadLetterQueues ?? []) {
      this.alarm(`Consumer${name}DeadLetterQueueNotEmpty`, {
        metric: queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        alarmDescription: `Events the ${name} consumer Lambda could not take after its retries; replay them from the archive or the queue once fixed`,
      });
    }
    this.alarm('PublisherFailureQueueNotEmpty', {
      metric: props.publisherFailureQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      alarmDescription: 'Stream records were given up after retries; their events were not published',
    });

    // The publisher's Powertools metrics: dimension `service` = the stack name (POWERTOOLS_SERVICE_NAME).
    const powertools = (metricName: string) =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: stack.stackName }, statistic: 'Sum' });
    const published = powertools('EventsPublished');
    const retried = powertools('RecordsRetried');
    const natMetric = (natGatewayId: string, metricName: string, label: string) =>
      new cloudwatch.Metric({ namespace: 'AWS/NATGateway', metricName, dimensionsMap: { NatGatewayId: natGatewayId }, statistic: 'Sum', label });
    const w = (title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []) =>
      new cloudwatch.GraphWidget({ title, left, right, width: 12, height: 6 });
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
      widgets: [
        [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 3 })],
        [
          w('Submits', [emf('SubmitAccepted', 'Sum'), emf('SubmitThrottled', 'Sum'), emf('SubmitFailed', 'Sum'), emf('SubmitUnknownOutcome', 'Sum')], [emf('SubmitRetried', 'Sum')]),
          w('Inbound', [emf('ReceiptsStored', 'Sum'), emf('MoStored', 'Sum')], [emf('JobsInvalid', 'Sum')]),
        ],
        [
          w('Binds bound', [emf('BindsBound', 'Minimum'), emf('BindsBound', 'Maximum')]),
          w('Response latency (ms)', [emf('ResponseLatencyMs', 'p50'), emf('ResponseLatencyMs', 'p99')]),
        ],
        [
          w('Window occupancy', [emf('WindowOccupancy', 'Average'), emf('WindowOccupancy', 'Maximum')]),
          w('Queue wait (ms)', [emf('QueueWaitMs', 'p50'), emf('QueueWaitMs', 'p99')]),
        ],
        [
          w(
            'Outbound queue',
            [
              props.queue.metricApproximateNumberOfMessagesVisible(),
              props.queue.metricApproximateNumberOfMessagesNotVisible(),
              ...(props.priorityQueue ? [props.priorityQueue.metricApproximateNumberOfMessagesVisible({ label: 'Urgent: messages visible' })] : []),
            ],
            [
              props.queue.metricApproximateAgeOfOldestMessage(),
              props.deadLetterQueue.metricApproximateNumberOfMessagesVisible(),
              ...(props.priorityQueue ? [props.priorityQueue.metricApproximateAgeOfOldestMessage({ label: 'Urgent: age of oldest message' })] : []),
              ...(props.priorityDeadLetterQueue ? [props.priorityDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ label: 'Urgent DLQ: messages visible' })] : []),
            ],
          ),
          w(
            'Stream publisher',
            [props.publisher.metricInvocations(), props.publisher.metricErrors(), published, retried],
            [props.publisher.metric('IteratorAge', { statistic: 'Maximum' })],
          ),
        ],
        [
          // The service's own CPU (ProcessCpuMs, summed over tasks): how much of the tasks' vCPU it uses, and what a
          // message costs, the figure that sizes a task (README, "CPU per job").
          new cloudwatch.GraphWidget({
            title: 'Service CPU (all tasks)',
            left: [new cloudwatch.MathExpression({ expression: 'c / (PERIOD(c) * 1000)', usingMetrics: { c: cpu5 }, label: 'vCPU in use', period: Duration.minutes(5) })],
            right: [
              new cloudwatch.MathExpression({
                expression: 'IF(a > 0, c / a, 0)',
                usingMetrics: { c: cpu5, a: accepted5 },
                label: 'CPU ms per accepted submit (0: none)',
                period: Duration.minutes(5),
              }),
            ],
            ...(props.taskCpu !== undefined && { leftAnnotations: [{ value: (props.taskCpu / 1024) * props.desiredCount, label: 'vCPU of the desired tasks' }] }),
            width: 12,
            height: 6,
          }),
          w(
            'NAT gateways (egress IPs)',
            (props.natGatewayIds ?? []).map((id, i) => natMetric(id, 'ErrorPortAllocation', `port allocation errors ${i + 1}`)),
            (props.natGatewayIds ?? []).map((id, i) => natMetric(id, 'PacketsDropCount', `packets dropped ${i + 1}`)),
          ),
        ],
      ],
    });
  }

  private alarm(id: string, props: cloudwatch.AlarmProps): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, { treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, ...props });
    alarm.addAlarmAction(new actions.SnsAction(this.topic));
    alarm.addOkAction(new actions.SnsAction(this.topic));
    this.alarms.push(alarm);
    return alarm;
  }
}
