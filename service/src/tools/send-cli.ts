import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { resolveTarget, sendSms, type SmsInput } from './client.js';

const program: Command = new Command('send')
  .description('Put SMS jobs on the outbound queue (local stack or real AWS)')
  .option('--to <number>', 'destination, E.164 (+6591234567)')
  .option('--text <text>', 'message text')
  .option('--from <sender>', 'sender: alphanumeric (max 11), short code or number', '8x8')
  .option('--id <id>', 'job id (idempotency key); a UUID by default')
  .option('--encoding <encoding>', 'auto | gsm7 | latin1 | ucs2', 'auto')
  .option('--no-receipt', 'do not ask for a delivery receipt')
  .option('--file <jobs.jsonl>', 'one JSON job per line')
  .option('--count <n>', 'send N copies of --text (ids get a -N suffix)', '1')
  .option('--priority', 'urgent jobs (one-time passwords): to the priority queue, sent ahead of bulk ones')
  .option('--queue-url <url>', 'queue URL (default: OUTBOUND_QUEUE_URL, or the running local stack)')
  .option('--priority-queue-url <url>', 'priority queue URL, with --priority (default: OUTBOUND_PRIORITY_QUEUE_URL, or the running local stack)')
  .option('--region <region>', 'AWS region (default: AWS_REGION)')
  .parse();

const o = program.opts<{
  to?: string;
  text?: string;
  from: string;
  id?: string;
  encoding: string;
  receipt: boolean;
  file?: string;
  count: string;
  priority?: boolean;
  queueUrl?: string;
  priorityQueueUrl?: string;
  region?: string;
}>();
const target = resolveTarget({
  ...(o.queueUrl && { queueUrl: o.queueUrl }),
  ...(o.priorityQueueUrl && { priorityQueueUrl: o.priorityQueueUrl }),
  ...(o.region && { region: o.region }),
});
const priority = o.priority === true;
if (priority && !target.priorityQueueUrl) program.error('no priority queue: pass --priority-queue-url, set OUTBOUND_PRIORITY_QUEUE_URL, or start the local stack with npm start');
if (!priority && !target.queueUrl) program.error('no queue: pass --queue-url, set OUTBOUND_QUEUE_URL, or start the local stack with npm start');

let jobs: SmsInput[];
if (o.file) {
  jobs = readFileSync(o.file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as SmsInput);
} else {
  if (!o.to || o.text === undefined) program.error('pass --to and --text, or --file');
  const count = Math.max(1, Number(o.count));
  const base = { to: o.to, text: o.text, from: o.from, encoding: o.encoding as SmsInput['encoding'], receipt: o.receipt };
  jobs = Array.from({ length: count }, (_, i) => ({ ...base, ...(o.id && { id: count > 1 ? `${o.id}-${i + 1}` : o.id }) }));
}
const ids = await sendSms(jobs, {
  ...(target.queueUrl && { queueUrl: target.queueUrl }),
  ...(target.priorityQueueUrl && { priorityQueueUrl: target.priorityQueueUrl }),
  priority,
  region: target.region,
});
for (const id of ids) process.stdout.write(`${id}\n`);
process.stderr.write(`queued ${ids.length} ${priority ? 'urgent ' : ''}job(s); check one with: npm run status -- ${ids[0]}\n`);
