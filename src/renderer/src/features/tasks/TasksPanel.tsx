/**
 * Field tasks (cleaning, refuel, repair, inspection) from the replica: assign to me or to a colleague by name (only
 * colleagues whose role may work tasks, `task.work`), unassign, complete — for roles that may work tasks; others see
 * the list read-only. A change the server refused is shown under its row.
 */
import { useMemo, useState } from 'react';
import { can } from '../../../../shared/permissions.js';
import type { TaskDoc } from '../../../../shared/sync-protocol.js';
import { useLiveQuery, useReplica } from '../../data/hooks';
import { AssignSelect } from '../panels/AssignSelect';
import { staffNameIn } from '../panels/staff-names';
import { useStaffDirectory } from '../panels/use-staff-directory';
import { formatAgo } from '../../lib/format';
import { panelAction } from '../panels/panel-action';
import { Refusals } from '../panels/Refusals';
import { VehicleLink, type VehiclePanelProps } from '../panels/VehicleLink';

export function TasksPanel({ plateOf, now, onSelectVehicle }: VehiclePanelProps) {
  const r = useReplica();
  const [showDone, setShowDone] = useState(false);
  const tasks = useLiveQuery<TaskDoc>(
    r?.db.tasks,
    showDone
      ? { sort: [{ createdAt: 'desc' }], limit: 300 }
      : { selector: { status: { $in: ['open', 'assigned'] } }, sort: [{ createdAt: 'desc' }], limit: 300 },
    String(showDone),
  );
  const act = panelAction('tasks');
  const staff = useStaffDirectory();
  const staffName = useMemo(() => staffNameIn(staff), [staff]);
  // a task goes to someone who may work it: the role table decides who that is
  const workers = useMemo(() => staff.filter((s) => s.active && can(s.role, 'task.work')), [staff]);
  const meId = r?.actions.operator.id ?? '';
  const mayWork = r?.actions.can('task.work') ?? false;
  return (
    <div className="replica-panel" data-testid="tasks-panel" data-count={tasks.length}>
      <div className="panel-toolbar">
        <label>
          <input type="checkbox" checked={showDone} onChange={(e) => setShowDone(e.target.checked)} /> show done
        </label>
        {mayWork ? <span className="muted">Create tasks from a vehicle card or an alert.</span> : null}
      </div>
      {tasks.length === 0 ? <div className="panel-empty">No open tasks.</div> : null}
      <table className="replica-table">
        <thead>
          <tr>
            <th>Kind</th>
            <th>Vehicle</th>
            <th>Status</th>
            <th>Assignee</th>
            <th>Note</th>
            <th>Created</th>
            {mayWork ? <th /> : null}
          </tr>
        </thead>
        <tbody>
          {tasks.map((t) => (
            <tr key={t.id} data-task-id={t.id} data-status={t.status}>
              <td>{t.kind}</td>
              <td>
                <VehicleLink vehicleId={t.vehicleId} plateOf={plateOf} onSelect={onSelectVehicle} />
              </td>
              <td>{t.status}</td>
              <td>{t.assignee ? staffName(t.assignee) : <span className="muted">—</span>}</td>
              <td className="cell-note">{t.note}</td>
              <td>{formatAgo(t.createdAt, now)}</td>
              {mayWork ? (
                <td className="row-actions">
                  <Refusals collection="tasks" what="Task change" match={(c) => c.docId === t.id} />
                  {t.status === 'open' || (t.status === 'assigned' && t.assignee !== meId) ? (
                    <button type="button" onClick={() => act(r?.actions.assignTaskToMe(t.id))}>
                      Assign to me
                    </button>
                  ) : null}
                  {t.status === 'open' || t.status === 'assigned' ? (
                    <AssignSelect
                      staff={workers}
                      meId={meId}
                      value={t.assignee}
                      label={`Assign the ${t.kind} task to`}
                      onAssign={(id) => act(r?.actions.assignTask(t.id, id))}
                    />
                  ) : null}
                  {t.status === 'open' || t.status === 'assigned' ? (
                    <button type="button" onClick={() => act(r?.actions.completeTask(t.id))}>
                      Complete
                    </button>
                  ) : null}
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
