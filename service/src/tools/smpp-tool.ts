import { createSecretsManagerClient, SecretCredentials, StaticCredentials } from '../aws/secrets.js';
import { systemClock } from '../clock.js';
import type { Config } from '../config.js';
import { isFinal, type Receipt, type ReceiptStatus } from '../domain.js';
import { BindError, ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import { MetricName, type Metrics } from '../metrics.js';
import { toSmppAddress } from '../smpp/address.js';
import type { CredentialsProvider } from '../smpp/bind.js';
import type { BindSlots, HeldSlot, SlotAttempt } from '../smpp/bind-slots.js';
import { SmppClient, type SubmitResult } from '../smpp/client.js';
import { KeyIndex, smscIdKeys } from '../core/receipt-keys.js';
import { isReceipt, parseReceipt } from '../smpp/receipt.js';
import { ReferenceCounter, segmentText } from '../smpp/segment.js';
import { SmppSession, type BindType } from '../smpp/session.js';

/**
 * Operator checks and direct sends against the configured SMSC (no SQS). Each bind holds a slot of
 * the account's bind budget first, as the service's binds do (smpp-cli.ts wires the DynamoDB lease):
 * the tool binds with the same system_id as the running tasks and must never push the account
 * over its limit.
 */

/** What the tool's binds share with the service's. */
export interface ToolDeps {
  /** The account's bind slots; absent only where a test exercises the SMPP side alone. */
  slots?: BindSlots;
}

/** No bind slot could be had: the tool binds nothing rather than exceed the account's budget. */
export class NoBindSlotError extends BindError {
  constructor(readonly attempt: Exclude<SlotAttempt, { outcome: 'held' }>) {
    super(ErrorCode.SMPP_BIND_REFUSED, noSlotMessage(attempt));
  }
}

/** What the operator reads when no slot is free, or the slot table cannot be reached. */
export function noSlotMessage(attempt: Exclude<SlotAttempt, { outcome: 'held' }>): string {
  if (attempt.outcome === 'unavailable') return `cannot reach the bind slot table, so not binding without a slot: ${attempt.reason}`;
  const holders = attempt.holders.map((h) => `slot ${h.slot}: ${h.owner} ${h.bind} until ${new Date(h.expiresAt).toISOString()}`).join('; ');
  return (
    `no bind slot free: all ${attempt.holders.length} binds of the account are held (${holders}). ` +
    'Free one first (scale the service in by one task, or lower its TX_BINDS / RX_BINDS), or bind fewer types here (e.g. RX_BINDS=0 for a send without --wait-receipts), then run this again'
  );
}

export function credentialsFor(config: Readonly<Config>): CredentialsProvider {
  return config.smpp.credentialsSecretId
    ? new SecretCredentials(createSecretsManagerClient({ region: config.aws.region }), config.smpp.credentialsSecretId)
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

/** Binds once per configured bind type (each holding a slot while it is bound), measures enquire_link round trips, unbinds. */
export async function checkConnection(config: Readonly<Config>, logger: Logger, samples = 5, deps: ToolDeps = {}): Promise<BindCheck[]> {
  const types: BindType[] = [];
  if (config.smpp.txBinds > 0) types.push('transmitter');
  if (config.smpp.rxBinds > 0) types.push('receiver');
  if (config.smpp.trxBinds > 0) types.push('transceiver');
  const credentials = credentialsFor(config);
  const results: BindCheck[] = [];
  for (const bindType of types) {
    let held: HeldSlot | undefined;
    try {
      const creds = await credentials.get();
      if (deps.slots) {
        const attempt = await deps.slots.acquire({ systemId: creds.systemId, bind: `check:${bindType}` });
        if (attempt.outcome !== 'held') throw new NoBindSlotError(attempt);
        held = attempt.slot;
      }
      const session = await SmppSession.open({
        ...config.smpp,
        bindType,
        credentials: creds,
        logger,
        clock: systemClock,
        onDeliver: () => Promise.reject(new Error('check only: the SMSC will redeliver')),
      });
      void held?.lost.then((reason) => session.close(`bind slot lost: ${reason}`));
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
    } finally {
      await held?.release();
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
  /** Accepted parts by the status their receipts decided: the first final one, else the latest in progress. */
  receipts: Record<string, number>;
  /** Accepted parts with no final receipt (none at all, or only in-progress ones). */
  receiptsMissing: number;
  /** Further copies of a final receipt for a part that already had one. */
  duplicateReceipts: number;
  /** Receipts for ids this run did not submit (earlier runs, other traffic on the account). */
  unmatchedReceipts: number;
  achievedRate: number;
  latencyMs: { p50: number; p99: number };
  elapsedMs: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** One accepted part and what its receipts said so far. */
interface TrackedPart {
  final: ReceiptStatus | undefined;
  latest: ReceiptStatus | undefined;
}

/**
 * Receipts against the parts a run submitted, per part: each receipt is matched in constant time
 * through an index from correlation key to part (a scan of every receipt per arrival took ~100 s for
 * 20,000), by the store's own rule (core/receipt-keys.ts): an exact key match wins over a reading.
 */
export class ReceiptTally {
  private readonly index = new KeyIndex<TrackedPart>();
  private readonly parts: TrackedPart[] = [];
  /** Receipts that came before their part was known; matched when it is. */
  private early: Receipt[] | undefined = [];
  private finals = 0;
  private duplicates = 0;
  private unmatched = 0;

  /** Registers an accepted part by its SMSC message id. */
  expect(smscMessageId: string): void {
    const part: TrackedPart = { final: undefined, latest: undefined };
    this.parts.push(part);
    this.index.add(smscIdKeys(smscMessageId), part);
  }

  /** Every part is registered: receipts that came early are matched now, later ones on arrival. */
  sealed(): void {
    const early = this.early ?? [];
    this.early = undefined;
    for (const r of early) this.record(r);
  }

  /** Counts one receipt for its part: the first final one decides, later final copies are duplicates. */
  record(r: Receipt): void {
    if (this.early) {
      this.early.push(r);
      return;
    }
    const part = this.find(r.smscMessageId) ?? (r.alternativeMessageId === undefined ? undefined : this.find(r.alternativeMessageId));
    if (!part) {
      this.unmatched += 1;
      return;
    }
    if (part.final !== undefined) {
      if (isFinal(r.status)) this.duplicates += 1;
      return;
    }
    part.latest = r.status;
    if (isFinal(r.status)) {
      part.final = r.status;
      this.finals += 1;
    }
  }

  /** Whether every registered part has its final receipt. */
  get complete(): boolean {
    return this.early === undefined && this.finals >= this.parts.length;
  }

  /** Per-part counts for the report. */
  summary(): Pick<SendReport, 'receipts' | 'receiptsMissing' | 'duplicateReceipts' | 'unmatchedReceipts'> {
    const receipts: Record<string, number> = {};
    for (const p of this.parts) {
      const status = p.final ?? p.latest;
      if (status !== undefined) receipts[status] = (receipts[status] ?? 0) + 1;
    }
    return {
      receipts,
      receiptsMissing: this.parts.length - this.finals,
      duplicateReceipts: this.duplicates,
      unmatchedReceipts: this.unmatched + (this.early?.length ?? 0),
    };
  }

  private find(id: string): TrackedPart | undefined {
    return this.index.find(smscIdKeys(id))?.value;
  }
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
  deps: ToolDeps = {},
): Promise<SendReport> {
  let throttled = 0;
  const metrics: Metrics = {
    increment: (name, value = 1) => {
      if (name === MetricName.SubmitThrottled) throttled += value;
    },
    observe: () => undefined,
    gauge: () => undefined,
  };
  const tally = new ReceiptTally();
  let onReceipt: () => void = () => undefined;
  const client = new SmppClient({
    ...config.smpp,
    credentials: credentialsFor(config),
    ...(deps.slots && { slots: deps.slots }),
    logger,
    clock: systemClock,
    metrics,
    onDeliver: async (f) => {
      if (!isReceipt(f)) return;
      const r = parseReceipt(f, new Date().toISOString());
      if ('error' in r) return;
      tally.record(r);
      // The session writes this receipt's deliver_sm_resp once this handler has resolved: look
      // at the tally a turn later, so the unbind that may follow goes out after that answer.
      setImmediate(() => onReceipt());
    },
  });
  await bindAll(client, opts.waitReceipts ? 1 : 0);
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
    tally.expect(r.smscMessageId);
  }
  tally.sealed();
  latencies.sort((a, b) => a - b);

  if (opts.waitReceipts && accepted > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, opts.receiptTimeoutMs);
      onReceipt = () => {
        if (!tally.complete) return;
        clearTimeout(timer);
        resolve();
      };
      // Receipts handled before now may have completed it already; one turn later, as above.
      setImmediate(() => onReceipt());
    });
  }
  await client.stop(2000);
  const receipts = tally.summary();
  return {
    requested: opts.count,
    parts: results.length,
    accepted,
    throttled,
    failed: results.filter((r) => r.kind === 'permanent').length,
    retryable: results.filter((r) => r.kind === 'retryable').length,
    unknown: results.filter((r) => r.kind === 'unknown').length,
    ...(opts.waitReceipts ? receipts : { receipts: {}, receiptsMissing: 0, duplicateReceipts: 0, unmatchedReceipts: 0 }),
    achievedRate: Math.round((accepted / (elapsedMs / 1000)) * 100) / 100,
    latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) },
    elapsedMs: Math.round(elapsedMs),
  };
}

/**
 * Starts the client and waits until it is ready to send. A bind that finds no slot would wait for
 * one; an operator gets the reason at once instead, and whatever was bound is let go.
 */
async function bindAll(client: SmppClient, rx: number): Promise<void> {
  let onSlotWait: (attempt: Exclude<SlotAttempt, { outcome: 'held' }>) => void = () => undefined;
  const noSlot = new Promise<never>((_, reject) => (onSlotWait = (attempt) => reject(new NoBindSlotError(attempt))));
  for (const b of client.binds) b.on('slot-wait', onSlotWait);
  client.start();
  try {
    await Promise.race([client.whenReady(1, rx), noSlot]);
  } catch (err) {
    await client.stop(2000);
    throw err;
  } finally {
    for (const b of client.binds) b.off('slot-wait', onSlotWait);
  }
}
