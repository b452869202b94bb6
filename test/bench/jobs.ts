/** The jobs the end-to-end scenario sends: deterministic, so the producer process and the bench agree on them. */
import { planText } from '../../service/src/smpp/segment.js';
import type { SmsInput } from '../../service/src/tools/client.js';

/** The cost scenario's runs: every job of one kind, with or without a receipt. */
export type JobKind = 'gsm7' | 'gsm7-3part' | 'ucs2';
export type JobMix = 'mixed' | 'single-part' | JobKind | `${JobKind}-no-receipt`;

export type BenchJob = SmsInput & { id: string; to: string; text: string };

const GSM7_SHORT = 'Your verification code is 482913. It expires in 10 minutes. Reply STOP to opt out.';
const UCS2_SHORT = '您的验证码是 482913，10 分钟内有效。请勿告诉他人。';
// 3 GSM7 parts: more than 2 × 153 septets, fewer than 3 × 153.
const GSM7_LONG = `${'Your parcel 7731-AX is out for delivery today between 14:00 and 18:00. '.repeat(5)}Track it at https://example.com/t/7731AX or reply HELP.`;

/**
 * Job `n` of a run: ~70% short GSM7, ~20% short UCS-2 and ~10% 3-part GSM7 for `mixed`. Every job
 * has its own destination, never ending in 0000 (the simulator answers those UNDELIV).
 */
export function benchJob(prefix: string, n: number, mix: JobMix): BenchJob {
  const fixed = ONE_KIND[mix.replace(/-no-receipt$/, '')];
  const kind = mix === 'single-part' ? 0 : n % 10;
  const text = fixed ?? (kind === 9 ? GSM7_LONG : kind >= 7 ? UCS2_SHORT : GSM7_SHORT);
  const job: BenchJob = { id: `${prefix}-${n}`, to: `+659${String(n).padStart(7, '0')}1`, from: '8x8', text };
  if (mix.endsWith('-no-receipt')) job.receipt = false;
  return job;
}

const ONE_KIND: Partial<Record<string, string>> = { gsm7: GSM7_SHORT, 'gsm7-3part': GSM7_LONG, ucs2: UCS2_SHORT };

export function benchJobs(prefix: string, count: number, mix: JobMix): BenchJob[] {
  return Array.from({ length: count }, (_, n) => benchJob(prefix, n, mix));
}

/** SMS parts the job becomes, by the connector's own splitter. */
export function partsOf(job: BenchJob): number {
  return planText(job.text, 'auto').segmentCount;
}
