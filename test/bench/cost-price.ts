/**
 * Dollars from counted units (README, "Cost per million messages"): every figure here is a count
 * per message the cost run measured, times a list price from prices.ts; the fixed hourly costs of
 * the default deployment are spread over the messages it carries at its full rate. Nothing is timed
 * but the stream publisher's duration, which is assumed (ASSUMPTIONS).
 */
import { ASSUMPTIONS, DEPLOYMENT, GB, PRICES } from './prices.js';

/** What one message cost, in units, as a cost run counted them (means over the run's jobs). */
export interface UnitsPerMessage {
  parts: number;
  tableWriteUnits: number;
  indexWriteUnits: number;
  readUnits: number;
  /** Bytes kept for MESSAGE_TTL_DAYS after the last write: items (+100 each) and index entries. */
  storageTableBytes: number;
  storageIndexBytes: number;
  /** Billed SQS requests: the service's and the producer's. */
  sqsRequests: number;
  /** Stream records the publisher's filter lets through at the default deployment (MESSAGE and OPTOUT items, new MO items). */
  lambdaRecords: number;
  /** PutEvents calls per record the real handler made over batches of `lambdaBatch()` records. */
  putEventsCallsPerRecord: number;
  /** Billed events (a started 64 KB each) and their bytes. */
  events: number;
  eventBytes: number;
  /** Bytes on the SMPP link, both directions, TLS included, and the TLS records that carried them. */
  smppBytes: number;
  smppTlsRecords: number;
  /** SQS over HTTP (through its interface endpoint). */
  sqsBytes: number;
  logBytes: number;
  logLines: number;
}

export const COMPONENTS = [
  { key: 'dynamodbWrites', label: 'DynamoDB writes (table)' },
  { key: 'dynamodbIndexWrites', label: 'DynamoDB index writes' },
  { key: 'dynamodbReads', label: 'DynamoDB reads' },
  { key: 'dynamodbStorage', label: 'DynamoDB storage + PITR' },
  { key: 'sqs', label: 'SQS requests' },
  { key: 'lambda', label: 'Lambda (stream publisher)' },
  { key: 'eventBridge', label: 'EventBridge events + archive' },
  { key: 'natData', label: 'NAT data (SMPP link)' },
  { key: 'endpointData', label: 'Endpoint data (SQS, logs)' },
  { key: 'logs', label: 'CloudWatch Logs' },
  { key: 'fargate', label: 'Fargate (2 tasks), at full rate' },
  { key: 'network', label: 'NAT gateways, endpoints, IPv4 (hourly), at full rate' },
] as const;
export type ComponentKey = (typeof COMPONENTS)[number]['key'];

/** Messages per second the default deployment carries at its full rate. */
export function messagesPerSecond(parts: number): number {
  return (DEPLOYMENT.tasks * DEPLOYMENT.txBindsPerTask * DEPLOYMENT.mpsPerBind) / parts;
}

/**
 * The stream publisher's invocations at the default deployment's full rate: each shard is invoked
 * when it has a full batch or its batching window ends, so per second max(shards / window,
 * records ÷ batch size); and the records an invocation carries on average.
 */
export function lambdaBatch(lambdaRecordsPerMessage: number, parts: number): { invocationsPerSecond: number; recordsPerInvocation: number } {
  const records = lambdaRecordsPerMessage * messagesPerSecond(parts);
  if (records <= 0) return { invocationsPerSecond: 0, recordsPerInvocation: 0 };
  const invocationsPerSecond = Math.max(ASSUMPTIONS.streamShards / DEPLOYMENT.streamBatchWindowS, records / DEPLOYMENT.streamBatchSize);
  return { invocationsPerSecond, recordsPerInvocation: records / invocationsPerSecond };
}

export interface Priced {
  /** USD per million messages, by component. */
  usdPerMillion: Record<ComponentKey, number>;
  total: number;
  /** Without the two hourly components (what grows with traffic). */
  variable: number;
  messagesPerHour: number;
  lambda: { invocationsPerMessage: number; recordsPerInvocation: number; msPerInvocation: number };
}

export function priceMessage(u: UnitsPerMessage): Priced {
  const P = PRICES;
  const D = DEPLOYMENT;
  const A = ASSUMPTIONS;
  const million = 1e6;
  const months = (days: number): number => days / A.daysPerMonth;
  const perSecond = messagesPerSecond(u.parts);
  const messagesPerHour = perSecond * 3600;

  const batch = lambdaBatch(u.lambdaRecords, u.parts);
  const invocationsPerMessage = perSecond > 0 ? batch.invocationsPerSecond / perSecond : 0;
  const msPerInvocation = A.invocationBaseMs + A.putEventsMs * u.putEventsCallsPerRecord * batch.recordsPerInvocation;
  const gbSecondsPerMessage = invocationsPerMessage * (Math.ceil(msPerInvocation) / 1000) * D.lambdaMemoryGb;

  const fargatePerHour = D.tasks * (D.taskVcpu * P.fargate.perVcpuHour + D.taskMemoryGb * P.fargate.perGbHour);
  const networkPerHour = D.natGateways * P.natGateway.perHour + D.interfaceEndpoints * D.azs * P.vpcEndpoint.perAzHour + D.publicIpv4Addresses * P.publicIpv4PerHour;
  const smppWireBytes = u.smppBytes + u.smppTlsRecords * A.packetsPerRecord * A.packetHeaderBytes;
  const logIngested = u.logBytes + u.logLines * A.logEventOverheadBytes;

  const usdPerMillion: Record<ComponentKey, number> = {
    dynamodbWrites: u.tableWriteUnits * P.dynamodb.perMillionWriteUnits,
    dynamodbIndexWrites: u.indexWriteUnits * P.dynamodb.perMillionWriteUnits,
    dynamodbReads: u.readUnits * P.dynamodb.perMillionReadUnits,
    dynamodbStorage:
      ((u.storageTableBytes * (P.dynamodb.storagePerGbMonth + P.dynamodb.pitrPerGbMonth) + u.storageIndexBytes * P.dynamodb.storagePerGbMonth) / GB) * months(D.ttlDays) * million,
    sqs: u.sqsRequests * P.sqs.perMillionRequests,
    lambda: invocationsPerMessage * P.lambda.perMillionRequests + gbSecondsPerMessage * (D.lambdaArm ? P.lambda.perGbSecondArm : P.lambda.perGbSecondX86) * million,
    eventBridge: u.events * P.eventBridge.perMillionEvents + (u.eventBytes / GB) * (P.eventBridge.archivePerGb + P.eventBridge.archiveStoragePerGbMonth * months(D.archiveDays)) * million,
    natData: (smppWireBytes / GB) * P.natGateway.perGbProcessed * million,
    endpointData: ((u.sqsBytes + logIngested) / GB) * P.vpcEndpoint.perGbProcessed * million,
    logs: (logIngested / GB) * P.cloudWatchLogs.perGbIngested * million,
    fargate: (fargatePerHour / messagesPerHour) * million,
    network: (networkPerHour / messagesPerHour) * million,
  };
  const total = Object.values(usdPerMillion).reduce((a, b) => a + b, 0);
  return {
    usdPerMillion,
    total,
    variable: total - usdPerMillion.fargate - usdPerMillion.network,
    messagesPerHour,
    lambda: { invocationsPerMessage, recordsPerInvocation: batch.recordsPerInvocation, msPerInvocation },
  };
}
