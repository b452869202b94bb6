/**
 * The local AWS stand-ins of a bench run, from the parent's side: aws-child.ts (fauxqs and
 * DynamoDB Local in a process of their own) started, their endpoints put in this process's
 * environment and the child's (the service's clients and ours read them from there, as in
 * production), a messages table made, and admin clients on them.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createSqsClient } from '../../service/src/aws/queue.js';
import { createMessagesTable, localAwsEnv, type LocalAwsEndpoints } from '../../service/src/local/emulators.js';
import type { Child } from './children.js';

export interface StandIns {
  env: Record<string, string>;
  admin: { sqs: SQSClient; dynamodb: DynamoDBClient };
}

/** Starts the stand-ins in `awsChild` and makes `table` on them. */
export async function startStandIns(awsChild: Child, table: string): Promise<StandIns> {
  const endpoints = await awsChild.call<LocalAwsEndpoints>('start');
  const env = { ...localAwsEnv(endpoints) };
  Object.assign(process.env, env);
  await awsChild.call('env', env);
  const admin = { sqs: createSqsClient(), dynamodb: new DynamoDBClient({}) };
  await createMessagesTable(admin.dynamodb, table);
  return { env, admin };
}
