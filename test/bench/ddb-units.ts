/**
 * DynamoDB's billing rules, applied to what the bench saw (cost scenario, README "Cost per million
 * messages"). DynamoDB Local's own ConsumedCapacity is not the bill: it counts a transactional write
 * at 4 units per KB instead of 2 and returns nothing for PartiQL batches or failed writes, so the
 * bench computes the units from the requests and the stream's images, and keeps DynamoDB Local's
 * figure beside them as a cross-check.
 *
 * Rules (DynamoDB developer guide, "Item sizes" and "Read/write capacity"): an item's size is the
 * sum of its attribute names and values; a write bills ceil(KB) of the larger of the item before
 * and after it, at least 1, twice in a transaction; a failed conditional write bills the existing
 * item (at least 1); each index whose entry the write adds, removes or changes bills its own write
 * (a key change: delete + put), an entry being its projected attributes plus 100 bytes. Reads bill
 * per 4 KB: 1 strongly consistent, 0.5 eventually, 2 in a transaction; a Query rounds its total.
 */

/** The SDK's AttributeValue, loosely: the client's, the streams client's and Lambda's shapes all fit. */
export type Attr = Record<string, unknown>;
export type Image = Record<string, Attr>;

const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Bytes of a number: 1 per two significant digits, plus 1. */
export function numberSize(n: string): number {
  const digits = n.replace(/^[-+]/, '').replace(/[eE].*$/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

function binarySize(b: unknown): number {
  if (b instanceof Uint8Array) return b.byteLength;
  if (typeof b === 'string') return Buffer.from(b, 'base64').byteLength;
  return 0;
}

/** Bytes of one attribute value by DynamoDB's rules (lists and maps: 3 bytes, plus 1 per element). */
export function valueSize(v: Attr): number {
  if ('S' in v) return utf8(v['S'] as string);
  if ('N' in v) return numberSize(v['N'] as string);
  if ('B' in v) return binarySize(v['B']);
  if ('BOOL' in v || 'NULL' in v) return 1;
  if ('SS' in v) return (v['SS'] as string[]).reduce((n, s) => n + utf8(s), 0);
  if ('NS' in v) return (v['NS'] as string[]).reduce((n, s) => n + numberSize(s), 0);
  if ('BS' in v) return (v['BS'] as unknown[]).reduce<number>((n, b) => n + binarySize(b), 0);
  if ('L' in v) return 3 + (v['L'] as Attr[]).reduce((n, e) => n + 1 + valueSize(e), 0);
  if ('M' in v) return 3 + Object.entries(v['M'] as Image).reduce((n, [k, e]) => n + 1 + utf8(k) + valueSize(e), 0);
  return 0;
}

/** Bytes of an item (0 when there is none). */
export function itemSize(item: Image | undefined): number {
  if (item === undefined) return 0;
  let n = 0;
  for (const [name, value] of Object.entries(item)) n += utf8(name) + valueSize(value);
  return n;
}

/** Write units of one item of this many bytes: per started KB, at least 1. */
export const writeUnits = (bytes: number): number => Math.max(1, Math.ceil(bytes / 1024));
/** Read units of this many bytes, strongly consistent: per started 4 KB, at least 1. */
export const readUnits = (bytes: number): number => Math.max(1, Math.ceil(bytes / 4096));

/** A global secondary index as DescribeTable gives it. */
export interface IndexDef {
  name: string;
  /** Its key attributes (partition, then sort). */
  keys: string[];
  projection: 'KEYS_ONLY' | 'INCLUDE' | 'ALL';
  /** INCLUDE's non-key attributes. */
  include: string[];
}

/** Index entries carry 100 bytes of overhead beside their attributes. */
const INDEX_ENTRY_OVERHEAD = 100;

function indexEntry(item: Image | undefined, ix: IndexDef, tableKeys: readonly string[]): Image | undefined {
  if (item === undefined || ix.keys.some((k) => item[k] === undefined)) return undefined;
  if (ix.projection === 'ALL') return item;
  const names = new Set([...tableKeys, ...ix.keys, ...(ix.projection === 'INCLUDE' ? ix.include : [])]);
  return Object.fromEntries(Object.entries(item).filter(([k]) => names.has(k)));
}

/** Bytes an item's entry in an index takes (projected attributes + 100), 0 when the item is not in it. */
export function indexEntryBytes(item: Image | undefined, ix: IndexDef, tableKeys: readonly string[] = ['id']): number {
  const entry = indexEntry(item, ix, tableKeys);
  return entry === undefined ? 0 : itemSize(entry) + INDEX_ENTRY_OVERHEAD;
}

const same = (a: Image, b: Image): boolean => JSON.stringify(Object.entries(a).sort(([x], [y]) => (x < y ? -1 : 1))) === JSON.stringify(Object.entries(b).sort(([x], [y]) => (x < y ? -1 : 1)));

/** Write units one index bills for a change of an item from `before` to `after` (either may be absent). */
export function indexWriteUnits(before: Image | undefined, after: Image | undefined, ix: IndexDef, tableKeys: readonly string[] = ['id']): number {
  const old = indexEntry(before, ix, tableKeys);
  const neu = indexEntry(after, ix, tableKeys);
  const units = (e: Image): number => writeUnits(itemSize(e) + INDEX_ENTRY_OVERHEAD);
  if (old === undefined && neu === undefined) return 0;
  if (old === undefined) return units(neu as Image);
  if (neu === undefined) return units(old);
  const keyChanged = ix.keys.some((k) => JSON.stringify(old[k]) !== JSON.stringify(neu[k]));
  if (keyChanged) return units(old) + units(neu);
  return same(old, neu) ? 0 : units(neu);
}

/** Units of one applied write: the table's, and the indexes' (by index name). */
export interface WriteBill {
  table: number;
  indexes: Record<string, number>;
}

/** What an applied write bills, from the item before and after it (a stream record's images). */
export function billWrite(before: Image | undefined, after: Image | undefined, indexes: readonly IndexDef[], transactional: boolean): WriteBill {
  const factor = transactional ? 2 : 1;
  const bill: WriteBill = { table: factor * writeUnits(Math.max(itemSize(before), itemSize(after))), indexes: {} };
  for (const ix of indexes) {
    const u = indexWriteUnits(before, after, ix);
    if (u > 0) bill.indexes[ix.name] = factor * u;
  }
  return bill;
}

/** Units of a write that was refused (condition false, transaction cancelled): the existing item's, at least 1. */
export function billRefusedWrite(existingBytes: number, transactional: boolean): number {
  return (transactional ? 2 : 1) * writeUnits(existingBytes);
}

/**
 * What became of one item's write: applied; refused by its condition (billed for the existing
 * item); failed without being applied or billed (throttled, invalid); or unknown (a timeout or a
 * lost connection: DynamoDB may have applied it).
 */
export type WriteOutcome = 'applied' | 'refused' | 'failed' | 'unknown';

/** One item a call wrote or tried to write. */
export interface WriteTarget {
  id: string;
  op: 'put' | 'update' | 'delete' | 'insert' | 'check';
  transactional: boolean;
  outcome: WriteOutcome;
  /** The SDK sent the call more than once: a write the last attempt found refused may be an earlier attempt's. */
  retried?: boolean;
}

const REFUSED = new Set(['ConditionalCheckFailedException', 'TransactionCanceledException', 'ConditionalCheckFailed', 'DuplicateItem']);
const NOT_APPLIED = new Set([
  'ValidationException',
  'ResourceNotFoundException',
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TransactionConflictException',
  'TransactionInProgressException',
  'ItemCollectionSizeLimitExceededException',
  'ValidationError',
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
  'TransactionConflict',
  'ResourceNotFound',
]);

/** The outcome a call's error (its name, or a PartiQL statement's error code) means for its writes. */
export function outcomeOf(error: string | undefined): WriteOutcome {
  if (error === undefined) return 'applied';
  if (REFUSED.has(error)) return 'refused';
  return NOT_APPLIED.has(error) ? 'failed' : 'unknown';
}

const idOf = (m: unknown): string | undefined => {
  const v = (m as Image | undefined)?.['id'];
  return v !== undefined && typeof v['S'] === 'string' ? v['S'] : undefined;
};

/**
 * The id a PartiQL statement names: `'id': ?` or `'id': 'x'` in an INSERT's VALUE, or `"id" = ?`
 * (or `id = 'x'`) in a WHERE. Parameters are taken in the order of the statement's question marks.
 */
export function statementId(statement: string, parameters: readonly Attr[] = []): string | undefined {
  const patterns = [/'id'\s*:\s*(\?|'([^']*)')/, /WHERE\s+(?:"id"|id)\s*=\s*(\?|'([^']*)')/i];
  for (const re of patterns) {
    const m = re.exec(statement);
    if (m === null) continue;
    if (m[2] !== undefined) return m[2];
    const index = (statement.slice(0, m.index + m[0].length).match(/\?/g) ?? []).length - 1;
    return idOf({ id: parameters[index] });
  }
  return undefined;
}

const statementOp = (statement: string): WriteTarget['op'] | 'select' => {
  const verb = statement.trimStart().slice(0, 6).toUpperCase();
  return verb === 'INSERT' ? 'insert' : verb === 'UPDATE' ? 'update' : verb === 'DELETE' ? 'delete' : 'select';
};

/**
 * The items a DynamoDB command writes, from its input (and, for a PartiQL batch, its per-statement
 * answers). `error`: the name of the error the call threw, if it did; `attempts`: how many times
 * the SDK sent it.
 */
export function writeTargets(command: string, input: Record<string, unknown>, output: Record<string, unknown> | undefined, error?: string, attempts = 1): WriteTarget[] {
  const targets = targetsOf(command, input, output, error);
  return attempts > 1 ? targets.map((t) => ({ ...t, retried: true })) : targets;
}

function targetsOf(command: string, input: Record<string, unknown>, output: Record<string, unknown> | undefined, error: string | undefined): WriteTarget[] {
  const outcome = outcomeOf(error);
  const single = (op: WriteTarget['op'], item: unknown): WriteTarget[] => {
    const id = idOf(item);
    return id === undefined ? [] : [{ id, op, transactional: false, outcome }];
  };
  switch (command) {
    case 'PutItem':
      return single('put', input['Item']);
    case 'UpdateItem':
      return single('update', input['Key']);
    case 'DeleteItem':
      return single('delete', input['Key']);
    case 'TransactWriteItems':
      return ((input['TransactItems'] ?? []) as Record<string, Record<string, unknown> | undefined>[]).flatMap((t) => {
        const [op, item] = t['Put']
          ? (['put', t['Put']['Item']] as const)
          : t['Update']
            ? (['update', t['Update']['Key']] as const)
            : t['Delete']
              ? (['delete', t['Delete']['Key']] as const)
              : (['check', t['ConditionCheck']?.['Key']] as const);
        const id = idOf(item);
        return id === undefined ? [] : [{ id, op, transactional: true, outcome }];
      });
    case 'BatchWriteItem':
      return Object.values((input['RequestItems'] ?? {}) as Record<string, Record<string, Record<string, unknown>>[]>).flatMap((requests) =>
        requests.flatMap((r) => (r['PutRequest'] ? single('put', r['PutRequest']['Item']) : single('delete', r['DeleteRequest']?.['Key']))),
      );
    case 'ExecuteStatement': {
      const statement = String(input['Statement'] ?? '');
      const op = statementOp(statement);
      const id = statementId(statement, (input['Parameters'] ?? []) as Attr[]);
      return op === 'select' || id === undefined ? [] : [{ id, op, transactional: false, outcome }];
    }
    case 'BatchExecuteStatement': {
      const answers = (output?.['Responses'] ?? []) as { Error?: { Code?: string } }[];
      return ((input['Statements'] ?? []) as { Statement?: string; Parameters?: Attr[] }[]).flatMap((s, i) => {
        const statement = s.Statement ?? '';
        const op = statementOp(statement);
        const id = statementId(statement, s.Parameters ?? []);
        if (op === 'select' || id === undefined) return [];
        const answer = answers[i];
        const own = error !== undefined || answer === undefined ? outcome : answer.Error === undefined ? 'applied' : outcomeOf(answer.Error.Code ?? 'unknown');
        return [{ id, op, transactional: false, outcome: own }];
      });
    }
    default:
      return [];
  }
}

/** Read units a call billed, from its input and its answer (what it read is what it returned). */
export function callReadUnits(command: string, input: Record<string, unknown>, output: Record<string, unknown> | undefined): number {
  if (output === undefined) return 0;
  const factor = (consistent: unknown): number => (consistent === true ? 1 : 0.5);
  switch (command) {
    case 'GetItem':
      return factor(input['ConsistentRead']) * readUnits(itemSize(output['Item'] as Image | undefined));
    case 'BatchGetItem': {
      let units = 0;
      const asked = (input['RequestItems'] ?? {}) as Record<string, { Keys?: unknown[]; ConsistentRead?: boolean }>;
      const got = (output['Responses'] ?? {}) as Record<string, Image[]>;
      const left = (output['UnprocessedKeys'] ?? {}) as Record<string, { Keys?: unknown[] }>;
      for (const [table, req] of Object.entries(asked)) {
        const items = got[table] ?? [];
        const missing = Math.max(0, (req.Keys?.length ?? 0) - items.length - (left[table]?.Keys?.length ?? 0));
        units += factor(req.ConsistentRead) * (items.reduce((n, it) => n + readUnits(itemSize(it)), 0) + missing);
      }
      return units;
    }
    case 'TransactGetItems':
      return ((output['Responses'] ?? []) as { Item?: Image }[]).reduce((n, r) => n + 2 * readUnits(itemSize(r.Item)), 0);
    case 'Query':
    case 'Scan': {
      const items = (output['Items'] ?? []) as Image[];
      const bytes = items.reduce((n, it) => n + itemSize(it), 0);
      // A filter bills what was read before it; scale by what it kept when it dropped items.
      const scanned = Number(output['ScannedCount'] ?? items.length);
      const scale = items.length > 0 && scanned > items.length ? scanned / items.length : 1;
      return factor(input['ConsistentRead']) * readUnits(bytes * scale);
    }
    case 'ExecuteStatement': {
      if (statementOp(String(input['Statement'] ?? '')) !== 'select') return 0;
      const items = (output['Items'] ?? []) as Image[];
      return factor(input['ConsistentRead']) * readUnits(items.reduce((n, it) => n + itemSize(it), 0));
    }
    case 'BatchExecuteStatement':
      return ((output['Responses'] ?? []) as { Item?: Image }[]).reduce((n, r) => n + (r.Item === undefined ? 0 : 0.5 * readUnits(itemSize(r.Item))), 0);
    default:
      return 0;
  }
}

/** DynamoDB Local's ConsumedCapacity of one call, summed: table and indexes. */
export interface ReportedUnits {
  table: number;
  indexes: number;
}

/** Sums a ConsumedCapacity (one object, or one per table); undefined when the answer carried none. */
export function reportedUnits(consumed: unknown): ReportedUnits | undefined {
  if (consumed === undefined || consumed === null) return undefined;
  const list = (Array.isArray(consumed) ? consumed : [consumed]) as Record<string, unknown>[];
  const out: ReportedUnits = { table: 0, indexes: 0 };
  for (const c of list) {
    const table = c['Table'] as { CapacityUnits?: number } | undefined;
    out.table += table?.CapacityUnits ?? Number(c['CapacityUnits'] ?? 0);
    for (const ix of Object.values((c['GlobalSecondaryIndexes'] ?? {}) as Record<string, { CapacityUnits?: number }>)) out.indexes += ix.CapacityUnits ?? 0;
  }
  return out;
}

/** The size of a PutEvents entry as EventBridge bills it (each started 64 KB is one event). */
export function putEventsEntrySize(entry: { Source?: string; DetailType?: string; Detail?: string; Resources?: string[]; Time?: unknown }): number {
  return (entry.Time !== undefined ? 14 : 0) + utf8(entry.Source ?? '') + utf8(entry.DetailType ?? '') + utf8(entry.Detail ?? '') + (entry.Resources ?? []).reduce((n, r) => n + utf8(r), 0);
}
