/**
 * Collection → SQL mappers of the sync component: which table holds a collection, how a row (as selected, or as
 * kept in a tombstone's `to_jsonb(row)`) becomes the document of src/shared/sync-protocol.ts, and the pull query
 * (rows and tombstones written strictly after a checkpoint, in server_seq order).
 */
import type { OperatorRole } from '../../../../../src/shared/operator-role.js';
import { canSeeCustomerData, type SyncCollection, type SyncDocMap } from '../../../../../src/shared/sync-protocol.js';
import type { Queryable } from '../../../platform/db/index.js';

type Row = Record<string, unknown>;

/** Date (driver), ISO string (jsonb), number → epoch ms. */
function ms(v: unknown): number {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'number') return Math.round(v);
  if (typeof v === 'string') return Date.parse(v);
  return 0;
}
const msOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : ms(v));
const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const json = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));
const intOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Math.round(Number(v)));

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

/**
 * Reservations, bookings and rentals (`allocations`). The customer's window: `starts_at`/`ends_at` for
 * reservations and bookings (their period may start earlier: the buffer before a booking), `started_at` and
 * `ended_at` (else the period's end, null when open-ended) for rentals. Period bounds come as
 * `starts_ms`/`ends_ms` from the pull's row expression, or parsed from the range text (tombstones).
 */
function rentalDoc(r: Row): SyncDocMap['rentals'] {
  const range = typeof r.period === 'string' ? parseRange(r.period) : { lower: null, upper: null };
  const lower = r.starts_ms !== undefined && r.starts_ms !== null ? Number(r.starts_ms) : range.lower;
  const upper = r.starts_ms !== undefined ? (r.ends_ms === null || r.ends_ms === undefined ? null : Number(r.ends_ms)) : range.upper;
  const rental = r.kind === 'rental';
  const startsMs = msOrNull(rental ? r.started_at : r.starts_at) ?? lower ?? ms(r.created_at);
  const endsMs = msOrNull(rental ? r.ended_at : r.ends_at) ?? upper;
  const price = r.price === null || r.price === undefined ? null : json<SyncDocMap['rentals']['price']>(r.price);
  return {
    id: str(r.id),
    updatedAt: ms(r.updated_at),
    kind: r.kind as SyncDocMap['rentals']['kind'],
    vehicleId: str(r.vehicle_id),
    customerId: str(r.customer_id),
    status: r.status as SyncDocMap['rentals']['status'],
    startsAt: Math.round(startsMs),
    endsAt: endsMs === null ? null : Math.round(endsMs),
    sourceId: strOrNull(r.source_id),
    startedAt: msOrNull(r.started_at),
    endedAt: msOrNull(r.ended_at),
    returnBy: msOrNull(r.return_by),
    startOdometerKm: num(r.start_odometer_km),
    endOdometerKm: num(r.end_odometer_km),
    startLat: num(r.start_lat),
    startLon: num(r.start_lon),
    endLat: num(r.end_lat),
    endLon: num(r.end_lon),
    price: price && typeof price === 'object' && !Array.isArray(price) ? price : null,
    totalCents: intOrNull(r.total_cents),
    currency: strOrNull(r.currency),
    paymentId: strOrNull(r.payment_id),
    unlockCommandId: strOrNull(r.unlock_command_id),
    lockCommandId: strOrNull(r.lock_command_id),
    cancelReason: strOrNull(r.cancel_reason),
    cancelledBy: strOrNull(r.cancelled_by),
    endedBy: strOrNull(r.ended_by),
    endReason: strOrNull(r.end_reason),
    createdAt: ms(r.created_at),
  };
}

const LICENCE_STATUSES = new Set(['none', 'pending', 'verified', 'rejected', 'expired']);
/** Customers: the identity component's columns, read defensively (licence and block columns may be absent). */
function customerDoc(r: Row): SyncDocMap['customers'] {
  const licenceStatus = typeof r.licence_status === 'string' && LICENCE_STATUSES.has(r.licence_status) ? r.licence_status : 'none';
  const expires = r.licence_expires_on;
  return {
    id: str(r.id),
    updatedAt: ms(r.updated_at),
    email: str(r.email),
    name: str(r.name),
    phone: str(r.phone),
    status: r.status === 'blocked' ? 'blocked' : 'active',
    blockedReason: strOrNull(r.blocked_reason),
    blockedAt: msOrNull(r.blocked_at),
    licenceStatus: licenceStatus as SyncDocMap['customers']['licenceStatus'],
    licenceNumber: strOrNull(r.licence_number),
    licenceCountry: strOrNull(r.licence_country),
    licenceExpiresOn: expires === null || expires === undefined ? null : expires instanceof Date ? expires.toISOString().slice(0, 10) : String(expires).slice(0, 10),
    createdAt: ms(r.created_at),
  };
}

export interface CollectionSql<D> {
  table: string;
  idColumn: string;
  /** the row as JSON in the pull (default `to_jsonb(t)`); may add computed fields for `toDoc` */
  rowJson?: string;
  toDoc(row: Row): D;
}

export const COLLECTION_SQL: { [C in SyncCollection]: CollectionSql<SyncDocMap[C]> } = {
  vehicles: {
    table: 'vehicles',
    idColumn: 'id',
    toDoc: (r) => ({
      id: str(r.id),
      updatedAt: ms(r.updated_at),
      plate: str(r.plate),
      make: str(r.make),
      model: str(r.model),
      energyType: r.energy_type as 'fuel' | 'electric',
      homeZone: str(r.home_zone),
      serviceState: (r.service_state ?? 'available') as 'available' | 'maintenance',
      lat: num(r.lat),
      lon: num(r.lon),
      online: r.online === true,
      energyPct: num(r.energy_pct),
      lastSeenAt: msOrNull(r.last_seen_at),
    }),
  },
  alerts: {
    table: 'alerts',
    idColumn: 'id',
    toDoc: (r) => ({
      id: str(r.id),
      updatedAt: ms(r.updated_at),
      vehicleId: str(r.vehicle_id),
      kind: str(r.kind),
      severity: r.severity as 'info' | 'warning' | 'critical',
      status: r.status as 'open' | 'acknowledged' | 'resolved',
      assignee: strOrNull(r.assignee),
      resolution: strOrNull(r.resolution),
      openedAt: ms(r.first_seen_at),
      lastSeenAt: ms(r.last_seen_at),
      occurrences: Number(r.occurrences ?? 0),
      acknowledgedBy: strOrNull(r.acknowledged_by),
      acknowledgedAt: msOrNull(r.acknowledged_at),
      resolvedBy: strOrNull(r.resolved_by),
      resolvedAt: msOrNull(r.resolved_at),
    }),
  },
  commands: {
    table: 'commands',
    idColumn: 'command_id',
    toDoc: (r) => ({
      id: str(r.command_id),
      updatedAt: ms(r.updated_at),
      vehicleId: str(r.vehicle_id),
      type: str(r.type),
      status: str(r.status),
      reason: str(r.reason),
      issuedBy: str(r.issued_by),
      createdAt: ms(r.created_at),
      expiresAt: ms(r.expires_at),
      finishedAt: msOrNull(r.finished_at),
      lastResultReason: r.last_result_reason === null || r.last_result_reason === undefined ? null : str(r.last_result_reason).slice(0, 500),
    }),
  },
  tasks: {
    table: 'tasks',
    idColumn: 'id',
    toDoc: (r) => ({
      id: str(r.id),
      updatedAt: ms(r.updated_at),
      vehicleId: str(r.vehicle_id),
      kind: r.kind as SyncDocMap['tasks']['kind'],
      status: r.status as SyncDocMap['tasks']['status'],
      assignee: strOrNull(r.assignee),
      note: str(r.note),
      alertId: strOrNull(r.alert_id),
      createdBy: str(r.created_by),
      createdAt: ms(r.created_at),
      dueAt: msOrNull(r.due_at),
      completedAt: msOrNull(r.completed_at),
    }),
  },
  notes: {
    table: 'notes',
    idColumn: 'id',
    toDoc: (r) => ({
      id: str(r.id),
      updatedAt: ms(r.updated_at),
      targetType: r.target_type as SyncDocMap['notes']['targetType'],
      targetId: str(r.target_id),
      text: str(r.text),
      author: str(r.author),
      createdAt: ms(r.created_at),
    }),
  },
  zones: {
    table: 'zones',
    idColumn: 'id',
    toDoc: (r) => ({ id: str(r.id), updatedAt: ms(r.updated_at), name: str(r.name), kind: r.kind as SyncDocMap['zones']['kind'], polygon: json<number[][]>(r.polygon) }),
  },
  requests: {
    table: 'sync_requests',
    idColumn: 'id',
    toDoc: (r) => ({
      id: str(r.id),
      updatedAt: ms(r.updated_at),
      kind: r.kind as 'vehicle_command',
      payload: json<Record<string, unknown>>(r.payload),
      createdBy: str(r.created_by),
      createdAt: ms(r.created_at),
      expiresAt: ms(r.expires_at),
      status: r.status as SyncDocMap['requests']['status'],
      result: r.result === null || r.result === undefined ? null : json<Record<string, unknown>>(r.result),
    }),
  },
  rentals: {
    table: 'allocations',
    idColumn: 'id',
    rowJson: `to_jsonb(t) || jsonb_build_object(
      'starts_ms', extract(epoch from lower(t.period)) * 1000,
      'ends_ms', case when upper_inf(t.period) or upper(t.period) = 'infinity' then null else extract(epoch from upper(t.period)) * 1000 end)`,
    toDoc: rentalDoc,
  },
  customers: { table: 'customers', idColumn: 'id', toDoc: customerDoc },
};

/**
 * Per-role row filters of a pull, on the live row (`t`) and on a tombstone's last state (`row`): notes about
 * customers are personal data, hidden from roles that may not read customers (SYNC_ACCESS).
 */
function roleFilter(collection: SyncCollection, role: OperatorRole | undefined): { live: string; dead: string } {
  if (collection === 'notes' && role !== undefined && !canSeeCustomerData(role)) {
    return { live: `t.target_type <> 'customer'`, dead: `coalesce(row ->> 'target_type', '') <> 'customer'` };
  }
  return { live: 'true', dead: 'true' };
}

export interface PullPage<D> {
  documents: D[];
  /** highest server_seq returned (the input checkpoint when nothing was) */
  checkpoint: number;
}

/**
 * Documents and tombstones with server_seq > `after`, in server_seq order, at most `limit`; `role` hides what the
 * role may not see (see roleFilter; the checkpoint then still moves past the hidden rows of this snapshot).
 */
export async function pullCollection<C extends SyncCollection>(q: Queryable, collection: C, after: number, limit: number, role?: OperatorRole): Promise<PullPage<SyncDocMap[C]>> {
  const sql = COLLECTION_SQL[collection] as CollectionSql<SyncDocMap[C]>;
  const filter = roleFilter(collection, role);
  // One statement = one snapshot: rows and tombstones are read consistently (two statements could skip a
  // tombstone committed between them).
  const { rows } = await q.query<{ _seq: number; dead: boolean; row: unknown; doc_id: string | null; deleted_at: unknown; hidden: boolean }>(
    `(select t.server_seq::float8 as _seq, false as dead, ${sql.rowJson ?? 'to_jsonb(t)'} as row, null::text as doc_id, null::timestamptz as deleted_at, not (${filter.live}) as hidden
        from ${sql.table} t where t.server_seq > $1 order by t.server_seq limit $2)
     union all
     (select server_seq::float8, true, row, doc_id, deleted_at, not (${filter.dead})
        from sync_tombstones where collection = $3 and server_seq > $1 order by server_seq limit $2)
     order by 1 limit $2`,
    [after, limit, collection],
  );
  let checkpoint = after;
  const documents: Array<SyncDocMap[C]> = [];
  for (const r of rows) {
    // rows come in server_seq order (the statement's order by): the checkpoint is the last one looked at
    checkpoint = Math.max(checkpoint, Number(r._seq));
    if (r.hidden) continue;
    const row = r.row ? json<Row>(r.row) : { [sql.idColumn]: r.doc_id };
    const doc = sql.toDoc(row);
    documents.push(r.dead ? { ...doc, id: String(r.doc_id), updatedAt: ms(r.deleted_at), _deleted: true } : doc);
  }
  return { documents, checkpoint };
}

/** The current master state of one document (undefined: never existed or deleted). */
export async function getMaster<C extends SyncCollection>(q: Queryable, collection: C, id: string): Promise<SyncDocMap[C] | undefined> {
  const sql = COLLECTION_SQL[collection] as CollectionSql<SyncDocMap[C]>;
  // alerts.id is a uuid: compare as text so a malformed id is simply not found.
  const { rows } = await q.query<{ row: unknown }>(`select ${sql.rowJson ?? 'to_jsonb(t)'} as row from ${sql.table} t where t.${sql.idColumn}::text = $1`, [id]);
  return rows[0] ? sql.toDoc(json<Row>(rows[0].row)) : undefined;
}

/**
 * The highest server_seq any committed write has now, read under the replication lock (no writer in flight,
 * so nothing at or below it can still commit later). A stream with no checkpoint starts here.
 */
export async function currentSeq(db: { transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> }, lock: (tx: Queryable) => Promise<void>): Promise<number> {
  return db.transaction(async (tx) => {
    await lock(tx);
    const { rows } = await tx.query<{ seq: number }>(`select (case when is_called then last_value else 0 end)::float8 as seq from replication_seq`);
    return Number(rows[0]?.seq ?? 0);
  });
}

/** Tombstones up to this seq were purged for the collection (0: none). */
export async function purgedThrough(q: Queryable, collection: SyncCollection): Promise<number> {
  const { rows } = await q.query<{ seq: number }>('select purged_through_seq::float8 as seq from sync_retention where collection = $1', [collection]);
  return Number(rows[0]?.seq ?? 0);
}

/**
 * Deletes tombstones older than `cutoffMs` and records per collection the highest seq purged (P). A pull from a
 * checkpoint below P then answers 410: that client may have missed a deletion. So that a *fresh* client paging
 * from 0 never holds a checkpoint below P, the collection's live rows (and remaining tombstones) at or below P
 * get a new server_seq in the same transaction — every client re-reads that collection once per purge that
 * removed something (deletions are rare: nothing in the product deletes replicated rows today).
 * The caller's transaction must hold the replication lock.
 */
export async function purgeTombstones(tx: Queryable, cutoffMs: number): Promise<number> {
  const { rows } = await tx.query<{ collection: string; seq: number; n: number }>(
    `with gone as (delete from sync_tombstones where deleted_at < to_timestamp($1::float8 / 1000) returning collection, server_seq)
     select collection, max(server_seq)::float8 as seq, count(*)::float8 as n from gone group by collection`,
    [cutoffMs],
  );
  for (const r of rows) {
    await tx.query(
      `insert into sync_retention (collection, purged_through_seq) values ($1, $2)
       on conflict (collection) do update set purged_through_seq = greatest(sync_retention.purged_through_seq, excluded.purged_through_seq)`,
      [r.collection, r.seq],
    );
    const sql = (COLLECTION_SQL as Record<string, { table: string } | undefined>)[r.collection];
    if (sql) await tx.query(`update ${sql.table} set server_seq = nextval('replication_seq') where server_seq <= $1`, [r.seq]);
    await tx.query(`update sync_tombstones set server_seq = nextval('replication_seq') where collection = $1 and server_seq <= $2`, [r.collection, r.seq]);
  }
  return rows.reduce((n, r) => n + Number(r.n), 0);
}
