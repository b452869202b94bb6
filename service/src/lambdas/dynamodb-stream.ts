/**
 * The DynamoDB Streams event shape Lambda delivers (and the local runner reproduces from DynamoDB
 * Local's stream), with the few fields the handlers read, and the image unmarshaller. The shapes are
 * written here because @types/aws-lambda is not a dependency; unmarshalling is @aws-sdk/util-dynamodb's.
 */
import type { AttributeValue as SdkAttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall as sdkUnmarshall } from '@aws-sdk/util-dynamodb';

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

/**
 * An image as plain JS: N → number, always (a producer's metadata may hold numbers past 2^53, which
 * util-dynamodb would read as a BigInt that JSON.stringify cannot serialise), B → as given (base64
 * from Lambda), sets → Set (we store none). Lambda's JSON differs from the SDK's AttributeValue only
 * in how B is carried, which unmarshall passes through untouched.
 */
export function unmarshall(image: Record<string, AttributeValue> | undefined): Item | undefined {
  return image === undefined ? undefined : sdkUnmarshall(image as Record<string, SdkAttributeValue>, { wrapNumbers: Number });
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
