/**
 * SQL of zones (006_sync.sql) and their history (021_zone_versions.sql). `zones` holds the current zones (the
 * replica's `zones` collection: every write takes a fresh server_seq; a retired zone is deleted and its tombstone
 * replicated); `zone_versions` keeps every version, retired ones included.
 */
import type { ZoneKind, ZoneVersionView, ZoneView } from '../../../../../src/shared/zones.js';
import type { Queryable } from '../../../platform/db/index.js';

const ms = (expr: string) => `floor(extract(epoch from ${expr}) * 1000)::float8`;

interface ZoneDbRow {
  id: string;
  name: string;
  kind: ZoneKind;
  polygon: Array<[number, number]>;
  version: number;
  updated_at_ms: number;
}

const toZone = (r: ZoneDbRow): ZoneView => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  polygon: r.polygon,
  version: Number(r.version),
  updatedAt: Number(r.updated_at_ms),
});

const ZONE_COLUMNS = `id, name, kind, polygon, version, ${ms('updated_at')} as updated_at_ms`;

export async function listZones(q: Queryable): Promise<ZoneView[]> {
  const { rows } = await q.query<ZoneDbRow>(`select ${ZONE_COLUMNS} from zones order by kind, name, id`);
  return rows.map(toZone);
}

export async function lockZone(tx: Queryable, id: string): Promise<ZoneView | undefined> {
  const { rows } = await tx.query<ZoneDbRow>(`select ${ZONE_COLUMNS} from zones where id = $1 for update`, [id]);
  return rows[0] ? toZone(rows[0]) : undefined;
}

/** The latest version number a zone id ever had (0: never existed); retired ids are not reused. */
export async function lastZoneVersion(tx: Queryable, id: string): Promise<number> {
  const { rows } = await tx.query<{ v: number | null }>('select max(version) as v from zone_versions where zone_id = $1', [id]);
  return Number(rows[0]?.v ?? 0);
}

export async function insertZone(tx: Queryable, z: Omit<ZoneView, 'updatedAt'>): Promise<void> {
  await tx.query(
    `insert into zones (id, name, kind, polygon, version, server_seq, updated_at) values ($1, $2, $3, $4::jsonb, $5, fleetdesk_next_seq(), now())`,
    [z.id, z.name, z.kind, JSON.stringify(z.polygon), z.version],
  );
}

export async function updateZone(tx: Queryable, z: Omit<ZoneView, 'updatedAt'>): Promise<void> {
  await tx.query(
    `update zones set name = $2, kind = $3, polygon = $4::jsonb, version = $5, server_seq = fleetdesk_next_seq(), updated_at = now() where id = $1`,
    [z.id, z.name, z.kind, JSON.stringify(z.polygon), z.version],
  );
}

export async function deleteZone(tx: Queryable, id: string): Promise<void> {
  await tx.query('delete from zones where id = $1', [id]);
}

export async function insertZoneVersion(
  tx: Queryable,
  v: Omit<ZoneVersionView, 'changedAt' | 'zoneId'> & { zoneId: string },
): Promise<void> {
  await tx.query(
    `insert into zone_versions (zone_id, version, name, kind, polygon, retired, changed_by, reason) values ($1, $2, $3, $4, $5::jsonb, $6, $7, $8)`,
    [v.zoneId, v.version, v.name, v.kind, JSON.stringify(v.polygon), v.retired, v.changedBy, v.reason],
  );
}

export async function listZoneVersions(q: Queryable, zoneId: string): Promise<ZoneVersionView[]> {
  const { rows } = await q.query<{
    zone_id: string;
    version: number;
    name: string;
    kind: ZoneKind;
    polygon: Array<[number, number]>;
    retired: boolean;
    changed_by: string;
    changed_at_ms: number;
    reason: string | null;
  }>(
    `select zone_id, version, name, kind, polygon, retired, changed_by, ${ms('changed_at')} as changed_at_ms, reason
       from zone_versions where zone_id = $1 order by version desc`,
    [zoneId],
  );
  return rows.map((r) => ({
    zoneId: r.zone_id,
    version: Number(r.version),
    name: r.name,
    kind: r.kind,
    polygon: r.polygon,
    retired: r.retired,
    changedBy: r.changed_by,
    changedAt: Number(r.changed_at_ms),
    reason: r.reason,
  }));
}

/**
 * Changes whenever any zone is written or deleted: what every instance polls to know its zones are stale. The SUM
 * of the rows' server_seqs, not the max: a seq names the writing transaction (013_replication_xid_seq.sql), so a
 * transaction that began earlier may commit a LOWER seq after a higher one was read — a max would miss it, a sum
 * does not (every write replaces a row's seq by a new one). Zones and their tombstones are few: two small scans.
 */
export async function zonesFingerprint(q: Queryable): Promise<string> {
  const { rows } = await q.query<{ z: string | null; t: string | null }>(
    `select (select count(*) || ':' || coalesce(sum(server_seq), 0) from zones) as z,
            (select count(*) || ':' || coalesce(sum(server_seq), 0) from sync_tombstones where collection = 'zones') as t`,
  );
  return `${rows[0]?.z ?? ''}/${rows[0]?.t ?? ''}`;
}
