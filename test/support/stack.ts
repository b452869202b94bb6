import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CORRELATION_PREFIX, StatusStore, type StatusItem } from '../../service/src/aws/status-store/index.js';
import { KeyIndex, smscIdKeys } from '../../service/src/core/receipt-keys.js';
import { loadConfig, type Config } from '../../service/src/config.js';
import { isFinal, STATUS_RANK } from '../../service/src/domain.js';
import { createQueues } from '../../service/src/local/emulators.js';
import { silentLogger, type Logger } from '../../service/src/logger.js';
import { startService, type RunningService } from '../../service/src/main.js';
import { SmscSimulator, type SmscSimulatorOptions } from '../../service/src/sim/smsc-simulator.js';
import { sendSms, type SmsInput } from '../../service/src/tools/client.js';
import { useLocalAws, type LocalAwsForTests } from './aws.js';
import { serviceEnv } from './service-env.js';

export { serviceEnv };

/** A job whose destination is unique, so the simulator's records map back to it. */
export function job(n: number, overrides: Partial<SmsInput> & { id: string }): SmsInput & { id: string } {
  return { to: `+6598${String(n).padStart(6, '0')}`, from: '8x8', text: `Test message ${n}`, ...overrides };
}

export interface TestStack {
  aws: LocalAwsForTests;
  sim: SmscSimulator;
  store: StatusStore;
  queueUrl: string;
  dlqUrl: string;
  /** The priority queue, when the stack was started with one (`startStack(…, { priorityQueue: true })`). */
  priorityQueueUrl: string | undefined;
  tableName: string;
  services: RunningService[];
  config(extra?: Record<string, string>): Readonly<Config>;
  startService(extra?: Record<string, string>, deps?: { logger?: Logger; dynamodb?: DynamoDBClient; owner?: string }): Promise<RunningService>;
  send(jobs: SmsInput[]): Promise<string[]>;
  /** Puts jobs on the priority queue (urgent lane). */
  sendUrgent(jobs: SmsInput[]): Promise<string[]>;
  /** Re-checks (not a fixed sleep) until every id has a record that satisfies `done`, or throws at the deadline. */
  waitFor(ids: string[], done: (item: StatusItem) => boolean, timeoutMs?: number): Promise<Map<string, StatusItem>>;
  queueDepth(): Promise<number>;
  stop(): Promise<void>;
}

const aws = () => useLocalAws();

/** `priorityQueue`: also a priority queue (with its DLQ), passed to every service as OUTBOUND_PRIORITY_QUEUE_URL. */
export async function startStack(simOptions: SmscSimulatorOptions = {}, options: { priorityQueue?: boolean } = {}): Promise<TestStack> {
  const local = aws();
  // A fresh seed per stack: the table is shared by the file's tests, and SMSC ids must not repeat across them.
  const sim = new SmscSimulator({
    accounts: [{ systemId: 'test', password: 'secret', maxBinds: 8, mps: 10_000 }],
    seed: Math.floor(Math.random() * 2 ** 31),
    ...simOptions,
  });
  const ports = await sim.start();
  const { queueUrl, dlqUrl } = await createQueues(local.sqs, local.uniqueName('outbound'));
  const priorityQueueUrl = options.priorityQueue === true ? (await createQueues(local.sqs, local.uniqueName('priority'))).queueUrl : undefined;
  const tableName = await local.sharedTable();
  const store = new StatusStore({ client: local.dynamodb, tableName });
  const services: RunningService[] = [];
  const lanes: Record<string, string> = priorityQueueUrl === undefined ? {} : { OUTBOUND_PRIORITY_QUEUE_URL: priorityQueueUrl };
  const config = (extra: Record<string, string> = {}) => loadConfig(serviceEnv(ports.port, queueUrl, tableName, { ...lanes, ...extra }));
  return {
    aws: local,
    sim,
    store,
    queueUrl,
    dlqUrl,
    priorityQueueUrl,
    tableName,
    services,
    config,
    async startService(extra = {}, deps = {}) {
      const s = await startService(config(extra), {
        logger: deps.logger ?? silentLogger,
        ...(deps.owner && { owner: deps.owner }),
        ...(deps.dynamodb && { clients: { dynamodb: deps.dynamodb } }),
      });
      services.push(s);
      await s.ready();
      return s;
    },
    send: (jobs) => sendSms(jobs, { queueUrl, sqs: local.sqs }),
    sendUrgent: (jobs) => sendSms(jobs, { priority: true, ...(priorityQueueUrl !== undefined && { priorityQueueUrl }), sqs: local.sqs }),
    async waitFor(ids, done, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      const found = new Map<string, StatusItem>();
      for (;;) {
        const missing = ids.filter((id) => !found.has(id));
        const items = await Promise.all(missing.map((id) => store.get(id)));
        items.forEach((item, i) => {
          if (item && done(item)) found.set(missing[i] ?? '', item);
        });
        if (found.size === ids.length) return found;
        if (Date.now() > deadline) {
          const left = ids.filter((id) => !found.has(id));
          const now = await Promise.all(left.slice(0, 5).map((id) => store.get(id)));
          throw new Error(`${left.length} of ${ids.length} jobs not done in time, e.g. ${JSON.stringify(now.map((i) => i && { id: i.id, status: i.status, parts: i.parts, lastError: i.lastError }))}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async queueDepth() {
      const out = await local.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
      );
      return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
    },
    async stop() {
      await Promise.all(services.splice(0).map((s) => s.stop()));
      await sim.stop();
    },
  };
}

export const isDone = (item: StatusItem): boolean => isFinal(item.status);
export const isSubmitted = (item: StatusItem): boolean => item.statusRank >= STATUS_RANK.SUBMITTED;

/**
 * The ledger invariants of docs/architecture.md §5 for a set of jobs: each has exactly one record in a
 * final state; the SMSC accepted each part at most once, except where a response was lost
 * (counted as unknown outcomes on the record); every receipt the SMSC saw acknowledged is stored.
 */
export async function ledger(stack: TestStack, jobs: Array<SmsInput & { id: string }>, items: Map<string, StatusItem>) {
  const byDestination = new Map<string, number>();
  for (const s of stack.sim.submissions) byDestination.set(s.destinationAddr, (byDestination.get(s.destinationAddr) ?? 0) + 1);
  const problems: string[] = [];
  let duplicates = 0;
  for (const j of jobs) {
    const item = items.get(j.id);
    if (!item) {
      problems.push(`${j.id}: no record`);
      continue;
    }
    const parts = item.segments ?? 1;
    const accepted = byDestination.get(j.to.replace(/^\+/, '')) ?? 0;
    const extra = Math.max(0, accepted - parts);
    duplicates += extra;
    if (extra > item.unknownOutcomes * parts) problems.push(`${j.id}: accepted ${accepted} times for ${parts} part(s) with ${item.unknownOutcomes} unknown outcome(s)`);
  }
  // Stored on its part: a final part recorded under the same id (an exact key match, core/receipt-keys.ts).
  const stored = new KeyIndex<true>();
  for (const item of items.values()) for (const p of Object.values(item.parts)) if (p.smscMessageId && isFinal(p.status)) stored.add(smscIdKeys(p.smscMessageId), true);
  const ours = new Set(jobs.map((j) => j.to.replace(/^\+/, '')));
  const ackedNotStored = stack.sim.acknowledgedReceipts.filter((r) => {
    const sub = stack.sim.submissions.find((s) => s.smscMessageId === r.smscMessageId);
    return sub !== undefined && ours.has(sub.destinationAddr) && stored.find(smscIdKeys(r.smscMessageId))?.match !== 'exact';
  });
  // A receipt for a submit whose response was lost has no message to land on: it must be parked.
  let parked = 0;
  for (const r of ackedNotStored) {
    const found = await Promise.all(
      smscIdKeys(r.smscMessageId).map((key) =>
        stack.aws.dynamodb.send(new GetItemCommand({ TableName: stack.tableName, Key: { id: { S: `${CORRELATION_PREFIX}${key}` } }, ConsistentRead: true })),
      ),
    );
    if (found.some((f) => (f.Item?.['receipts']?.L?.length ?? 0) > 0)) parked += 1;
    else problems.push(`receipt for ${r.smscMessageId} acknowledged but not stored`);
  }
  return { problems, duplicates, parked };
}

export async function queueAttributes(sqs: SQSClient, queueUrl: string): Promise<Record<string, string>> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }));
  return out.Attributes ?? {};
}
