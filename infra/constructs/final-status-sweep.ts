import * as path from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { SERVICE_DEFAULTS } from '../../service/src/config.js';
import { MESSAGE_INDEXES } from '../../service/src/aws/table.js';
import { REPO_ROOT } from '../paths.js';
import { METRICS_NAMESPACE } from './smpp-connector.js';

/** The index the sweep queries (service/src/aws/table.ts). */
const INDEX: keyof typeof MESSAGE_INDEXES = 'openByDeadline';

export interface FinalStatusSweepProps {
  /** The status table, with the `openByDeadline` index. */
  readonly table: dynamodb.ITable;
  /** The TTL the service gives items: the sweep's write restarts it, as every write does. @default 30 */
  readonly messageTtlDays?: number;
  /** @default Duration.minutes(15) */
  readonly schedule?: Duration;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** False while the table has no `openByDeadline` index yet (an upgrade adding indexes one per deploy). @default true */
  readonly enabled?: boolean;
}

/**
 * The final-status sweep (docs/architecture.md §7.2): a Lambda on a schedule that makes messages
 * past their deadline without a final receipt UNKNOWN ('no receipt'). It may only query the
 * `openByDeadline` index and update items of the table.
 */
export class FinalStatusSweep extends Construct {
  public readonly function: NodejsFunction;
  public readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: FinalStatusSweepProps) {
    super(scope, id);
    const every = props.schedule ?? Duration.minutes(15);
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH });
    // Its own role with its own log group, instead of the AWSLambdaBasicExecutionRole managed policy.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Final-status sweep: query the deadline index, read and update message items and its watermarks, write its logs',
    });
    logGroup.grant(role, 'logs:CreateLogStream', 'logs:PutLogEvents');
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${props.table.tableArn}/index/${INDEX}`] }));
    // UpdateItem: the UNKNOWN writes and the shards' watermarks; GetItem: the watermarks; BatchGetItem: the due messages' ranks.
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:UpdateItem', 'dynamodb:GetItem', 'dynamodb:BatchGetItem'], resources: [props.table.tableArn] }));

    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(REPO_ROOT, 'service/src/lambdas/final-status-sweep.ts'),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      // Node 22: Lambda blocks creating Node 20 functions from 2027-02-01 (docs/architecture.md §6).
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      // The run stops starting writes 15 s before this; what is left waits for the next run.
      timeout: Duration.minutes(5),
      role,
      logGroup,
      description: 'Makes messages with no final receipt by their deadline UNKNOWN (no receipt)',
      environment: {
        TABLE_NAME: props.table.tableName,
        MESSAGE_TTL_DAYS: String(props.messageTtlDays ?? SERVICE_DEFAULTS.MESSAGE_TTL_DAYS),
        NODE_OPTIONS: '--enable-source-maps',
        // Powertools Logger and Metrics, as the stream publisher's.
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

    this.rule = new events.Rule(this, 'Schedule', {
      description: 'Runs the final-status sweep',
      schedule: events.Schedule.rate(every),
      enabled: props.enabled ?? true,
    });
    // A missed run is not worth a late one: the next comes within `every`, and two at once are safe anyway.
    this.rule.addTarget(new targets.LambdaFunction(this.function, { maxEventAge: every, retryAttempts: 2 }));
  }
}
