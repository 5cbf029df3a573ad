/**
 * Alerts queue from the replica: acknowledge / assign to me / resolve with a note / open a task — offline too, and
 * only for roles that may work alerts (`alert.work`; "+ Task" needs `task.work`); others see the queue read-only.
 * A change the server refused is shown under its row with the reason.
 */
import { useState } from 'react';
import type { AlertDoc } from '../../../../shared/sync-protocol.js';
import { useLiveQuery, useReplica } from '../../data/hooks';
import { formatAgo } from '../../lib/format';
import { panelAction } from '../panels/panel-action';
import { Refusals } from '../panels/Refusals';
import { VehicleLink, type VehiclePanelProps } from '../panels/VehicleLink';

const SEVERITY_RANK = { critical: 0, warning: 1, info: 2 } as const;

export function AlertsPanel({ plateOf, now, onSelectVehicle }: VehiclePanelProps) {
  const r = useReplica();
  const [showResolved, setShowResolved] = useState(false);
  const alerts = useLiveQuery<AlertDoc>(
    r?.db.alerts,
    showResolved
      ? { sort: [{ openedAt: 'desc' }], limit: 300 }
      : { selector: { status: { $ne: 'resolved' } }, sort: [{ openedAt: 'desc' }], limit: 300 },
    String(showResolved),
  );
  const sorted = [...alerts].sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || b.openedAt - a.openedAt);
  const [resolving, setResolving] = useState<string | undefined>(undefined);
  const [note, setNote] = useState('');
  const act = panelAction('alerts');
  const mayWork = r?.actions.can('alert.work') ?? false;
  const mayTask = r?.actions.can('task.work') ?? false;
  return (
    <div className="replica-panel" data-testid="alerts-panel" data-count={sorted.length}>
      <div className="panel-toolbar">
        <label>
          <input type="checkbox" checked={showResolved} onChange={(e) => setShowResolved(e.target.checked)} /> show resolved
        </label>
      </div>
      {!r ? (
        <div className="panel-empty">Local replica not open yet…</div>
      ) : sorted.length === 0 ? (
        <div className="panel-empty">No open alerts.</div>
      ) : null}
      <table className="replica-table">
        <thead>
          <tr>
            <th>Severity</th>
            <th>Kind</th>
            <th>Vehicle</th>
            <th>Status</th>
            <th>Age</th>
            <th>Assignee</th>
            {mayWork ? <th /> : null}
          </tr>
        </thead>
        <tbody>
          {sorted.map((a) => (
            <tr key={a.id} data-alert-id={a.id} data-status={a.status}>
              <td>
                <span className={`sev sev-${a.severity}`}>{a.severity}</span>
              </td>
              <td>
                {a.kind}
                {a.occurrences > 1 ? <span className="muted"> ×{a.occurrences}</span> : null}
              </td>
              <td>
                <VehicleLink vehicleId={a.vehicleId} plateOf={plateOf} onSelect={onSelectVehicle} />
              </td>
              <td>{a.status}</td>
              <td title={new Date(a.openedAt).toLocaleString()}>{formatAgo(a.openedAt, now)}</td>
              <td>{a.assignee ?? <span className="muted">—</span>}</td>
              {mayWork ? (
                <td className="row-actions">
                  <Refusals collection="alerts" what="Alert change" match={(c) => c.docId === a.id} />
                  {resolving === a.id ? (
                    <form
                      onSubmit={(e) => {
                        e.preventDefault();
                        act(r?.actions.resolveAlert(a.id, note));
                        setResolving(undefined);
                        setNote('');
                      }}
                    >
                      <input
                        autoFocus
                        placeholder="Resolution note"
                        value={note}
                        onChange={(e) => setNote(e.target.value)}
                        aria-label="Resolution note"
                      />
                      <button type="submit">Resolve</button>
                      <button type="button" onClick={() => setResolving(undefined)}>
                        Cancel
                      </button>
                    </form>
                  ) : a.status === 'resolved' ? (
                    <span className="muted">{a.resolution ?? ''}</span>
                  ) : (
                    <>
                      {a.status === 'open' ? (
                        <button type="button" onClick={() => act(r?.actions.acknowledgeAlert(a.id))}>
                          Acknowledge
                        </button>
                      ) : null}
                      {a.assignee !== r?.actions.operator.id ? (
                        <button type="button" onClick={() => act(r?.actions.assignAlertToMe(a.id))}>
                          Assign to me
                        </button>
                      ) : null}
                      <button type="button" onClick={() => setResolving(a.id)}>
                        Resolve…
                      </button>
                      {mayTask ? (
                        <button
                          type="button"
                          title="Create a repair task for this vehicle"
                          onClick={() =>
                            act(r?.actions.createTask({ vehicleId: a.vehicleId, kind: 'repair', note: `alert: ${a.kind}`, alertId: a.id }))
                          }
                        >
                          + Task
                        </button>
                      ) : null}
                    </>
                  )}
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
