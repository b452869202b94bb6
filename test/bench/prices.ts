/**
 * The price table and the deployment the cost scenario prices (README, "Cost per million messages").
 * On-demand list prices for us-east-1, as known on 2026-11-29 (the figures published in 2025, after
 * DynamoDB's on-demand reduction of November 2024). They change: check the AWS pricing pages before
 * quoting a figure. 1 GB = 2^30 bytes.
 */
export const PRICES = {
  region: 'us-east-1',
  asOf: '2026-11-29',
  note: 'on-demand list prices as known on 2026-11-29 (2025 price lists); check the AWS pricing pages',
  dynamodb: {
    /** On-demand, per million write request units (standard table class). */
    perMillionWriteUnits: 0.625,
    perMillionReadUnits: 0.125,
    storagePerGbMonth: 0.25,
    /** Continuous backups (point-in-time recovery), on the table's size. */
    pitrPerGbMonth: 0.2,
  },
  /** Standard queue; every started 64 KB of a request's payload is one request. */
  sqs: { perMillionRequests: 0.4 },
  lambda: { perMillionRequests: 0.2, perGbSecondArm: 0.0000133334, perGbSecondX86: 0.0000166667 },
  /** Custom events; every started 64 KB of an entry is one event. Archive: per GB archived and per GB-month kept. */
  eventBridge: { perMillionEvents: 1.0, archivePerGb: 0.1, archiveStoragePerGbMonth: 0.023 },
  natGateway: { perHour: 0.045, perGbProcessed: 0.045 },
  /** Interface endpoints: per endpoint per AZ per hour, and per GB processed. Gateway endpoints (DynamoDB, S3) are free. */
  vpcEndpoint: { perAzHour: 0.01, perGbProcessed: 0.01 },
  publicIpv4PerHour: 0.005,
  /** Linux/x86_64. */
  fargate: { perVcpuHour: 0.04048, perGbHour: 0.004445 },
  cloudWatchLogs: { perGbIngested: 0.5 },
} as const;

/**
 * The default deployment (infra/ defaults; test/unit/bench-cost.test.ts keeps the service's share
 * in step with infra/constructs/smpp-connector.ts): what the fixed hourly costs are spread over.
 */
export const DEPLOYMENT = {
  tasks: 2,
  txBindsPerTask: 1,
  rxBindsPerTask: 1,
  mpsPerBind: 50,
  /** Fargate task size (512 CPU units, 1024 MiB), x86_64. */
  taskVcpu: 0.5,
  taskMemoryGb: 1,
  /** Egress network: one NAT gateway with an Elastic IP per AZ, 2 AZs. */
  natGateways: 2,
  azs: 2,
  /** Interface endpoints (SQS, Secrets Manager, CloudWatch Logs, ECR API, ECR Docker) in each AZ; DynamoDB and S3 are gateway endpoints. */
  interfaceEndpoints: 5,
  publicIpv4Addresses: 2,
  /** Stream publisher: 256 MB on arm64, batches of up to 100 records, 1 s batching window. */
  lambdaMemoryGb: 0.25,
  lambdaArm: true,
  streamBatchSize: 100,
  streamBatchWindowS: 1,
  /** MESSAGE_TTL_DAYS: how long an item is stored after its last write. */
  ttlDays: 30,
  /** The event bus's archive keeps events this long. */
  archiveDays: 30,
} as const;

/** What is assumed rather than measured (each is stated in the README). */
export const ASSUMPTIONS = {
  /** Shards of the table's stream (a new on-demand table's partitions); Lambda polls each, so at least one invocation per shard per batching window. */
  streamShards: 4,
  /** Duration of one PutEvents call from Lambda in the region, ms, and of the rest of an invocation. */
  putEventsMs: 25,
  invocationBaseMs: 5,
  /** IPv4 + TCP headers with timestamps, bytes per packet. */
  packetHeaderBytes: 52,
  /** Packets per TLS record written: the record's own segment, plus a pure ACK for every second one. */
  packetsPerRecord: 1.5,
  /** CloudWatch Logs counts 26 bytes per event beside its message. */
  logEventOverheadBytes: 26,
  /** Days in a month, for GB-month charges. */
  daysPerMonth: 365 / 12,
} as const;

export const GB = 2 ** 30;
