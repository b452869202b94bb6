/**
 * The MO store's pure rules (docs/architecture.md §3.2, §5 rule 7): which message a part belongs to
 * (the group key), which copy of a part is a redelivery, when a generation is complete or stale, and
 * the MO item a generation makes. Apart from the DynamoDB calls (`mo-group-table.ts`) and the
 * decisions that chain them (`mo-store.ts`, which also documents the items), so the rules read, and
 * can be tested, without a table.
 */
import { createHash, randomUUID } from 'node:crypto';
import { StoreError } from '../errors.js';
import { ItemKind, MO_PREFIX, MOPART_PREFIX, type MoItem } from './status-store/item-model.js';

/** Prefix of MOPART items' ids. */
export const MO_GROUP_PREFIX = MOPART_PREFIX;
/** The `kind` of MOPART items (the stream publisher ignores every kind but MESSAGE and MO). */
export const MO_GROUP_KIND = ItemKind.MOPART;

/** Identical single-part texts closer together than this are one message redelivered. */
export const SINGLE_PART_REPEAT_WINDOW_MS = 60_000;
/** A part of a finished long message seen again within this is a redelivery (SMSCs retry for hours, not days). */
export const LONG_REPEAT_WINDOW_MS = 24 * 3_600_000;

/** One deliver_sm's worth of an MO, decoded. */
export interface MoPartInput {
  from: string;
  to: string;
  text: string;
  dataCoding: number;
  /** When this copy arrived (ISO-8601). */
  receivedAt: string;
  /** Where the part sits in a long message; absent for a single-part message. */
  concat?: {
    /** How the parts are tied together, e.g. `udh8`, `udh16`, `sar`. */
    scheme: string;
    ref: number;
    /** 2..255 */
    total: number;
    /** 1..total */
    seq: number;
  };
}

/** A part as its `p<seq>` attribute holds it. */
export interface StoredPart {
  text: string;
  dataCoding: number;
  receivedAt: string;
}

/** A MOPART item as read back; its `p<seq>` attributes are read with partsOf. */
export interface GroupItem {
  id: string;
  from: string;
  to: string;
  total: number;
  gen: string;
  openedAt: number;
  version: number;
  doneAt?: string;
  moId?: string;
  [attribute: string]: unknown;
}

/** The text of a long message from its parts' texts, in order (a missing part simply leaves a gap). */
export function joinParts(texts: readonly string[]): string {
  return texts.join('');
}

/** 32 hex digits naming the message a part belongs to (see the item model in `mo-store.ts`). */
export function groupKey(part: MoPartInput): string {
  const fields = part.concat
    ? ['long', part.from, part.to, part.concat.scheme, part.concat.ref, part.concat.total]
    : ['single', part.from, part.to, part.dataCoding, part.text];
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex').slice(0, 32);
}

/** A new generation's id, which is also its MO item's (after `MO#`): random, never derived from the key. */
export function newGeneration(): string {
  return randomUUID();
}

/** Part number → part, from the `p<seq>` attributes. */
export function partsOf(group: GroupItem): Map<number, StoredPart> {
  const parts = new Map<number, StoredPart>();
  for (const [name, value] of Object.entries(group)) {
    if (/^p\d+$/.test(name)) parts.set(Number(name.slice(1)), value as StoredPart);
  }
  return parts;
}

export function isComplete(group: GroupItem): boolean {
  return partsOf(group).size >= group.total;
}

/** The same part stored already, within its generation's repeat window: the SMSC sending it again. */
export function isRedelivery(group: GroupItem, seq: number, part: StoredPart, now: number): boolean {
  const stored = partsOf(group).get(seq);
  if (stored === undefined || stored.text !== part.text || stored.dataCoding !== part.dataCoding) return false;
  return now - group.openedAt < (group.total === 1 ? SINGLE_PART_REPEAT_WINDOW_MS : LONG_REPEAT_WINDOW_MS);
}

/** The generation has waited its reassembly timeout: it is stored as what arrived. */
export function isStale(group: GroupItem, now: number, timeoutMs: number): boolean {
  return now - group.openedAt >= timeoutMs;
}

/** When (epoch ms) an incomplete generation is due to be stored as it is. */
export function dueAt(group: GroupItem, timeoutMs: number): number {
  return group.openedAt + timeoutMs;
}

/** The MO item of a generation, from the parts it holds (all of them, or what arrived). */
export function assembleMo(group: GroupItem, expiresAt: number): MoItem {
  const parts = [...partsOf(group).entries()].sort(([a], [b]) => a - b).map(([, p]) => p);
  const first = parts[0];
  if (first === undefined) throw new StoreError(`MO group generation ${group.gen} holds no parts`, { retryable: false });
  const receivedAt = parts.map((p) => p.receivedAt).reduce((a, b) => (b < a ? b : a));
  return {
    id: MO_PREFIX + group.gen,
    kind: ItemKind.MO,
    from: group.from,
    to: group.to,
    text: joinParts(parts.map((p) => p.text)),
    dataCoding: first.dataCoding,
    parts: parts.length,
    receivedAt,
    expiresAt,
  };
}
