/**
 * The ops tables as the replica's `tasks`, `notes` and `zones` collections (read by the sync component's pull).
 * From the row as JSON (`to_jsonb`, tombstones), unlike ops.repository.ts's own queries.
 */
import { HISTORY_HORIZON, type NoteDoc, type TaskDoc, type ZoneDoc } from '../../../../../src/shared/sync-protocol.js';
import { json, ms, msOrNull, statusIn, str, strOrNull, type ReplicatedTable } from '../../../platform/db/replicated-rows.js';

export const taskDocs: ReplicatedTable<TaskDoc> = {
  table: 'tasks',
  idColumn: 'id',
  toDoc: (r) => ({
    id: str(r.id),
    updatedAt: ms(r.updated_at),
    vehicleId: str(r.vehicle_id),
    kind: r.kind as TaskDoc['kind'],
    status: r.status as TaskDoc['status'],
    assignee: strOrNull(r.assignee),
    note: str(r.note),
    alertId: strOrNull(r.alert_id),
    createdBy: str(r.created_by),
    createdAt: ms(r.created_at),
    dueAt: msOrNull(r.due_at),
    completedAt: msOrNull(r.completed_at),
  }),
  // (the predicate of tasks_sync_closed_idx, migration 032)
  horizon: { closed: statusIn(HISTORY_HORIZON.tasks.closedStatuses) },
};

export const noteDocs: ReplicatedTable<NoteDoc> = {
  table: 'notes',
  idColumn: 'id',
  toDoc: (r) => ({
    id: str(r.id),
    updatedAt: ms(r.updated_at),
    targetType: r.target_type as NoteDoc['targetType'],
    targetId: str(r.target_id),
    text: str(r.text),
    author: str(r.author),
    createdAt: ms(r.created_at),
  }),
};

export const zoneDocs: ReplicatedTable<ZoneDoc> = {
  table: 'zones',
  idColumn: 'id',
  toDoc: (r) => ({
    id: str(r.id),
    updatedAt: ms(r.updated_at),
    name: str(r.name),
    kind: r.kind as ZoneDoc['kind'],
    polygon: json<number[][]>(r.polygon),
  }),
};
