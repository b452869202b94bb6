import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Command } from 'commander';
import { createSqsClient } from '../aws/queue.js';
import { resolveReplayTarget } from './replay-target.js';
import { retryJob } from './retry.js';

const program: Command = new Command('retry')
  .description('Re-queue a FAILED job as a new attempt under the same id (README, Replay: redrive and retry)')
  .argument('<id>', 'job id')
  .option('--force', 'retry even if it may have reached the handset (a part accepted, or an unknown outcome); only the parts not accepted are sent')
  .option('--priority', 'put it on the priority queue instead of the bulk one')
  .option('--queue-url <url>', 'the queue (default: OUTBOUND_QUEUE_URL / OUTBOUND_PRIORITY_QUEUE_URL, or the running local stack)')
  .option('--table <name>', 'table (default: MESSAGES_TABLE, or the running local stack)')
  .option('--ttl-days <days>', "the item's lifetime after this write, as the service's (default: MESSAGE_TTL_DAYS, or 30)", process.env['MESSAGE_TTL_DAYS'] ?? '30')
  .option('--region <region>', 'AWS region (default: AWS_REGION)')
  .parse();

const [id] = program.args;
const o = program.opts<{ force?: boolean; priority?: boolean; queueUrl?: string; table?: string; ttlDays: string; region?: string }>();
const lane = o.priority ? 'priority' : 'bulk';
const target = resolveReplayTarget({ lane, ...(o.queueUrl && { queueUrl: o.queueUrl }), ...(o.table && { tableName: o.table }), ...(o.region && { region: o.region }) });
if (!target.tableName) program.error('no table: pass --table, set MESSAGES_TABLE, or start the local stack with npm start');
if (!target.queueUrl) program.error(`no ${lane} queue: pass --queue-url, set ${o.priority ? 'OUTBOUND_PRIORITY_QUEUE_URL' : 'OUTBOUND_QUEUE_URL'}, or start the local stack with npm start`);

const dynamodb = new DynamoDBClient({ region: target.region });
const sqs = createSqsClient(target.region);
try {
  const result = await retryJob(id ?? '', {
    dynamodb,
    sqs,
    tableName: target.tableName,
    queueUrl: target.queueUrl,
    force: o.force === true,
    ttlDays: Number(o.ttlDays),
  });
  switch (result.outcome) {
    case 'queued': {
      const resumes = result.acceptedParts.length > 0 ? `; part(s) ${result.acceptedParts.join(', ')} were accepted before and are not sent again` : '';
      process.stdout.write(`${id}: re-queued on the ${lane} queue (retry ${result.retries})${resumes}; follow it with npm run status -- ${id}\n`);
      break;
    }
    case 'refused':
      process.stderr.write(`${id}: not retried: ${result.message}\n`);
      process.exitCode = 1;
      break;
    case 'not-queued':
      process.stderr.write(
        result.restored
          ? `${id}: the job could not be queued (${result.error}); the message is FAILED again, nothing was sent\n`
          : `${id}: the job could not be queued (${result.error}), and the message changed since: it may have been queued after all; check npm run status -- ${id}\n`,
      );
      process.exitCode = 1;
      break;
  }
} finally {
  dynamodb.destroy();
  sqs.destroy();
}
