/**
 * Sums a V8 .cpuprofile (cpu.ts --profile) by category: each sample's self time goes to the
 * category of the function it was taken in, by file (package or service folder); a native frame
 * (writev, runMicrotasks, Hash, …) to its nearest caller with a file; V8's own (GC, program) by
 * name. Prints Markdown tables: categories, then the top functions by self time. The profile's
 * sampled time is wall time while busy, so per-job figures are shares of a CPU time per job
 * measured without the profiler (--micros, from cpu.ts).
 *
 *   npx tsx test/bench/cpu-attribute.ts /tmp/cpu-prof.0 [--micros 9900] [--top 15]
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values: args, positionals } = parseArgs({ allowPositionals: true, options: { micros: { type: 'string' }, top: { type: 'string', default: '15' } } });

const RULES: [RegExp, string][] = [
  [/node_modules\/@aws-sdk\/client-dynamodb\//, '@aws-sdk client-dynamodb (commands, serde)'],
  [/node_modules\/@aws-sdk\/client-sqs\//, '@aws-sdk client-sqs (commands, serde)'],
  [/node_modules\/@aws-sdk\/util-dynamodb\//, '@aws-sdk util-dynamodb (marshall)'],
  [/node_modules\/@smithy\/signature-v4\/|node_modules\/@aws-sdk\/(signature-v4|core\/dist-cjs\/submodules\/httpAuthSchemes)/, '@aws-sdk/@smithy SigV4 signing'],
  [/node_modules\/@smithy\/node-http-handler\//, '@smithy node-http-handler'],
  [/node_modules\/@smithy\/(smithy-client|core|middleware-serde|core\/.*protocols)|node_modules\/@aws-sdk\/core\/dist-cjs\/submodules\/protocols/, '@aws-sdk/@smithy protocols, serde'],
  [/node_modules\/(@aws-sdk|@smithy|@aws-crypto|fast-xml-parser|strnum|bowser|tslib)\//, '@aws-sdk/@smithy other (middleware, endpoints, retry, credentials)'],
  [/node_modules\/smpp\//, 'smpp package (codec, session)'],
  [/node_modules\/(pino|sonic-boom|thread-stream|fast-redact|pino-std-serializers|quick-format-unescaped|atomic-sleep|on-exit-leak-free|safe-stable-stringify)\//, 'pino'],
  [/node_modules\/zod\//, 'zod'],
  [/node_modules\/(tsx|esbuild|get-tsconfig)\//, 'tsx loader'],
  [/\/service\/src\/smpp\//, 'service/src/smpp'],
  [/\/service\/src\/pipeline\//, 'service/src/pipeline'],
  [/\/service\/src\/aws\/status-store\//, 'service/src/aws/status-store'],
  [/\/service\/src\/aws\//, 'service/src/aws (other)'],
  [/\/service\/src\/core\//, 'service/src/core'],
  [/\/service\/src\//, 'service/src (other)'],
  [/\/test\/bench\//, 'bench child (IPC)'],
  [/node_modules\//, 'other packages'],
  [/^node:(_tls|tls)|^node:internal\/(tls|crypto)|^node:crypto/, 'node tls/crypto'],
  [/^node:(net|_http|http|https)|^node:internal\/(http|net|stream_base|dns)/, 'node net/http'],
  [/^node:(internal\/)?(streams?|buffer|events|string_decoder)/, 'node streams/buffer/events'],
  [/^node:internal\/(timers|process\/task_queues|async_hooks|promise)|^node:timers/, 'node timers/microtasks'],
  [/^node:/, 'node other'],
];

function byUrl(url: string): string {
  for (const [re, name] of RULES) if (re.test(url)) return name;
  return 'unclassified';
}

/** A native frame counts for its nearest caller that has a file. */
function categorise(node: Node, parent: Map<number, Node>): string {
  const { url, functionName } = node.callFrame;
  if (url !== '') return byUrl(url);
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(idle)') return '(idle)';
  if (functionName === '(program)') return 'V8 (program)';
  for (let p = parent.get(node.id); p; p = parent.get(p.id)) if (p.callFrame.url !== '') return byUrl(p.callFrame.url);
  return 'native, no caller';
}

const short = (url: string): string => url.replace(/^file:\/\/.*?node_modules\//, '').replace(/^file:\/\/.*?\/service\/src\//, 'service/src/');

async function main(): Promise<void> {
  const file = positionals[0];
  if (!file) throw new Error('usage: cpu-attribute.ts <profile> [--micros N] [--top N]');
  const p = JSON.parse(await readFile(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, Node>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n);
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const cats = new Map<string, number>();
  const fns = new Map<string, { us: number; cat: string }>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const cat = categorise(node, parent);
    if (cat === '(idle)') {
      idle += us;
      continue;
    }
    total += us;
    cats.set(cat, (cats.get(cat) ?? 0) + us);
    const key = `${node.callFrame.functionName || '(anonymous)'} ${short(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`;
    const f = fns.get(key) ?? { us: 0, cat };
    f.us += us;
    fns.set(key, f);
  }
  const micros = args.micros !== undefined ? Number(args.micros) : undefined;
  const perJob = (us: number): string => (micros ? ((micros * us) / total).toFixed(0) : '');
  console.log(`profile ${file}: ${(total / 1000).toFixed(0)} ms sampled busy, ${(idle / 1000).toFixed(0)} ms idle${micros ? `; µs/job = share × ${micros}` : ''}\n`);
  console.log(`| category | share | µs/job |\n|---|---:|---:|`);
  for (const [cat, us] of [...cats].sort((a, b) => b[1] - a[1])) console.log(`| ${cat} | ${((100 * us) / total).toFixed(1)}% | ${perJob(us)} |`);
  console.log(`\n| function (self time) | category | share | µs/job |\n|---|---|---:|---:|`);
  for (const [key, f] of [...fns].sort((a, b) => b[1].us - a[1].us).slice(0, Number(args.top))) {
    console.log(`| \`${key}\` | ${f.cat} | ${((100 * f.us) / total).toFixed(1)}% | ${perJob(f.us)} |`);
  }
}

await main();
