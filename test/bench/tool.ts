/**
 * The operator tool at scale (issue 14, item 4): `npm run smpp -- send --count N --wait-receipts`,
 * run as the operator runs it (the real CLI in a process of its own, holding its bind slots in
 * DynamoDB Local), against an unthrottled SMSC, beside the bare windowed loop on the `smpp`
 * package (tool-bare-child.ts, also a fresh process per run) with the same window and binds
 * (1 transmitter + 1 receiver) and the same submit_sm bytes. Two SMSCs, each in its own process
 * (tool-smsc-child.ts): the project's simulator and the independent one written from the
 * specification. Rounds alternate which of the two goes first. Both are timed by the SMSC, the
 * same way: submits per second from the first submit_sm read to the last submit_sm_resp written,
 * and the receipt lag from then to the last deliver_sm_resp read.
 *
 * BENCH_TOOL_CLI runs another checkout's smpp-cli.ts instead of this one (a before/after on the
 * same bench); BENCH_TOOL_NODE_ARGS adds node flags to the tool's process (e.g. --cpu-prof).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createMessagesTable } from '../../service/src/aws/table.js';
import { startDynamoDbLocal } from '../../service/src/local/dynamodb-local.js';
import type { SendReport } from '../../service/src/tools/smpp-tool.js';
import { startChild, type Child } from './children.js';
import type { BareRunRequest, BareRunResult } from './tool-bare-child.js';
import type { ToolSmscKind, ToolSmscWindow } from './tool-smsc-child.js';
import { SIM_ACCOUNT } from './sim-process.js';
import { round } from './stats.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TABLE = 'bench-tool';
/** The message every run sends (one GSM-7 part), to one destination: what an operator's check sends. */
const TEXT = 'Your verification code is 482913. It expires in 10 minutes.';
const TO = '+6591234567';
/** Far above anything loopback reaches, and within what MPS_PER_BIND accepts: the pacer never waits. */
const UNPACED_MPS = 100_000;
const RECEIPT_TIMEOUT_MS = 60_000;

export interface ToolSizes {
  count: number;
  windows: number[];
  /** Pairs (tool, bare) per SMSC and window; the order within a pair alternates. */
  rounds: number;
  smscs: ToolSmscKind[];
}

export const TOOL_SIZES: Readonly<Record<'quick' | 'full', ToolSizes>> = {
  quick: { count: 5_000, windows: [10], rounds: 2, smscs: ['independent', 'simulator'] },
  full: { count: 20_000, windows: [10, 100], rounds: 4, smscs: ['independent', 'simulator'] },
};

export type ToolImpl = 'tool' | 'bare';

export interface ToolMeasure {
  impl: ToolImpl;
  smsc: ToolSmscKind;
  window: number;
  round: number;
  count: number;
  /** Submits answered per second, timed by the SMSC. */
  perSecond: number | null;
  /** Last submit_sm_resp written to last deliver_sm_resp read, ms, timed by the SMSC. */
  receiptLagMs: number | null;
  submits: number;
  receiptsAcked: number;
  /** CPU of the SMSC process per submit (its receipts included), µs: shows when the SMSC is the limit. */
  smscCpuMicrosPerSubmit: number | null;
  /** The client's own figure: the tool's achievedRate, the bare loop's count over its own elapsed time. */
  ownPerSecond: number | null;
  /** The tool's report (its last stdout line); absent for the bare loop. */
  report?: SendReport;
}

export interface ToolRow {
  smsc: ToolSmscKind;
  window: number;
  count: number;
  /** Tool ÷ bare of each round, in round order. */
  ratios: (number | null)[];
  ratio: { median: number | null; min: number | null; max: number | null };
  perSecond: { tool: number | null; bare: number | null };
  receiptLagMs: { tool: (number | null)[]; bare: (number | null)[] };
}

export interface ToolResult {
  sizes: ToolSizes;
  rows: ToolRow[];
  all: ToolMeasure[];
}

export async function runTool(profile: 'quick' | 'full', log: (line: string) => void): Promise<ToolResult> {
  const sizes = TOOL_SIZES[profile];
  const ddb = await startDynamoDbLocal();
  const awsEnv = { AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };
  const all: ToolMeasure[] = [];
  try {
    const admin = new DynamoDBClient({ endpoint: ddb.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    await createMessagesTable(admin, TABLE);
    admin.destroy();
    for (const smsc of sizes.smscs) {
      const child = await startChild('test/bench/tool-smsc-child.ts');
      try {
        const { port } = await child.call<{ port: number }>('start', { kind: smsc });
        // Unmeasured: the SMSC's first run would otherwise be slower for whichever client comes first.
        await measure(child, { impl: 'bare', smsc, window: sizes.windows[0] ?? 10, round: -1, count: sizes.count, port, awsEnv });
        for (const window of sizes.windows) {
          for (let r = 0; r < sizes.rounds; r++) {
            const pair: ToolImpl[] = r % 2 === 0 ? ['tool', 'bare'] : ['bare', 'tool'];
            for (const impl of pair) {
              const m = await measure(child, { impl, smsc, window, round: r, count: sizes.count, port, awsEnv });
              log(`tool ${smsc} window ${window} round ${r + 1} ${impl}: ${m.perSecond}/s, receipts ${m.receiptsAcked}/${m.count} ${m.receiptLagMs} ms after the last response`);
              all.push(m);
            }
          }
        }
      } finally {
        await child.call('stop', undefined, 10_000).catch(() => undefined);
        await child.stop();
      }
    }
  } finally {
    await ddb.stop();
  }
  return { sizes, rows: tabulate(sizes, all), all };
}

interface RunSpec {
  impl: ToolImpl;
  smsc: ToolSmscKind;
  window: number;
  round: number;
  count: number;
  port: number;
  awsEnv: Record<string, string>;
}

async function measure(smsc: Child, spec: RunSpec): Promise<ToolMeasure> {
  await smsc.call('reset');
  let own: { perSecond: number | null; report?: SendReport };
  if (spec.impl === 'tool') {
    const report = await runCli(spec);
    own = { perSecond: report.achievedRate, report };
  } else {
    const bare = await startChild('test/bench/tool-bare-child.ts');
    try {
      const r = await bare.call<BareRunResult>('run', { port: spec.port, window: spec.window, count: spec.count, receiptTimeoutMs: RECEIPT_TIMEOUT_MS } satisfies BareRunRequest, RECEIPT_TIMEOUT_MS + 60_000);
      if (r.accepted !== spec.count) throw new Error(`bare loop: ${spec.count - r.accepted} submits not accepted`);
      own = { perSecond: round((r.accepted * 1000) / r.elapsedMs, 2) };
    } finally {
      await bare.stop();
    }
  }
  const w = await smsc.call<ToolSmscWindow>('window');
  return {
    impl: spec.impl,
    smsc: spec.smsc,
    window: spec.window,
    round: spec.round,
    count: spec.count,
    perSecond: round((w.submits * 1000) / (w.lastSubmitRespAt - w.firstSubmitAt)),
    receiptLagMs: round(w.lastReceiptAckAt - w.lastSubmitRespAt),
    submits: w.submits,
    receiptsAcked: w.receiptsAcked,
    smscCpuMicrosPerSubmit: round(w.cpuMicros / w.submits, 1),
    ownPerSecond: own.perSecond,
    ...(own.report && { report: own.report }),
  };
}

/** `npm run smpp -- send … --wait-receipts` (tsx is node with its loader: the same run in one process). */
function runCli(spec: RunSpec): Promise<SendReport> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...spec.awsEnv,
    NODE_NO_WARNINGS: '1',
    SMPP_HOST: '127.0.0.1',
    SMPP_PORT: String(spec.port),
    SMPP_TLS: 'false',
    SMPP_SYSTEM_ID: SIM_ACCOUNT.systemId,
    SMPP_PASSWORD: SIM_ACCOUNT.password,
    TX_BINDS: '1',
    RX_BINDS: '1',
    TRX_BINDS: '0',
    MPS_PER_BIND: String(UNPACED_MPS),
    WINDOW_SIZE: String(spec.window),
    ACCOUNT_BINDS: '4',
    // The queue is not the tool's; set so the tool does not look for a running local stack.
    OUTBOUND_QUEUE_URL: 'http://unused.invalid',
    MESSAGES_TABLE: TABLE,
  };
  delete env['SMPP_CREDENTIALS_SECRET_ID'];
  delete env['LOG_LEVEL'];
  const cli = process.env['BENCH_TOOL_CLI'] ?? 'service/src/tools/smpp-cli.ts';
  const args = ['--import', 'tsx', cli, 'send', '--to', TO, '--from', '8x8', '--text', TEXT];
  args.push('--count', String(spec.count), '--wait-receipts', '--receipt-timeout-ms', String(RECEIPT_TIMEOUT_MS));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(process.env['BENCH_TOOL_NODE_ARGS']?.split(' ').filter(Boolean) ?? []), ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), RECEIPT_TIMEOUT_MS + 60_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        const report = JSON.parse(last) as SendReport;
        if (report.accepted !== spec.count) throw new Error(`${spec.count - report.accepted} submits not accepted`);
        resolve(report);
      } catch (err) {
        reject(new Error(`smpp send exited ${code}: ${(err as Error).message}\n${stdout.slice(-2000)}\n${stderr}`));
      }
    });
  });
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? null) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

function tabulate(sizes: ToolSizes, all: ToolMeasure[]): ToolRow[] {
  const rows: ToolRow[] = [];
  for (const smsc of sizes.smscs) {
    for (const window of sizes.windows) {
      const runs = all.filter((m) => m.smsc === smsc && m.window === window);
      const of = (impl: ToolImpl) => runs.filter((m) => m.impl === impl).sort((a, b) => a.round - b.round);
      const tool = of('tool');
      const bare = of('bare');
      const ratios = tool.map((t, i) => {
        const b = bare[i];
        return t.perSecond && b?.perSecond ? round(t.perSecond / b.perSecond, 3) : null;
      });
      const valid = ratios.filter((x): x is number => x !== null);
      const rate = (ms: ToolMeasure[]) => median(ms.flatMap((m) => (m.perSecond === null ? [] : [m.perSecond])));
      rows.push({
        smsc,
        window,
        count: sizes.count,
        ratios,
        ratio: { median: round(median(valid) ?? NaN, 3), min: valid.length ? Math.min(...valid) : null, max: valid.length ? Math.max(...valid) : null },
        perSecond: { tool: round(rate(tool) ?? NaN), bare: round(rate(bare) ?? NaN) },
        receiptLagMs: { tool: tool.map((m) => m.receiptLagMs), bare: bare.map((m) => m.receiptLagMs) },
      });
    }
  }
  return rows;
}

const n = (v: number | null | undefined, digits = 0): string =>
  v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function toolMarkdown(r: ToolResult): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const head = ['SMSC', 'window', 'messages', 'tool /s', 'bare /s', 'tool ÷ bare: median (range)', 'receipt lag ms: tool', 'receipt lag ms: bare'];
  const lags = (xs: (number | null)[]) => xs.map((x) => n(x)).join(' / ');
  return [
    '## Operator tool at scale (`npm run smpp -- send --count N --wait-receipts`)',
    '',
    line(head),
    line(head.map(() => '---')),
    ...r.rows.map((row) =>
      line([
        row.smsc,
        n(row.window),
        n(row.count),
        n(row.perSecond.tool),
        n(row.perSecond.bare),
        `${n(row.ratio.median, 3)} (${n(row.ratio.min, 3)}–${n(row.ratio.max, 3)})`,
        lags(row.receiptLagMs.tool),
        lags(row.receiptLagMs.bare),
      ]),
    ),
    '',
    `1 transmitter + 1 receiver each, ${r.sizes.rounds} rounds, alternating which goes first. The tool is the real CLI in its own process (bind slots leased in DynamoDB Local, MPS_PER_BIND ${UNPACED_MPS.toLocaleString('en-US')}); the bare loop is a windowed loop on the \`smpp\` package in a fresh process, with a bare receiver. Both timed by the SMSC: submits answered per second from the first submit_sm read to the last submit_sm_resp written; receipt lag from then to the last deliver_sm_resp read (per round).`,
  ].join('\n');
}
