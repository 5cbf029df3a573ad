/**
 * Push handling: every row of RxDB's push is validated (schema, role, editable fields) and applied through the
 * owning component's use case, one row at a time. The answer lists the master state of every row that
 * conflicted (the client's assumed master differs from ours on business fields) or was refused (with
 * `syncRejection`, never stored). A retry of a row already applied (the master equals the new state on business
 * fields) is accepted as a no-op, whatever its assumed master says.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { AppError } from '../../../../../src/shared/errors.js';
import type { OperatorRole } from '../../../../../src/shared/operator-role.js';
import { can, noteCapability } from '../../../../../src/shared/permissions.js';
import {
  canRequest,
  EDITABLE,
  projectForRole,
  visibleToRole,
  RX_SCHEMAS,
  SYNC_ACCESS,
  SYNC_COLLECTIONS,
  type AlertDoc,
  type NoteDoc,
  type PushRow,
  type RequestDoc,
  type RequestKind,
  type SyncCollection,
  type SyncDocMap,
  type SyncRejection,
  type TaskDoc,
  type VehicleDoc,
} from '../../../../../src/shared/sync-protocol.js';
import type { Queryable } from '../../../platform/db/index.js';
import type { Actor } from '../../../platform/http/actor.js';
import { getMaster, type SyncTables } from '../data/collections.js';
import type { CreatorLookup, RequestExecutor } from './requests.js';

type AnyDoc = SyncDocMap[SyncCollection];

/** The use cases pushes go through (alerts, fleet, ops components; requests executor). */
export interface PushPorts {
  alerts: {
    acknowledge(id: string, actor: Actor): Promise<unknown>;
    assign(id: string, actor: Actor, assignee: string | null): Promise<unknown>;
    resolve(id: string, actor: Actor, note: string): Promise<unknown>;
  };
  fleet: { setServiceState(vehicleId: string, state: VehicleDoc['serviceState'], actor: Actor, reason?: string | null): Promise<unknown> };
  ops: {
    createTask(
      input: {
        id: string;
        vehicleId: string;
        kind: TaskDoc['kind'];
        status: 'open' | 'assigned';
        assignee: string | null;
        note: string;
        alertId: string | null;
        dueAt: number | null;
      },
      actor: Actor,
    ): Promise<unknown>;
    updateTask(
      id: string,
      patch: Partial<Pick<TaskDoc, 'vehicleId' | 'kind' | 'status' | 'assignee' | 'note' | 'alertId' | 'dueAt'>>,
      actor: Actor,
    ): Promise<unknown>;
    createNote(input: { id: string; targetType: NoteDoc['targetType']; targetId: string; text: string }, actor: Actor): Promise<unknown>;
  };
  requests: Pick<RequestExecutor, 'submit' | 'execute'>;
}

/** Fields compared for conflicts and retries: the editable ones, or for create-only collections the content. */
const BUSINESS_FIELDS: { [C in SyncCollection]: readonly string[] } = {
  vehicles: EDITABLE.vehicles.fields,
  alerts: EDITABLE.alerts.fields,
  commands: [],
  tasks: EDITABLE.tasks.fields,
  notes: ['targetType', 'targetId', 'text'],
  zones: [],
  requests: ['kind', 'payload', 'expiresAt'],
  rentals: [],
  customers: [],
};

/** Never compared: sync bookkeeping and server-managed on every change. */
const IGNORED = new Set(['id', 'updatedAt', 'syncRejection']);

const ajv = new Ajv({ strict: false, allErrors: false });
const validators = Object.fromEntries(SYNC_COLLECTIONS.map((c) => [c, ajv.compile(RX_SCHEMAS[c])])) as Record<
  SyncCollection,
  ValidateFunction
>;

export function canRead(collection: SyncCollection, role: string): boolean {
  return (SYNC_ACCESS[collection].read as readonly string[]).includes(role as OperatorRole);
}
export function canWrite(collection: SyncCollection, role: string): boolean {
  return (SYNC_ACCESS[collection].write as readonly string[]).includes(role as OperatorRole);
}

export type PushOutcome = { kind: 'ok' } | { kind: 'conflict'; master: AnyDoc } | { kind: 'refused'; master: AnyDoc };

export class PushHandler {
  constructor(
    private readonly db: Queryable,
    private readonly ports: PushPorts,
    private readonly tables: SyncTables,
    /** the staff accounts as they are now: a push is judged by the pusher's current role, not the token's */
    private readonly accounts: CreatorLookup,
  ) {}

  /**
   * Returns the master states to answer with ([] when every row was applied). The pusher's account is looked up
   * first: deactivated (or gone) → every row refused `account_inactive`; a role changed since the access token was
   * issued → the rows are judged by the role the account has now (the role table applies at once, not after the
   * token's lifetime).
   */
  async push(collection: SyncCollection, rows: ReadonlyArray<PushRow<AnyDoc>>, tokenActor: Actor): Promise<AnyDoc[]> {
    const account = await this.accounts(tokenActor.id);
    const actor: Actor | undefined = account?.active ? { id: tokenActor.id, role: account.role } : undefined;
    const answer: AnyDoc[] = [];
    for (const row of rows) {
      const outcome = actor
        ? await this.pushRow(collection, row, actor)
        : await this.refuseRow(collection, row, 'account_inactive', `${tokenActor.id} is no longer an active staff member`);
      // the answer is what the role may see of the master (projectForRole), like a pull
      if (outcome.kind === 'ok') continue;
      const master = outcome.master;
      const role = actor?.role ?? '';
      answer.push(
        visibleToRole(collection, master, role)
          ? projectForRole(collection, master, role)
          : ({
              id: master.id,
              updatedAt: master.updatedAt,
              _deleted: true,
              syncRejection: master.syncRejection ?? { code: 'not_found', message: `no ${collection} document ${master.id}` },
            } as unknown as AnyDoc),
      );
    }
    return answer;
  }

  private async refuseRow(collection: SyncCollection, row: PushRow<AnyDoc>, code: string, message: string): Promise<PushOutcome> {
    const raw = row?.newDocumentState as unknown;
    const id = raw && typeof raw === 'object' && typeof (raw as { id?: unknown }).id === 'string' ? (raw as { id: string }).id : undefined;
    return { kind: 'refused', master: await this.refusal(collection, id, raw, { code, message }) };
  }

  async pushRow(collection: SyncCollection, row: PushRow<AnyDoc>, actor: Actor): Promise<PushOutcome> {
    const raw = row?.newDocumentState as unknown;
    const id = raw && typeof raw === 'object' && typeof (raw as { id?: unknown }).id === 'string' ? (raw as { id: string }).id : undefined;
    const refuse = async (code: string, message: string): Promise<PushOutcome> => ({
      kind: 'refused',
      master: await this.refusal(collection, id, raw, { code, message }),
    });

    if (!canWrite(collection, actor.role)) return refuse('forbidden_role', `role ${actor.role} may not change ${collection}`);
    if (!id || !raw || typeof raw !== 'object') return refuse('invalid_document', 'newDocumentState must be a document with an id');
    const doc = clean(raw as Record<string, unknown>);
    if ((raw as { _deleted?: unknown })._deleted === true)
      return refuse('delete_not_allowed', `${collection} documents cannot be deleted from the desktop`);
    const validate = validators[collection];
    if (!validate(doc))
      return refuse('invalid_document', `${collection} document does not match the schema: ${ajv.errorsText(validate.errors)}`);
    if (collection === 'notes' && !can(actor.role, noteCapability(String(doc.targetType)))) {
      return refuse('forbidden_role', `role ${actor.role} may not write notes about ${String(doc.targetType)}s`);
    }
    if (collection === 'requests' && !canRequest(actor.role, doc.kind as RequestKind)) {
      return refuse('forbidden_role', `role ${actor.role} may not request ${String(doc.kind)}`);
    }
    const assumed = row.assumedMasterState ? clean(row.assumedMasterState as unknown as Record<string, unknown>) : undefined;

    const master = (await getMaster<AnyDoc>(this.db, this.tables[collection], id)) as unknown as Record<string, unknown> | undefined;
    const business = BUSINESS_FIELDS[collection];
    try {
      if (!master) {
        if (!EDITABLE[collection].create) return refuse('not_found', `no ${collection} document ${id}`);
        await this.create(collection, doc, actor);
        return { kind: 'ok' };
      }
      // A retry of something already applied: accept, change nothing (a pending request runs again, idempotently).
      if (sameFields(business, doc, master)) {
        if (business.length === 0 && !sameFields(editableAgnosticFields(doc), doc, master))
          return refuse('forbidden_field', `${collection} documents are read-only`);
        if (collection === 'requests') {
          const run = this.ports.requests.execute(id, actor);
          if ((doc as { kind?: unknown }).kind === 'vehicle_command') await run;
          else run.catch(() => undefined); // logged by the executor; retried later
        }
        return { kind: 'ok' };
      }
      if (!EDITABLE[collection].create && business.length === 0) return refuse('forbidden_field', `${collection} documents are read-only`);
      if (assumed && !sameFields(business, assumed, master)) return { kind: 'conflict', master: master as unknown as AnyDoc };
      if (!assumed) return { kind: 'conflict', master: master as unknown as AnyDoc };
      const changedReadOnly = Object.keys(doc).filter((f) => !IGNORED.has(f) && !business.includes(f) && !deepEqual(doc[f], assumed[f]));
      if (changedReadOnly.length > 0) return refuse('forbidden_field', `not editable in ${collection}: ${changedReadOnly.join(', ')}`);
      if (collection === 'notes' || collection === 'requests')
        return refuse('immutable', `${collection} documents cannot be changed once created`);
      await this.update(collection, doc, master, actor);
      return { kind: 'ok' };
    } catch (err) {
      if (err instanceof AppError && err.status < 500) return refuse(err.code, err.message);
      throw err;
    }
  }

  private async create(collection: SyncCollection, doc: Record<string, unknown>, actor: Actor): Promise<void> {
    switch (collection) {
      case 'tasks': {
        const t = doc as unknown as TaskDoc;
        if (t.status !== 'open' && t.status !== 'assigned')
          throw new AppError('illegal_status', 'a new task is open or assigned', { status: 409 });
        await this.ports.ops.createTask({ id: t.id, ...taskFields(t), status: t.status }, actor); // status: narrowed to open | assigned above
        return;
      }
      case 'notes': {
        const n = doc as unknown as NoteDoc;
        await this.ports.ops.createNote({ id: n.id, targetType: n.targetType, targetId: n.targetId, text: n.text }, actor);
        return;
      }
      case 'requests': {
        const r = doc as unknown as RequestDoc;
        if (r.status !== 'pending' || (r.result ?? null) !== null)
          throw new AppError('forbidden_field', 'a new request is pending with no result (server-managed)', { status: 403 });
        // vehicle commands are quick (queued, not awaited): the desktop sees their outcome in this push's round
        await this.ports.requests.submit(
          { id: r.id, kind: r.kind, payload: r.payload, expiresAt: r.expiresAt },
          actor,
          r.kind !== 'vehicle_command',
        );
        return;
      }
      default:
        throw new AppError('not_found', `${collection} documents cannot be created`, { status: 404 });
    }
  }

  private async update(
    collection: SyncCollection,
    doc: Record<string, unknown>,
    master: Record<string, unknown>,
    actor: Actor,
  ): Promise<void> {
    switch (collection) {
      case 'vehicles':
        await this.ports.fleet.setServiceState(String(doc.id), (doc as unknown as VehicleDoc).serviceState, actor, 'desktop sync');
        return;
      case 'alerts': {
        const a = doc as unknown as AlertDoc;
        const m = master as unknown as AlertDoc;
        if ((a.assignee ?? null) !== m.assignee && a.status !== 'resolved') await this.ports.alerts.assign(a.id, actor, a.assignee ?? null);
        if (a.status !== m.status) {
          if (a.status === 'acknowledged') await this.ports.alerts.acknowledge(a.id, actor);
          else if (a.status === 'resolved')
            await this.ports.alerts.resolve(a.id, actor, a.resolution?.trim() || 'resolved from the desktop');
          else throw new AppError('illegal_transition', `Cannot move an alert from ${m.status} back to ${a.status}`, { status: 409 });
        } else if ((a.resolution ?? null) !== m.resolution) {
          throw new AppError('illegal_transition', 'the resolution is set when resolving', { status: 409 });
        }
        return;
      }
      case 'tasks': {
        const t = doc as unknown as TaskDoc;
        await this.ports.ops.updateTask(t.id, taskFields(t), actor);
        return;
      }
      default:
        throw new AppError('forbidden_field', `${collection} documents are read-only`, { status: 403 });
    }
  }

  /** The master state to answer a refused row with; a document that does not exist comes back deleted. */
  private async refusal(collection: SyncCollection, id: string | undefined, raw: unknown, rejection: SyncRejection): Promise<AnyDoc> {
    const master = id ? await getMaster<AnyDoc>(this.db, this.tables[collection], id).catch(() => undefined) : undefined;
    if (master) return { ...master, syncRejection: rejection };
    const base = raw && typeof raw === 'object' ? clean(raw as Record<string, unknown>) : {};
    return {
      ...base,
      id: id ?? '',
      updatedAt: typeof base.updatedAt === 'number' ? base.updatedAt : 0,
      _deleted: true,
      syncRejection: rejection,
    } as unknown as AnyDoc;
  }
}

/** Drops RxDB's own fields (`_deleted`, `_meta`, `_rev`, `_attachments`) and a stale syncRejection. */
function clean(doc: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) if (!k.startsWith('_') && k !== 'syncRejection') out[k] = v;
  return out;
}

/** For read-only collections: every field but the ignored ones. */
function editableAgnosticFields(doc: Record<string, unknown>): string[] {
  return Object.keys(doc).filter((f) => !IGNORED.has(f));
}

function sameFields(fields: readonly string[], a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return fields.every((f) => deepEqual(a[f] ?? null, b[f] ?? null));
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return (a ?? null) === (b ?? null);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** A task document's editable fields, as the ops use cases take them (create and update alike). */
function taskFields(t: TaskDoc) {
  return {
    vehicleId: t.vehicleId,
    kind: t.kind,
    status: t.status,
    assignee: t.assignee ?? null,
    note: t.note,
    alertId: t.alertId ?? null,
    dueAt: t.dueAt ?? null,
  };
}
