/**
 * The status store's table: one DynamoDB table (see `../table.ts`) holding what happened to every
 * message. It knows no SMPP: ids are strings, statuses come from `domain.ts`, the rules that change a
 * MESSAGE item are `core/message-state.ts`, and the caller turns an SMSC message id into the
 * correlation `keys` (1 or 2 per id, already normalised: `core/receipt-keys.ts`).
 *
 * ## Item model
 * Every item has `id` (the partition key, string), `kind` and `expiresAt` (TTL, epoch seconds,
 * `ttlDays` after the item's last write; OPTOUT items excepted). Job ids match `[A-Za-z0-9._:-]{1,128}`, so they never
 * contain `#` and cannot collide with the prefixed kinds.
 *
 * ### MESSAGE — `id` = the job's id (or, for an invalid job without a usable id, its SQS message id)
 * | attribute | type | meaning |
 * |---|---|---|
 * | `kind` | S | `MESSAGE` |
 * | `status` | S | `SUBMITTING → SUBMITTED → ENROUTE / ACCEPTED → DELIVERED / UNDELIVERED / EXPIRED / REJECTED / DELETED / UNKNOWN`, or `FAILED`, `INVALID` |
 * | `statusRank` | N | `STATUS_RANK[status]` (10, 20, 30, 40, 100 = final), except 90 for UNKNOWN set by the final-status sweep, which a final receipt still raises to 100; writes only ever raise it |
 * | `to`, `from` | S | destination and source address, as in the job |
 * | `encoding` | S | encoding used on the wire (`GSM7`, `LATIN1`, `UCS2`) |
 * | `segments` | N | number of SMS parts |
 * | `concat`, `concatRef` | S, N | how the parts are tied together (`udh8`, `udh16`, `sar`) and the reference; with `encoding` and `segments`, fixed by the first claim and re-used by every retry on any task, so a handset never sees one message's parts under two references |
 * | `parts` | M | keyed by part number `"1"`..`"N"`: `{ smscMessageId, status, stat?, err?, networkError?, doneAt? }` |
 * | `createdAt`, `updatedAt`, `submittedAt`, `doneAt` | S | ISO-8601; `submittedAt` once every part is accepted, `doneAt` when final |
 * | `attempts` | N | submit attempts (claims) |
 * | `unknownOutcomes` | N | submits that timed out (the only source of possible duplicates) |
 * | `lastError` | M | `{ code, name, description }` of the last failed or retried attempt |
 * | `stat`, `err`, `networkError` | S | receipt fields of the part that decided the status |
 * | `metadata` | M | the job's metadata, echoed |
 * | `sqsMessageId` | S | SQS message id of the last delivery of the job |
 * | `reason` | S | why the job is `INVALID`; `opted out` on a job REJECTED by the suppression list (docs/architecture.md §7.5); `no receipt` on UNKNOWN set by the final-status sweep (removed if a final receipt comes after all) |
 * | `history` | L | `{ status, at }` appended on every status change; an operator's retry adds `{ SUBMITTING, at, note: 'retry' }` (and `{ FAILED, at, note: 'retry not queued' }` when its job could not be queued) |
 * | `retries` | N | times an operator re-queued it after FAILED (`npm run retry`; `retry.ts`, docs/architecture.md §7.4); absent until then |
 * | `job` | M | only while FAILED (a job recorded FAILED since this attribute exists): the validated job — text, metadata and all — so `npm run retry` can re-queue it; removed by the retry. The one place an outbound message's text is stored: the FAILED item (and its stream records) carries it until the item expires or is retried, and is larger by the job (text ≤ 10,000 characters, ≤ 30 KB as UTF-8; metadata ≤ 2 KB) |
 * | `claimOwner`, `claimExpiresAt` | S, N | the lease of the task submitting it (epoch ms); absent when nobody holds it |
 * | `previousClaimOwner` | S | the lease holder the last claim found (`''` when none): a claim that takes over another owner's expired lease counts an unknown outcome, since that owner may have submitted before it died |
 * | `version` | N | incremented by every write (optimistic concurrency) |
 * | `validityPeriodSeconds` | N | the job's validity period, when it has one (set by the claim) |
 * | `openShard`, `finalBy` | S, N | from the write that first makes the message SUBMITTED (or further) on, and kept when it ends (keys of the sparse index `openByDeadline`; removing them would be one more index write): `OPEN#0`..`OPEN#7` (FNV-1a of `id`, `final-status.ts`) and the epoch second by which a final status is due — that write + FINAL_STATUS_TIMEOUT_HOURS, or + `validityPeriodSeconds` when shorter. Past `finalBy`, the sweep makes a message still open UNKNOWN with `reason` = `no receipt` (docs/architecture.md §7.2) |
 *
 * Long messages: the message status is derived from its parts once every part is accepted — any part
 * in a failure state (UNDELIVERED, EXPIRED, REJECTED, DELETED, UNKNOWN) → the first such; all
 * DELIVERED → DELIVERED; otherwise the most advanced in-progress part state. Until then it stays
 * SUBMITTING, so a retry still sends the missing parts.
 *
 * ### CORRELATION — `id` = `SMSCID#` + key
 * `kind` = `CORRELATION`, `messageId` (S), `part` (N), `receipts` (L of receipts as received;
 * receipts that arrived before the submit response was recorded wait here and are applied when it
 * is). One item per accepted part, under the part's exact key (`AcceptedPart.keys[0]`), which always
 * points at it (SMSC ids wrap around). A receipt looks under every key that can be the exact key of
 * a part it matches (`candidateExactKeys`: its own keys, and the hex rendering of each decimal one;
 * at most four), its own exact key first, and of several found takes the best match — so when two
 * ids share a reading, each receipt still finds its own message. A receipt parked before its part is
 * recorded is parked under all of them (items with `receipts` and no `messageId`).
 *
 * ### Calls
 * A single-part job usually costs: a share of one BatchExecuteStatement (the claims of a receive),
 * one UpdateItem per correlation key and one PutItem of the message (no transaction: it would bill
 * every item twice), and, for its receipt on this task, one PutItem; on another task, a GetItem of
 * the correlation first. A receipt ahead of its response, or a version conflict, takes the longer,
 * always-safe path through the correlation item and a read-modify-write.
 *
 * ### MO — `id` = `MO#` + UUID
 * `kind` = `MO`, `from`, `to`, `text` (decoded per DCS), `dataCoding` (N), `parts` (N), `receivedAt` (ISO-8601).
 * Written by the MO store (`../mo-store.ts`), once per message, whichever task stores its last part.
 *
 * ### MOPART — `id` = `MOPART#` + 32 hex digits of SHA-256 over the part's message (internal, never published)
 * `kind` = `MOPART`, `from`, `to`, `total` (N), `gen` (S, the UUID of the message being assembled
 * under this key), `openedAt` (N, epoch ms), `p1`..`pN` (M, `{ text, dataCoding, receivedAt }`),
 * `version` (N), and `doneAt`/`moId` once its MO item is written. The parts of one MO while they
 * arrive, on any task; every attribute and rule is in `../mo-store.ts`.
 *
 * ### BINDSLOT — `id` = `BINDSLOT#<systemId>#<n>`: the lease of bind slot `n` of an SMPP account (`../bind-lease.ts`).
 *
 * ### SWEEP — `id` = `SWEEP#OPEN#<n>`: how far the final-status sweep has read shard `n` of `openByDeadline`
 * `kind` = `SWEEP`, `until` (N, epoch seconds: every entry due before it is done), `resume` (S, JSON of the index key
 * a run that stopped at its bound continues after; absent otherwise). No TTL. Written only by `final-status.ts`.
 *
 * ### OPTOUT — `id` = `OPTOUT#<sender or *>#<number>`: one entry of the suppression list (docs/architecture.md §7.5)
 * `kind` = `OPTOUT`, `number` (S, digits only), `sender` (S, the sender id or short code, digits
 * only or upper case; `*` = every sender), `state` (S, `out` = no job from that sender reaches the
 * number, `in` = opted back in: the service has no DeleteItem, so an opt-in flips the state),
 * `changedAt` (S, ISO-8601), `source` (S, `mo` or `operator`), `moId` (S, the MO that carried the
 * keyword, when `source` = `mo`), `version` (N, +1 per write; events carry it). Deliberately no
 * `to`, `from`, `createdAt`, `receivedAt`, `openShard` or `finalBy`, so no index holds it, and no
 * `expiresAt`: an opt-out holds until the number opts in. Read and written by `../suppression.ts`;
 * the rules (keywords, keys) are `core/opt-out.ts`.
 *
 * Example: `aws dynamodb get-item --table-name <table> --key '{"id":{"S":"order-42"}}'`.
 */
import type { MoMessage } from '../../domain.js';
import { MESSAGE_KIND } from '../../core/message-state.js';
import { OPTOUT_KIND, OPTOUT_PREFIX } from '../../core/opt-out.js';

/** Item kinds in the table. */
export const ItemKind = { MESSAGE: MESSAGE_KIND, CORRELATION: 'CORRELATION', MO: 'MO', MOPART: 'MOPART', BINDSLOT: 'BINDSLOT', OPTOUT: OPTOUT_KIND, SWEEP: 'SWEEP' } as const;
export type ItemKind = (typeof ItemKind)[keyof typeof ItemKind];

/** Prefix of correlation items' ids. */
export const CORRELATION_PREFIX = 'SMSCID#';
/** Prefix of MO items' ids. */
export const MO_PREFIX = 'MO#';
/** Prefix of MOPART items' ids. */
export const MOPART_PREFIX = 'MOPART#';
/** Prefix of BINDSLOT items' ids (followed by `<systemId>#<n>`). */
export const BINDSLOT_PREFIX = 'BINDSLOT#';
/** Prefix of OPTOUT items' ids (followed by `<sender or *>#<number>`). */
export { OPTOUT_PREFIX };
/** A key no item has: `probe()` reads it. */
export const PROBE_ID = 'PROBE#store';

/** An MO item as stored. */
export interface MoItem extends MoMessage {
  id: string;
  kind: typeof ItemKind.MO;
  expiresAt: number;
}

export type { HistoryEntry, PartState, StatusItem } from '../../core/message-state.js';
