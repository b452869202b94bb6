/**
 * The stream publisher's share of a cost run (README, "Cost per million messages"): which of the
 * table's stream records its event-source filter lets through for a given `publishStatuses`
 * (cdk.json; infra/constructs/stream-publisher.ts), the events the real handler makes of them and
 * the PutEvents calls it needs, per message.
 */
import type { _Record } from '@aws-sdk/client-dynamodb-streams';
import type { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { isFinal, MessageStatus } from '../../service/src/domain.js';
import type { DynamoDBRecord } from '../../service/src/lambdas/dynamodb-stream.js';
import { createHandler, toEvent } from '../../service/src/lambdas/stream-publisher.js';
import { lambdaBatch, type UnitsPerMessage } from './cost-price.js';
import { putEventsEntrySize, type Image } from './ddb-units.js';
import { DEPLOYMENT } from './prices.js';

/** `publishStatuses` = the final statuses only: one event per message instead of one per change. */
export const FINAL_STATUSES: readonly string[] = Object.values(MessageStatus).filter(isFinal);

/**
 * The stream publisher's filter: MESSAGE items (whose new status is one of `statuses`, when
 * given; every status when not, the default), OPTOUT items, and new MO items. A removed item has
 * no new image and never passes.
 */
export function reachesLambda(r: _Record, statuses?: readonly string[]): boolean {
  const image = r.dynamodb?.NewImage as Image | undefined;
  const kind = image?.['kind']?.['S'];
  if (kind === 'MESSAGE') {
    const status = image?.['status']?.['S'];
    return statuses === undefined || (typeof status === 'string' && statuses.includes(status));
  }
  return kind === 'OPTOUT' || (kind === 'MO' && r.eventName === 'INSERT');
}

/** The publisher's units, per message. */
export type PublisherUnits = Pick<UnitsPerMessage, 'lambdaRecords' | 'events' | 'eventBytes' | 'putEventsCallsPerRecord'>;

export interface Publishing {
  units: PublisherUnits;
  /** PutEvents calls per message. */
  putEventsCalls: number;
}

/** PutEvents calls the real handler makes over these records in batches of `batch`. */
async function putEventsCalls(records: DynamoDBRecord[], batch: number): Promise<number> {
  let calls = 0;
  const bus = {
    send: (command: PutEventsCommand) => {
      calls += 1;
      const entries = command.input.Entries ?? [];
      return Promise.resolve({ FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: String(i) })) });
    },
  };
  const handler = createHandler({ eventBridge: bus as never, busName: 'bench', log: { error: () => undefined } });
  const size = Math.max(1, Math.round(batch));
  for (let i = 0; i < records.length; i += size) await handler({ Records: records.slice(i, i + size) });
  return calls;
}

/**
 * What the publisher does with a run's records (its jobs' items, in stream order) when cdk.json
 * publishes `statuses` (undefined: every status): records in, billed events (a started 64 KB each)
 * and their bytes, PutEvents calls over batches as large as the full rate makes them.
 */
export async function publishing(records: readonly _Record[], jobs: number, partsPerMessage: number, statuses?: readonly string[]): Promise<Publishing> {
  const toLambda = records.filter((r) => reachesLambda(r, statuses));
  let events = 0;
  let eventBytes = 0;
  for (const r of toLambda) {
    const entry = toEvent(r as DynamoDBRecord, 'bench');
    if (entry === undefined) continue;
    const bytes = putEventsEntrySize(entry);
    events += Math.max(1, Math.ceil(bytes / 65_536));
    eventBytes += bytes;
  }
  const lambdaRecords = toLambda.length / jobs;
  const batch = lambdaBatch(lambdaRecords, partsPerMessage).recordsPerInvocation;
  const calls = toLambda.length > 0 ? await putEventsCalls(toLambda as DynamoDBRecord[], Math.min(DEPLOYMENT.streamBatchSize, batch)) : 0;
  return {
    units: { lambdaRecords, events: events / jobs, eventBytes: eventBytes / jobs, putEventsCallsPerRecord: toLambda.length > 0 ? calls / toLambda.length : 0 },
    putEventsCalls: calls / jobs,
  };
}
