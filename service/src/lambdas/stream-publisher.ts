import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  changeTime,
  unmarshall,
  type DynamoDBRecord,
  type DynamoDBStreamEvent,
  type Item,
  type StreamBatchResponse,
} from './dynamodb-stream.js';
import { DetailType, EVENT_SOURCE, type OptOutChangedDetail, type SmsReceivedDetail, type SmsStatusChangedDetail } from './events.js';

export { DetailType, EVENT_SOURCE, type OptOutChangedDetail, type SmsReceivedDetail, type SmsStatusChangedDetail } from './events.js';

/**
 * Publishes the status table's changes to an EventBridge bus that users attach rules to:
 * `SmsStatusChanged` when a message's status changes (its first write included) and
 * `SmsReceived` for each new MO message, `OptedOut` / `OptedIn` when a suppression entry changes
 * state (docs/architecture.md §7.5). CORRELATION items and anything else are ignored.
 * Runs on Lambda (DynamoDB stream event source) and locally from DynamoDB Local's stream.
 *
 * Order: records are published in stream order, and publishing stops at the first record that
 * fails; it and every later record go back as batchItemFailures, so Lambda retries from there
 * and a message's later status never reaches the bus before an earlier one. Events that did go
 * out before the failure may go out again on the retry: `version` lets consumers drop them.
 *
 * This loop is ours, not Powertools' batch utility: its BatchProcessor hands each record to a
 * handler of its own and reports every failed record while still processing the ones after it,
 * so a later status of a message could be published before the earlier one that failed (only its
 * SQS FIFO processor stops at the first failure, and no such processor exists for DynamoDB
 * streams). It also cannot put up to 10 records into one PutEvents call.
 */

/** PutEvents takes at most 10 entries per call. */
const PUT_EVENTS_MAX = 10;

/** Where failures are reported: Powertools' Logger on Lambda; the console, or a test's sink, elsewhere. */
export interface PublisherLog {
  error(message: string, attributes: Record<string, unknown>): void;
}

/** What the handler counts: Powertools' Metrics on Lambda (CloudWatch EMF). */
export interface PublisherMetrics {
  addMetric(name: string, unit: typeof MetricUnit.Count, value: number): unknown;
}

export interface PublisherDeps {
  eventBridge: Pick<EventBridgeClient, 'send'>;
  busName: string;
  /** @defaultvalue console */
  log?: PublisherLog;
  /** @defaultvalue none */
  metrics?: PublisherMetrics;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

/** The event one stream record should produce, or undefined when it produces none. */
export function toEvent(record: DynamoDBRecord, busName: string): PutEventsRequestEntry | undefined {
  if (record.eventName === 'REMOVE') return undefined;
  const item = unmarshall(record.dynamodb?.NewImage);
  if (item === undefined || typeof item.id !== 'string') return undefined;
  const time = changeTime(record);
  const entry = (detailType: string, detail: object): PutEventsRequestEntry => ({
    Source: EVENT_SOURCE,
    DetailType: detailType,
    Detail: JSON.stringify(detail),
    EventBusName: busName,
    Time: new Date(time),
  });

  switch (item.kind) {
    case 'MESSAGE': {
      const status = str(item.status);
      const old: Item | undefined = unmarshall(record.dynamodb?.OldImage);
      const previousStatus = str(old?.status);
      if (status === null || status === previousStatus) return undefined;
      const detail: SmsStatusChangedDetail = {
        id: item.id,
        status,
        previousStatus,
        // The customer's own bus: the number goes as is.
        to: str(item.to),
        segments: num(item.segments),
        lastError: item.lastError ?? null,
        updatedAt: time,
        metadata: item.metadata ?? null,
        version: num(item.version),
        ...(typeof item.reason === 'string' && { reason: item.reason }),
      };
      return entry(DetailType.StatusChanged, detail);
    }
    case 'MO': {
      if (record.eventName !== 'INSERT') return undefined;
      const detail: SmsReceivedDetail = {
        id: item.id,
        from: str(item.from),
        to: str(item.to),
        text: str(item.text),
        receivedAt: str(item.receivedAt),
      };
      return entry(DetailType.Received, detail);
    }
    case 'OPTOUT': {
      const state = str(item.state);
      const previous = str(unmarshall(record.dynamodb?.OldImage)?.state);
      // A first entry that is `in` (START from a number never opted out) changes nothing anyone sees.
      if (state === previous || (state === 'in' && previous === null) || (state !== 'out' && state !== 'in')) return undefined;
      const detail: OptOutChangedDetail = {
        id: item.id,
        number: str(item.number) ?? '',
        sender: str(item.sender) ?? '',
        source: str(item.source) ?? '',
        moId: str(item.moId),
        at: str(item.changedAt) ?? time,
        version: num(item.version),
      };
      return entry(state === 'out' ? DetailType.OptedOut : DetailType.OptedIn, detail);
    }
    default:
      return undefined;
  }
}

/** An entry waiting for its PutEvents call, with the position of its record in the batch. */
interface Pending {
  index: number;
  seq: string;
  entry: PutEventsRequestEntry;
}

/** The table key of a record's item, so that two changes of one item never share a PutEvents call. */
function itemKey(record: DynamoDBRecord): string {
  const key = record.dynamodb?.Keys?.['id'] ?? record.dynamodb?.NewImage?.['id'];
  return key !== undefined && 'S' in key ? key.S : '';
}

/**
 * Builds the stream handler. It publishes in stream order and stops at the first record that
 * fails (unreadable, refused entry, or failed call): that record and every later one are
 * returned as batchItemFailures, and nothing after it is sent.
 */
export function createHandler(deps: PublisherDeps): (event: DynamoDBStreamEvent) => Promise<StreamBatchResponse> {
  const log: PublisherLog = deps.log ?? console;
  const count = (name: string, value: number) => deps.metrics?.addMetric(name, MetricUnit.Count, value);
  const seqOf = (record: DynamoDBRecord | undefined): string => record?.dynamodb?.SequenceNumber ?? '';

  /** Sends one call; the index (in the batch) of its first record that failed, if any. */
  const publish = async (chunk: Pending[]): Promise<number | undefined> => {
    if (chunk.length === 0) return undefined;
    try {
      const out = await deps.eventBridge.send(new PutEventsCommand({ Entries: chunk.map((c) => c.entry) }));
      const failedCount = out.FailedEntryCount ?? 0;
      count('EventsPublished', chunk.length - failedCount);
      if (failedCount === 0) return undefined;
      // Entries come back in request order; a failed one carries an ErrorCode.
      const j = chunk.findIndex((_, k) => out.Entries?.[k] === undefined || out.Entries[k]?.ErrorCode !== undefined);
      const failed = chunk[Math.max(0, j)];
      const result = out.Entries?.[Math.max(0, j)];
      log.error('event not published', { seq: failed?.seq, code: result?.ErrorCode, reason: result?.ErrorMessage });
      return failed?.index;
    } catch (err) {
      log.error('PutEvents failed', { count: chunk.length, error: String(err) });
      return chunk[0]?.index;
    }
  };

  return async (event) => {
    const records = event.Records;
    let failedAt: number | undefined;
    let chunk: Pending[] = [];
    const inChunk = new Set<string>();
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as DynamoDBRecord;
      let entry: PutEventsRequestEntry | undefined;
      try {
        entry = toEvent(record, deps.busName);
      } catch (err) {
        // Malformed record: it fails (retries, then the on-failure destination keep it), after what came before it.
        failedAt = (await publish(chunk)) ?? i;
        if (failedAt === i) log.error('cannot read stream record', { seq: seqOf(record), error: String(err) });
        break;
      }
      if (entry === undefined) continue;
      const key = itemKey(record);
      // Two changes of one message in one call could land in either order, or the later one alone.
      if (chunk.length === PUT_EVENTS_MAX || inChunk.has(key)) {
        failedAt = await publish(chunk);
        chunk = [];
        inChunk.clear();
        if (failedAt !== undefined) break;
      }
      chunk.push({ index: i, seq: seqOf(record), entry });
      inChunk.add(key);
    }
    failedAt ??= await publish(chunk);
    const retried = failedAt === undefined ? [] : records.slice(failedAt);
    count('RecordsRetried', retried.length);
    if (retried.length > 1) log.error('later records held back for the retry, in order', { seq: seqOf(retried[0]), count: retried.length });
    return { batchItemFailures: retried.map((r) => ({ itemIdentifier: seqOf(r) })) };
  };
}

// Lambda only. Service name, metrics namespace and log level come from the POWERTOOLS_* variables
// the CDK construct sets (infra/constructs/stream-publisher.ts).
const logger = new Logger();
const metrics = new Metrics();
let publishBatch: ReturnType<typeof createHandler> | undefined;

/** Lambda entry point: the real client is built on the first invocation; metrics are flushed after each. */
export async function handler(event: DynamoDBStreamEvent, context: Parameters<Logger['addContext']>[0]): Promise<StreamBatchResponse> {
  logger.addContext(context);
  metrics.captureColdStartMetric();
  try {
    if (publishBatch === undefined) {
      const busName = process.env.EVENT_BUS_NAME;
      if (!busName) throw new Error('EVENT_BUS_NAME is not set');
      publishBatch = createHandler({ eventBridge: new EventBridgeClient({}), busName, log: logger, metrics });
    }
    return await publishBatch(event);
  } finally {
    metrics.publishStoredMetrics();
  }
}
