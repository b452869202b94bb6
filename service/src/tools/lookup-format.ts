/**
 * What `npm run status -- --to … / --from …` reads from its flags and prints (README, Look-ups by
 * number): `--since` / `--until` as a duration back from now (`7d`, `24h`, `30m`, `90s`) or an
 * ISO-8601 date-time, and the items as a compact table or as JSON lines.
 */
import type { MoItem, StatusItem } from '../aws/status-store/index.js';

const UNIT_MS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** Epoch ms of `value`: `<n><s|m|h|d|w>` before `now`, or an ISO-8601 date-time. Throws a RangeError naming the flag otherwise. */
export function parseWhen(flag: string, value: string, now: number): number {
  const duration = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(value.trim());
  if (duration !== null) return now - Number(duration[1]) * (UNIT_MS[duration[2] ?? ''] ?? 0);
  // A bare date is a date-time too (midnight UTC); anything else must parse as one.
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value.trim()) || !Number.isFinite(ms)) {
    throw new RangeError(`${flag}: "${value}" is neither a duration (7d, 24h, 30m, 90s) nor an ISO-8601 date-time`);
  }
  return ms;
}

/** One JSON object per line. */
export function jsonLines(items: readonly object[]): string {
  return items.map((i) => `${JSON.stringify(i)}\n`).join('');
}

/** Messages as a table, newest first as given. */
export function messagesTable(items: readonly StatusItem[]): string {
  return table(
    ['createdAt', 'id', 'status', 'to', 'from', 'parts', 'detail'],
    items.map((i) => [
      i.createdAt,
      i.id,
      i.status,
      i.to ?? '-',
      i.from ?? '-',
      String(i.segments ?? '-'),
      [i.stat, i.lastError?.name, i.retries ? `${i.retries} retr${i.retries === 1 ? 'y' : 'ies'}` : undefined].filter((x) => x !== undefined).join(' ') || '-',
    ]),
  );
}

/** MOs as a table, newest first as given; long texts cut at 40 characters. */
export function mosTable(items: readonly MoItem[]): string {
  return table(
    ['receivedAt', 'id', 'from', 'to', 'parts', 'text'],
    items.map((i) => [i.receivedAt, i.id, i.from ?? '-', i.to ?? '-', String(i.parts), cut(i.text ?? '', 40)]),
  );
}

function cut(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].map((l) => `${l}\n`).join('');
}
