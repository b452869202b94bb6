/**
 * The ledger invariants of docs/architecture.md §5 / issue 6, checked after a fault run:
 * 1. every job ends in exactly one final record, or is still in the queue or its DLQ (counted);
 *    anything else is LOST;
 * 2. the SMSC accepted each part at most once, except where a response was lost (each lost
 *    response is counted on the record as an unknown outcome and allows one extra copy per part);
 * 3. every receipt the SMSC saw acknowledged is stored: on its message's part, or parked under
 *    its SMSC id when that id never reached a message (the copy whose response was lost);
 * plus: a final status is the one the SMSC's receipts said (a receipt stored but never applied
 * would pass 3 and still leave the producer with a wrong answer), and no job FAILED — none of
 * these faults judges a message, so a permanent failure means a fault was misclassified.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { CORRELATION_PREFIX, type StatusItem } from '../../service/src/aws/status-store/index.js';
import { isFinal } from '../../service/src/domain.js';
import { KeyIndex, smscIdKeys } from '../../service/src/core/receipt-keys.js';
import type { ReceiptStat, SmscSimulator } from '../../service/src/sim/smsc-simulator.js';
import type { LocalEnvironment } from './environment.js';
import type { FaultJob } from './jobs.js';

export interface LedgerResult {
  jobs: number;
  /** Final records per status. */
  states: Record<string, number>;
  /** Jobs not final but still in the queue (any state) or the DLQ. */
  queued: number;
  dlq: number;
  /** Jobs neither final nor queued: must be 0. */
  lost: number;
  /** Copies the SMSC accepted beyond one per part. */
  duplicates: number;
  /** Sum of the records' unknown outcomes (submits whose response never came). */
  unknownOutcomes: number;
  /** Acknowledged receipts stored only as parked (their SMSC id never reached a message). */
  parked: number;
  /** Messages still on the queue although their job is final (e.g. a delete failed; harmless). */
  leftoverMessages: number;
  problems: string[];
}

const STAT_TO_STATUS: Record<ReceiptStat, string> = {
  DELIVRD: 'DELIVERED',
  UNDELIV: 'UNDELIVERED',
  EXPIRED: 'EXPIRED',
  REJECTD: 'REJECTED',
  DELETED: 'DELETED',
  UNKNOWN: 'UNKNOWN',
  ACCEPTD: 'ACCEPTED',
  ENROUTE: 'ENROUTE',
};

export interface LedgerInput {
  env: LocalEnvironment;
  sim: SmscSimulator;
  jobs: FaultJob[];
  queueName: string;
  dlqName: string;
  /** The simulator's receipt outcome per destination (without '+'). */
  outcome: (destination: string) => ReceiptStat | null;
  /** Jobs the fault is meant to end FAILED (retries exhausted); any other FAILED is a problem. */
  expectedFailures?: ReadonlySet<string>;
}

export async function checkLedger(input: LedgerInput): Promise<LedgerResult> {
  const { env, sim, jobs } = input;
  const problems: string[] = [];
  const items = new Map<string, StatusItem>();
  await mapLimit(jobs, 16, async (j) => {
    const item = await env.store.get(j.id);
    if (item) items.set(j.id, item);
  });
  const queuedIds = await idsIn(env, input.queueName);
  const dlqIds = await idsIn(env, input.dlqName);

  // 1. exactly one final record, or still queued; otherwise lost.
  const states: Record<string, number> = {};
  let queued = 0;
  let dlq = 0;
  let leftoverMessages = 0;
  const lostIds: string[] = [];
  for (const j of jobs) {
    const item = items.get(j.id);
    if (item && isFinal(item.status)) {
      states[item.status] = (states[item.status] ?? 0) + 1;
      leftoverMessages += (queuedIds.get(j.id) ?? 0) + (dlqIds.get(j.id) ?? 0);
      continue;
    }
    if (dlqIds.has(j.id)) dlq += 1;
    else if (queuedIds.has(j.id)) queued += 1;
    else lostIds.push(`${j.id} (${item ? item.status : 'no record'})`);
  }
  if (lostIds.length > 0) problems.push(`${lostIds.length} job(s) LOST (not final, not queued): ${lostIds.slice(0, 5).join(', ')}`);

  const failed = [...items.values()].filter((i) => (i.status === 'FAILED' && !input.expectedFailures?.has(i.id)) || i.status === 'INVALID');
  if (failed.length > 0) {
    problems.push(`${failed.length} job(s) ${failed[0]?.status}, e.g. ${failed[0]?.id}: ${JSON.stringify(failed[0]?.lastError ?? failed[0]?.reason)}`);
  }
  const wrong = jobs.filter((j) => {
    const item = items.get(j.id);
    if (!item || !isFinal(item.status) || item.status === 'FAILED' || input.expectedFailures?.has(j.id)) return false;
    const stat = input.outcome(j.destination);
    return stat !== null && item.status !== STAT_TO_STATUS[stat];
  });
  if (wrong.length > 0) {
    const w = wrong[0];
    problems.push(`${wrong.length} job(s) final in a state the receipts did not say, e.g. ${w?.id}: ${items.get(w?.id ?? '')?.status} vs ${input.outcome(w?.destination ?? '')}`);
  }

  // 2. at most once per part, except one extra copy per part per unknown outcome.
  const acceptedPerDestination = new Map<string, number>();
  for (const s of sim.submissions) acceptedPerDestination.set(s.destinationAddr, (acceptedPerDestination.get(s.destinationAddr) ?? 0) + 1);
  let duplicates = 0;
  let unknownOutcomes = 0;
  for (const j of jobs) {
    const item = items.get(j.id);
    const parts = item?.segments ?? j.parts;
    const accepted = acceptedPerDestination.get(j.destination) ?? 0;
    const extra = Math.max(0, accepted - parts);
    const unknown = item?.unknownOutcomes ?? 0;
    duplicates += extra;
    unknownOutcomes += unknown;
    if (extra > unknown * parts) problems.push(`${j.id}: SMSC accepted it ${accepted} time(s) for ${parts} part(s) with only ${unknown} unknown outcome(s)`);
  }

  // 3. every acknowledged receipt stored: on a final part recorded under the same id (an exact key
  // match, core/receipt-keys.ts; the simulator's smscMessageId is the id as its response gave it).
  const onMessages = new KeyIndex<true>();
  for (const item of items.values()) {
    for (const p of Object.values(item.parts)) if (p.smscMessageId !== undefined && isFinal(p.status)) onMessages.add(smscIdKeys(p.smscMessageId), true);
  }
  const notOnMessages = [...new Set(sim.acknowledgedReceipts.map((r) => r.smscMessageId))].filter((id) => onMessages.find(smscIdKeys(id))?.match !== 'exact');
  let parked = 0;
  await mapLimit(notOnMessages, 8, async (smscId) => {
    const found = await Promise.all(
      smscIdKeys(smscId).map((k) =>
        env.dynamodb.send(new GetItemCommand({ TableName: env.tableName, Key: { id: { S: `${CORRELATION_PREFIX}${k}` } }, ConsistentRead: true })),
      ),
    );
    if (found.some((f) => (f.Item?.['receipts']?.L?.length ?? 0) > 0)) parked += 1;
    else problems.push(`receipt for SMSC id ${smscId} acknowledged but stored nowhere`);
  });

  return { jobs: jobs.length, states, queued, dlq, lost: lostIds.length, duplicates, unknownOutcomes, parked, leftoverMessages, problems };
}

/** Job id → number of messages carrying it in the queue. */
async function idsIn(env: LocalEnvironment, queueName: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const m of await env.inspectQueue(queueName)) {
    let id: unknown;
    try {
      id = (JSON.parse(m.body) as { id?: unknown }).id;
    } catch {
      id = undefined;
    }
    const key = typeof id === 'string' ? id : `sqs:${m.messageId}`;
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

/** Runs `fn` over `items` with at most `limit` at a time (DynamoDB Local is slow; do not flood it). */
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
