import { randomUUID } from 'node:crypto';
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { StatusItem } from '../aws/status-store/index.js';
import { within } from '../clock.js';
import { isFinal, type MessageStatus } from '../domain.js';
import { percentile } from '../tools/smpp-tool.js';
import type { SmsInput } from '../tools/client.js';
import type { LocalEventBus } from './stream-runner.js';

export interface DemoDeps {
  count: number;
  send(jobs: SmsInput[]): Promise<string[]>;
  /** Puts a body on the queue as is (the producer library would refuse an invalid job). */
  sendRaw(body: string): Promise<void>;
  get(id: string): Promise<StatusItem | undefined>;
  bus: LocalEventBus;
  say(line: string): void;
  out(line: string): void;
  timeoutMs?: number;
}

/** A mixed batch: plain GSM7, UCS-2 with emoji, 3-part messages, undeliverable numbers, one invalid job and one duplicate id. */
export function demoBatch(count: number, run = randomUUID().slice(0, 8)): { jobs: SmsInput[]; expected: Record<string, MessageStatus> } {
  const jobs: SmsInput[] = [];
  const expected: Record<string, MessageStatus> = {};
  const long = 'This is a long message that needs three SMS parts. '.repeat(8).slice(0, 400);
  for (let i = 1; i <= count; i++) {
    const id = `demo-${run}-${i}`;
    // The simulator answers UNDELIV for numbers ending in 0000.
    const to = i % 25 === 0 ? `+65900${i}0000` : `+6591${String(100000 + i)}`;
    let text = `Hello from smpp-connector #${i}`;
    if (i % 10 === 3) text = `Olá 👋 mensagem número ${i}`;
    if (i % 10 === 7) text = long;
    jobs.push({ id, to, from: '8x8', text, metadata: { demo: run } });
    expected[id] = to.endsWith('0000') ? 'UNDELIVERED' : 'DELIVERED';
  }
  jobs.push({ id: `demo-${run}-invalid`, to: 'not-a-number', from: '8x8', text: 'x' });
  expected[`demo-${run}-invalid`] = 'INVALID';
  const first = jobs[0];
  if (first) jobs.push({ ...first });
  return { jobs, expected };
}

function bar(done: number, total: number, width = 30): string {
  const filled = Math.round((done / Math.max(1, total)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}

/**
 * Sends the batch, follows it through the stream events the downstream Lambda
 * publishes, and prints the final statuses and latencies. Returns whether every
 * job ended as expected.
 */
export async function runDemo(d: DemoDeps): Promise<boolean> {
  const { jobs, expected } = demoBatch(d.count);
  const ids = Object.keys(expected);
  const final = new Map<string, MessageStatus>();
  const tty = process.stderr.isTTY;
  let lastPrinted = -1;
  const progress = () => {
    if (tty) process.stderr.write(`\r${bar(final.size, ids.length)} final`);
    else if (final.size !== lastPrinted && (final.size === ids.length || final.size % 10 === 0)) {
      lastPrinted = final.size;
      d.say(`${bar(final.size, ids.length)} final`);
    }
  };
  const done = new Promise<void>((resolve) => {
    const onEvent = (e: PutEventsRequestEntry) => {
      if (e.DetailType !== 'SmsStatusChanged') return;
      const detail = JSON.parse(e.Detail ?? '{}') as { id: string; status: MessageStatus };
      if (!(detail.id in expected) || !isFinal(detail.status)) return;
      final.set(detail.id, detail.status);
      progress();
      if (final.size === ids.length) {
        d.bus.off('event', onEvent);
        resolve();
      }
    };
    d.bus.on('event', onEvent);
  });

  d.say(`demo: sending ${jobs.length} jobs (${d.count} valid, 1 invalid, 1 duplicate id) …`);
  const sentAt = Date.now();
  await d.send(jobs.filter((j) => j.to !== 'not-a-number'));
  for (const j of jobs.filter((j) => j.to === 'not-a-number')) await d.sendRaw(JSON.stringify(j));
  const timeoutMs = d.timeoutMs ?? 120_000;
  const timedOut = await within(done.then(() => false), timeoutMs, true);
  if (tty) process.stderr.write('\n');

  const items = await Promise.all(ids.map((id) => d.get(id)));
  const counts = new Map<string, number>();
  const toSubmitted: number[] = [];
  const toDelivered: number[] = [];
  let mismatches = 0;
  items.forEach((item, i) => {
    const status = item?.status ?? 'MISSING';
    counts.set(status, (counts.get(status) ?? 0) + 1);
    if (status !== expected[ids[i] ?? '']) mismatches += 1;
    const at = (s: MessageStatus) => item?.history.find((h) => h.status === s)?.at;
    const submitted = at('SUBMITTED');
    const delivered = at('DELIVERED');
    if (submitted) toSubmitted.push(Date.parse(submitted) - sentAt);
    if (delivered) toDelivered.push(Date.parse(delivered) - sentAt);
  });
  toSubmitted.sort((a, b) => a - b);
  toDelivered.sort((a, b) => a - b);

  d.out('');
  d.out('| final status | jobs |');
  d.out('|---|---|');
  for (const [status, n] of [...counts].sort()) d.out(`| ${status} | ${n} |`);
  d.out('');
  d.out('| latency from SQS send | p50 | p95 | p99 | max |');
  d.out('|---|---|---|---|---|');
  for (const [name, list] of [['to SUBMITTED', toSubmitted], ['to DELIVERED', toDelivered]] as const) {
    d.out(`| ${name} | ${percentile(list, 50)} ms | ${percentile(list, 95)} ms | ${percentile(list, 99)} ms | ${list.at(-1) ?? 0} ms |`);
  }
  d.out('');
  d.out(`stream events published by the downstream Lambda: ${d.bus.events.length}`);
  const ok = !timedOut && mismatches === 0;
  d.say(ok ? 'demo: every job ended as expected (the duplicate id was sent once).' : `demo: ${mismatches} job(s) did not end as expected${timedOut ? ' (timed out)' : ''}`);
  return ok;
}
