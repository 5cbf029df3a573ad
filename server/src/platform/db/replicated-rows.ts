/**
 * Replicated tables (the rows the desktop replica syncs by server_seq) as documents of src/shared/sync-protocol.ts.
 * The component that owns a table describes it with a ReplicatedTable (in its data/, exported through its index.ts)
 * and the sync component's generic pull and tombstone machinery reads it. A row arrives as JSON — the pull's
 * `to_jsonb(t)`, or a tombstone's last state (timestamps as ISO text) — so the value helpers below read driver
 * values and JSON alike.
 */

export type ReplicatedRow = Record<string, unknown>;

export interface ReplicatedTable<D> {
  table: string;
  idColumn: string;
  /** the row as JSON in the pull (default `to_jsonb(t)`); may add computed fields for `toDoc` */
  rowJson?: string;
  /** a live row, or a tombstone's last state (may lack columns added since it was written) */
  toDoc(row: ReplicatedRow): D;
  /**
   * The table's closed rows leave the replica past the history horizon (SYNC_HISTORY_DAYS, migration 032: a
   * retired row's server_seq is negative, so no pull reads it): `closed` is the SQL predicate (on `t`) of a row
   * that can no longer change by itself — the same as the table's `*_sync_closed_idx` predicate.
   */
  horizon?: { closed: string };
}

/** A `horizon.closed` predicate: the row's status is one of these (literal identifiers from src/shared only). */
export const statusIn = (statuses: readonly string[]): string =>
  `t.status in (${statuses.map((x) => `'${x.replaceAll("'", "''")}'`).join(', ')})`;

/** Date (driver), ISO string (jsonb), number → epoch ms. */
export function ms(v: unknown): number {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'number') return Math.round(v);
  if (typeof v === 'string') return Date.parse(v);
  return 0;
}
export const msOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : ms(v));
export const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
export const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
export const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
export const json = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));
export const intOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Math.round(Number(v)));

/**
 * A PostgreSQL timestamp as text (a tstzrange bound: `2025-01-01 10:00:00.5+00`, or ISO) → epoch ms; NaN when
 * it is not one (e.g. `infinity`).
 */
export function pgTimestampMs(text: string): number {
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?)(?:([+-]\d{2})(?::?(\d{2}))?(?::?(\d{2}))?|Z)?$/.exec(text.trim());
  if (!m) return Number.NaN;
  const zone = m[3] === undefined ? 'Z' : `${m[3]}:${m[4] ?? '00'}`;
  return Date.parse(`${m[1]}T${m[2]}${zone}`);
}

/** A tstzrange as text (`["2025-01-01 10:00:00+00","2025-01-01 11:00:00+00")`) → its bounds in ms (null: unbounded/infinity). */
export function parseRange(text: string): { lower: number | null; upper: number | null } {
  const m = /^[[(]"?([^",]*)"?,"?([^",]*)"?[\])]$/.exec(text.trim());
  if (!m) return { lower: null, upper: null };
  const bound = (b: string | undefined): number | null => {
    if (!b || b === 'infinity' || b === '-infinity') return null;
    const v = pgTimestampMs(b);
    return Number.isFinite(v) ? v : null;
  };
  return { lower: bound(m[1]), upper: bound(m[2]) };
}
