/** SQL for the audit log (`audit_log`): append-only, replicated (server_seq), written inside the caller's transaction. */
import type { Queryable } from '../../../platform/db/index.js';
import type { AuditEntry, AuditQuery, AuditRecord } from '../model.js';

interface AuditRow {
  id: number;
  at_ms: number;
  actor: string;
  role: string;
  action: string;
  target_type: string;
  target_id: string;
  reason: string | null;
  before: unknown;
  after: unknown;
}

/**
 * Appends one entry in the caller's transaction, so the entry commits if and only if the change does (with a
 * fresh server_seq from the column default: platform/db/replication.ts; no lock).
 */
export async function recordAudit(tx: Queryable, entry: AuditEntry): Promise<void> {
  await tx.query(
    `insert into audit_log (at, actor, role, action, target_type, target_id, reason, before, after)
     values (coalesce(to_timestamp($1::float8 / 1000), now()), $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb)`,
    [
      entry.at ?? null,
      entry.actor,
      entry.role,
      entry.action,
      entry.targetType,
      entry.targetId,
      entry.reason ?? null,
      entry.before === undefined ? null : JSON.stringify(entry.before),
      entry.after === undefined ? null : JSON.stringify(entry.after),
    ],
  );
}

/** Newest first. */
export async function listAudit(db: Queryable, query: AuditQuery): Promise<AuditRecord[]> {
  // `area.*` is every action of an area
  const area = query.action?.endsWith('.*') ? query.action.slice(0, -1) : null;
  const { rows } = await db.query<AuditRow>(
    `select id::float8 as id, floor(extract(epoch from at) * 1000)::float8 as at_ms, actor, role, action, target_type, target_id,
            reason, before, after
       from audit_log
      where ($1::text is null or target_type = $1) and ($2::text is null or target_id = $2) and ($3::bigint is null or id < $3)
        and ($5::text is null or actor = $5)
        and ($6::text is null or action = $6)
        and ($7::text is null or starts_with(action, $7))
        and ($8::float8 is null or at >= to_timestamp($8::float8 / 1000))
        and ($9::float8 is null or at < to_timestamp($9::float8 / 1000))
      order by id desc
      limit $4`,
    [
      query.targetType ?? null,
      query.targetId ?? null,
      query.beforeId ?? null,
      query.limit,
      query.actor ?? null,
      area === null ? (query.action ?? null) : null,
      area,
      query.from ?? null,
      query.to ?? null,
    ],
  );
  return rows.map((r) => ({
    id: r.id,
    at: r.at_ms,
    actor: r.actor,
    role: r.role,
    action: r.action,
    targetType: r.target_type,
    targetId: r.target_id,
    reason: r.reason,
    before: r.before ?? null,
    after: r.after ?? null,
  }));
}

/**
 * Every action and target type in the log, in order (the viewer's filter lists). A loose index scan (a recursive
 * walk from one value to the next over the action index) instead of `select distinct`, which would read every row.
 */
export async function listAuditVocabulary(db: Queryable): Promise<{ actions: string[]; targetTypes: string[] }> {
  const walk = async (column: 'action' | 'target_type') => {
    const { rows } = await db.query<{ v: string }>(
      `with recursive walk(v) as (
         (select ${column} from audit_log order by ${column} limit 1)
         union all
         select (select ${column} from audit_log where ${column} > walk.v order by ${column} limit 1) from walk where walk.v is not null
       )
       select v from walk where v is not null`,
    );
    return rows.map((r) => r.v);
  };
  return { actions: await walk('action'), targetTypes: await walk('target_type') };
}
