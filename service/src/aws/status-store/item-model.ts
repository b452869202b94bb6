/**
 * The status store's table: one DynamoDB table (see `../table.ts`) holding what happened to every
 * message. It knows no SMPP: ids are strings, statuses come from `domain.ts`, the rules that change a
 * MESSAGE item are `core/message-state.ts`, and the caller turns an SMSC message id into the
 * correlation `keys` (1 or 2 per id, already normalised: `core/receipt-keys.ts`).
 *
 * ## Item model
 * Every item has `id` (the partition key, string), `kind` and `expiresAt` (TTL, epoch seconds,
 * `ttlDays` after the item's last write). Job ids match `[A-Za-z0-9._:-]{1,128}`, so they never
 * contain `#` and cannot collide with the prefixed kinds.
 *
 * ### MESSAGE — `id` = the job's id (or, for an invalid job without a usable id, its SQS message id)
 * | attribute | type | meaning |
 * |---|---|---|
 * | `kind` | S | `MESSAGE` |
 * | `status` | S | `SUBMITTING → SUBMITTED → ENROUTE / ACCEPTED → DELIVERED / UNDELIVERED / EXPIRED / REJECTED / DELETED / UNKNOWN`, or `FAILED`, `INVALID` |
 * | `statusRank` | N | `STATUS_RANK[status]` (10, 20, 30, 40, 100 = final); writes only ever raise it |
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
 * | `reason` | S | why the job is `INVALID` |
 * | `history` | L | `{ status, at }` appended on every status change |
 * | `claimOwner`, `claimExpiresAt` | S, N | the lease of the task submitting it (epoch ms); absent when nobody holds it |
 * | `previousClaimOwner` | S | the lease holder the last claim found (`''` when none): a claim that takes over another owner's expired lease counts an unknown outcome, since that owner may have submitted before it died |
 * | `version` | N | incremented by every write (optimistic concurrency) |
 *
 * Long messages: the message status is derived from its parts once every part is accepted — any part
 * in a failure state (UNDELIVERED, EXPIRED, REJECTED, DELETED, UNKNOWN) → the first such; all
 * DELIVERED → DELIVERED; otherwise the most advanced in-progress part state. Until then it stays
 * SUBMITTING, so a retry still sends the missing parts.
 *
 * ### CORRELATION — `id` = `SMSCID#` + key
 * `kind` = `CORRELATION`, `messageId` (S), `part` (N), `receipts` (L of receipts as received;
 * receipts that arrived before the submit response was recorded wait here and are applied when it
 * is). Keys come exact first, then numeric readings of the id (see `AcceptedPart.keys`): a part's
 * exact key always points at it (SMSC ids wrap around), a reading only when no other message holds
 * that key, and a receipt looks at its exact key first — so when two ids share a reading, each
 * receipt still finds its own message.
 *
 * ### Calls
 * A single-part job usually costs: a share of one BatchExecuteStatement (the claims of a receive),
 * one TransactWriteItems (correlation + message) and, for its receipt on this task, one PutItem.
 * Everything else (another task's receipt, a receipt ahead of its response, a version conflict) takes
 * the longer, always-safe path through the correlation item and a read-modify-write.
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
 * Example: `aws dynamodb get-item --table-name <table> --key '{"id":{"S":"order-42"}}'`.
 */
import type { MoMessage } from '../../domain.js';
import { MESSAGE_KIND } from '../../core/message-state.js';

/** Item kinds in the table. */
export const ItemKind = { MESSAGE: MESSAGE_KIND, CORRELATION: 'CORRELATION', MO: 'MO', MOPART: 'MOPART', BINDSLOT: 'BINDSLOT' } as const;
export type ItemKind = (typeof ItemKind)[keyof typeof ItemKind];

/** Prefix of correlation items' ids. */
export const CORRELATION_PREFIX = 'SMSCID#';
/** Prefix of MO items' ids. */
export const MO_PREFIX = 'MO#';
/** Prefix of MOPART items' ids. */
export const MOPART_PREFIX = 'MOPART#';
/** Prefix of BINDSLOT items' ids (followed by `<systemId>#<n>`). */
export const BINDSLOT_PREFIX = 'BINDSLOT#';
/** A key no item has: `probe()` reads it. */
export const PROBE_ID = 'PROBE#store';

/** An MO item as stored. */
export interface MoItem extends MoMessage {
  id: string;
  kind: typeof ItemKind.MO;
  expiresAt: number;
}

export type { HistoryEntry, PartState, StatusItem } from '../../core/message-state.js';
