import { Command } from 'commander';
import { getStatus, resolveTarget } from './client.js';

const program: Command = new Command('status')
  .description("Print a message's status record and its timeline")
  .argument('<id>', 'job id')
  .option('--table <name>', 'table (default: MESSAGES_TABLE, or the running local stack)')
  .option('--region <region>', 'AWS region (default: AWS_REGION)')
  .option('--json', 'print the raw record as JSON')
  .parse();

const [id] = program.args;
const o = program.opts<{ table?: string; region?: string; json?: boolean }>();
const target = resolveTarget({ ...(o.table && { tableName: o.table }), ...(o.region && { region: o.region }) });
if (!target.tableName) program.error('no table: pass --table, set MESSAGES_TABLE, or start the local stack with npm start');

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
    ...item.history.map((h) => `  ${h.at}  ${h.status}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
