import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretCredentials, StaticCredentials } from '../aws/secrets.js';
import { systemClock } from '../clock.js';
import type { Config } from '../config.js';
import type { Receipt } from '../domain.js';
import type { Logger } from '../logger.js';
import { MetricName, type Metrics } from '../metrics.js';
import { toSmppAddress } from '../smpp/address.js';
import type { CredentialsProvider } from '../smpp/bind.js';
import { SmppClient, type SubmitResult } from '../smpp/client.js';
import { smscIdKeys } from '../smpp/message-id.js';
import { isReceipt, parseReceipt } from '../smpp/receipt.js';
import { ReferenceCounter, segmentText } from '../smpp/segment.js';
import { SmppSession, type BindType } from '../smpp/session.js';

/** Operator checks and direct sends against the configured SMSC (no SQS, no DynamoDB). */

export function credentialsFor(config: Readonly<Config>): CredentialsProvider {
  return config.smpp.credentialsSecretId
    ? new SecretCredentials(new SecretsManagerClient({ region: config.aws.region }), config.smpp.credentialsSecretId)
    : new StaticCredentials({ systemId: config.smpp.systemId ?? '', password: config.smpp.password ?? '' });
}

export interface BindCheck {
  bindType: BindType;
  ok: boolean;
  tls?: { protocol: string | null; cipher: string };
  enquireLinkRttMs?: number[];
  error?: string;
  commandStatus?: number;
}

/** Binds once per configured bind type, measures enquire_link round trips, unbinds. */
export async function checkConnection(config: Readonly<Config>, logger: Logger, samples = 5): Promise<BindCheck[]> {
  const types: BindType[] = [];
  if (config.smpp.txBinds > 0) types.push('transmitter');
  if (config.smpp.rxBinds > 0) types.push('receiver');
  if (config.smpp.trxBinds > 0) types.push('transceiver');
  const credentials = credentialsFor(config);
  const results: BindCheck[] = [];
  for (const bindType of types) {
    try {
      const session = await SmppSession.open({
        ...config.smpp,
        bindType,
        credentials: await credentials.get(),
        logger,
        clock: systemClock,
        onDeliver: () => Promise.reject(new Error('check only: the SMSC will redeliver')),
      });
      const rtts: number[] = [];
      for (let i = 0; i < samples; i++) {
        const t0 = performance.now();
        await session.request('enquire_link', {}, { control: true });
        rtts.push(Math.round((performance.now() - t0) * 100) / 100);
      }
      const tls = session.tlsInfo();
      await session.unbind(2000);
      results.push({ bindType, ok: true, ...(tls && { tls }), enquireLinkRttMs: rtts });
    } catch (err) {
      const e = err as Error & { commandStatus?: number };
      results.push({ bindType, ok: false, error: e.message, ...(e.commandStatus !== undefined && { commandStatus: e.commandStatus }) });
    }
  }
  return results;
}

export interface SendReport {
  requested: number;
  parts: number;
  accepted: number;
  throttled: number;
  failed: number;
  retryable: number;
  unknown: number;
  receipts: Record<string, number>;
  receiptsMissing: number;
  achievedRate: number;
  latencyMs: { p50: number; p99: number };
  elapsedMs: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/**
 * Submits `count` messages straight through the real throttle and window, and
 * optionally waits for their receipts. What an operator runs right after 8x8
 * has whitelisted the egress IPs.
 */
export async function sendDirect(
  config: Readonly<Config>,
  logger: Logger,
  opts: { to: string; from: string; text: string; count: number; waitReceipts: boolean; receiptTimeoutMs: number },
): Promise<SendReport> {
  let throttled = 0;
  const metrics: Metrics = {
    increment: (name, value = 1) => {
      if (name === MetricName.SubmitThrottled) throttled += value;
    },
    observe: () => undefined,
    gauge: () => undefined,
  };
  const expected = new Map<string, number>();
  const receipts: Receipt[] = [];
  let onReceipt: () => void = () => undefined;
  const client = new SmppClient({
    ...config.smpp,
    credentials: credentialsFor(config),
    logger,
    clock: systemClock,
    metrics,
    onDeliver: async (f) => {
      if (!isReceipt(f)) return;
      const r = parseReceipt(f, new Date().toISOString());
      if ('error' in r) return;
      receipts.push(r);
      onReceipt();
    },
  });
  client.start();
  await client.whenReady(1, opts.waitReceipts ? 1 : 0);
  const refs = new ReferenceCounter();
  const source = toSmppAddress(opts.from);
  const destination = toSmppAddress(opts.to);
  const started = performance.now();
  const pending: Promise<SubmitResult>[] = [];
  for (let i = 0; i < opts.count; i++) {
    const plan = segmentText(opts.text, { encoding: 'auto', concat: config.smpp.concat, reference: refs.next(opts.to) });
    for (const segment of plan.segments) pending.push(client.submit({ source, destination, segment, receipt: opts.waitReceipts }));
  }
  const results = await Promise.all(pending);
  const elapsedMs = performance.now() - started;
  const latencies: number[] = [];
  let accepted = 0;
  for (const r of results) {
    if (r.kind !== 'accepted') continue;
    accepted += 1;
    latencies.push(r.latencyMs);
    for (const k of smscIdKeys(r.smscMessageId)) expected.set(k, (expected.get(k) ?? 0) + 1);
  }
  latencies.sort((a, b) => a - b);

  const matched = () => receipts.filter((r) => smscIdKeys(r.smscMessageId).some((k) => expected.has(k))).length;
  if (opts.waitReceipts && accepted > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, opts.receiptTimeoutMs);
      onReceipt = () => {
        if (matched() >= accepted) {
          clearTimeout(timer);
          resolve();
        }
      };
      onReceipt();
    });
  }
  await client.stop(2000);
  const byStatus: Record<string, number> = {};
  for (const r of receipts) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  return {
    requested: opts.count,
    parts: results.length,
    accepted,
    throttled,
    failed: results.filter((r) => r.kind === 'permanent').length,
    retryable: results.filter((r) => r.kind === 'retryable').length,
    unknown: results.filter((r) => r.kind === 'unknown').length,
    receipts: byStatus,
    receiptsMissing: opts.waitReceipts ? Math.max(0, accepted - matched()) : 0,
    achievedRate: Math.round((accepted / (elapsedMs / 1000)) * 100) / 100,
    latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) },
    elapsedMs: Math.round(elapsedMs),
  };
}
