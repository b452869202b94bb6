import { EventEmitter } from 'node:events';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetRecordsCommandOutput,
  type DynamoDBStreamsClient,
} from '@aws-sdk/client-dynamodb-streams';
import type { PutEventsCommand, PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { DynamoDBRecord, DynamoDBStreamEvent, StreamBatchResponse } from '../lambdas/dynamodb-stream.js';

export type StreamHandler = (event: DynamoDBStreamEvent) => Promise<StreamBatchResponse>;

/**
 * EventBridge has no local server: this in-process stand-in records what the
 * Lambda publishes and emits each entry as an 'event'. It accepts what the real
 * PutEvents accepts for our use (≤ 10 entries) and reports every entry as sent.
 */
export class LocalEventBus extends EventEmitter {
  readonly events: PutEventsRequestEntry[] = [];
  async send(command: PutEventsCommand): Promise<{ FailedEntryCount: number; Entries: { EventId: string }[] }> {
    const entries = command.input.Entries ?? [];
    if (entries.length > 10) throw new Error('PutEvents takes at most 10 entries');
    for (const e of entries) {
      this.events.push(e);
      this.emit('event', e);
    }
    return { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `local-${this.events.length - entries.length + i}` })) };
  }
}

/**
 * Plays Lambda's part locally: reads every shard of the table's stream from
 * DynamoDB Local and invokes the handler with the event shape Lambda uses,
 * retrying the records it reports as failed (partial batch response).
 */
export class StreamRunner {
  private running = false;
  private readonly shards = new Set<string>();
  private loops: Promise<void>[] = [];
  private discovery: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: {
      dynamodb: Pick<DynamoDBClient, 'send'>;
      streams: Pick<DynamoDBStreamsClient, 'send'>;
      tableName: string;
      handler: StreamHandler;
      /** Idle poll interval of a shard, like Lambda's four polls a second. @defaultvalue 250 */
      pollMs?: number;
      onError?: (err: Error) => void;
    },
  ) {}

  async start(): Promise<void> {
    const table = await this.deps.dynamodb.send(new DescribeTableCommand({ TableName: this.deps.tableName }));
    const streamArn = table.Table?.LatestStreamArn;
    if (!streamArn) throw new Error(`table ${this.deps.tableName} has no stream`);
    this.running = true;
    await this.discover(streamArn);
    // New shards appear as DynamoDB splits them; look for them now and then.
    this.discovery = setInterval(() => void this.discover(streamArn).catch((e: Error) => this.deps.onError?.(e)), 5000);
    this.discovery.unref();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.discovery);
    await Promise.all(this.loops);
  }

  private async discover(streamArn: string): Promise<void> {
    const out = await this.deps.streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    for (const shard of out.StreamDescription?.Shards ?? []) {
      if (!shard.ShardId || this.shards.has(shard.ShardId)) continue;
      this.shards.add(shard.ShardId);
      const it = await this.deps.streams.send(
        new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      if (it.ShardIterator) this.loops.push(this.readShard(it.ShardIterator));
    }
  }

  private async readShard(iterator: string): Promise<void> {
    let next: string | undefined = iterator;
    while (this.running && next) {
      let records: DynamoDBRecord[] = [];
      try {
        const out: GetRecordsCommandOutput = await this.deps.streams.send(new GetRecordsCommand({ ShardIterator: next, Limit: 100 }));
        next = out.NextShardIterator;
        records = (out.Records ?? []) as DynamoDBRecord[];
      } catch (err) {
        this.deps.onError?.(err as Error);
      }
      if (records.length > 0) await this.invoke(records);
      else await new Promise((r) => setTimeout(r, this.deps.pollMs ?? 250));
    }
  }

  /** Like Lambda with bisect off: retry from the first failed record, a few times. */
  private async invoke(records: DynamoDBRecord[]): Promise<void> {
    let batch = records;
    for (let attempt = 0; attempt < 5 && batch.length > 0; attempt++) {
      const result = await this.deps.handler({ Records: batch }).catch((err: Error) => {
        this.deps.onError?.(err);
        return { batchItemFailures: [{ itemIdentifier: batch[0]?.dynamodb?.SequenceNumber ?? '' }] };
      });
      const failed = new Set(result.batchItemFailures.map((f) => f.itemIdentifier));
      const first = batch.findIndex((r) => failed.has(r.dynamodb?.SequenceNumber ?? ''));
      batch = first < 0 ? [] : batch.slice(first);
    }
  }
}
