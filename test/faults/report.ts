/** The matrix as a markdown table (for the terminal and the README) and as JSON (bench-results/). */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { SmscStats } from '../../service/src/sim/smsc-simulator.js';
import type { LedgerResult } from './ledger.js';
import type { Size } from './harness.js';

export interface FaultResult {
  name: string;
  title: string;
  ledger: LedgerResult;
  /** Seconds from the fault's end to the next accepted submit (worst episode); undefined when nothing was left to send. */
  recoverySeconds: number | undefined;
  longestGapSeconds: number;
  /** From the start of the fault run until every job was final (or the time limit). */
  wallSeconds: number;
  notes: string[];
  /** Every broken invariant or expectation; empty when the fault passed. */
  problems: string[];
  smsc: SmscStats;
}

export interface MatrixReport {
  startedAt: string;
  size: Size;
  node: string;
  cpus: number;
  totalWallSeconds: number;
  passed: boolean;
  results: FaultResult[];
}

const fmt = (n: number | undefined, digits = 1): string => (n === undefined ? '–' : n.toFixed(digits));

function states(r: LedgerResult): string {
  const entries = Object.entries(r.states).sort(([, a], [, b]) => b - a);
  return entries.length === 0 ? '–' : entries.map(([s, n]) => `${s} ${n}`).join(', ');
}

export function markdownTable(results: FaultResult[]): string {
  const header = [
    'Fault',
    'Jobs',
    'Final states',
    'Still queued',
    'Duplicates',
    'Unknown outcomes',
    'Parked receipts',
    'Lost',
    'Recovery (s)',
    'Longest gap (s)',
    'Wall (s)',
    'Result',
  ];
  const rows = results.map((r) => [
    r.title,
    String(r.ledger.jobs),
    states(r.ledger),
    r.ledger.dlq > 0 ? `${r.ledger.queued} (+${r.ledger.dlq} DLQ)` : String(r.ledger.queued),
    String(r.ledger.duplicates),
    String(r.ledger.unknownOutcomes),
    String(r.ledger.parked),
    String(r.ledger.lost),
    fmt(r.recoverySeconds),
    fmt(r.longestGapSeconds),
    fmt(r.wallSeconds),
    r.problems.length === 0 ? 'ok' : '**FAIL**',
  ]);
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** What the columns mean, printed under the table. */
export const LEGEND = [
  'Still queued: jobs not final but still on the queue or its DLQ. Lost: neither final nor queued (must be 0).',
  'Duplicates: copies the SMSC accepted beyond one per part; allowed only where a response was lost (unknown outcomes).',
  'Parked receipts: acknowledged receipts for those copies, stored under their SMSC id (no message carries it).',
  'Recovery: seconds from the end of the fault to the next submit the SMSC accepted and answered (worst episode; – when no fault end or nothing left to send).',
  'Longest gap: the longest pause between accepted submits in the run. Wall: fault start until every job was final.',
].join('\n');

/** Notes per fault, then every problem: what a reader needs to trust (or fix) the table. */
export function details(results: FaultResult[]): string {
  const out: string[] = [];
  for (const r of results) {
    const leftover = r.ledger.leftoverMessages > 0 ? [`${r.ledger.leftoverMessages} message(s) of final jobs still on the queue (a redelivery is recognised as done)`] : [];
    const notes = [...r.notes, ...leftover];
    if (notes.length > 0) out.push(`- ${r.name}: ${notes.join('; ')}`);
  }
  const failing = results.filter((r) => r.problems.length > 0);
  if (failing.length > 0) {
    out.push('', 'Problems:');
    for (const r of failing) for (const p of r.problems) out.push(`- ${r.name}: ${p}`);
  }
  return out.join('\n');
}

/** Writes `bench-results/faults-<date>.json` (the directory is git-ignored); returns its path. */
export async function writeJson(report: MatrixReport): Promise<string> {
  const dir = fileURLToPath(new URL('../../bench-results/', import.meta.url));
  await mkdir(dir, { recursive: true });
  const stamp = report.startedAt.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  const path = `${dir}faults-${stamp}.json`;
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}

export function environmentInfo(): { node: string; cpus: number } {
  return { node: process.version, cpus: cpus().length };
}
