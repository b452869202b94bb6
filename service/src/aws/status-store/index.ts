/**
 * The status store (docs/architecture.md §3.2): `StatusStore` and the types its callers use. The
 * item model is documented in `item-model.ts`; the rules that change a message, in `core/message-state.ts`.
 */
export { StatusStore, type ExtendClaimOutcome, type RecordFailedOutcome, type RecordInvalidOutcome, type RecordOptedOutOutcome, type ReleaseClaimOutcome, type StatusStoreOptions } from './store.js';
export type { ClaimOutcome } from './claim-batcher.js';
export type { ReceiptOutcome } from './receipt-router.js';
export type { StoreLogger } from './item-writer.js';
export { DEFAULT_LOOKUP_LIMIT, MAX_LOOKUP_LIMIT, StatusLookups, type Instant, type LookupOptions, type StatusLookupsOptions } from './lookups.js';
export { RetryStore, type RetryStoreOptions, type StartedRetry, type StartRetryOutcome, type UndoRetryOutcome } from './retry.js';
export { FinalStatusSweep, OPEN_BY_DEADLINE, openShardOf, REREAD_SECONDS, SETTLE_SECONDS, SWEEP_PREFIX, type FinalStatusSweepOptions, type SweepResult } from './final-status.js';
export { BINDSLOT_PREFIX, CORRELATION_PREFIX, ItemKind, MO_PREFIX, MOPART_PREFIX, OPTOUT_PREFIX, type MoItem } from './item-model.js';
export type { AcceptedPart, ClaimOptions, HistoryEntry, PartState, StatusItem, SubmitPlan } from '../../core/message-state.js';
