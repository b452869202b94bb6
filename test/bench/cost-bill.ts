/**
 * The DynamoDB bill of a cost run: every call the service made (recorded in its process, see
 * cost-child.ts) matched, item by item and in order, with the stream record its write produced, and
 * billed by the rules in ddb-units.ts. Only calls answered inside the measured window count.
 */
import { billRefusedWrite, billWrite, itemSize, type Image, type IndexDef, type ReportedUnits, type WriteTarget } from './ddb-units.js';

/** One DynamoDB call as the service's process recorded it. */
export interface DdbCall {
  /** Epoch ms when its answer (or error) came back. */
  t: number;
  command: string;
  ok: boolean;
  /** The error's name, when it failed. */
  error?: string;
  targets: WriteTarget[];
  /** Read units, computed from its answer. */
  readUnits: number;
  /** DynamoDB Local's ConsumedCapacity, when it returned one. */
  reported?: ReportedUnits;
}

/** One stream record, reduced to what billing needs. */
export interface StreamRec {
  id: string;
  eventName: string;
  oldImage?: Image;
  newImage?: Image;
}

export interface CommandBill {
  calls: number;
  tableWriteUnits: number;
  indexWriteUnits: number;
  readUnits: number;
  /** Calls DynamoDB Local returned ConsumedCapacity for, with its figure and ours for the same calls. */
  crossCheck: { calls: number; reported: number; ours: number };
}

export interface DdbBill {
  calls: number;
  tableWriteUnits: number;
  indexWriteUnits: Record<string, number>;
  readUnits: number;
  byCommand: Record<string, CommandBill>;
  /** Writes refused by their condition (billed for the existing item). */
  refusedWrites: number;
  /** Writes whose outcome the caller never learnt (timeouts), and how many of them the stream shows applied. */
  unknownWrites: number;
  unknownApplied: number;
  /** Applied writes with no stream record left for their item (billed for the item as last seen), and records no write claimed. */
  unmatchedWrites: number;
  unmatchedRecords: number;
}

/**
 * Bills `calls` (of every process, any order) against `records` (the table's stream, in order per
 * item) for the calls answered within [from, to]. Calls outside the window still consume their
 * records, so that the ones inside it meet their own. A write of unknown outcome takes a record
 * when its item has more records left than writes known to be applied.
 */
export function billCalls(calls: readonly DdbCall[], records: readonly StreamRec[], indexes: readonly IndexDef[], window: { from: number; to: number }): DdbBill {
  const queues = new Map<string, StreamRec[]>();
  for (const r of records) {
    const q = queues.get(r.id);
    if (q) q.push(r);
    else queues.set(r.id, [r]);
  }
  const lastSize = new Map<string, number>();
  const bill: DdbBill = { calls: 0, tableWriteUnits: 0, indexWriteUnits: {}, readUnits: 0, byCommand: {}, refusedWrites: 0, unknownWrites: 0, unknownApplied: 0, unmatchedWrites: 0, unmatchedRecords: 0 };
  const sorted = [...calls].sort((a, b) => a.t - b.t);
  const appliedLeft = new Map<string, number>();
  for (const call of sorted) for (const t of call.targets) if (t.outcome === 'applied' && t.op !== 'check') appliedLeft.set(t.id, (appliedLeft.get(t.id) ?? 0) + 1);
  for (const call of sorted) {
    const counted = call.t >= window.from && call.t <= window.to;
    let table = 0;
    let index = 0;
    const perIndex: Record<string, number> = {};
    for (const target of call.targets) {
      const existing = lastSize.get(target.id) ?? 0;
      // Refused on a retry: the first attempt may have written it (its answer lost). Both are billed then.
      const maybeEarlier = target.outcome === 'refused' && target.retried === true && target.op !== 'check';
      if (maybeEarlier) table += billRefusedWrite(existing, target.transactional);
      if (target.op === 'check' || (target.outcome === 'refused' && !maybeEarlier)) {
        // A condition check, or a write its condition (or its transaction) refused: nothing in the stream.
        table += billRefusedWrite(existing, target.transactional);
        if (target.op !== 'check' && counted) bill.refusedWrites += 1;
        continue;
      }
      if (target.outcome === 'failed') continue;
      const queue = queues.get(target.id);
      if (target.outcome === 'unknown' || maybeEarlier) {
        if (counted) bill.unknownWrites += 1;
        if ((queue?.length ?? 0) <= (appliedLeft.get(target.id) ?? 0)) continue;
        if (counted) bill.unknownApplied += 1;
      } else appliedLeft.set(target.id, (appliedLeft.get(target.id) ?? 1) - 1);
      const record = queue?.shift();
      if (record === undefined) {
        table += billRefusedWrite(existing, target.transactional);
        if (counted) bill.unmatchedWrites += 1;
        continue;
      }
      const b = billWrite(record.oldImage, record.newImage, indexes, target.transactional);
      table += b.table;
      for (const [name, u] of Object.entries(b.indexes)) {
        perIndex[name] = (perIndex[name] ?? 0) + u;
        index += u;
      }
      lastSize.set(target.id, itemSize(record.newImage));
    }
    if (!counted) continue;
    bill.calls += 1;
    bill.tableWriteUnits += table;
    bill.readUnits += call.readUnits;
    for (const [name, u] of Object.entries(perIndex)) bill.indexWriteUnits[name] = (bill.indexWriteUnits[name] ?? 0) + u;
    const c = (bill.byCommand[call.command] ??= { calls: 0, tableWriteUnits: 0, indexWriteUnits: 0, readUnits: 0, crossCheck: { calls: 0, reported: 0, ours: 0 } });
    c.calls += 1;
    c.tableWriteUnits += table;
    c.indexWriteUnits += index;
    c.readUnits += call.readUnits;
    if (call.reported !== undefined && call.ok) {
      c.crossCheck.calls += 1;
      c.crossCheck.reported += call.reported.table + call.reported.indexes;
      c.crossCheck.ours += table + index + call.readUnits;
    }
  }
  for (const q of queues.values()) bill.unmatchedRecords += q.length;
  return bill;
}
