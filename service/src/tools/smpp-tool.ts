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
import type { OutboundPart } from '../smpp/submit.js';
import { exactKey, KeyIndex, smscIdKeys } from '../core/receipt-keys.js';
import { isReceipt, parseReceipt, receiptFromTlvs, type DeliverFields } from '../smpp/receipt.js';
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
  smscMessageId: string;
  final: ReceiptStatus | undefined;
  latest: ReceiptStatus | undefined;
}

/** A receipt as parseReceipt reads it; undefined for one it cannot read (it is left out). */
function read(f: DeliverFields): Receipt | undefined {
  const r = parseReceipt(f, new Date().toISOString());
  return 'error' in r ? undefined : r;
}

/** A receipt whose part is not known yet: its status, and its fields to read it whole should that not do. */
interface WaitingReceipt {
  status: ReceiptStatus;
  fields: DeliverFields;
  /** Already read (it had no TLVs to go by). */
  receipt: Receipt | undefined;
}

/**
 * Receipts against the parts a run submitted, per part, by the store's own rule
 * (core/receipt-keys.ts): an exact key match wins over a reading, and of equal matches the part
 * registered first. Parts are registered as their responses arrive, by their exact key; a receipt
 * is counted when its part is known by that key, which no later part can beat: on arrival, or
 * when that part is registered (receipts often overtake their submit's response, coming on
 * another bind). Both are a map look-up (a scan of every receipt per arrival took ~100 s for
 * 20,000). Only a receipt with no exact match waits for every part and is then matched through
 * every key of every part (core's KeyIndex, built the first time one needs it). Its TLVs usually
 * say what a receipt is for and how it ended; its text is read only when they do not, or do not match.
 */
export class ReceiptTally {
  private readonly parts: TrackedPart[] = [];
  /** Parts by exact key: the first registered for each. */
  private readonly byExactKey = new Map<string, TrackedPart>();
  /** Every key of every part, for the receipts with no exact match; built once sealed, when first needed. */
  private index: KeyIndex<TrackedPart> | undefined;
  /** Until sealed: receipts whose part is not known yet, by the exact key of their id. */
  private waiting: Map<string, WaitingReceipt[]> | undefined = new Map();
  private waitingCount = 0;
  private finals = 0;
  private duplicates = 0;
  private unmatched = 0;

  /** Registers an accepted part by its SMSC message id, and counts the receipts that came for it first. */
  expect(smscMessageId: string): void {
    const key = exactKey(smscMessageId);
    const part: TrackedPart = { smscMessageId, final: undefined, latest: undefined };
    this.parts.push(part);
    if (this.byExactKey.has(key)) return;
    this.byExactKey.set(key, part);
    // The first part with this exact key: these receipts are its by the rule.
    const early = this.waiting?.get(key);
    if (early === undefined) return;
    this.waiting?.delete(key);
    this.waitingCount -= early.length;
    for (const w of early) this.count(part, w.status);
  }

  /** Every part is registered: receipts still waiting are matched by the weaker rules now, later ones on arrival. */
  sealed(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    this.waitingCount = 0;
    for (const list of waiting?.values() ?? []) for (const w of list) this.matchLoosely(w.receipt ?? read(w.fields));
  }

  /** Counts one receipt (a deliver_sm that isReceipt) for its part: the first final one decides, later final copies are duplicates. */
  record(f: DeliverFields): void {
    const tlv = receiptFromTlvs(f);
    const known = tlv ?? read(f);
    if (known === undefined) return;
    const key = exactKey(known.smscMessageId);
    const part = this.byExactKey.get(key);
    if (part !== undefined) return this.count(part, known.status);
    // The text is read only now, should the TLVs' id match no part exactly.
    const receipt = tlv === undefined ? (known as Receipt) : undefined;
    if (this.waiting === undefined) return this.matchLoosely(receipt ?? read(f));
    const waiting: WaitingReceipt = { status: known.status, fields: f, receipt };
    const list = this.waiting.get(key);
    if (list === undefined) this.waiting.set(key, [waiting]);
    else list.push(waiting);
    this.waitingCount += 1;
  }

  /** Whether every registered part has its final receipt. */
  get complete(): boolean {
    return this.waiting === undefined && this.finals >= this.parts.length;
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
      unmatchedReceipts: this.unmatched + this.waitingCount,
    };
  }

  /** A receipt no part has by its exact key, once every part is known: by a reading, or by the text's id. */
  private matchLoosely(r: Receipt | undefined): void {
    if (r === undefined) return;
    const part = this.find(r.smscMessageId) ?? (r.alternativeMessageId === undefined ? undefined : this.find(r.alternativeMessageId));
    if (!part) {
      this.unmatched += 1;
      return;
    }
    this.count(part, r.status);
  }

  private count(part: TrackedPart, status: ReceiptStatus): void {
    if (part.final !== undefined) {
      if (isFinal(status)) this.duplicates += 1;
      return;
    }
    part.latest = status;
    if (isFinal(status)) {
      part.final = status;
      this.finals += 1;
    }
  }

  private find(id: string): TrackedPart | undefined {
    if (this.index === undefined) {
      this.index = new KeyIndex<TrackedPart>();
      for (const p of this.parts) this.index.add(smscIdKeys(p.smscMessageId), p);
    }
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
  let onComplete: () => void = () => undefined;
  const client = new SmppClient({
    ...config.smpp,
    credentials: credentialsFor(config),
    ...(deps.slots && { slots: deps.slots }),
    logger,
    clock: systemClock,
    metrics,
    onDeliver: async (f) => {
      if (!isReceipt(f)) return;
      tally.record(f);
      // The session writes this receipt's deliver_sm_resp once this handler has resolved: look
      // again a turn later, so the unbind that may follow goes out after that answer.
      if (tally.complete) setImmediate(() => onComplete());
    },
  });
  await bindAll(client, opts.waitReceipts ? 1 : 0);
  const refs = new ReferenceCounter();
  const source = toSmppAddress(opts.from);
  const destination = toSmppAddress(opts.to);
  const partsOf = (): OutboundPart[] =>
    segmentText(opts.text, { encoding: 'auto', concat: config.smpp.concat, reference: refs.next(opts.to) }).segments.map((segment) => ({
      source,
      destination,
      segment,
      receipt: opts.waitReceipts,
    }));
  // Every message has the same text: a single part has no reference, so the first message's part
  // serves them all (the client keeps nothing of it); a long text gets a new reference per message.
  const first = partsOf();
  let messages = 0;
  let current: OutboundPart[] = [];
  let next = 0;
  const nextPart = (): OutboundPart | undefined => {
    if (next === current.length) {
      if (messages === opts.count) return undefined;
      current = messages === 0 || first.length === 1 ? first : partsOf();
      messages += 1;
      next = 0;
    }
    return current[next++];
  };
  const outcome = { parts: 0, accepted: 0, failed: 0, retryable: 0, unknown: 0 };
  const latencies: number[] = [];
  const onResult = (r: SubmitResult): void => {
    outcome.parts += 1;
    if (r.kind === 'accepted') {
      outcome.accepted += 1;
      latencies.push(r.latencyMs);
      // Registered now, so receipts are matched as they come rather than all after the last response.
      if (opts.waitReceipts) tally.expect(r.smscMessageId);
    } else if (r.kind === 'permanent') outcome.failed += 1;
    else if (r.kind === 'retryable') outcome.retryable += 1;
    else if (r.kind === 'unknown') outcome.unknown += 1;
  };
  // Parts go to the client as fast as its binds take them, with a few windows' worth waiting, not
  // all at once: the run's memory stays flat however large --count is.
  const feeder = async (): Promise<void> => {
    for (let part = nextPart(); part !== undefined; part = nextPart()) onResult(await client.submit(part));
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: 2 * Math.max(1, config.smpp.txBinds + config.smpp.trxBinds) * config.smpp.windowSize + 16 }, feeder));
  const elapsedMs = performance.now() - started;
  tally.sealed();

  if (opts.waitReceipts && outcome.accepted > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, opts.receiptTimeoutMs);
      onComplete = () => {
        clearTimeout(timer);
        resolve();
      };
      // Receipts handled before now may have completed it already; one turn later, as above.
      if (tally.complete) setImmediate(() => onComplete());
    });
  }
  await client.stop(2000);
  latencies.sort((a, b) => a - b);
  const receipts = tally.summary();
  return {
    requested: opts.count,
    parts: outcome.parts,
    accepted: outcome.accepted,
    throttled,
    failed: outcome.failed,
    retryable: outcome.retryable,
    unknown: outcome.unknown,
    ...(opts.waitReceipts ? receipts : { receipts: {}, receiptsMissing: 0, duplicateReceipts: 0, unmatchedReceipts: 0 }),
    achievedRate: Math.round((outcome.accepted / (elapsedMs / 1000)) * 100) / 100,
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
