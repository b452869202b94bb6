import * as path from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EVENT_SOURCE } from '../../service/src/lambdas/events.js';
import { REPO_ROOT } from '../paths.js';
import { METRICS_NAMESPACE } from './smpp-connector.js';

export interface StreamPublisherProps {
  /** The status table; must have a NEW_AND_OLD_IMAGES stream. */
  readonly table: dynamodb.ITable;
  /** @default `${stackName}-events` */
  readonly eventBusName?: string;
  /** Records per invocation. @default 100 */
  readonly batchSize?: number;
  /** Retries of a failing batch (halved each time by bisection) before it goes to the failure queue. @default 5 */
  readonly retryAttempts?: number;
  /** Records older than this go to the failure queue unprocessed. @default Duration.hours(6) */
  readonly maxRecordAge?: Duration;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * How long the bus's archive keeps the connector's events, for `aws events start-replay`.
   * `Duration.days(0)` keeps them indefinitely. @default Duration.days(30)
   */
  readonly archiveRetention?: Duration;
  /**
   * Statuses whose changes are published as `SmsStatusChanged`; the stream filter drops the others
   * before the function runs, so they cost neither an invocation nor an event. @default every status
   */
  readonly statuses?: readonly string[];
}

/**
 * Downstream of the status table: a Lambda on its stream that publishes `SmsStatusChanged` and
 * `SmsReceived` events to an EventBridge bus. Bounded retries with bisection and partial batch
 * responses; what still fails is described in an SQS on-failure queue (the records themselves stay
 * in the table).
 */
export class StreamPublisher extends Construct {
  public readonly eventBus: events.EventBus;
  /** Every event the publisher puts on the bus, kept for replay. */
  public readonly archive: events.Archive;
  public readonly function: NodejsFunction;
  /** On-failure destination of the event source mapping. */
  public readonly failureQueue: sqs.Queue;
  public readonly eventSource: DynamoEventSource;

  constructor(scope: Construct, id: string, props: StreamPublisherProps) {
    super(scope, id);
    this.eventBus = new events.EventBus(this, 'Bus', {
      eventBusName: props.eventBusName ?? `${Stack.of(this).stackName}-events`,
      description: 'SMPP connector: SmsStatusChanged, SmsReceived, OptedOut and OptedIn events (source smpp-connector)',
    });
    // A consumer that was down, or wrong, can be fed again: a replay re-sends the archived events to the bus's rules.
    this.archive = this.eventBus.archive('Archive', {
      description: 'SMPP connector events, for replay',
      eventPattern: { source: [EVENT_SOURCE] },
      retention: props.archiveRetention ?? Duration.days(30),
    });

    this.failureQueue = new sqs.Queue(this, 'FailureQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    const logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH });
    // Its own role with its own log group, instead of the AWSLambdaBasicExecutionRole managed policy.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Stream publisher: read the status stream, put events, write its logs',
    });
    logGroup.grant(role, 'logs:CreateLogStream', 'logs:PutLogEvents');

    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(REPO_ROOT, 'service/src/lambdas/stream-publisher.ts'),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      // Node 22: Lambda blocks creating Node 20 functions from 2027-02-01 (docs/architecture.md §6).
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.seconds(30),
      role,
      logGroup,
      description: 'Publishes SMS status changes and MO messages from the status table stream to EventBridge',
      environment: {
        EVENT_BUS_NAME: this.eventBus.eventBusName,
        NODE_OPTIONS: '--enable-source-maps',
        // Powertools Logger and Metrics: the `service` key and dimension is the stack name, as the service's `Service` dimension.
        POWERTOOLS_SERVICE_NAME: Stack.of(this).stackName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: 'INFO',
      },
      bundling: {
        // Local esbuild, no Docker. CJS avoids ESM's missing `require` in bundled dependencies.
        forceDockerBundling: false,
        format: OutputFormat.CJS,
        target: 'node22',
        minify: true,
        sourceMap: true,
        // Bundle the pinned SDK instead of the runtime's.
        externalModules: [],
      },
    });
    this.eventBus.grantPutEventsTo(this.function);

    this.eventSource = new DynamoEventSource(props.table, {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: props.batchSize ?? 100,
      maxBatchingWindow: Duration.seconds(1),
      bisectBatchOnError: true,
      retryAttempts: props.retryAttempts ?? 5,
      maxRecordAge: props.maxRecordAge ?? Duration.hours(6),
      reportBatchItemFailures: true,
      // One poller per shard keeps a message's changes in order.
      parallelizationFactor: 1,
      onFailure: new SqsDlq(this.failureQueue),
      // Only message status items, suppression entries (rare) and new MO items reach the function; correlation items never do.
      filters: [
        lambda.FilterCriteria.filter({
          dynamodb: {
            NewImage: {
              kind: { S: lambda.FilterRule.isEqual('MESSAGE') },
              ...(props.statuses !== undefined && { status: { S: lambda.FilterRule.or(...props.statuses) } }),
            },
          },
        }),
        lambda.FilterCriteria.filter({ dynamodb: { NewImage: { kind: { S: lambda.FilterRule.isEqual('OPTOUT') } } } }),
        lambda.FilterCriteria.filter({
          eventName: lambda.FilterRule.isEqual('INSERT'),
          dynamodb: { NewImage: { kind: { S: lambda.FilterRule.isEqual('MO') } } },
        }),
      ],
    });
    this.function.addEventSource(this.eventSource);
  }
}
