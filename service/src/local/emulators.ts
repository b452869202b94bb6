/**
 * Local AWS stand-ins (docs/architecture.md §6): fauxqs for SQS, in this process, and DynamoDB Local for
 * DynamoDB, as a child JVM. Clients never name an endpoint in code: they read the standard
 * environment variables that {@link localAwsEnv} returns.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { startFauxqs as startFauxqsServer } from 'fauxqs';
import { createMessagesTable as createTable } from '../aws/table.js';
import { startDynamoDbLocal } from './dynamodb-local.js';

/** A running local stand-in. */
export interface LocalEndpoint {
  /** e.g. `http://127.0.0.1:43211` */
  endpoint: string;
  /** Stops it. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts fauxqs 1.9.2 in this process on a free port (~150 ms). Its queue URLs name a host that
 * does not resolve here (`sqs.us-east-1.localhost:<port>`). An SQSClient whose endpoint comes only
 * from `AWS_ENDPOINT_URL_SQS` sends each request to the QueueUrl's host (the SDK's queue-URL
 * middleware) and fails with ENOTFOUND, so SQS clients must be built with
 * `useQueueUrlAsEndpoint: false` (`createSqsClient` in `../aws/queue.ts`).
 */
export async function startFauxqs(): Promise<LocalEndpoint> {
  const server = await startFauxqsServer({ port: 0, logger: false });
  let stopped: Promise<void> | undefined;
  return {
    // fauxqs listens on 0.0.0.0; name the IPv4 loopback so `localhost` → ::1 is never tried first.
    endpoint: `http://127.0.0.1:${server.port}`,
    stop: () => (stopped ??= server.stop()),
  };
}

/** Redrive after this many receives, as the CDK stack does. */
export const MAX_RECEIVE_COUNT = 10;
/** Visibility timeout of the outbound queue, seconds. */
export const VISIBILITY_TIMEOUT_SECONDS = 60;

/**
 * Creates queue `name` with a dead-letter queue `<name>-dlq` (redrive after {@link MAX_RECEIVE_COUNT}
 * receives, visibility {@link VISIBILITY_TIMEOUT_SECONDS} s). Idempotent: CreateQueue with the same
 * attributes returns the existing queue.
 */
export async function createQueues(
  sqs: Pick<SQSClient, 'send'>,
  name: string,
  options: { maxReceiveCount?: number } = {},
): Promise<{ queueUrl: string; dlqUrl: string }> {
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const dlqUrl = required(dlq.QueueUrl, `CreateQueue ${name}-dlq returned no QueueUrl`);
  const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }));
  const dlqArn = required(attrs.Attributes?.QueueArn, `GetQueueAttributes ${name}-dlq returned no QueueArn`);
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: String(VISIBILITY_TIMEOUT_SECONDS),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: options.maxReceiveCount ?? MAX_RECEIVE_COUNT }),
      },
    }),
  );
  return { queueUrl: required(queue.QueueUrl, `CreateQueue ${name} returned no QueueUrl`), dlqUrl };
}

/** Creates the messages table (idempotent, waits until ACTIVE, TTL on); see `service/src/aws/table.ts`. */
export function createMessagesTable(ddb: Pick<DynamoDBClient, 'send'>, tableName: string): Promise<void> {
  return createTable(ddb, tableName);
}

/** Endpoints of the running stand-ins. */
export interface LocalAwsEndpoints {
  sqsEndpoint: string;
  dynamodbEndpoint: string;
}

/** Both stand-ins, running. */
export interface LocalAws extends LocalAwsEndpoints {
  /** Stops both. Idempotent. */
  stop(): Promise<void>;
}

/** Starts fauxqs and DynamoDB Local side by side (~3 s, the JVM dominates). */
export async function startLocalAws(options: { dynamodbPort?: number } = {}): Promise<LocalAws> {
  const [sqs, ddb] = await Promise.allSettled([
    startFauxqs(),
    startDynamoDbLocal(options.dynamodbPort === undefined ? {} : { port: options.dynamodbPort }),
  ]);
  if (sqs.status === 'rejected' || ddb.status === 'rejected') {
    await Promise.allSettled([sqs, ddb].flatMap((r) => (r.status === 'fulfilled' ? [r.value.stop()] : [])));
    throw sqs.status === 'rejected' ? sqs.reason : (ddb as PromiseRejectedResult).reason;
  }
  let stopped: Promise<void> | undefined;
  return {
    sqsEndpoint: sqs.value.endpoint,
    dynamodbEndpoint: ddb.value.endpoint,
    stop: () => (stopped ??= Promise.all([sqs.value.stop(), ddb.value.stop()]).then(() => undefined)),
  };
}

/** Variables set by {@link localAwsEnv}; assignable to `Record<string, string>` (e.g. `process.env`). */
export type LocalAwsEnv = {
  AWS_ENDPOINT_URL_SQS: string;
  AWS_ENDPOINT_URL_DYNAMODB: string;
  AWS_REGION: string;
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
};

/**
 * The environment that points every AWS SDK client of this project at the stand-ins: the SDK's own
 * `AWS_ENDPOINT_URL_<SERVICE>` variables, a region, and dummy credentials (the stand-ins accept any).
 */
export function localAwsEnv(endpoints: LocalAwsEndpoints, region = 'us-east-1'): LocalAwsEnv {
  return {
    AWS_ENDPOINT_URL_SQS: endpoints.sqsEndpoint,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodbEndpoint,
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  };
}

function required<T>(value: T | undefined, message: string): T {
  if (value === undefined) throw new Error(message);
  return value;
}
