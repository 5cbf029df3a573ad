/**
 * SQL of the ops component (tasks, notes, zones). Every write takes a fresh server_seq
 * inside its transaction (the desktop replica syncs these tables by it); rows map to the sync-protocol docs.
 */
import type { NoteDoc, TaskDoc, ZoneDoc } from '../../../../../src/shared/sync-protocol.js';
import type { Queryable } from '../../../platform/db/index.js';

export const TASK_COLUMNS = `id, vehicle_id, kind, status, assignee, note, alert_id, created_by,
  (extract(epoch from created_at) * 1000)::float8 as created_ms, (extract(epoch from due_at) * 1000)::float8 as due_ms,
  (extract(epoch from completed_at) * 1000)::float8 as completed_ms, (extract(epoch from updated_at) * 1000)::float8 as updated_ms`;

export const NOTE_COLUMNS = `id, target_type, target_id, text, author, (extract(epoch from created_at) * 1000)::float8 as created_ms,
  (extract(epoch from updated_at) * 1000)::float8 as updated_ms`;

interface TaskRow {
  id: string;
  vehicle_id: string;
  kind: TaskDoc['kind'];
  status: TaskDoc['status'];
  assignee: string | null;
  note: string;
  alert_id: string | null;
  created_by: string;
  created_ms: number;
  due_ms: number | null;
  completed_ms: number | null;
  updated_ms: number;
}

interface NoteRow {
  id: string;
  target_type: NoteDoc['targetType'];
  target_id: string;
  text: string;
  author: string;
  created_ms: number;
  updated_ms: number;
}

const ms = (v: number | null): number | null => (v === null ? null : Math.round(v));

export function toTaskDoc(r: TaskRow): TaskDoc {
  return {
    id: r.id,
    vehicleId: r.vehicle_id,
    kind: r.kind,
    status: r.status,
    assignee: r.assignee,
    note: r.note,
    alertId: r.alert_id,
    createdBy: r.created_by,
    createdAt: Math.round(r.created_ms),
    dueAt: ms(r.due_ms),
    completedAt: ms(r.completed_ms),
    updatedAt: Math.round(r.updated_ms),
  };
}

export function toNoteDoc(r: NoteRow): NoteDoc {
  return {
    id: r.id,
    targetType: r.target_type,
    targetId: r.target_id,
    text: r.text,
    author: r.author,
    createdAt: Math.round(r.created_ms),
    updatedAt: Math.round(r.updated_ms),
  };
}

export async function getTask(q: Queryable, id: string, forUpdate = false): Promise<TaskDoc | undefined> {
  const { rows } = await q.query<TaskRow>(`select ${TASK_COLUMNS} from tasks where id = $1 ${forUpdate ? 'for update' : ''}`, [id]);
  return rows[0] ? toTaskDoc(rows[0]) : undefined;
}

export interface TaskFilter {
  vehicleId?: string;
  status?: TaskDoc['status'];
  limit: number;
}

export async function listTasks(q: Queryable, f: TaskFilter): Promise<TaskDoc[]> {
  const { rows } = await q.query<TaskRow>(
    `select ${TASK_COLUMNS} from tasks where ($1::text is null or vehicle_id = $1) and ($2::text is null or status = $2)
      order by created_at desc, id limit $3`,
    [f.vehicleId ?? null, f.status ?? null, f.limit],
  );
  return rows.map(toTaskDoc);
}

export type TaskWrite = Omit<TaskDoc, 'updatedAt' | '_deleted' | 'syncRejection'>;

/** Inserts; false when the id exists already. */
export async function insertTask(tx: Queryable, t: TaskWrite): Promise<boolean> {
  const result = await tx.query(
    `insert into tasks (id, vehicle_id, kind, status, assignee, note, alert_id, created_by, created_at, due_at, completed_at, server_seq)
     values ($1, $2, $3, $4, $5, $6, $7, $8, to_timestamp($9::float8 / 1000), to_timestamp($10::float8 / 1000), to_timestamp($11::float8 / 1000), fleetdesk_next_seq())
     on conflict (id) do nothing`,
    [t.id, t.vehicleId, t.kind, t.status, t.assignee, t.note, t.alertId, t.createdBy, t.createdAt, t.dueAt, t.completedAt],
  );
  return result.rowCount > 0;
}

export async function updateTask(tx: Queryable, t: TaskWrite): Promise<void> {
  await tx.query(
    `update tasks set vehicle_id = $2, kind = $3, status = $4, assignee = $5, note = $6, alert_id = $7,
            due_at = to_timestamp($8::float8 / 1000), completed_at = to_timestamp($9::float8 / 1000),
            server_seq = fleetdesk_next_seq(), updated_at = now()
      where id = $1`,
    [t.id, t.vehicleId, t.kind, t.status, t.assignee, t.note, t.alertId, t.dueAt, t.completedAt],
  );
}

export async function getNote(q: Queryable, id: string): Promise<NoteDoc | undefined> {
  const { rows } = await q.query<NoteRow>(`select ${NOTE_COLUMNS} from notes where id = $1`, [id]);
  return rows[0] ? toNoteDoc(rows[0]) : undefined;
}

export async function insertNote(tx: Queryable, n: Omit<NoteDoc, 'updatedAt'>): Promise<boolean> {
  const result = await tx.query(
    `insert into notes (id, target_type, target_id, text, author, created_at, server_seq)
     values ($1, $2, $3, $4, $5, to_timestamp($6::float8 / 1000), fleetdesk_next_seq()) on conflict (id) do nothing`,
    [n.id, n.targetType, n.targetId, n.text, n.author, n.createdAt],
  );
  return result.rowCount > 0;
}

export async function listNotes(q: Queryable, targetType: string, targetId: string, limit: number): Promise<NoteDoc[]> {
  const { rows } = await q.query<NoteRow>(
    `select ${NOTE_COLUMNS} from notes where target_type = $1 and target_id = $2 order by created_at desc, id limit $3`,
    [targetType, targetId, limit],
  );
  return rows.map(toNoteDoc);
}

/** Inserts the zone unless one with its id exists; true when inserted. */
export async function insertZoneIfAbsent(tx: Queryable, z: Omit<ZoneDoc, 'updatedAt'>): Promise<boolean> {
  const result = await tx.query(
    `insert into zones (id, name, kind, polygon, server_seq) values ($1, $2, $3, $4::jsonb, fleetdesk_next_seq()) on conflict (id) do nothing`,
    [z.id, z.name, z.kind, JSON.stringify(z.polygon)],
  );
  if (result.rowCount === 0) return false;
  // its history starts here (021_zone_versions.sql)
  await tx.query(
    `insert into zone_versions (zone_id, version, name, kind, polygon, changed_by) values ($1, 1, $2, $3, $4::jsonb, 'system') on conflict do nothing`,
    [z.id, z.name, z.kind, JSON.stringify(z.polygon)],
  );
  return true;
}

export async function vehicleExists(q: Queryable, id: string): Promise<boolean> {
  const { rows } = await q.query('select 1 from vehicles where id = $1', [id]);
  return rows.length > 0;
}
