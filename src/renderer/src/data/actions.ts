/**
 * The operator's edits, written to the replica (offline too) and pushed by the replication when online. Every
 * write also records an outbox entry so the sync indicator can say how many local changes are waiting.
 */
import {
  EDITABLE,
  REQUEST_CAPABILITY,
  REQUEST_MAX_LIFETIME_MS,
  type AlertDoc,
  type NoteDoc,
  type RequestDoc,
  type RequestKind,
  type RequestPayloads,
  type ServiceState,
  type SyncCollection,
  type TaskDoc,
  type TaskKind,
} from '../../../shared/sync-protocol.js';
import { can, noteCapability, rolesWith, type Capability } from '../../../shared/permissions.js';
import type { ConflictRecord } from './conflicts';
import type { ReplicaDatabase } from './database';
import type { Operator } from './replication';

export const COMMAND_TYPES = ['lock', 'unlock', 'immobilize', 'release', 'locate', 'honk_flash'] as const;
export type CommandType = (typeof COMMAND_TYPES)[number];
export const REQUEST_TTL_MS = 10 * 60_000;
/**
 * Support actions (refund, end a rental, block/unblock, extend/cancel a booking) queued offline run when the server gets them — but not
 * after a shift: a refund typed in the morning must not surprise anyone days later.
 */
export const SUPPORT_REQUEST_TTL_MS = REQUEST_MAX_LIFETIME_MS;

function requireReason(reason: string): string {
  const r = reason.trim();
  if (!r) throw new Error('a reason is required');
  if (r.length > 500) throw new Error('the reason is at most 500 characters');
  return r;
}

/** A stored document as the server's master state: without RxDB's `_meta`, `_rev`, `_attachments`. */
function masterShape(doc: Record<string, unknown>): Record<string, unknown> {
  const { _meta, _rev, _attachments, ...rest } = doc;
  void _meta;
  void _rev;
  void _attachments;
  return { ...rest, _deleted: !!rest._deleted };
}

export class ReplicaActions {
  constructor(
    private readonly db: ReplicaDatabase,
    readonly operator: Operator,
  ) {}

  /**
   * Records a local change BEFORE it is written (a push never sees a change without its entry). `before`: the
   * document as it is now, kept as the entry's `base` while the entry lives (replication.ts pushes against it when
   * RxDB has no assumed master state). Returns an undo for a write that then failed.
   */
  private async outbox(c: SyncCollection, docId: string, before?: Record<string, unknown>): Promise<() => Promise<void>> {
    const id = `${c}/${docId}`;
    const existing = await this.db.outbox.findOne(id).exec();
    const base = existing ? existing.toJSON().base : before;
    const entry = await this.db.outbox.upsert({ id, collectionName: c, docId, at: Date.now(), ...(base ? { base: { ...base } } : {}) });
    return async () => {
      if (!existing) await entry.remove().catch(() => undefined);
    };
  }

  /** Runs a local write after recording it in the outbox; undoes the record when the write fails. */
  private async recorded(c: SyncCollection, docId: string, write: () => Promise<unknown>, before?: Record<string, unknown>): Promise<void> {
    const undo = await this.outbox(c, docId, before);
    try {
      await write();
    } catch (err) {
      await undo();
      throw err;
    }
  }

  /** May the signed-in operator do this? (the role table, src/shared/permissions.ts: the server checks the same) */
  can(capability: Capability): boolean {
    return can(this.operator.role, capability);
  }

  /** Refuses locally, before anything is written, what the server would refuse for the role. */
  private require(capability: Capability): void {
    if (!this.can(capability))
      throw new Error(`a ${this.operator.role} may not do this (${capability}: ${rolesWith(capability).join(', ')} only)`);
  }

  private coll<C extends SyncCollection>(c: C) {
    const col = this.db.collections[c];
    if (!col) throw new Error(`${c} is not available to the ${this.operator.role} role`);
    return col;
  }

  private async patch<C extends 'alerts' | 'tasks' | 'vehicles'>(c: C, id: string, patch: Record<string, unknown>): Promise<void> {
    const doc = await this.coll(c).findOne(id).exec();
    if (!doc) throw new Error(`${c}/${id} is not in the replica`);
    await this.recorded(c, id, () => doc.incrementalPatch(patch as never), masterShape(doc.toJSON(true) as Record<string, unknown>));
  }

  async acknowledgeAlert(id: string): Promise<void> {
    this.require('alert.work');
    return this.patch('alerts', id, { status: 'acknowledged' satisfies AlertDoc['status'] });
  }
  async assignAlertToMe(id: string): Promise<void> {
    return this.assignAlert(id, this.operator.id);
  }
  /** Assign to a colleague (staff id), or nobody (null). */
  async assignAlert(id: string, assignee: string | null): Promise<void> {
    this.require('alert.work');
    return this.patch('alerts', id, { assignee });
  }
  /** Resolve with the reason (required: the audit and the timeline say why it was closed). */
  async resolveAlert(id: string, resolution: string): Promise<void> {
    this.require('alert.work');
    return this.patch('alerts', id, { status: 'resolved', resolution: requireReason(resolution) });
  }
  async setServiceState(vehicleId: string, serviceState: ServiceState): Promise<void> {
    this.require('vehicle.maintenance');
    return this.patch('vehicles', vehicleId, { serviceState });
  }

  async createTask(t: {
    vehicleId: string;
    kind: TaskKind;
    note?: string;
    alertId?: string | null;
    assignee?: string | null;
  }): Promise<string> {
    this.require('task.work');
    const now = Date.now();
    const doc: TaskDoc = {
      id: crypto.randomUUID(),
      updatedAt: now,
      vehicleId: t.vehicleId,
      kind: t.kind,
      status: t.assignee ? 'assigned' : 'open',
      assignee: t.assignee ?? null,
      note: t.note ?? '',
      alertId: t.alertId ?? null,
      createdBy: this.operator.id,
      createdAt: now,
      dueAt: null,
      completedAt: null,
    };
    await this.recorded('tasks', doc.id, () => this.coll('tasks').insert(doc));
    return doc.id;
  }
  async assignTaskToMe(id: string): Promise<void> {
    return this.assignTask(id, this.operator.id);
  }
  /** Assign to a colleague (staff id): `assigned`; or to nobody (null): back to `open`. */
  async assignTask(id: string, assignee: string | null): Promise<void> {
    this.require('task.work');
    return this.patch('tasks', id, assignee ? { assignee, status: 'assigned' } : { assignee: null, status: 'open' });
  }
  async completeTask(id: string): Promise<void> {
    this.require('task.work');
    return this.patch('tasks', id, { status: 'done' });
  }

  async addNote(targetType: NoteDoc['targetType'], targetId: string, text: string): Promise<void> {
    this.require(noteCapability(targetType));
    const now = Date.now();
    const doc: NoteDoc = {
      id: crypto.randomUUID(),
      updatedAt: now,
      targetType,
      targetId,
      text: text.trim(),
      author: this.operator.id,
      createdAt: now,
    };
    if (!doc.text) return;
    await this.recorded('notes', doc.id, () => this.coll('notes').insert(doc));
  }

  /** A vehicle command as a request: executed by the server at most once (id = idempotency key), never after expiry. */
  requestCommand(vehicleId: string, type: CommandType, reason: string): Promise<string> {
    return this.request('vehicle_command', { vehicleId, type, reason: reason.trim(), ttlSeconds: REQUEST_TTL_MS / 1000 }, REQUEST_TTL_MS);
  }

  /** A full or partial refund of a rental (minor units), with a reason; the server caps it at captured − refunded. */
  async requestRefund(rentalId: string, amountCents: number, currency: string, reason: string): Promise<string> {
    if (!Number.isInteger(amountCents) || amountCents <= 0) throw new Error('the amount must be positive');
    return this.request('refund', { rentalId, amountCents, currency, reason: requireReason(reason) }, SUPPORT_REQUEST_TTL_MS);
  }

  /** End an active rental on the customer's behalf (the car is locked and the price captured by the server). */
  async requestEndRental(rentalId: string, reason: string): Promise<string> {
    return this.request('end_rental', { rentalId, reason: requireReason(reason) }, SUPPORT_REQUEST_TTL_MS);
  }

  async requestCustomerBlock(customerId: string, blocked: boolean, reason: string): Promise<string> {
    return this.request(
      blocked ? 'block_customer' : 'unblock_customer',
      { customerId, reason: requireReason(reason) },
      SUPPORT_REQUEST_TTL_MS,
    );
  }

  /** Move a confirmed booking's end later (epoch ms; sent as ISO-8601 UTC). The server refuses it when the car is taken then. */
  async requestExtendBooking(bookingId: string, endsAtMs: number, reason: string): Promise<string> {
    if (!Number.isFinite(endsAtMs)) throw new Error('enter the new end date and time');
    return this.request(
      'extend_booking',
      { bookingId, endsAt: new Date(endsAtMs).toISOString(), reason: requireReason(reason) },
      SUPPORT_REQUEST_TTL_MS,
    );
  }

  /** Cancel a confirmed booking on the customer's behalf. */
  async requestCancelBooking(bookingId: string, reason: string): Promise<string> {
    return this.request('cancel_booking', { bookingId, reason: requireReason(reason) }, SUPPORT_REQUEST_TTL_MS);
  }

  private async request<K extends RequestKind>(kind: K, payload: RequestPayloads[K], ttlMs: number): Promise<string> {
    this.require(REQUEST_CAPABILITY[kind]);
    const now = Date.now();
    const doc: RequestDoc = {
      id: crypto.randomUUID(),
      updatedAt: now,
      kind,
      payload: payload as unknown as Record<string, unknown>,
      createdBy: this.operator.id,
      createdAt: now,
      expiresAt: now + ttlMs,
      status: 'pending',
      result: null,
    };
    await this.recorded('requests', doc.id, () => this.coll('requests').insert(doc));
    return doc.id;
  }

  /** Conflicts view: keep the server's version (dismiss). */
  async dismissConflict(conflictId: string): Promise<void> {
    const c = await this.db.conflicts.findOne(conflictId).exec();
    await c?.incrementalPatch({ resolved: true });
  }

  /** Conflicts view: write my editable fields onto the current master (pushes again). */
  async reapplyConflict(conflictId: string): Promise<void> {
    const c = await this.db.conflicts.findOne(conflictId).exec();
    if (!c) return;
    const rec = c.toJSON() as ConflictRecord;
    // a change the server refused would only be refused again: it is shown where it was made, never re-applied
    if (rec.refusal) throw new Error(`the server refused this change (${rec.refusal.message}); it cannot be re-applied`);
    const coll = rec.collectionName;
    const fields = EDITABLE[coll].fields as readonly string[];
    const col = this.db.collections[coll];
    const doc = col ? await col.findOne(rec.docId).exec() : null;
    if (doc && fields.length) {
      const patch: Record<string, unknown> = {};
      for (const f of fields) patch[f] = rec.local[f] ?? null;
      await this.recorded(
        coll,
        rec.docId,
        () => doc.incrementalPatch(patch as never),
        masterShape(doc.toJSON(true) as Record<string, unknown>),
      );
    }
    await c.incrementalPatch({ resolved: true });
  }
}
