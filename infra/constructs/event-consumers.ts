import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ConfigError } from '../../service/src/errors.js';
import { DEFAULT_DETAIL_TYPES, DetailType, EVENT_SOURCE } from '../../service/src/lambdas/events.js';

/** One of the users' own Lambdas on the connector's bus. */
export interface EventConsumer {
  /** Names its rule, dead-letter queue and alarm; unique among the consumers. */
  readonly name: string;
  /** The function, or an alias or version of it, in the stack's account and region. */
  readonly lambdaArn: string;
  /** Also `OptedOut`, `OptedIn` (suppression list changes), when named. @default ['SmsStatusChanged', 'SmsReceived'] */
  readonly detailTypes?: readonly DetailType[];
  /** Only SmsStatusChanged events with one of these statuses; needs detailTypes ['SmsStatusChanged']. @default - every status */
  readonly statuses?: readonly string[];
  /** Retries of a failed invocation before the event goes to the dead-letter queue, 0–185. @default 185 */
  readonly retryAttempts?: number;
  /** How long EventBridge keeps retrying one event, 60 s – 24 h. @default Duration.hours(24) */
  readonly maxEventAge?: Duration;
}

export interface EventConsumersProps {
  /** The bus the stream publisher puts the connector's events on. */
  readonly eventBus: events.IEventBus;
  readonly consumers: readonly EventConsumer[];
}

/** A consumer as wired: its rule and the queue that keeps what it could not take. */
export interface WiredConsumer {
  readonly name: string;
  readonly rule: events.Rule;
  readonly deadLetterQueue: sqs.Queue;
}

/**
 * Plugs the users' Lambdas into the bus: per consumer, a rule matching the connector's events it
 * asked for, a Lambda target with a retry policy, an encrypted SQS dead-letter queue for events
 * that still fail (EventBridge writes the reason into the message attributes), and the
 * permission for EventBridge, from that rule only, to invoke the function. Delivery is at least
 * once and unordered: consumers de-duplicate on `(id, version)` (see
 * service/src/lambdas/example-consumer.ts).
 */
export class EventConsumers extends Construct {
  public readonly consumers: readonly WiredConsumer[];

  constructor(scope: Construct, id: string, props: EventConsumersProps) {
    super(scope, id);
    validate(props.consumers);
    this.consumers = props.consumers.map((c) => {
      const detailTypes = c.detailTypes ?? DEFAULT_DETAIL_TYPES;
      const deadLetterQueue = new sqs.Queue(this, `${c.name}DeadLetterQueue`, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      const rule = new events.Rule(this, `${c.name}Rule`, {
        eventBus: props.eventBus,
        description: `SMPP connector events for the ${c.name} consumer`,
        eventPattern: {
          source: [EVENT_SOURCE],
          detailType: [...detailTypes],
          ...(c.statuses !== undefined && { detail: { status: [...c.statuses] } }),
        },
      });
      // The target, the permission and the DLQ's policy are written out rather than taken from
      // targets.LambdaFunction: CDK refuses a function whose ARN names another account than the
      // stack's, which is what an offline synth sees while cdk.json holds the placeholder account
      // (the account itself is checked by the configuration, and by the stack once it is known).
      rule.addTarget({
        bind: () => ({
          arn: c.lambdaArn,
          retryPolicy: { maximumRetryAttempts: c.retryAttempts ?? 185, maximumEventAgeInSeconds: (c.maxEventAge ?? Duration.hours(24)).toSeconds() },
          deadLetterConfig: { arn: deadLetterQueue.queueArn },
        }),
      });
      new lambda.CfnPermission(this, `${c.name}InvokePermission`, {
        action: 'lambda:InvokeFunction',
        functionName: c.lambdaArn,
        principal: 'events.amazonaws.com',
        sourceArn: rule.ruleArn,
      });
      deadLetterQueue.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowTheConsumerRule',
          principals: [new iam.ServicePrincipal('events.amazonaws.com')],
          actions: ['sqs:SendMessage'],
          resources: [deadLetterQueue.queueArn],
          conditions: { ArnEquals: { 'aws:SourceArn': rule.ruleArn } },
        }),
      );
      return { name: c.name, rule, deadLetterQueue };
    });
  }
}

/** Every invalid consumer prop, in one error. */
function validate(consumers: readonly EventConsumer[]): void {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const c of consumers) {
    const at = `EventConsumers: consumer ${c.name}`;
    if (!/^[A-Za-z][A-Za-z0-9-]{0,47}$/.test(c.name)) problems.push(`${at}: the name must be 1–48 letters, digits or hyphens, starting with a letter`);
    if (names.has(c.name.toLowerCase())) problems.push(`${at}: the name is used twice`);
    names.add(c.name.toLowerCase());
    if (c.detailTypes !== undefined && c.detailTypes.length === 0) problems.push(`${at}: detailTypes must list at least one detail type`);
    if (c.statuses !== undefined && (c.statuses.length === 0 || (c.detailTypes ?? DEFAULT_DETAIL_TYPES).some((t) => t !== DetailType.StatusChanged))) {
      problems.push(`${at}: statuses must be non-empty and come with detailTypes ['SmsStatusChanged'] only (SmsReceived events have no status)`);
    }
    const retries = c.retryAttempts ?? 185;
    if (!Number.isInteger(retries) || retries < 0 || retries > 185) problems.push(`${at}: retryAttempts must be 0–185`);
    const age = c.maxEventAge?.toSeconds() ?? 86_400;
    if (age < 60 || age > 86_400) problems.push(`${at}: maxEventAge must be 60 s – 24 h`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
}
