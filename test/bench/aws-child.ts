/**
 * The local AWS stand-ins and the producer, in a process of their own (see children.ts): fauxqs
 * runs here, DynamoDB Local is this process's child JVM, and the producer is the project's own
 * `sendSms` (batches of 10, several in flight). None of them is the service, so their CPU and
 * memory stay out of its figures; and if the bench dies, this process sees its IPC channel close
 * and exits, and its exit hook takes the JVM down with it.
 */
import { createSqsClient } from '../../service/src/aws/queue.js';
import { startDynamoDbLocal, type DynamoDbLocal } from '../../service/src/local/dynamodb-local.js';
import { startFauxqs, type LocalAwsEndpoints, type LocalEndpoint } from '../../service/src/local/emulators.js';
import { sendSms } from '../../service/src/tools/client.js';
import { serve } from './children.js';
import { benchJobs, type JobMix } from './jobs.js';
import { countCalls, type CallCounts } from '../support/sdk-counter.js';

export interface ProduceRequest {
  queueUrl: string;
  prefix: string;
  count: number;
  mix: JobMix;
  /** Batches in flight at once. */
  concurrency: number;
}

export interface ProduceResult {
  /** Epoch ms just before each job's batch was sent, by job index. */
  sentAt: number[];
  calls: CallCounts;
  cpuMicros: number;
}

let fauxqs: LocalEndpoint | undefined;
let dynamodb: DynamoDbLocal | undefined;

serve({
  /** Starts both stand-ins (idempotent); DynamoDB Local takes a few seconds (a JVM). */
  async start(): Promise<LocalAwsEndpoints> {
    [fauxqs, dynamodb] = await Promise.all([fauxqs ?? startFauxqs(), dynamodb ?? startDynamoDbLocal()]);
    return { sqsEndpoint: fauxqs.endpoint, dynamodbEndpoint: dynamodb.endpoint };
  },
  /** Needs AWS_ENDPOINT_URL_SQS and credentials in the environment (see `env`). */
  async produce(r: ProduceRequest): Promise<ProduceResult> {
    const cpu = process.cpuUsage();
    const sqs = createSqsClient();
    const counter = countCalls(sqs);
    const jobs = benchJobs(r.prefix, r.count, r.mix);
    const sentAt = new Array<number>(jobs.length).fill(0);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < jobs.length) {
        const from = next;
        next = Math.min(jobs.length, next + 10);
        const now = Date.now();
        for (let i = from; i < next; i++) sentAt[i] = now;
        await sendSms(jobs.slice(from, next), { queueUrl: r.queueUrl, sqs });
      }
    };
    try {
      await Promise.all(Array.from({ length: r.concurrency }, worker));
    } finally {
      sqs.destroy();
    }
    const used = process.cpuUsage(cpu);
    return { sentAt, calls: counter.snapshot(), cpuMicros: used.user + used.system };
  },
  /** Points this process's SDK clients at the local stand-ins. */
  env(vars: Record<string, string>): void {
    Object.assign(process.env, vars);
  },
  async stop(): Promise<void> {
    await Promise.all([fauxqs?.stop(), dynamodb?.stop()]);
    fauxqs = undefined;
    dynamodb = undefined;
  },
});
