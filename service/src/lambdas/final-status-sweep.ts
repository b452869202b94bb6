import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { FinalStatusSweep, type SweepResult } from '../aws/status-store/final-status.js';

/**
 * The final-status sweep on a schedule (every 15 minutes, infra/constructs/final-status-sweep.ts):
 * messages that waited past their `finalBy` for a final receipt become UNKNOWN ('no receipt'),
 * docs/architecture.md §7.2. The deadline is on each item, set when it was submitted, so the
 * Lambda needs only the table and the TTL every write restarts. A run that did not finish (its
 * bound, its time) leaves the rest to the next; one with failed writes fails the invocation, so
 * the Errors alarm sees it.
 */

/** Time kept back from the Lambda's timeout: the run starts nothing new after that. */
const MARGIN_MS = 15_000;

/** Where the summary and failures go: Powertools' Logger on Lambda. */
export interface SweepLog {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
  debug(message: string, attributes: Record<string, unknown>): void;
}

/** What the handler counts: Powertools' Metrics on Lambda (CloudWatch EMF). */
export interface SweepMetrics {
  addMetric(name: string, unit: typeof MetricUnit.Count, value: number): unknown;
}

/** The settings the construct gives the function. */
export interface SweepEnv {
  tableName: string;
  ttlDays: number;
}

/** TABLE_NAME and MESSAGE_TTL_DAYS, checked. */
export function sweepEnv(env: NodeJS.ProcessEnv): SweepEnv {
  const tableName = env['TABLE_NAME'] ?? '';
  const ttlDays = Number(env['MESSAGE_TTL_DAYS']);
  const problems: string[] = [];
  if (tableName === '') problems.push('TABLE_NAME is not set');
  if (!Number.isInteger(ttlDays) || ttlDays < 1) problems.push(`MESSAGE_TTL_DAYS must be a whole number ≥ 1 (got ${env['MESSAGE_TTL_DAYS'] ?? 'nothing'})`);
  if (problems.length > 0) throw new Error(problems.join('; '));
  return { tableName, ttlDays };
}

/**
 * One scheduled run: the sweep, its counts as metrics and one log line. Throws when a write or
 * query failed (the messages concerned stay in the index and the next run takes them).
 */
export function createSweepHandler(deps: { sweep: Pick<FinalStatusSweep, 'run'>; log: SweepLog; metrics?: SweepMetrics }): (remainingMs: number) => Promise<SweepResult> {
  const count = (name: string, value: number) => deps.metrics?.addMetric(name, MetricUnit.Count, value);
  return async (remainingMs) => {
    const result = await deps.sweep.run({ stopAt: Date.now() + Math.max(0, remainingMs - MARGIN_MS) });
    count('MessagesTimedOut', result.timedOut);
    count('SweepSkipped', result.skipped);
    count('SweepFailed', result.failed);
    deps.log.info('final-status sweep', { ...result });
    if (result.failed > 0) throw new Error(`final-status sweep: ${result.failed} writes or queries failed; the next run retries them`);
    return result;
  };
}

// Lambda only. Service name, metrics namespace and log level come from the POWERTOOLS_* variables
// the CDK construct sets.
const logger = new Logger();
const metrics = new Metrics();
let sweepOnce: ReturnType<typeof createSweepHandler> | undefined;

/** Lambda entry point (an EventBridge schedule; the event carries nothing the run needs). */
export async function handler(_event: unknown, context: Parameters<Logger['addContext']>[0] & { getRemainingTimeInMillis(): number }): Promise<SweepResult> {
  logger.addContext(context);
  metrics.captureColdStartMetric();
  try {
    if (sweepOnce === undefined) {
      const env = sweepEnv(process.env);
      const storeLog = { warn: (o: object, m: string) => logger.warn(m, { ...o }), debug: (o: object, m: string) => logger.debug(m, { ...o }) };
      const sweep = new FinalStatusSweep({ client: new DynamoDBClient({}), tableName: env.tableName, ttlDays: env.ttlDays, logger: storeLog });
      sweepOnce = createSweepHandler({ sweep, log: logger, metrics });
    }
    return await sweepOnce(context.getRemainingTimeInMillis());
  } finally {
    metrics.publishStoredMetrics();
  }
}
