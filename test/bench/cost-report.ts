/** The markdown of the cost scenario (report.ts holds the others'). */
import type { CostResult, CostRun } from './cost.js';
import { COMPONENTS, type Priced } from './cost-price.js';

const n = (v: number | null | undefined, digits = 0): string =>
  v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const usd = (v: number): string => (v >= 0.995 ? n(v, 2) : v >= 0.0005 ? n(v, 3) : v > 0 ? '<0.001' : '0');

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

const SHORT: Record<string, string> = {
  BatchExecuteStatement: 'BatchExec',
  TransactWriteItems: 'Transact',
  UpdateItem: 'Update',
  PutItem: 'Put',
  GetItem: 'Get',
  BatchGetItem: 'BatchGet',
  DeleteItem: 'Delete',
  ReceiveMessage: 'Receive',
  DeleteMessageBatch: 'DeleteBatch',
  ChangeMessageVisibilityBatch: 'VisibilityBatch',
  ChangeMessageVisibility: 'Visibility',
};
const byCommand = (counts: Record<string, number>): string =>
  Object.entries(counts)
    .filter(([, v]) => v >= 0.0005)
    .sort((a, b) => b[1] - a[1])
    .map(([c, v]) => `${SHORT[c] ?? c} ${n(v, 3)}`)
    .join(' · ') || '–';

const ratio = (after: number | null | undefined, before: number | null | undefined): number | null =>
  after === null || after === undefined || before === null || before === undefined || !Number.isFinite(after) || !Number.isFinite(before) || before === 0 ? null : after / before;
const sum = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);
const overloaded = (r: CostRun): boolean => r.receiptRedeliveries > 0 || r.matching.unknownWrites > 0 || r.aborted !== undefined;

/** USD per million of what issue 14 asks to cut: DynamoDB (writes, index writes, reads, storage) and EventBridge. */
export function dynamoDbAndEventBridge(p: Priced): number {
  const u = p.usdPerMillion;
  return u.dynamodbWrites + u.dynamodbIndexWrites + u.dynamodbReads + u.dynamodbStorage + u.eventBridge;
}

/** The publisher's two components when only final statuses are published. */
const publisherFinal = (r: CostRun): number => r.publishFinal.priced.usdPerMillion.eventBridge + r.publishFinal.priced.usdPerMillion.lambda;

export interface ComparisonRow {
  label: string;
  before: string;
  after: string;
  /** After ÷ before, when both are figures and before is not 0. */
  ratio: number | null;
}

/** One scenario run before and after: each component, the DynamoDB + EventBridge share, write units, calls and CPU. */
export function comparisonRows(before: CostRun, after: CostRun): ComparisonRow[] {
  const share = (v: number, p: Priced): string => `${usd(v)} (${n((v / p.total) * 100, 0)} %)`;
  const ddbEb = { before: dynamoDbAndEventBridge(before.priced), after: dynamoDbAndEventBridge(after.priced), afterFinal: dynamoDbAndEventBridge(after.publishFinal.priced) };
  const wru = (r: CostRun): number => r.units.tableWriteUnits + r.units.indexWriteUnits;
  return [
    ...COMPONENTS.map((k) => ({ label: k.label, before: usd(before.priced.usdPerMillion[k.key]), after: usd(after.priced.usdPerMillion[k.key]), ratio: ratio(after.priced.usdPerMillion[k.key], before.priced.usdPerMillion[k.key]) })),
    { label: '**total**', before: `**${usd(before.priced.total)}**`, after: `**${usd(after.priced.total)}**`, ratio: ratio(after.priced.total, before.priced.total) },
    { label: '**DynamoDB (writes + index writes + reads + storage) + EventBridge** (share of total)', before: share(ddbEb.before, before.priced), after: share(ddbEb.after, after.priced), ratio: ratio(ddbEb.after, ddbEb.before) },
    {
      label: 'the same, after with publishStatuses = final statuses (before: every status)',
      before: share(ddbEb.before, before.priced),
      after: share(ddbEb.afterFinal, after.publishFinal.priced),
      ratio: ratio(ddbEb.afterFinal, ddbEb.before),
    },
    { label: 'total, after with publishStatuses = final statuses (before: every status)', before: usd(before.priced.total), after: usd(after.publishFinal.priced.total), ratio: ratio(after.publishFinal.priced.total, before.priced.total) },
    {
      label: 'write units per message: table + indexes',
      before: `${n(before.units.tableWriteUnits, 2)} + ${n(before.units.indexWriteUnits, 2)}`,
      after: `${n(after.units.tableWriteUnits, 2)} + ${n(after.units.indexWriteUnits, 2)}`,
      ratio: ratio(wru(after), wru(before)),
    },
    { label: 'DynamoDB calls per message (ratio: all calls)', before: byCommand(before.detail.dynamodbCalls), after: byCommand(after.detail.dynamodbCalls), ratio: ratio(sum(after.detail.dynamodbCalls), sum(before.detail.dynamodbCalls)) },
    { label: 'CPU ms per job, less idle', before: n(before.cpu.msPerJob, 2), after: n(after.cpu.msPerJob, 2), ratio: ratio(after.cpu.msPerJob, before.cpu.msPerJob) },
  ];
}

/** Per scenario, its `before` run beside this checkout's (matched by key). */
export function comparisonMarkdown(c: CostResult): string {
  if (!c.before || !c.beforeRev) return '';
  const rev = c.beforeRev;
  const tables = c.runs.flatMap((after) => {
    const before = c.before?.find((b) => b.spec.key === after.spec.key);
    if (!before) return [];
    const rows = comparisonRows(before, after).map((r) => [r.label, r.before, r.after, r.ratio === null ? '–' : n(r.ratio, 3)]);
    const flagged = [before, after].filter(overloaded).map((r) => (r === before ? 'before' : 'after'));
    return [
      table([`${after.spec.label}: USD per million messages`, `before (\`${rev.rev}\`)`, 'after (this checkout)', 'after ÷ before'], rows),
      ...(flagged.length > 0 ? [`Overloaded here (see above): ${flagged.join(' and ')}.`] : []),
    ];
  });
  return [
    `### Before/after: \`${rev.rev}\` (${rev.commit.slice(0, 9)}) → this checkout, run alternately in this invocation`,
    '',
    'Each scenario ran first with the service of the older commit (tasks forked from a worktree of it, this checkout\'s bench code), then with this checkout\'s, each on a fresh DynamoDB Local; stand-ins, producer and stream analysis are this checkout\'s for both. Both priced at every status published unless the row says otherwise.',
    '',
    tables.join('\n\n'),
  ].join('\n');
}

export function costMarkdown(c: CostResult): string {
  const runs = c.runs;
  const head = (first: string): string[] => [first, ...runs.map((r) => r.spec.label)];
  const row = (label: string, cell: (r: CostRun) => string): string[] => [label, ...runs.map(cell)];
  const d = c.deployment;
  const money = table(head('USD per million messages'), [
    ...COMPONENTS.map((k) => row(k.label, (r) => usd(r.priced.usdPerMillion[k.key]))),
    row('**total**', (r) => `**${usd(r.priced.total)}**`),
    row('of which grows with traffic', (r) => usd(r.priced.variable)),
    row('EventBridge + Lambda, publishStatuses = final statuses', (r) => usd(publisherFinal(r))),
    row('total, publishStatuses = final statuses', (r) => usd(r.publishFinal.priced.total)),
  ]);
  const counts = table(head('per message'), [
    row('SMS parts', (r) => n(r.units.parts, 0)),
    row('DynamoDB write units: table + indexes', (r) => `${n(r.units.tableWriteUnits, 2)} + ${n(r.units.indexWriteUnits, 2)}`),
    row('index write units by index', (r) => byCommand(r.detail.indexWriteUnits)),
    row('DynamoDB read units', (r) => n(r.units.readUnits, 3)),
    row('DynamoDB calls', (r) => byCommand(r.detail.dynamodbCalls)),
    row('writes refused by their condition; of unknown outcome (timed out, or refused on a retry)', (r) => `${n(r.detail.refusedWrites, 3)}; ${n(r.matching.unknownWrites / r.spec.jobs, 3)}`),
    row('SQS requests: service + producer', (r) => `${byCommand(r.detail.sqsRequests.service)} + ${n(r.detail.sqsRequests.producer, 2)}`),
    row('stream records (to the publisher)', (r) => `${n(r.detail.streamRecords, 2)} (${n(r.units.lambdaRecords, 2)})`),
    row('Lambda invocations at full rate', (r) => n(r.priced.lambda.invocationsPerMessage, 4)),
    row('EventBridge events (bytes)', (r) => `${n(r.units.events, 2)} (${n(r.units.eventBytes, 0)})`),
    row('SMPP link bytes, TLS (records)', (r) => `${n(r.units.smppBytes, 0)} (${n(r.units.smppTlsRecords, 1)})`),
    row('SQS bytes over HTTP', (r) => n(r.units.sqsBytes, 0)),
    row('log lines (bytes)', (r) => `${n(r.units.logLines, 2)} (${n(r.units.logBytes, 0)})`),
    row('bytes stored: items + index entries', (r) => `${n(r.units.storageTableBytes, 0)} + ${n(r.units.storageIndexBytes, 0)}`),
    row('**CPU ms per job**, less idle (idle CPU ms/s per task)', (r) => `**${n(r.cpu.msPerJob, 2)}** (${n(r.cpu.idleMsPerTaskSecond, 1)})`),
    row('jobs done; receipts resent; parts/s ÷ allowed', (r) => `${n(r.done)}/${n(r.spec.jobs)}${r.aborted ? ` (cut short: ${r.aborted})` : ''}; ${n(r.receiptRedeliveries)}; ${n(r.bindUse, 3)}`),
  ]);
  const maxSteps = Math.max(...runs.map((r) => r.messageItem.steps.length));
  const sizes = table(
    ['MESSAGE item bytes after write n: status, median (min–max)', ...Array.from({ length: maxSteps }, (_, i) => `write ${i + 1}`), 'final: min / median / max'],
    runs.map((r) => [
      r.spec.label,
      ...Array.from({ length: maxSteps }, (_, i) => {
        const s = r.messageItem.steps[i];
        return s ? `${s.status} ${n(s.bytes.median)} (${n(s.bytes.min)}–${n(s.bytes.max)})${s.messages < r.spec.jobs ? `, ${n(s.messages)} msgs` : ''}` : '';
      }),
      `${n(r.messageItem.final.min)} / ${n(r.messageItem.final.median)} / ${n(r.messageItem.final.max)}`,
    ]),
  );
  const checks = new Map<string, { reported: number; ours: number; calls: number }>();
  for (const r of runs) {
    for (const [cmd, x] of Object.entries(r.crossCheck)) {
      const t = checks.get(cmd) ?? { reported: 0, ours: 0, calls: 0 };
      checks.set(cmd, { reported: t.reported + x.reported, ours: t.ours + x.ours, calls: t.calls + x.calls });
    }
  }
  // DynamoDB Local bills a transaction as a whole (5 small items: 4 units), not 2 units per item: no check there.
  const crossCheck = [...checks]
    .filter(([cmd]) => cmd !== 'TransactWriteItems')
    .map(([cmd, x]) => `${cmd} ${n(x.ours / x.reported, 3)} (${n(x.calls)} calls)`)
    .join(', ');
  const unmatched = runs.reduce((s, r) => s + r.matching.unmatchedWrites + r.matching.unmatchedRecords, 0);
  const flagged = [...runs.map((r) => ({ r, side: '' })), ...(c.before ?? []).map((r) => ({ r, side: ' (before)' }))].filter((x) => overloaded(x.r)).map((x) => `${x.r.spec.label}${x.side}`);
  const a = c.assumptions;
  return [
    `## 5. Cost per million messages (${d.tasks} tasks × (${d.txBindsPerTask} TX + ${d.rxBindsPerTask} RX) at ${d.mpsPerBind} msg/s per bind; ${c.prices.region}, ${c.prices.note})${c.beforeRev ? `: this checkout's runs (before/after \`${c.beforeRev.rev}\` below)` : ''}`,
    '',
    money,
    '',
    counts,
    '',
    sizes,
    '',
    'Write and read units: computed by DynamoDB\'s rules from the requests and the table stream\'s before/after images (transactions 2×, index writes included, refused writes billed). ' +
      `Ours ÷ DynamoDB Local's own ConsumedCapacity, for the calls it reports: ${crossCheck || 'none reported'} (it reports nothing for PartiQL batches or refused writes, and bills a transaction as a whole, not 2 units per item). ` +
      `Writes and stream records that did not pair up: ${n(unmatched)}.`,
    ...(flagged.length > 0
      ? [
          `**Overloaded here:** ${flagged.join('; ')}: receipts were resent (refused by a task, or not answered in time), writes had an unknown outcome (timed out, or retried by the SDK), or the run was cut short, because the local stand-ins could not keep up; their DynamoDB and SQS figures include the retries and races that caused. Compare such runs with care.`,
        ]
      : []),
    `"At full rate": the fixed hourly costs and the Lambda batching are for the deployment sending ${d.tasks * d.txBindsPerTask * d.mpsPerBind} parts/s; at a lower rate the hourly rows grow in proportion. ` +
      `Assumed, not measured: ${a.streamShards} stream shards, ${a.putEventsMs} ms per PutEvents call + ${a.invocationBaseMs} ms per invocation, ` +
      `${a.packetHeaderBytes} header bytes × ${a.packetsPerRecord} packets per TLS record, items kept ${d.ttlDays} days (TTL). CPU: the tasks' processes on this machine over the measured window, less their idle rate measured just before it.`,
    ...(c.before ? ['', comparisonMarkdown(c)] : []),
  ].join('\n');
}
