/** The markdown the bench prints (and the README's Performance section reuses): one table per scenario, then the targets. */
import type { E2eResult } from './e2e.js';
import type { EngineRow } from './engine.js';
import type { RateRun } from './rate.js';
import type { SoakResult } from './soak.js';

export interface BenchHeader {
  date: string;
  profile: string;
  cpu: string;
  cores: number;
  node: string;
  loadAverage: number[];
  commit: string | undefined;
}

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean | null;
}

const n = (v: number | null | undefined, digits = 0): string =>
  v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

export function headerMarkdown(h: BenchHeader): string {
  return [
    `# smpp-connector bench (${h.profile})`,
    '',
    `${h.date} · ${h.cpu} · ${h.cores} cores · Node ${h.node} · load average at start ${h.loadAverage.map((l) => l.toFixed(2)).join(' / ')}${h.commit ? ` · commit ${h.commit.slice(0, 10)}` : ''}`,
  ].join('\n');
}

export function rateMarkdown(runs: RateRun[]): string {
  return [
    '## 1. Rate fidelity (sliding 1-s limit per bind, 100 ms response delay)',
    '',
    table(
      ['MPS / bind', 'TX binds', 'window', 'allowed /s', 'achieved /s', 'achieved ÷ allowed', 'throttled', 'not accepted', 'latency p50 / p99 ms', 'longest stall ms: SMSC / client'],
      runs.map((r) => [
        n(r.mpsPerBind),
        n(r.binds),
        n(r.window),
        n(r.allowedPerSecond),
        n(r.achievedPerSecond, 1),
        n(r.ratio, 4),
        n(r.throttled),
        n(r.notAccepted),
        `${n(r.latencyMs.p50)} / ${n(r.latencyMs.p99)}`,
        `${n(r.loopDelayMaxMs.smsc, 1)} / ${n(r.loopDelayMaxMs.client, 1)}`,
      ]),
    ),
    '',
    'Window by the rule window ≥ MPS × round trip × 1.5, at least 10. Achieved: acceptances at the SMSC after the first, over the time from the first to the last.',
    "Longest stall: the longest event-loop delay of each process during the run. The SMSC stamps arrivals when its loop reads them; a stall longer than the pacer's 8 ms margin bunches submits that left evenly paced, and a strict window then throttles about MPS × (stall − margin) / 1000 of them.",
  ].join('\n');
}

export function engineMarkdown(rows: EngineRow[]): string {
  return [
    '## 2. Engine capacity (unthrottled simulator in its own process, no delay)',
    '',
    table(
      ['binds', 'window', 'ours /s', 'ours µs/submit', 'bare windowed /s', 'bare µs/submit', 'stop-and-wait /s', 'stop-and-wait µs/submit', 'ours ÷ bare windowed', 'ours ÷ stop-and-wait', 'SMSC µs/submit (ours)'],
      rows.map((r) => [
        n(r.binds),
        n(r.window),
        n(r.ours.perSecond),
        n(r.ours.cpuMicrosPerSubmit, 1),
        n(r.bareWindowed.perSecond),
        n(r.bareWindowed.cpuMicrosPerSubmit, 1),
        n(r.stopAndWait.perSecond),
        n(r.stopAndWait.cpuMicrosPerSubmit, 1),
        n(r.oursOverBareWindowed, 2),
        n(r.oursOverStopAndWait, 2),
        n(r.ours.simCpuMicrosPerSubmit, 1),
      ]),
    ),
    '',
    'µs/submit: CPU (user + system) of the connector process per submit. Bare windowed at window 1 is stop-and-wait. Best of the interleaved repeats.',
  ].join('\n');
}

export function e2eMarkdown(e: E2eResult): string {
  const pct = (p: { p50: number | null; p95: number | null; p99: number | null }): string => `${n(p.p50)} / ${n(p.p95)} / ${n(p.p99)}`;
  const known = ['ReceiveMessage', 'DeleteMessageBatch', 'ChangeMessageVisibilityBatch', 'BatchExecuteStatement', 'TransactWriteItems', 'UpdateItem', 'GetItem', 'PutItem'];
  const seen = new Set(e.runs.flatMap((r) => Object.keys(r.callsPerJob.byCommand)));
  const commands = [...known.filter((c) => seen.has(c)), ...[...seen].filter((c) => !known.includes(c)).sort()];
  const parts = [
    '## 3. End to end (fauxqs + DynamoDB Local + simulator + service)',
    '',
    table(
      ['run (MPS_PER_BIND)', 'jobs (parts)', 'delivered', 'jobs /s', 'parts /s', 'parts/s ÷ (TX × MPS_PER_BIND)', 'send→SUBMITTED p50/p95/p99 ms', 'send→DELIVERED p50/p95/p99 ms', 'claim→DELIVERED p50/p95/p99 ms', 'AWS calls / job (SQS + DynamoDB)', 'CPU µs / job', 'RSS before → peak MB', 'receipts resent', 'throttled'],
      e.runs.map((r) => [
        `${r.spec.name} (${r.spec.mpsPerBind})`,
        `${n(r.spec.jobs)} (${n(r.parts)})`,
        r.aborted ? `${n(r.delivered)} (cut short: ${r.aborted})` : n(r.delivered),
        n(r.jobsPerSecond, 1),
        n(r.partsPerSecond, 1),
        n(r.bindUse, 3),
        pct(r.latencyMs.sendToSubmitted),
        pct(r.latencyMs.sendToDelivered),
        pct(r.latencyMs.claimToDelivered),
        `${n(r.callsPerJob.service, 2)} (${n(r.callsPerJob.serviceSqs, 2)} + ${n(r.callsPerJob.serviceDynamodb, 2)})`,
        n(r.cpuMicrosPerJob),
        `${n(r.rssBeforeMb)} → ${n(r.peakRssMb)}`,
        n(r.receiptRedeliveries),
        n(r.throttled),
      ]),
    ),
    '',
    'Calls per job by command (service clients; the producer sends 0.1 SendMessageBatch per job):',
    '',
    table(
      ['run', ...commands],
      e.runs.map((r) => [r.spec.name, ...commands.map((c) => n(r.callsPerJob.byCommand[c] ?? 0, 2))]),
    ),
  ];
  if (e.floor) {
    const f = e.floor;
    const row = (label: string, r: typeof f.before): string[] => [label, n(r.jobs), n(r.jobsPerSecond, 1), n(Object.values(r.replayedPerJob).reduce((a, b) => a + b, 0), 2), `${r.pollers} / ${r.maxInProgress}`, n(r.failed)];
    parts.push(
      '',
      `The floor the emulators impose: the same calls per job replayed directly, same concurrency, no SMPP — once before and once after our run; ours ÷ mean floor = **${n(f.oursOverFloor, 3)}** (${n(e.runs[0]?.jobsPerSecond, 1)} ÷ ${n(f.jobsPerSecond, 1)} jobs/s):`,
      '',
      table(['replay', 'jobs', 'jobs /s', 'calls / job replayed', 'pollers / jobs in progress', 'failed'], [row('before (warm-up run\'s calls)', f.before), row('after (our run\'s calls)', f.after)]),
    );
  }
  parts.push(
    '',
    "Latency is from the producer's send: under a backlog it includes the wait in the queue; claim→ is the service's own share. " +
      'CPU and RSS are those of the bench process, which holds the service (fauxqs, the producer, the simulator and DynamoDB Local run in other processes). ' +
      'Receipts resent: answered after the simulator\'s 5 s deadline, or refused.',
  );
  return parts.join('\n');
}

export function soakMarkdown(s: SoakResult): string {
  return [
    `## 4. Soak (${n(s.durationS / 60, 1)} min at ${s.ratePerSecond} msg/s, link dropped ${s.drops} times)`,
    '',
    table(
      [
        'submitted',
        'accepted',
        'unknown outcome',
        'other',
        'RSS first → last MB',
        'RSS slope MB/min (all / 2nd half)',
        'RSS less young generation, slope MB/min (2nd half)',
        'young generation first → last MB',
        'heap slope MB/min',
        'pending slope /min',
        'max pending',
      ],
      [
        [
          n(s.submitted),
          n(s.outcomes.accepted),
          n(s.outcomes.unknown),
          n(s.lost),
          `${n(s.rssFirstMb, 1)} → ${n(s.rssLastMb, 1)}`,
          `${n(s.rssSlopeMbPerMin, 3)} / ${n(s.rssSlopeSecondHalfMbPerMin, 3)}`,
          n(s.rssLessYoungSlopeSecondHalfMbPerMin, 3),
          `${n(s.samples[0]?.newSpaceMb)} → ${n(s.samples.at(-1)?.newSpaceMb)}`,
          n(s.heapSlopeMbPerMin, 3),
          n(s.pendingSlopePerMin, 2),
          n(s.maxPending),
        ],
      ],
    ),
    '',
    `1 TX + 1 RX bind, receipts on, ${s.mpsPerBind} MPS per bind, window ${s.windowSize}, 100 ms response delay; its own process, sampled after a full GC. RSS rises in steps where V8 doubles its young generation (up to 32 MB), so the target is judged on RSS less the young generation.`,
  ].join('\n');
}

export function targetsMarkdown(checks: TargetCheck[]): string {
  return ['## Targets', '', table(['target', 'measured', 'met'], checks.map((c) => [c.target, c.measured, c.met === null ? 'not run' : c.met ? 'yes' : '**no**']))].join('\n');
}
