/** Conflicts recorded by the replica's conflict handler: both versions side by side, the reason, and the fix. */
import { EDITABLE } from '../../../../shared/sync-protocol.js';
import type { ConflictRecord } from '../../data/conflicts';
import { useLiveQuery, useReplica } from '../../data/hooks';
import { formatAgo } from '../../lib/format';
import { panelAction } from '../panels/panel-action';

const show = (v: unknown) => (v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v));

export function ConflictsPanel({ now }: { now: number }) {
  const r = useReplica();
  const conflicts = useLiveQuery<ConflictRecord>(r?.db.conflicts, { selector: { resolved: false }, sort: [{ at: 'desc' }] }, 'open');
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
        return (
          <article className="conflict" key={c.id} data-conflict-id={c.id} data-collection={c.collectionName} data-doc-id={c.docId}>
            <header>
              <strong>
                {c.collectionName} · {c.docId}
              </strong>
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
                    <tr key={f} className={differs ? 'conflict-differs' : ''}>
                      <td>{f}</td>
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
              {editable.length ? (
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
