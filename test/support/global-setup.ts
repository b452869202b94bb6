/**
 * vitest globalSetup: ONE fauxqs and ONE DynamoDB Local for the whole run (docs/architecture.md §6: DynamoDB Local
 * slows down with every stream-enabled table in a JVM, and starting a JVM costs ~3 s). It runs in the
 * main process, so the endpoints reach the test workers through `provide` / `inject` (see ./aws.ts).
 * `SKIP_LOCAL_AWS=1` skips them, for unit-only runs.
 */
import type { TestProject } from 'vitest/node';
import { startLocalAws } from '../../service/src/local/emulators.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** fauxqs endpoint; empty when SKIP_LOCAL_AWS=1. */
    sqsEndpoint: string;
    /** DynamoDB Local endpoint; empty when SKIP_LOCAL_AWS=1. */
    dynamodbEndpoint: string;
  }
}

export default async function setup({ provide }: TestProject): Promise<() => Promise<void>> {
  if (process.env.SKIP_LOCAL_AWS === '1') {
    provide('sqsEndpoint', '');
    provide('dynamodbEndpoint', '');
    return async () => {};
  }
  const started = Date.now();
  const aws = await startLocalAws();
  if (process.env.LOCAL_AWS_VERBOSE === '1') {
    console.log(`local AWS ready in ${Date.now() - started} ms: sqs ${aws.sqsEndpoint}, dynamodb ${aws.dynamodbEndpoint}`);
  }
  provide('sqsEndpoint', aws.sqsEndpoint);
  provide('dynamodbEndpoint', aws.dynamodbEndpoint);
  return () => aws.stop();
}
