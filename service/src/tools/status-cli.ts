import { Command } from 'commander';
import { getStatus, listByRecipient, listMoByOriginator, resolveTarget } from './client.js';
import { jsonLines, messagesTable, mosTable, parseWhen } from './lookup-format.js';

const program: Command = new Command('status')
  .description("Print a message's status record and its timeline; or, with --to / --from, the messages sent to a number or the MOs received from one")
  .argument('[id]', 'job id')
  .option('--to <number>', 'list the messages sent to this number, newest first (with or without its +)')
  .option('--from <number>', 'list the MOs received from this number or sender, newest first')
  .option('--since <when>', 'with --to/--from: only since then: a duration back from now (7d, 24h, 30m) or an ISO-8601 date-time')
  .option('--until <when>', 'with --to/--from: only until then (same forms)')
  .option('--limit <n>', 'with --to/--from: at most this many (1-1000)', '50')
  .option('--table <name>', 'table (default: MESSAGES_TABLE, or the running local stack)')
  .option('--region <region>', 'AWS region (default: AWS_REGION)')
  .option('--json', 'print the raw record as JSON (with --to/--from: one JSON object per line)')
  .parse();

const [id] = program.args;
const o = program.opts<{ to?: string; from?: string; since?: string; until?: string; limit: string; table?: string; region?: string; json?: boolean }>();
const target = resolveTarget({ ...(o.table && { tableName: o.table }), ...(o.region && { region: o.region }) });
if (!target.tableName) program.error('no table: pass --table, set MESSAGES_TABLE, or start the local stack with npm start');

if (o.to !== undefined || o.from !== undefined) {
  if (id !== undefined || (o.to !== undefined && o.from !== undefined)) program.error('give one of: an id, --to <number>, --from <number>');
  const now = Date.now();
  const limit = Number(o.limit);
  let items: object[];
  try {
    const opts = {
      tableName: target.tableName,
      region: target.region,
      limit,
      ...(o.since !== undefined && { since: parseWhen('--since', o.since, now) }),
      ...(o.until !== undefined && { until: parseWhen('--until', o.until, now) }),
    };
    if (o.to !== undefined) {
      const found = await listByRecipient(o.to, opts);
      process.stdout.write(o.json ? jsonLines(found) : messagesTable(found));
      items = found;
    } else {
      const found = await listMoByOriginator(o.from ?? '', opts);
      process.stdout.write(o.json ? jsonLines(found) : mosTable(found));
      items = found;
    }
  } catch (err) {
    if (err instanceof RangeError) program.error(err.message);
    throw err;
  }
  const what = o.to !== undefined ? `message(s) to ${o.to}` : `MO(s) from ${o.from}`;
  const more = items.length === limit ? ' (the limit: there may be older ones; raise --limit or narrow --since/--until)' : '';
  process.stderr.write(`${items.length} ${what}${more}\n`);
  process.exit(0);
}
if (id === undefined) program.error('give a job id, --to <number> or --from <number>');

const item = await getStatus(id ?? '', { tableName: target.tableName, region: target.region });
if (!item) {
  process.stderr.write(`no record for ${id}\n`);
  process.exit(1);
}
if (o.json) {
  process.stdout.write(`${JSON.stringify(item, null, 2)}\n`);
} else {
  const lines = [
    `id:        ${item.id}`,
    `status:    ${item.status}${item.reason ? ` (${item.reason})` : ''}`,
    `to/from:   ${item.to ?? '-'} / ${item.from ?? '-'}`,
    `encoding:  ${item.encoding ?? '-'}, ${item.segments ?? '-'} part(s), ${item.attempts} attempt(s)`,
    ...(item.lastError ? [`lastError: ${item.lastError.name} — ${item.lastError.description}`] : []),
    'parts:',
    ...Object.entries(item.parts).map(([n, p]) => `  ${n}: ${p.status} smsc id ${p.smscMessageId ?? '-'}${p.stat ? ` stat ${p.stat}` : ''}${p.err ? ` err ${p.err}` : ''}`),
    'timeline:',
    ...item.history.map((h) => `  ${h.at}  ${h.status}${h.note ? ` (${h.note})` : ''}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
