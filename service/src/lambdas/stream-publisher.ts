import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import {
  changeTime,
  unmarshall,
  type DynamoDBRecord,
  type DynamoDBStreamEvent,
  type Item,
  type StreamBatchResponse,
} from './dynamodb-stream.js';

/**
 * Publishes the status table's changes to an EventBridge bus that users attach rules to:
 * `SmsStatusChanged` when a message's status changes (its first write included) and
 * `SmsReceived` for each new MO message. CORRELATION items and anything else are ignored.
 * Runs on Lambda (DynamoDB stream event source) and locally from DynamoDB Local's stream.
 */

export const EVENT_SOURCE = 'smpp-connector';
export const DetailType = { StatusChanged: 'SmsStatusChanged', Received: 'SmsReceived' } as const;

/** PutEvents takes at most 10 entries per call. */
const PUT_EVENTS_MAX = 10;

export interface SmsStatusChangedDetail {
  id: string;
  status: string;
  previousStatus: string | null;
  to: string | null;
  segments: number | null;
  lastError: unknown;
  updatedAt: string;
  metadata: unknown;
}

export interface SmsReceivedDetail {
  id: string;
  from: string | null;
  to: string | null;
  text: string | null;
  receivedAt: string | null;
}

export interface PublisherDeps {
  eventBridge: Pick<EventBridgeClient, 'send'>;
  busName: string;
  /** Where failures are reported. @defaultvalue console */
  log?: Pick<Console, 'error'>;
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
    default:
      return undefined;
  }
}

/** Builds the stream handler; failed records are returned as batchItemFailures. */
export function createHandler(deps: PublisherDeps): (event: DynamoDBStreamEvent) => Promise<StreamBatchResponse> {
  const log = deps.log ?? console;
  return async (event) => {
    const failed: string[] = [];
    const pending: { seq: string; entry: PutEventsRequestEntry }[] = [];
    for (const record of event.Records) {
      const seq = record.dynamodb?.SequenceNumber ?? '';
      try {
        const entry = toEvent(record, deps.busName);
        if (entry !== undefined) pending.push({ seq, entry });
      } catch (err) {
        // Malformed record: fail it, so retries and then the on-failure destination keep it.
        log.error(JSON.stringify({ msg: 'cannot read stream record', seq, error: String(err) }));
        failed.push(seq);
      }
    }

    for (let i = 0; i < pending.length; i += PUT_EVENTS_MAX) {
      const chunk = pending.slice(i, i + PUT_EVENTS_MAX);
      try {
        const out = await deps.eventBridge.send(new PutEventsCommand({ Entries: chunk.map((c) => c.entry) }));
        if ((out.FailedEntryCount ?? 0) === 0) continue;
        // Entries come back in request order; a failed one carries an ErrorCode.
        chunk.forEach((c, j) => {
          const result = out.Entries?.[j];
          if (result === undefined || result.ErrorCode !== undefined) {
            log.error(JSON.stringify({ msg: 'event not published', seq: c.seq, code: result?.ErrorCode, message: result?.ErrorMessage }));
            failed.push(c.seq);
          }
        });
      } catch (err) {
        log.error(JSON.stringify({ msg: 'PutEvents failed', count: chunk.length, error: String(err) }));
        failed.push(...chunk.map((c) => c.seq));
      }
    }
    return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

let lambdaHandler: ReturnType<typeof createHandler> | undefined;

/** Lambda entry point: the real client is built on the first invocation. */
export async function handler(event: DynamoDBStreamEvent): Promise<StreamBatchResponse> {
  if (lambdaHandler === undefined) {
    const busName = process.env.EVENT_BUS_NAME;
    if (!busName) throw new Error('EVENT_BUS_NAME is not set');
    lambdaHandler = createHandler({ eventBridge: new EventBridgeClient({}), busName });
  }
  return lambdaHandler(event);
}
