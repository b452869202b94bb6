/**
 * For test files that talk to the local stand-ins started by ./global-setup.ts: points the standard
 * AWS environment variables of this worker at them and hands out real SDK clients, configured only
 * through that environment, as the service's are.
 */
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { expect, inject } from 'vitest';
import { createSqsClient } from '../../service/src/aws/queue.js';
import { createMessagesTable, localAwsEnv } from '../../service/src/local/emulators.js';

export interface LocalAwsForTests {
  sqs: SQSClient;
  dynamodb: DynamoDBClient;
  /** The variables that were set (to hand to a child process). */
  env: Record<string, string>;
  /** `<prefix>-<random>`, valid as a queue, table or item id. */
  uniqueName(prefix: string): string;
  /**
   * The messages table of this test file, created on first call (idempotent). One table per file,
   * not per test: DynamoDB Local slows down with every stream-enabled table (docs/architecture.md §6), so tests
   * separate their data by unique ids.
   */
  sharedTable(): Promise<string>;
}

/** Call at the top of a test file (or in `beforeAll`). */
export function useLocalAws(): LocalAwsForTests {
  const sqsEndpoint = inject('sqsEndpoint');
  const dynamodbEndpoint = inject('dynamodbEndpoint');
  if (!sqsEndpoint || !dynamodbEndpoint) {
    throw new Error('local AWS stand-ins are not running (SKIP_LOCAL_AWS=1?); this test needs them');
  }
  const env = localAwsEnv({ sqsEndpoint, dynamodbEndpoint });
  Object.assign(process.env, env);
  const dynamodb = new DynamoDBClient({});
  let table: Promise<string> | undefined;
  return {
    // The service's own factory: fauxqs' queue URLs name a host that does not resolve, and it keeps
    // requests on the configured endpoint.
    sqs: createSqsClient(),
    dynamodb,
    env,
    uniqueName,
    sharedTable: () => (table ??= createFileTable(dynamodb)),
  };
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

async function createFileTable(dynamodb: DynamoDBClient): Promise<string> {
  const file = expect.getState().testPath;
  const base = file === undefined ? 'tests' : basename(file).replace(/\.test\.ts$/, '');
  // Table names allow [A-Za-z0-9_.-], 3..255 characters.
  const name = `messages-${base.replace(/[^A-Za-z0-9_.-]/g, '-')}`.slice(0, 200);
  await createMessagesTable(dynamodb, name);
  return name;
}
