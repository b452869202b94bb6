import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Command, Option } from 'commander';
import { SuppressionList, type SuppressionEntry } from '../aws/suppression.js';
import { ALL_SENDERS } from '../core/opt-out.js';
import { isValidAddress } from '../smpp/address.js';
import { resolveTarget } from './client.js';

/**
 * The suppression list for operators (README, Opt-out; docs/architecture.md §7.5). `add` and
 * `remove` write one item each; `list` scans the table (it reads every item: an operator's tool).
 */
const program: Command = new Command('optout')
  .description('List, add or remove numbers on the opt-out (suppression) list')
  .option('--table <name>', 'table (default: MESSAGES_TABLE, or the running local stack)')
  .option('--region <region>', 'AWS region (default: AWS_REGION)');

const senderOptions = (c: Command): Command =>
  c
    .addOption(new Option('--sender <sender>', 'the sender id, short code or number it concerns').conflicts('all'))
    .addOption(new Option('--all', 'every sender'));

program
  .command('list')
  .description('print the entries (opted out, unless --state says otherwise)')
  .option('--sender <sender>', 'only this sender (* for the every-sender entries)')
  .addOption(new Option('--state <state>', 'out, in or any').choices(['out', 'in', 'any']).default('out'))
  .option('--json', 'one JSON object per line')
  .action(async (o: { sender?: string; state: 'out' | 'in' | 'any'; json?: boolean }) => {
    const entries = await withList((list) => list.list({ ...(o.sender !== undefined && { sender: o.sender }), ...(o.state !== 'any' && { state: o.state }) }));
    if (o.json) for (const e of entries) process.stdout.write(`${JSON.stringify(e)}\n`);
    else {
      for (const e of entries) process.stdout.write(`${line(e)}\n`);
      process.stderr.write(`${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}\n`);
    }
  });

senderOptions(program.command('add').description('opt a number out').argument('<number>', 'the phone number, e.g. +6591234567')).action(
  async (number: string, o: { sender?: string; all?: boolean }) => {
    const sender = senderOf(number, o);
    const entry = await withList((list) => list.optOut(number, sender));
    process.stdout.write(`${line(entry)}\n`);
  },
);

senderOptions(program.command('remove').description('opt a number back in').argument('<number>', 'the phone number')).action(
  async (number: string, o: { sender?: string; all?: boolean }) => {
    const sender = senderOf(number, o);
    const entry = await withList((list) => list.optIn(number, sender));
    if (entry === undefined) {
      process.stderr.write(`${number} has no entry for ${sender === ALL_SENDERS ? 'every sender' : sender}\n`);
      process.exitCode = 1;
    } else process.stdout.write(`${line(entry)}\n`);
  },
);

function senderOf(number: string, o: { sender?: string; all?: boolean }): string {
  if (!/^\+?[0-9]{6,15}$/.test(number)) program.error(`${number} is not a phone number (+ and 6-15 digits)`);
  if (o.all) return ALL_SENDERS;
  if (o.sender === undefined) program.error('pass --sender <sender>, or --all for every sender');
  if (!isValidAddress(o.sender)) program.error(`${o.sender} is not a sender id, short code or number`);
  return o.sender;
}

async function withList<T>(use: (list: SuppressionList) => Promise<T>): Promise<T> {
  const g = program.opts<{ table?: string; region?: string }>();
  const target = resolveTarget({ ...(g.table && { tableName: g.table }), ...(g.region && { region: g.region }) });
  if (!target.tableName) program.error('no table: pass --table, set MESSAGES_TABLE, or start the local stack with npm start');
  const client = new DynamoDBClient({ region: target.region });
  try {
    return await use(new SuppressionList({ client, tableName: target.tableName }));
  } finally {
    client.destroy();
  }
}

function line(e: SuppressionEntry): string {
  const sender = e.sender === ALL_SENDERS ? '* (every sender)' : e.sender;
  return `${e.number}  ${e.state === 'out' ? 'OPTED OUT' : 'opted in '}  sender ${sender}  ${e.changedAt}  by ${e.source}${e.moId ? ` (${e.moId})` : ''}`;
}

await program.parseAsync();
