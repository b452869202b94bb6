/**
 * The DynamoDB Streams event shape Lambda delivers (and the local runner reproduces from DynamoDB
 * Local's stream), with the few fields the handlers read, plus an unmarshaller. Written here
 * because neither @types/aws-lambda nor @aws-sdk/util-dynamodb is a dependency.
 */

/** DynamoDB's JSON encoding of one attribute value. */
export type AttributeValue =
  | { S: string }
  | { N: string }
  | { B: string | Uint8Array }
  | { BOOL: boolean }
  | { NULL: true }
  | { M: Record<string, AttributeValue> }
  | { L: AttributeValue[] }
  | { SS: string[] }
  | { NS: string[] }
  | { BS: (string | Uint8Array)[] };

export interface StreamRecordImage {
  /** Epoch seconds from Lambda; a Date when read through the SDK's GetRecords (local runner). */
  ApproximateCreationDateTime?: number | string | Date;
  Keys?: Record<string, AttributeValue>;
  NewImage?: Record<string, AttributeValue>;
  OldImage?: Record<string, AttributeValue>;
  SequenceNumber?: string;
  SizeBytes?: number;
  StreamViewType?: string;
}

export interface DynamoDBRecord {
  eventID?: string;
  eventName?: 'INSERT' | 'MODIFY' | 'REMOVE';
  eventSource?: string;
  eventSourceARN?: string;
  dynamodb?: StreamRecordImage;
}

export interface DynamoDBStreamEvent {
  Records: DynamoDBRecord[];
}

/** Lambda's partial batch response: the stream resumes from the lowest failed sequence number. */
export interface StreamBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

export type Item = Record<string, unknown>;

/** Converts one attribute value to plain JS: N → number, sets → arrays, B → as given. */
export function fromAttributeValue(v: AttributeValue): unknown {
  if ('S' in v) return v.S;
  if ('N' in v) return Number(v.N);
  if ('BOOL' in v) return v.BOOL;
  if ('NULL' in v) return null;
  if ('M' in v) return unmarshall(v.M);
  if ('L' in v) return v.L.map(fromAttributeValue);
  if ('SS' in v) return [...v.SS];
  if ('NS' in v) return v.NS.map(Number);
  if ('B' in v) return v.B;
  if ('BS' in v) return [...v.BS];
  throw new TypeError(`unsupported attribute value: ${JSON.stringify(v)}`);
}

export function unmarshall(image: Record<string, AttributeValue> | undefined): Item | undefined {
  if (image === undefined) return undefined;
  const out: Item = {};
  for (const [k, v] of Object.entries(image)) out[k] = fromAttributeValue(v);
  return out;
}

/** The record's change time as ISO-8601, whichever form the stream gave it in. */
export function changeTime(record: DynamoDBRecord, now: () => Date = () => new Date()): string {
  const t = record.dynamodb?.ApproximateCreationDateTime;
  if (t instanceof Date) return t.toISOString();
  if (typeof t === 'number') return new Date(t * 1000).toISOString();
  if (typeof t === 'string' && t !== '') {
    const n = Number(t);
    return (Number.isFinite(n) ? new Date(n * 1000) : new Date(t)).toISOString();
  }
  return now().toISOString();
}
