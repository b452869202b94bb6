/**
 * Counts the AWS calls an SDK client makes, per command, with a middleware at the `initialize`
 * step (once per `send`, before retries: a call the code made, not an HTTP attempt).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';

export type CallCounts = Record<string, number>;

export interface CallCounter {
  readonly counts: CallCounts;
  total(): number;
  /** A copy of the counts now. */
  snapshot(): CallCounts;
  /** Mean time from `send` to its result per command, ms (queueing for a socket included). */
  meanMs(): CallCounts;
  /** The number of statements in each BatchExecuteStatement, in the order they were sent. */
  statements(): number[];
}

function counter(): CallCounter & { add(command: string, ms: number): void; batches: number[] } {
  const counts: CallCounts = {};
  const totalMs: CallCounts = {};
  const batches: number[] = [];
  return {
    counts,
    batches,
    add(command, ms) {
      counts[command] = (counts[command] ?? 0) + 1;
      totalMs[command] = (totalMs[command] ?? 0) + ms;
    },
    total: () => Object.values(counts).reduce((a, b) => a + b, 0),
    snapshot: () => ({ ...counts }),
    meanMs: () => Object.fromEntries(Object.entries(totalMs).map(([k, v]) => [k, Math.round((v / (counts[k] ?? 1)) * 10) / 10])),
    statements: () => [...batches],
  };
}

/** Counts every call made through `client` from now on. */
export function countCalls(client: SQSClient | DynamoDBClient): CallCounter {
  const c = counter();
  // Both clients share the smithy middleware stack; the union only hides that from the compiler.
  (client as SQSClient).middlewareStack.add(
    (next, context) => async (args) => {
      const started = performance.now();
      const statements = (args.input as { Statements?: unknown[] }).Statements;
      if (statements !== undefined) c.batches.push(statements.length);
      try {
        return await next(args);
      } finally {
        c.add((context.commandName ?? 'unknown').replace(/Command$/, ''), performance.now() - started);
      }
    },
    { step: 'initialize', name: 'benchCallCounter' },
  );
  return c;
}

/** `a - b` per command, for counts taken before and after a phase. */
export function diffCounts(a: CallCounts, b: CallCounts): CallCounts {
  const out: CallCounts = {};
  for (const [k, v] of Object.entries(a)) {
    const d = v - (b[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

/** Counts divided by `jobs`, rounded to 3 decimals. */
export function perJob(counts: CallCounts, jobs: number): CallCounts {
  const out: CallCounts = {};
  for (const [k, v] of Object.entries(counts)) out[k] = Math.round((v / jobs) * 1000) / 1000;
  return out;
}

export function sumCounts(counts: CallCounts): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
