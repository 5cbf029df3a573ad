/**
 * Conflict rule (the server is the judge; no edit is ever dropped silently):
 *
 * RxDB calls `resolve` when a push comes back with the server's current master state. Per document:
 * 1. The master carries `syncRejection` (the server refused the push: role, schema, domain rule) → the replica
 *    takes the master (the change is reverted) and a `conflicts` entry with `refusal` records the server's code
 *    and reason: shown in place where the change was made (features/panels/Refusals.tsx), not in the conflicts
 *    view — re-applying a refused change cannot succeed.
 * 2. Otherwise a three-way merge on the collection's EDITABLE fields (sync-protocol.ts), with the assumed master
 *    as the base: a field only the operator changed keeps the operator's value, a field only the server changed
 *    takes the server's. If both changed the same field to different values (or the server deleted the
 *    document the operator edited) → the replica takes the master and a `conflicts` entry is recorded.
 *    Without a base (the operator created a document whose id the server already has) every differing
 *    editable field counts as changed on both sides.
 * 3. Server-managed fields always come from the master.
 * A merged result that still differs from the master is pushed again by RxDB. The operator resolves recorded
 * conflicts in the conflicts view: "keep server version" (dismiss) or "re-apply mine" (write the local
 * editable fields onto the current master → pushed again).
 */
import type { RxConflictHandler } from 'rxdb';
import { EDITABLE, type SyncCollection } from '../../../shared/sync-protocol.js';

type Doc = Record<string, unknown> & { _deleted?: boolean };

export interface ConflictRecord {
  id: string;
  /** the sync collection (`collection` is reserved by RxDB) */
  collectionName: SyncCollection;
  docId: string;
  local: Record<string, unknown>;
  master: Record<string, unknown>;
  reason: string;
  at: number;
  resolved: boolean;
  /** the server refused the change (not a conflict): its code and reason */
  refusal?: { code: string; message: string };
}

/** A refusal (shown where the change was made) rather than a real conflict (the conflicts view). */
export const isRefusal = (c: Pick<ConflictRecord, 'refusal'>): boolean => c.refusal !== undefined;

export type ConflictDecision =
  | { kind: 'take-master'; doc: Doc }
  | { kind: 'merged'; doc: Doc }
  | { kind: 'conflict'; doc: Doc; reason: string; fields: string[]; refusal?: { code: string; message: string } };

export function stripRejection<D extends Doc>(d: D): D {
  if (!('syncRejection' in d)) return d;
  const { syncRejection: _r, ...rest } = d;
  return rest as D;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Pure decision for one pushed row (see the rule above). */
export function decideConflict(
  collection: SyncCollection,
  input: { assumedMasterState?: object | undefined; realMasterState: object; newDocumentState: object },
): ConflictDecision {
  const master = input.realMasterState as Doc;
  const local = input.newDocumentState as Doc;
  const base = input.assumedMasterState as Doc | undefined;
  const rejection = master.syncRejection as { code?: string; message?: string } | undefined;
  if (rejection) {
    return {
      kind: 'conflict',
      doc: stripRejection(master),
      reason: `rejected by the server: ${rejection.message ?? rejection.code ?? 'no reason given'}`,
      fields: [],
      refusal: { code: rejection.code ?? 'refused', message: rejection.message ?? rejection.code ?? 'no reason given' },
    };
  }
  const fields = EDITABLE[collection].fields as readonly string[];
  if (master._deleted && !local._deleted) {
    return { kind: 'conflict', doc: master, reason: 'deleted on the server while you edited it', fields: [] };
  }
  const clashes: string[] = [];
  const merged: Doc = { ...master };
  let changedByMe = false;
  for (const f of fields) {
    const mine = !base || !same(local[f], base[f]);
    const theirs = !base || !same(master[f], base[f]);
    if (!mine) continue;
    if (theirs && !same(local[f], master[f])) clashes.push(f);
    else if (!same(local[f], master[f])) {
      merged[f] = local[f];
      changedByMe = true;
    }
  }
  if (clashes.length) {
    return { kind: 'conflict', doc: master, reason: `changed on the server too: ${clashes.join(', ')}`, fields: clashes };
  }
  return changedByMe ? { kind: 'merged', doc: merged } : { kind: 'take-master', doc: master };
}

/** Equality for RxDB: full document equality, ignoring `syncRejection` (never stored as business data). */
export function docsEqual(a: object, b: object): boolean {
  return same(canonical(stripRejection(a as Doc)), canonical(stripRejection(b as Doc)));
}
function canonical(d: Doc): Doc {
  const out: Doc = {};
  for (const k of Object.keys(d).sort()) {
    if (k === '_meta' || k === '_rev' || k === '_attachments') continue;
    if (k === '_deleted' && !d[k]) continue;
    out[k] = d[k];
  }
  return out;
}

const MAX_MERGES = 3;

/** The RxDB conflict handler for one collection; `record` stores a conflicts entry (local-only collection). */
export function createConflictHandler<T>(
  collection: SyncCollection,
  record: (c: ConflictRecord) => Promise<void>,
  /** the local change is settled (master kept): it no longer waits to be pushed */
  settled: (docId: string) => Promise<void> = async () => undefined,
): RxConflictHandler<T> {
  // A server that keeps answering a merged push with a conflicting master would make RxDB push forever: after
  // MAX_MERGES merges of one document within a minute, the next one is recorded as a conflict instead.
  const merges = new Map<string, { n: number; since: number }>();
  return {
    isEqual: (a, b) => docsEqual(a, b),
    async resolve(input) {
      let d = decideConflict(collection, input);
      const id = String((input.realMasterState as unknown as Doc).id);
      if (d.kind === 'merged') {
        const now = Date.now();
        const m = merges.get(id);
        const entry = m && now - m.since < 60_000 ? { n: m.n + 1, since: m.since } : { n: 1, since: now };
        merges.set(id, entry);
        if (entry.n > MAX_MERGES) {
          merges.delete(id);
          d = {
            kind: 'conflict',
            doc: input.realMasterState as unknown as Doc,
            reason: 'the server keeps refusing the merged version',
            fields: [],
          };
        }
      }
      if (d.kind !== 'merged') await settled(id).catch((err: unknown) => console.warn('[replica] could not settle an outbox entry', err));
      if (d.kind === 'conflict') {
        const local = input.newDocumentState as unknown as Doc;
        const master = input.realMasterState as unknown as Doc;
        const docId = String(master.id ?? local.id);
        try {
          await record({
            id: `${collection}:${docId}:${Date.now()}`,
            collectionName: collection,
            docId,
            local: { ...local },
            master: { ...master },
            reason: d.reason,
            at: Date.now(),
            resolved: false,
            ...(d.refusal ? { refusal: d.refusal } : {}),
          });
        } catch (err) {
          console.error('[replica] could not record a conflict', err);
        }
      }
      return d.doc as unknown as typeof input.realMasterState;
    },
  };
}
