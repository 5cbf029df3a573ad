/**
 * The `sync_requests` table: operator requests pushed through sync (vehicle commands, support actions) and their
 * outcome. Every write bumps the row's replication sequence.
 */
import type { RequestStatus } from '../../../../../src/shared/sync-protocol.js';
import type { Queryable } from '../../../platform/db/index.js';

export interface NewRequestRow {
  id: string;
  kind: string;
  payload: unknown;
  createdBy: string;
  createdRole: string;
  createdAtMs: number;
  expiresAtMs: number;
}

export interface StoredRequest {
  kind: string;
  created_by: string;
  payload: unknown;
  expires_ms: number;
  status: RequestStatus;
}

/** Inserts a pending request unless its id exists; true when it was inserted. */
export async function insertPendingRequest(tx: Queryable, r: NewRequestRow): Promise<boolean> {
  const inserted = await tx.query(
    `insert into sync_requests (id, kind, payload, created_by, created_role, created_at, expires_at, status, result, server_seq)
     values ($1, $2, $3::jsonb, $4, $5, to_timestamp($6::float8 / 1000), to_timestamp($7::float8 / 1000), 'pending', null, fleetdesk_next_seq())
     on conflict (id) do nothing`,
    [r.id, r.kind, JSON.stringify(r.payload), r.createdBy, r.createdRole, r.createdAtMs, r.expiresAtMs],
  );
  return inserted.rowCount > 0;
}

/** The oldest pending requests (at most 1,000) with who created them. */
export async function listPendingRequests(db: Queryable): Promise<Array<{ id: string; created_by: string; created_role: string | null }>> {
  const { rows } = await db.query<{ id: string; created_by: string; created_role: string | null }>(
    `select id, created_by, created_role from sync_requests where status = 'pending' order by created_at limit 1000`,
  );
  return rows;
}

export async function getRequest(db: Queryable, id: string): Promise<StoredRequest | undefined> {
  const { rows } = await db.query<StoredRequest>(
    `select kind, created_by, payload, (extract(epoch from expires_at) * 1000)::float8 as expires_ms, status from sync_requests where id = $1`,
    [id],
  );
  return rows[0];
}

/** Records the final outcome of a pending request; false when it was no longer pending. */
export async function finishRequest(tx: Queryable, id: string, status: RequestStatus, result: Record<string, unknown>): Promise<boolean> {
  const updated = await tx.query(
    `update sync_requests set status = $2, result = $3::jsonb, server_seq = fleetdesk_next_seq(), updated_at = now() where id = $1 and status = 'pending'`,
    [id, status, JSON.stringify(result)],
  );
  return updated.rowCount > 0;
}

/** Notes a server-side failure on a pending request (written only when it differs from the last one). */
export async function noteRequestFailure(tx: Queryable, id: string, lastError: { code: string; message: string }): Promise<void> {
  await tx.query(
    `update sync_requests set result = $2::jsonb, server_seq = fleetdesk_next_seq(), updated_at = now()
     where id = $1 and status = 'pending' and result is distinct from $2::jsonb`,
    [id, JSON.stringify({ lastError })],
  );
}
