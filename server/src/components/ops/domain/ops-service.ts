/**
 * Staff use cases on tasks and notes — the same for the staff API (/ops/v1/tasks, /ops/v1/notes) and for the
 * desktop replica's pushes. Tasks: `open ⇄ assigned → done | cancelled` (open → done/cancelled directly too;
 * done and cancelled are final; `assigned` needs an assignee). Notes are create-only and immutable. Creating with
 * an id that exists is idempotent when the content is the same, else 409. Every change writes its audit entry in
 * its own transaction.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../../../../../src/shared/errors.js';
import { can, noteCapability, rolesWith } from '../../../../../src/shared/permissions.js';
import type { NoteDoc, TaskDoc, TaskKind, TaskStatus } from '../../../../../src/shared/sync-protocol.js';
import type { Db } from '../../../platform/db/index.js';
import type { Actor } from '../../../platform/http/actor.js';
import {
  getNote,
  getTask,
  insertNote,
  insertTask,
  listNotes,
  listTasks,
  updateTask,
  vehicleExists,
  type TaskFilter,
  type TaskWrite,
} from '../data/ops.repository.js';
import type { RecordAudit } from '../../audit/index.js';

export interface CreateTaskInput {
  id?: string;
  vehicleId: string;
  kind: TaskKind;
  status?: 'open' | 'assigned';
  assignee?: string | null;
  note?: string;
  alertId?: string | null;
  dueAt?: number | null;
}

export type TaskPatch = Partial<Pick<TaskDoc, 'vehicleId' | 'kind' | 'status' | 'assignee' | 'note' | 'alertId' | 'dueAt'>>;

export interface CreateNoteInput {
  id?: string;
  targetType: NoteDoc['targetType'];
  targetId: string;
  text: string;
}

const TASK_NEXT: Record<TaskStatus, readonly TaskStatus[]> = {
  open: ['assigned', 'done', 'cancelled'],
  assigned: ['open', 'done', 'cancelled'],
  done: [],
  cancelled: [],
};

/** Fields compared for idempotent creation and no-op updates. */
const TASK_FIELDS = ['vehicleId', 'kind', 'status', 'assignee', 'note', 'alertId', 'dueAt'] as const;

export class OpsService {
  constructor(
    private readonly db: Db,
    private readonly audit: RecordAudit,
    private readonly now: () => number = Date.now,
  ) {}

  listTasks(filter: TaskFilter): Promise<TaskDoc[]> {
    return listTasks(this.db, filter);
  }

  async getTask(id: string): Promise<TaskDoc> {
    const task = await getTask(this.db, id);
    if (!task) throw new AppError('task_not_found', `No task ${id}`, { status: 404 });
    return task;
  }

  async createTask(input: CreateTaskInput, actor: Actor): Promise<{ task: TaskDoc; created: boolean }> {
    const status = input.status ?? (input.assignee ? 'assigned' : 'open');
    const task: TaskWrite = {
      id: input.id ?? randomUUID(),
      vehicleId: input.vehicleId,
      kind: input.kind,
      status,
      assignee: input.assignee ?? null,
      note: input.note ?? '',
      alertId: input.alertId ?? null,
      createdBy: actor.id,
      createdAt: this.now(),
      dueAt: input.dueAt ?? null,
      completedAt: null,
    };
    if (status === 'assigned' && !task.assignee) throw assigneeRequired();
    return this.db.transaction(async (tx) => {
      const existing = await getTask(tx, task.id, true);
      if (existing) {
        if (TASK_FIELDS.every((f) => existing[f] === task[f])) return { task: existing, created: false };
        throw new AppError('task_id_conflict', `task ${task.id} already exists with different content`, { status: 409 });
      }
      if (!(await vehicleExists(tx, task.vehicleId)))
        throw new AppError('vehicle_not_found', `No vehicle ${task.vehicleId}`, { status: 404 });
      await insertTask(tx, task);
      await this.audit(tx, {
        actor: actor.id,
        role: actor.role,
        action: 'task.created',
        targetType: 'task',
        targetId: task.id,
        after: task,
      });
      return { task: (await getTask(tx, task.id))!, created: true };
    });
  }

  /** Applies a patch; an unchanged task is returned as is (no write, no audit). */
  async updateTask(id: string, patch: TaskPatch, actor: Actor): Promise<{ task: TaskDoc; changed: boolean }> {
    return this.db.transaction(async (tx) => {
      const before = await getTask(tx, id, true);
      if (!before) throw new AppError('task_not_found', `No task ${id}`, { status: 404 });
      const next: TaskWrite = { ...before };
      for (const f of TASK_FIELDS) if (patch[f] !== undefined) (next as unknown as Record<string, unknown>)[f] = patch[f];
      if (TASK_FIELDS.every((f) => before[f] === next[f])) return { task: before, changed: false };
      if (before.status === 'done' || before.status === 'cancelled')
        throw new AppError('task_closed', `task ${id} is ${before.status}`, { status: 409 });
      if (next.status !== before.status && !TASK_NEXT[before.status].includes(next.status)) {
        throw new AppError('illegal_transition', `Cannot move a task from ${before.status} to ${next.status}`, { status: 409 });
      }
      if (next.status === 'assigned' && !next.assignee) throw assigneeRequired();
      if (next.vehicleId !== before.vehicleId && !(await vehicleExists(tx, next.vehicleId)))
        throw new AppError('vehicle_not_found', `No vehicle ${next.vehicleId}`, { status: 404 });
      next.completedAt = next.status === 'done' ? this.now() : null;
      await updateTask(tx, next);
      const action =
        next.status !== before.status
          ? ({ open: 'reopened', assigned: 'assigned', done: 'completed', cancelled: 'cancelled' } as const)[next.status]
          : 'updated';
      await this.audit(tx, {
        actor: actor.id,
        role: actor.role,
        action: `task.${action}`,
        targetType: 'task',
        targetId: id,
        before,
        after: next,
      });
      return { task: (await getTask(tx, id))!, changed: true };
    });
  }

  async createNote(input: CreateNoteInput, actor: Actor): Promise<{ note: NoteDoc; created: boolean }> {
    const note: Omit<NoteDoc, 'updatedAt'> = {
      id: input.id ?? randomUUID(),
      targetType: input.targetType,
      targetId: input.targetId,
      text: input.text,
      author: actor.id,
      createdAt: this.now(),
    };
    assertMayNote(actor, note.targetType);
    if (note.text.trim() === '') throw new AppError('empty_note', 'a note needs text', { status: 400 });
    return this.db.transaction(async (tx) => {
      const existing = await getNote(tx, note.id);
      if (existing) {
        if (existing.targetType === note.targetType && existing.targetId === note.targetId && existing.text === note.text)
          return { note: existing, created: false };
        throw new AppError('note_immutable', `note ${note.id} exists with different content; notes cannot be changed`, { status: 409 });
      }
      await insertNote(tx, note);
      await this.audit(tx, {
        actor: actor.id,
        role: actor.role,
        action: 'note.created',
        targetType: note.targetType,
        targetId: note.targetId,
        after: note,
      });
      return { note: (await getNote(tx, note.id))!, created: true };
    });
  }

  /** `reader`: the staff member asking (notes about customers need `note.customer`); none: a component's own use. */
  async listNotes(targetType: string, targetId: string, limit: number, reader?: Actor): Promise<NoteDoc[]> {
    if (reader) assertMayNote(reader, targetType);
    return listNotes(this.db, targetType, targetId, limit);
  }
}

/** Notes about customers are customer data (permissions.ts `note.customer`): on the staff API and through sync alike. */
function assertMayNote(actor: Actor, targetType: string): void {
  const capability = noteCapability(targetType);
  if (actor.role !== 'system' && !can(actor.role, capability))
    throw new AppError(
      'forbidden',
      `Notes about ${targetType}s (${capability}) are for the roles ${rolesWith(capability).join(', ')}; you are ${actor.role}`,
      { status: 403 },
    );
}

function assigneeRequired(): AppError {
  return new AppError('assignee_required', 'an assigned task needs an assignee', { status: 409 });
}
