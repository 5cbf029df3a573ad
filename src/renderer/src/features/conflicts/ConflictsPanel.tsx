/**
 * Real conflicts recorded by the replica's conflict handler (the server changed the same field while the operator
 * did): both versions side by side with human field names, the reason, and the fix. Changes the server refused are
 * not conflicts — they are shown where they were made (panels/Refusals.tsx) and never offered for "re-apply".
 */
import { EDITABLE, type SyncCollection } from '../../../../shared/sync-protocol.js';
import { isRefusal, type ConflictRecord } from '../../data/conflicts';
import { useLiveQuery, useReplica } from '../../data/hooks';
import { formatAgo } from '../../lib/format';
import { panelAction } from '../panels/panel-action';

const show = (v: unknown) => (v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** What the operator calls each document and field (the editable ones, and what a conflict may show besides). */
const DOCUMENT_NAMES: Partial<Record<SyncCollection, string>> = {
  vehicles: 'Vehicle',
  alerts: 'Alert',
  tasks: 'Task',
  notes: 'Note',
  requests: 'Request',
};
export const FIELD_NAMES: Record<string, string> = {
  serviceState: 'Service state',
  status: 'Status',
  assignee: 'Assigned to',
  resolution: 'Resolution note',
  vehicleId: 'Vehicle',
  kind: 'Kind',
  note: 'Note',
  alertId: 'Alert',
  dueAt: 'Due',
  text: 'Text',
  targetType: 'About',
  targetId: 'About (id)',
  payload: 'Details',
  expiresAt: 'Expires',
};
export const fieldName = (f: string): string =>
  FIELD_NAMES[f] ?? f.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/^./, (c) => c.toUpperCase());

export function ConflictsPanel({ now, plateOf }: { now: number; plateOf?: (vehicleId: string) => string }) {
  const r = useReplica();
  const open = useLiveQuery<ConflictRecord>(r?.db.conflicts, { selector: { resolved: false }, sort: [{ at: 'desc' }] }, 'open');
  const conflicts = open.filter((c) => !isRefusal(c));
  const act = panelAction('conflicts');
  return (
    <div className="replica-panel" data-testid="conflicts-panel" data-count={conflicts.length}>
      {conflicts.length === 0 ? (
        <div className="panel-empty">No conflicts: every local change reached the server or is waiting to.</div>
      ) : null}
      {conflicts.map((c) => {
        const editable = EDITABLE[c.collectionName].fields as readonly string[];
        const fields = [
          ...new Set([
            ...editable,
            ...Object.keys(c.local).filter(
              (k) =>
                k !== 'syncRejection' &&
                k !== 'updatedAt' &&
                !k.startsWith('_') &&
                c.local[k] !== undefined &&
                JSON.stringify(c.local[k]) !== JSON.stringify(c.master[k]),
            ),
          ]),
        ];
        const label =
          c.collectionName === 'vehicles' && plateOf
            ? plateOf(c.docId)
            : `${DOCUMENT_NAMES[c.collectionName] ?? c.collectionName} ${c.docId}`;
        return (
          <article className="conflict" key={c.id} data-conflict-id={c.id} data-collection={c.collectionName} data-doc-id={c.docId}>
            <header>
              <strong>{label}</strong>
              <span className="muted"> · {formatAgo(c.at, now)}</span>
              <div className="conflict-reason">{c.reason}</div>
            </header>
            <table className="replica-table conflict-table">
              <thead>
                <tr>
                  <th>Field</th>
                  <th>Mine (local)</th>
                  <th>Server</th>
                </tr>
              </thead>
              <tbody>
                {fields.map((f) => {
                  const differs = JSON.stringify(c.local[f] ?? null) !== JSON.stringify(c.master[f] ?? null);
                  return (
                    <tr key={f} className={differs ? 'conflict-differs' : ''} data-field={f}>
                      <td>{fieldName(f)}</td>
                      <td>{show(c.local[f])}</td>
                      <td>{show(c.master[f])}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            <div className="row-actions">
              <button type="button" onClick={() => act(r?.actions.dismissConflict(c.id))}>
                Keep server version
              </button>
              {editable.length && !c.master._deleted ? (
                <button type="button" onClick={() => act(r?.actions.reapplyConflict(c.id))}>
                  Re-apply mine
                </button>
              ) : null}
            </div>
          </article>
        );
      })}
    </div>
  );
}
