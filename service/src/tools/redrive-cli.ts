import { Command, Option } from 'commander';
import { createSqsClient } from '../aws/queue.js';
import { getStatus } from './client.js';
import { previewDeadLetters, redrive } from './redrive.js';
import { deadLetterQueueOf, resolveReplayTarget, type QueueLane } from './replay-target.js';

const program: Command = new Command('redrive')
  .description('Move jobs from the dead-letter queue back to their queue (README, Replay: redrive and retry)')
  .option('--count <n>', 'move at most N (default: every one)')
  .option('--dry-run', 'move nothing: print how many are waiting and the job ids of some (up to --count, 20 by default)')
  .addOption(new Option('--queue <lane>', 'which queue: the bulk outbound queue, or the priority one').choices(['bulk', 'priority']).default('bulk'))
  .option('--queue-url <url>', 'the source queue (default: OUTBOUND_QUEUE_URL / OUTBOUND_PRIORITY_QUEUE_URL, or the running local stack)')
  .option('--dlq-url <url>', "its DLQ (default: OUTBOUND_DLQ_URL / OUTBOUND_PRIORITY_DLQ_URL, the local stack, or the queue's redrive policy)")
  .option('--table <name>', 'with --dry-run: also show each job\'s status (default: MESSAGES_TABLE, or the running local stack)')
  .option('--region <region>', 'AWS region (default: AWS_REGION)')
  .parse();

const o = program.opts<{ count?: string; dryRun?: boolean; queue: QueueLane; queueUrl?: string; dlqUrl?: string; table?: string; region?: string }>();
const count = o.count === undefined ? undefined : Number(o.count);
if (count !== undefined && (!Number.isInteger(count) || count < 1)) program.error('--count must be a whole number ≥ 1');
const target = resolveReplayTarget({
  lane: o.queue,
  ...(o.queueUrl && { queueUrl: o.queueUrl }),
  ...(o.dlqUrl && { dlqUrl: o.dlqUrl }),
  ...(o.table && { tableName: o.table }),
  ...(o.region && { region: o.region }),
});
if (!target.queueUrl) program.error(`no ${o.queue} queue: pass --queue-url, set ${o.queue === 'bulk' ? 'OUTBOUND_QUEUE_URL' : 'OUTBOUND_PRIORITY_QUEUE_URL'}, or start the local stack with npm start`);
const queueUrl = target.queueUrl;
const sqs = createSqsClient(target.region);
try {
  const dlqUrl = target.dlqUrl ?? (await deadLetterQueueOf(sqs, queueUrl));
  if (!dlqUrl) program.error(`no DLQ: pass --dlq-url, or set ${o.queue === 'bulk' ? 'OUTBOUND_DLQ_URL' : 'OUTBOUND_PRIORITY_DLQ_URL'} (the queue has no redrive policy)`);
  if (o.dryRun) {
    const preview = await previewDeadLetters({ sqs, dlqUrl, ...(count !== undefined && { count }) });
    process.stdout.write(`${dlqUrl}: ${preview.waiting} waiting, ${preview.inFlight} in flight (approximate); nothing moved\n`);
    for (const m of preview.messages) {
      const status = m.jobId === undefined || !target.tableName ? undefined : (await getStatus(m.jobId, { tableName: target.tableName, region: target.region }))?.status;
      const shown = [m.jobId ?? `(no job id; SQS message ${m.sqsMessageId})`, status ?? (target.tableName && m.jobId ? 'no record' : undefined), m.sentAt && `first sent ${m.sentAt}`];
      process.stdout.write(`  ${shown.filter((x) => x !== undefined).join('  ')}\n`);
    }
    if (preview.messages.some((m) => m.jobId !== undefined)) {
      process.stdout.write('A job recorded FAILED is deleted unsent when redriven (its id was handled): re-queue it with npm run retry -- <id>.\n');
    }
  } else {
    const result = await redrive({
      sqs,
      dlqUrl,
      queueUrl,
      ...(count !== undefined && { count }),
      ...(process.stderr.isTTY && { onProgress: (p: { moved: number }) => process.stderr.write(`moved ${p.moved}\r`) }),
    });
    process.stdout.write(`moved ${result.moved} message(s) from ${dlqUrl} to ${queueUrl}\n`);
    if (result.notSent > 0) process.stdout.write(`${result.notSent} not sent: they stay in the DLQ (visible again within 2 minutes)\n`);
    if (result.notDeleted > 0) process.stdout.write(`${result.notDeleted} sent but not deleted from the DLQ: a later redrive sends them again; the service submits a job id once\n`);
    if (result.error !== undefined) {
      process.stderr.write(`stopped: ${result.error}\n`);
      process.exitCode = 1;
    }
  }
} finally {
  sqs.destroy();
}
