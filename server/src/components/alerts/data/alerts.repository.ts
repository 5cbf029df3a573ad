/**
 * SQL of the alerts component. Every write takes a fresh server_seq (the desktop replica syncs alerts by it;
 * platform/db/replication.ts); the partial unique index `alerts_one_open_per_vehicle_kind` keeps one open alert
 * per (vehicle, kind) whatever the number of server instances writing.
 */
import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../../../platform/db/index.js';
import type { Alert, AlertKind, AlertSeverity, AlertStatus } from '../model.js';

export interface RaiseRow {
  vehicleId: string;
  kind: AlertKind;
  severity: AlertSeverity;
  /** when the condition (first) started */
  at: number;
  /** when it was last seen (later than `at` when raises were merged in the write queue); default `at` */
  lastAt?: number;
  details: Record<string, unknown>;
  /** count one more occurrence when an open alert exists (false: adopt it, e.g. raised by another instance) */
  countOccurrence: boolean;
  /** occurrences merged into this raise in the write queue, counted on top (default 0) */
  extraOccurrences?: number;
}

export interface ResolveRow {
  vehicleId: string;
  kind: AlertKind;
  at: number;
  resolvedBy: string;
  resolution: string;
}

export type WriteRow = ({ op: 'raise' } & RaiseRow) | ({ op: 'resolve' } & ResolveRow);

/** inserted: a new alert; updated: an open one counted/refreshed; resolved: closed now; none: nothing to resolve */
export type WriteOutcome = { outcome: 'inserted' | 'updated' | 'resolved'; alert: Alert } | { outcome: 'none' };

export interface AlertFilter {
  status?: AlertStatus;
  vehicleId?: string;
  kind?: AlertKind;
  limit: number;
}

interface AlertRowDb {
  id: string;
  vehicle_id: string;
  kind: AlertKind;
  severity: AlertSeverity;
  status: AlertStatus;
  details: Record<string, unknown> | string;
  occurrences: number;
  first_seen_ms: number;
  last_seen_ms: number;
  assignee: string | null;
  acknowledged_by: string | null;
  acknowledged_ms: number | null;
  resolved_by: string | null;
  resolved_ms: number | null;
  resolution: string | null;
  server_seq: number;
  updated_ms: number;
}

const COLUMNS = `id::text as id, vehicle_id, kind, severity, status, details, occurrences,
  (extract(epoch from first_seen_at) * 1000)::float8 as first_seen_ms,
  (extract(epoch from last_seen_at) * 1000)::float8 as last_seen_ms,
  assignee, acknowledged_by, (extract(epoch from acknowledged_at) * 1000)::float8 as acknowledged_ms,
  resolved_by, (extract(epoch from resolved_at) * 1000)::float8 as resolved_ms, resolution,
  server_seq::float8 as server_seq, (extract(epoch from updated_at) * 1000)::float8 as updated_ms`;

function toAlert(r: AlertRowDb): Alert {
  const ms = (v: number | null) => (v === null ? null : Math.round(v));
  return {
    id: r.id,
    vehicleId: r.vehicle_id,
    kind: r.kind,
    severity: r.severity,
    status: r.status,
    details: typeof r.details === 'string' ? (JSON.parse(r.details) as Record<string, unknown>) : r.details,
    occurrences: r.occurrences,
    firstSeenAt: Math.round(r.first_seen_ms),
    lastSeenAt: Math.round(r.last_seen_ms),
    assignee: r.assignee,
    acknowledgedBy: r.acknowledged_by,
    acknowledgedAt: ms(r.acknowledged_ms),
    resolvedBy: r.resolved_by,
    resolvedAt: ms(r.resolved_ms),
    resolution: r.resolution,
    serverSeq: r.server_seq,
    updatedAt: Math.round(r.updated_ms),
  };
}

/** Data exceptions and integrity violations (SQLSTATE classes 22, 23): retrying the same statement cannot succeed. */
export function isRejectedByDatabase(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23)/.test(code);
}

export class AlertsRepository {
  constructor(private readonly db: Db) {}

  /**
   * Applies the engine's changes in order, in one transaction. (Two instances' writers may lock the same rows in
   * different orders now that no global lock serializes them: PostgreSQL then aborts one with a deadlock error,
   * which the alert writer retries like any other failure but a refusal.)
   */
  async write(rows: readonly WriteRow[]): Promise<WriteOutcome[]> {
    return this.db.transaction(async (tx) => {
      const outcomes: WriteOutcome[] = [];
      for (const row of rows) outcomes.push(row.op === 'raise' ? await raise(tx, row) : await resolveOpen(tx, row));
      return outcomes;
    });
  }

  /** (vehicle, kind) of every alert not yet resolved (start-up and periodic reconcile). */
  async openKeys(): Promise<Array<{ vehicleId: string; kind: AlertKind }>> {
    const { rows } = await this.db.query<{ vehicle_id: string; kind: AlertKind }>(
      `select vehicle_id, kind from alerts where status <> 'resolved'`,
    );
    return rows.map((r) => ({ vehicleId: r.vehicle_id, kind: r.kind }));
  }

  async countOpenByKind(): Promise<Map<AlertKind, number>> {
    const { rows } = await this.db.query<{ kind: AlertKind; n: number }>(
      `select kind, count(*)::float8 as n from alerts where status <> 'resolved' group by kind`,
    );
    return new Map(rows.map((r) => [r.kind, r.n]));
  }

  async list(filter: AlertFilter): Promise<Alert[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.status) where.push(`status = $${params.push(filter.status)}`);
    if (filter.vehicleId) where.push(`vehicle_id = $${params.push(filter.vehicleId)}`);
    if (filter.kind) where.push(`kind = $${params.push(filter.kind)}`);
    const sql = `select ${COLUMNS} from alerts ${where.length ? `where ${where.join(' and ')}` : ''}
                 order by last_seen_at desc, id limit $${params.push(filter.limit)}`;
    const { rows } = await this.db.query<AlertRowDb>(sql, params);
    return rows.map(toAlert);
  }

  async get(id: string): Promise<Alert | undefined> {
    const { rows } = await this.db.query<AlertRowDb>(`select ${COLUMNS} from alerts where id = $1`, [id]);
    return rows[0] ? toAlert(rows[0]) : undefined;
  }

  /** Runs a staff change in one transaction (with its audit entry). */
  staffTransaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      return fn(tx);
    });
  }
}

export async function getForUpdate(tx: Queryable, id: string): Promise<Alert | undefined> {
  const { rows } = await tx.query<AlertRowDb>(`select ${COLUMNS} from alerts where id = $1 for update`, [id]);
  return rows[0] ? toAlert(rows[0]) : undefined;
}

export interface StaffUpdate {
  status: AlertStatus;
  assignee: string | null;
  acknowledgedBy: string | null;
  acknowledgedAt: number | null;
  resolvedBy: string | null;
  resolvedAt: number | null;
  resolution: string | null;
}

export async function updateByStaff(tx: Queryable, id: string, u: StaffUpdate): Promise<Alert> {
  const { rows } = await tx.query<AlertRowDb>(
    `update alerts set status = $2, assignee = $3, acknowledged_by = $4, acknowledged_at = to_timestamp($5::float8 / 1000),
            resolved_by = $6, resolved_at = to_timestamp($7::float8 / 1000), resolution = $8,
            server_seq = fleetdesk_next_seq(), updated_at = now()
      where id = $1
      returning ${COLUMNS}`,
    [id, u.status, u.assignee, u.acknowledgedBy, u.acknowledgedAt, u.resolvedBy, u.resolvedAt, u.resolution],
  );
  if (!rows[0]) throw new Error(`alert ${id} vanished inside its transaction`);
  return toAlert(rows[0]);
}

async function raise(tx: Queryable, r: RaiseRow): Promise<WriteOutcome> {
  const details = JSON.stringify(r.details);
  const lastAt = Math.max(r.at, r.lastAt ?? r.at);
  const extra = r.extraOccurrences ?? 0;
  // Another writer (another instance, a staff resolve) may commit between this insert and the update below: a
  // conflicting insert in flight is waited for by ON CONFLICT, an alert resolved meanwhile makes the next round
  // insert a new one. The loop is only a guard.
  for (let attempt = 0; attempt < 3; attempt++) {
    const inserted = await tx.query<AlertRowDb>(
      `insert into alerts (id, vehicle_id, kind, severity, status, details, occurrences, first_seen_at, last_seen_at, server_seq)
       values ($1, $2, $3, $4, 'open', $5::jsonb, 1 + $8::int, to_timestamp($6::float8 / 1000), to_timestamp($7::float8 / 1000), fleetdesk_next_seq())
       on conflict (vehicle_id, kind) where status <> 'resolved' do nothing
       returning ${COLUMNS}`,
      [randomUUID(), r.vehicleId, r.kind, r.severity, details, r.at, lastAt, extra],
    );
    if (inserted.rows[0]) return { outcome: 'inserted', alert: toAlert(inserted.rows[0]) };
    const updated = await tx.query<AlertRowDb>(
      `update alerts set occurrences = occurrences + $3, details = $4::jsonb,
              last_seen_at = greatest(last_seen_at, to_timestamp($5::float8 / 1000)),
              server_seq = fleetdesk_next_seq(), updated_at = now()
        where vehicle_id = $1 and kind = $2 and status <> 'resolved'
        returning ${COLUMNS}`,
      [r.vehicleId, r.kind, (r.countOccurrence ? 1 : 0) + extra, details, lastAt],
    );
    if (updated.rows[0]) return { outcome: 'updated', alert: toAlert(updated.rows[0]) };
  }
  throw new Error(`could neither insert nor update the open ${r.kind} alert of ${r.vehicleId}`);
}

async function resolveOpen(tx: Queryable, r: ResolveRow): Promise<WriteOutcome> {
  const { rows } = await tx.query<AlertRowDb>(
    `update alerts set status = 'resolved', resolved_by = $3, resolved_at = to_timestamp($4::float8 / 1000), resolution = $5,
            server_seq = fleetdesk_next_seq(), updated_at = now()
      where vehicle_id = $1 and kind = $2 and status <> 'resolved'
      returning ${COLUMNS}`,
    [r.vehicleId, r.kind, r.resolvedBy, r.at, r.resolution],
  );
  return rows[0] ? { outcome: 'resolved', alert: toAlert(rows[0]) } : { outcome: 'none' };
}
