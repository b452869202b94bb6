import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
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
  readonly service: ecs.FargateService;
  /** Desired tasks; with 0 the bind and task alarms stay silent (nothing is meant to run). */
  readonly desiredCount: number;
  readonly publisher: lambda.IFunction;
  readonly publisherFailureQueue: sqs.IQueue;
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
}

/** Alarms to an SNS topic and a dashboard of the service's EMF metrics, the queues and the publisher. */
export class ConnectorMonitoring extends Construct {
  public readonly topic: sns.Topic;
  public readonly alarms: cloudwatch.Alarm[] = [];
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ConnectorMonitoringProps) {
    super(scope, id);
    // CloudWatch cannot publish to a topic under the AWS-managed SNS key, so the topic has its own.
    const key = new kms.Key(this, 'TopicKey', { enableKeyRotation: true, description: 'SMPP connector alarm topic' });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', { masterKey: key, enforceSSL: true, displayName: 'SMPP connector alarms' });
    if (props.alarmEmail !== undefined) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    const emf = (metricName: string, statistic: string, period = Duration.minutes(1)) =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { Service: props.serviceName }, statistic, period });
    const running = props.desiredCount > 0;

    const accepted5 = emf('SubmitAccepted', 'Sum', Duration.minutes(5));
    const throttled5 = emf('SubmitThrottled', 'Sum', Duration.minutes(5));

    this.alarm('DeadLetterQueueNotEmpty', {
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      alarmDescription: 'Jobs reached the outbound DLQ (received too often without an outcome); inspect and redrive',
    });
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
    this.alarm('PublisherIteratorAge', {
      metric: props.publisher.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1) }),
      threshold: (props.maxIteratorAge ?? Duration.minutes(1)).toMilliseconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 5,
      alarmDescription: 'Status events are published late: the publisher falls behind the table stream',
    });
    this.alarm('PublisherFailureQueueNotEmpty', {
      metric: props.publisherFailureQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      alarmDescription: 'Stream records were given up after retries; their events were not published',
    });

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
            [props.queue.metricApproximateNumberOfMessagesVisible(), props.queue.metricApproximateNumberOfMessagesNotVisible()],
            [props.queue.metricApproximateAgeOfOldestMessage(), props.deadLetterQueue.metricApproximateNumberOfMessagesVisible()],
          ),
          w(
            'Stream publisher',
            [props.publisher.metricInvocations(), props.publisher.metricErrors()],
            [props.publisher.metric('IteratorAge', { statistic: 'Maximum' })],
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
