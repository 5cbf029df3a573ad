/**
 * The alert queue from the replica, worked off offline too: filter by kind / severity / status, group by kind, sort
 * by age (or the most severe first); rows stay where they are while the operator acts — new alerts are announced
 * ("N new — show"), rows that left the view go when the pointer leaves the list. Several at once: acknowledge,
 * assign, resolve (with the reason). One at a time: acknowledge, assign to a colleague by name, resolve with the
 * reason, "+ Task" of the chosen kind. Only what the role may do is offered (`alert.work`, `task.work`); others see
 * the queue read-only. Kinds can be muted (no notification, not counted). A change the server refused is shown under
 * its row with the reason.
 */
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { ALERT_KINDS, alertKindLabel } from '../../../../shared/alert-kinds.js';
import type { NotificationPermissionState } from '../../../../shared/desktop-api.js';
import { TASK_KINDS, type AlertDoc, type TaskKind } from '../../../../shared/sync-protocol.js';
import { getDesktopApi } from '../../bridge';
import { useReplica } from '../../data/hooks';
import { formatAgo } from '../../lib/format';
import { panelAction } from '../panels/panel-action';
import { Refusals } from '../panels/Refusals';
import { AssignSelect } from '../panels/AssignSelect';
import { useStaffDirectory, type Colleague } from '../panels/use-staff-directory';
import { VehicleLink, type VehiclePanelProps } from '../panels/VehicleLink';
import {
  DEFAULT_FILTER,
  groupByKind,
  kindCounts,
  queueOf,
  SEVERITY_LABELS,
  stableRows,
  STATUS_LABELS,
  statusesOf,
  type QueueFilter,
  type QueueSort,
  type SeverityFilter,
  type StatusFilter,
} from './alert-queue';
import { toggleMuted, useMutedKinds } from './muted-kinds';

const TASK_LABELS: Readonly<Record<TaskKind, string>> = {
  cleaning: 'Cleaning',
  refuel: 'Refuel / charge',
  repair: 'Repair',
  inspection: 'Inspection',
};
/** The task kind offered first for an alert of this kind. */
const SUGGESTED_TASK: Readonly<Record<string, TaskKind>> = {
  low_energy: 'refuel',
  crash: 'inspection',
  tamper: 'inspection',
  door_open_parked: 'inspection',
};
const STATUS_OPTIONS: ReadonlyArray<[StatusFilter, string]> = [
  ['unresolved', 'Not resolved'],
  ['open', 'Open'],
  ['acknowledged', 'Acknowledged'],
  ['resolved', 'Resolved'],
  ['all', 'All statuses'],
];
const SORT_OPTIONS: ReadonlyArray<[QueueSort, string]> = [
  ['severity', 'Most severe first'],
  ['newest', 'Newest first'],
  ['oldest', 'Oldest first'],
];

export function AlertsPanel({ plateOf, now, onSelectVehicle }: VehiclePanelProps) {
  const r = useReplica();
  const operatorId = r?.identity.operator.id ?? '';
  const [filter, setFilter] = useState<QueueFilter>(DEFAULT_FILTER);
  const [sort, setSort] = useState<QueueSort>('severity');
  const [grouped, setGrouped] = useState(false);
  const muted = useMutedKinds(operatorId);
  const directory = useStaffDirectory();
  const nameOf = (id: string) => directory.find((s) => s.id === id)?.name ?? id;
  // assignees: active colleagues only (a deactivated one keeps their name on what they did)
  const staff = useMemo(() => directory.filter((s) => s.active), [directory]);

  // The replica's alerts of the chosen statuses; kind and severity are filtered here (their options count them).
  const queryKey = filter.status;
  const [result, setResult] = useState<{ key: string; docs: AlertDoc[] }>({ key: '', docs: [] });
  useEffect(() => {
    const alerts = r?.db.alerts;
    if (!alerts) return;
    const sub = alerts
      .find({ selector: { status: { $in: statusesOf(filter.status) } }, sort: [{ openedAt: 'desc' }], limit: 1_000 })
      .$.subscribe((res) => setResult({ key: queryKey, docs: res.map((d) => d.toJSON() as AlertDoc) }));
    return () => sub.unsubscribe();
  }, [r, queryKey]);
  const loaded = !!r && result.key === queryKey;
  const docs = loaded ? result.docs : [];
  const lastKnown = useRef(new Map<string, AlertDoc>());
  for (const d of docs) lastKnown.current.set(d.id, d);
  const queue = useMemo(() => queueOf(docs, filter, sort), [docs, filter, sort]);
  const kinds = useMemo(() => kindCounts(docs), [docs]);

  // Stable rows: the list the operator sees, per view (filter + sort); settles once the view's first result is in.
  const viewKey = `${filter.status}|${filter.kind}|${filter.severity}|${sort}`;
  const [shown, setShown] = useState<{ key: string; ids: string[] } | null>(null);
  const [hover, setHover] = useState(false);
  const [selected, setSelected] = useState<ReadonlySet<string>>(() => new Set());
  const [resolving, setResolving] = useState<string | undefined>(undefined);
  const holding = hover || selected.size > 0 || resolving !== undefined;
  const stable = stableRows(
    shown?.key === viewKey ? shown.ids : null,
    queue.map((a) => a.id),
    holding,
  );
  const stableKey = stable.shown.join(',');
  useEffect(() => {
    if (loaded && (shown?.key !== viewKey || shown.ids.join(',') !== stableKey)) setShown({ key: viewKey, ids: stable.shown });
  }, [loaded, viewKey, stableKey]);
  const rows = stable.shown.map((id) => lastKnown.current.get(id)).filter((a): a is AlertDoc => !!a);
  const visibleIds = new Set(rows.filter((a) => !stable.gone.has(a.id)).map((a) => a.id));
  const chosen = [...selected].filter((id) => visibleIds.has(id));

  const setView = (next: Partial<QueueFilter>) => {
    setFilter((f) => ({ ...f, ...next }));
    setSelected(new Set());
    setResolving(undefined);
  };
  const toggle = (ids: readonly string[], on: boolean) =>
    setSelected((prev) => {
      const next = new Set(prev);
      for (const id of ids)
        if (on) next.add(id);
        else next.delete(id);
      return next;
    });

  const act = panelAction('alerts');
  const mayWork = r?.actions.can('alert.work') ?? false;
  const mayTask = r?.actions.can('task.work') ?? false;
  const columns = mayWork ? 6 : 4;
  const allChosen = visibleIds.size > 0 && chosen.length === visibleIds.size;

  const rowOf = (a: AlertDoc): ReactNode => {
    const gone = stable.gone.has(a.id);
    return (
      <tr
        key={a.id}
        data-alert-id={a.id}
        data-status={a.status}
        data-kind={a.kind}
        className={`${gone ? 'row-gone' : ''}${selected.has(a.id) && !gone ? ' row-selected' : ''}`}
        title={gone ? 'No longer in this view: it goes when the pointer leaves the list' : undefined}
      >
        {mayWork ? (
          <td className="cell-check">
            <input
              type="checkbox"
              aria-label={`Select ${alertKindLabel(a.kind)} on ${plateOf(a.vehicleId)}`}
              disabled={gone}
              checked={selected.has(a.id) && !gone}
              onChange={(e) => toggle([a.id], e.target.checked)}
            />
          </td>
        ) : null}
        <td className="cell-kind cell-wrap">
          <span className={`sev-dot sev-${a.severity}`} title={SEVERITY_LABELS[a.severity]} aria-label={SEVERITY_LABELS[a.severity]} />
          {alertKindLabel(a.kind)}
          {a.occurrences > 1 ? <span className="muted"> ×{a.occurrences}</span> : null}
          {muted.has(a.kind) ? <span className="muted-tag">muted</span> : null}
        </td>
        <td>
          <VehicleLink vehicleId={a.vehicleId} plateOf={plateOf} onSelect={onSelectVehicle} />
        </td>
        <td className="cell-status">
          {STATUS_LABELS[a.status]}
          <span className="muted" title={new Date(a.openedAt).toLocaleString()}>
            {formatAgo(a.openedAt, now)}
          </span>
        </td>
        <td className="cell-assignee cell-wrap">{a.assignee ? nameOf(a.assignee) : <span className="muted">—</span>}</td>
        {mayWork ? (
          <td className="alert-actions">
            <Refusals collection="alerts" what="Alert change" match={(c) => c.docId === a.id} />
            {gone ? null : resolving === a.id ? (
              <ResolveForm
                label="Resolve"
                onCancel={() => setResolving(undefined)}
                onResolve={(reason) => {
                  act(r?.actions.resolveAlert(a.id, reason));
                  setResolving(undefined);
                }}
              />
            ) : a.status === 'resolved' ? (
              <span className="muted cell-note">{a.resolution ?? ''}</span>
            ) : (
              <div className="row-actions">
                {a.status === 'open' ? (
                  <button type="button" onClick={() => act(r?.actions.acknowledgeAlert(a.id))}>
                    Acknowledge
                  </button>
                ) : null}
                <button type="button" onClick={() => setResolving(a.id)}>
                  Resolve…
                </button>
                <MoreMenu
                  staff={staff}
                  meId={operatorId}
                  assignee={a.assignee}
                  taskKinds={mayTask ? taskKindsFor(a.kind) : []}
                  onAssign={(id) => act(r?.actions.assignAlert(a.id, id))}
                  onTask={(kind) =>
                    act(r?.actions.createTask({ vehicleId: a.vehicleId, kind, note: `alert: ${alertKindLabel(a.kind)}`, alertId: a.id }))
                  }
                />
              </div>
            )}
          </td>
        ) : null}
      </tr>
    );
  };

  return (
    <div className="replica-panel alerts-panel" data-testid="alerts-panel" data-count={rows.length} data-fresh={stable.fresh.length}>
      <div className="panel-toolbar alerts-toolbar">
        <select
          aria-label="Status"
          data-testid="alerts-filter-status"
          value={filter.status}
          onChange={(e) => setView({ status: e.target.value as StatusFilter })}
        >
          {STATUS_OPTIONS.map(([v, label]) => (
            <option key={v} value={v}>
              {label}
            </option>
          ))}
        </select>
        <select aria-label="Kind" data-testid="alerts-filter-kind" value={filter.kind} onChange={(e) => setView({ kind: e.target.value })}>
          <option value="">All kinds</option>
          {filter.kind && !kinds.some((k) => k.kind === filter.kind) ? (
            <option value={filter.kind}>{alertKindLabel(filter.kind)} (0)</option>
          ) : null}
          {kinds.map((k) => (
            <option key={k.kind} value={k.kind}>
              {k.label} ({k.count})
            </option>
          ))}
        </select>
        <select
          aria-label="Severity"
          data-testid="alerts-filter-severity"
          value={filter.severity}
          onChange={(e) => setView({ severity: e.target.value as SeverityFilter })}
        >
          <option value="all">All severities</option>
          {(['critical', 'warning', 'info'] as const).map((s) => (
            <option key={s} value={s}>
              {SEVERITY_LABELS[s]}
            </option>
          ))}
        </select>
        <select aria-label="Order" data-testid="alerts-sort" value={sort} onChange={(e) => setSort(e.target.value as QueueSort)}>
          {SORT_OPTIONS.map(([v, label]) => (
            <option key={v} value={v}>
              {label}
            </option>
          ))}
        </select>
        <label className="toolbar-check">
          <input type="checkbox" data-testid="alerts-group" checked={grouped} onChange={(e) => setGrouped(e.target.checked)} /> Group by
          kind
        </label>
        <MuteMenu operatorId={operatorId} muted={muted} />
        {mayWork ? <NotificationPermission /> : null}
      </div>
      {stable.fresh.length > 0 ? (
        <div className="alerts-new-bar" data-testid="alerts-new-bar" role="status">
          {stable.fresh.length} new {stable.fresh.length === 1 ? 'alert' : 'alerts'} —{' '}
          <button type="button" className="text-button" onClick={() => setShown({ key: viewKey, ids: queue.map((a) => a.id) })}>
            show
          </button>
        </div>
      ) : null}
      {mayWork && chosen.length > 0 ? (
        <BulkBar
          count={chosen.length}
          staff={staff}
          meId={operatorId}
          onAcknowledge={() => {
            for (const id of chosen) if (lastKnown.current.get(id)?.status === 'open') act(r?.actions.acknowledgeAlert(id));
            setSelected(new Set());
          }}
          onAssign={(assignee) => {
            for (const id of chosen) act(r?.actions.assignAlert(id, assignee));
            setSelected(new Set());
          }}
          onResolve={(reason) => {
            for (const id of chosen) act(r?.actions.resolveAlert(id, reason));
            setSelected(new Set());
          }}
          onClear={() => setSelected(new Set())}
        />
      ) : null}
      {!r ? (
        <div className="panel-empty">Local replica not open yet…</div>
      ) : loaded && rows.length === 0 ? (
        <div className="panel-empty" data-testid="alerts-empty">
          {emptyText(filter, docs.length)}
        </div>
      ) : null}
      {rows.length > 0 ? (
        <table className="replica-table alerts-table" onMouseEnter={() => setHover(true)} onMouseLeave={() => setHover(false)}>
          <thead>
            <tr>
              {mayWork ? (
                <th className="cell-check">
                  <input
                    type="checkbox"
                    aria-label="Select every alert shown"
                    data-testid="alerts-select-all"
                    checked={allChosen}
                    onChange={(e) => (e.target.checked ? toggle([...visibleIds], true) : setSelected(new Set()))}
                  />
                </th>
              ) : null}
              <th>Alert</th>
              <th>Vehicle</th>
              <th>Status</th>
              <th>Assignee</th>
              {mayWork ? <th /> : null}
            </tr>
          </thead>
          {grouped ? (
            groupByKind(rows).map((g) => {
              const ids = g.rows.filter((a) => visibleIds.has(a.id)).map((a) => a.id);
              return (
                <tbody key={g.kind} data-group={g.kind}>
                  <tr className="group-row">
                    <th colSpan={columns}>
                      {mayWork ? (
                        <input
                          type="checkbox"
                          aria-label={`Select every ${g.label} alert`}
                          checked={ids.length > 0 && ids.every((id) => selected.has(id))}
                          onChange={(e) => toggle(ids, e.target.checked)}
                        />
                      ) : null}
                      {g.label} <span className="muted">({g.rows.length})</span>
                    </th>
                  </tr>
                  {g.rows.map(rowOf)}
                </tbody>
              );
            })
          ) : (
            <tbody>{rows.map(rowOf)}</tbody>
          )}
        </table>
      ) : null}
    </div>
  );
}

function taskKindsFor(alertKind: string): TaskKind[] {
  const first = SUGGESTED_TASK[alertKind] ?? 'repair';
  return [first, ...TASK_KINDS.filter((k) => k !== first)];
}

const STATUS_PHRASE: Readonly<Record<StatusFilter, string>> = {
  unresolved: 'open or acknowledged',
  open: 'open',
  acknowledged: 'acknowledged',
  resolved: 'resolved',
  all: '',
};

/** What an empty view says: which alerts there are none of, and where to look instead. */
function emptyText(f: QueueFilter, inStatus: number): string {
  const filtered = f.kind !== '' || f.severity !== 'all';
  if (!filtered && f.status === 'unresolved')
    return 'No open alerts. New ones appear here and, if they need a person now, as a desktop notification.';
  const what = [f.severity === 'all' ? '' : SEVERITY_LABELS[f.severity].toLowerCase(), f.kind ? `“${alertKindLabel(f.kind)}”` : '']
    .filter(Boolean)
    .join(' ');
  const text = `No ${what ? `${what} ` : ''}alerts${STATUS_PHRASE[f.status] ? ` ${STATUS_PHRASE[f.status]}` : ''}.`;
  return filtered && inStatus > 0 ? `${text} Other alerts are hidden by the filters.` : text;
}

function ResolveForm({ label, onResolve, onCancel }: { label: string; onResolve: (reason: string) => void; onCancel: () => void }) {
  const [reason, setReason] = useState('');
  return (
    <form
      className="resolve-form row-actions"
      onSubmit={(e) => {
        e.preventDefault();
        if (reason.trim()) onResolve(reason);
      }}
    >
      <input
        autoFocus
        required
        maxLength={500}
        placeholder="Reason (required)"
        value={reason}
        onChange={(e) => setReason(e.target.value)}
        aria-label="Resolution reason"
      />
      <button type="submit" disabled={!reason.trim()}>
        {label}
      </button>
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
}

/** The row's less frequent actions in one compact menu: assign to a colleague (or nobody), create a task of a kind. */
function MoreMenu(props: {
  staff: readonly Colleague[];
  meId: string;
  assignee: string | null;
  taskKinds: readonly TaskKind[];
  onAssign: (id: string | null) => void;
  onTask: (kind: TaskKind) => void;
}) {
  const others = [...props.staff].sort((a, b) => Number(b.id === props.meId) - Number(a.id === props.meId));
  return (
    <select
      className="more-menu"
      aria-label="Assign or create a task"
      title="Assign to a colleague, or create a task for this car"
      value=""
      onChange={(e) => {
        const [what, value = ''] = e.target.value.split(':');
        if (what === 'assign') props.onAssign(value || null);
        else if (what === 'task') props.onTask(value as TaskKind);
      }}
    >
      <option value="">{props.taskKinds.length ? 'Assign/Task' : 'Assign…'}</option>
      <optgroup label="Assign to">
        {others
          .filter((s) => s.id !== props.assignee)
          .map((s) => (
            <option key={s.id} value={`assign:${s.id}`}>
              {s.id === props.meId ? `Me (${s.name})` : `${s.name} · ${s.role}`}
            </option>
          ))}
        {props.assignee ? <option value="assign:">Nobody (unassign)</option> : null}
      </optgroup>
      {props.taskKinds.length ? (
        <optgroup label="+ Task for this car">
          {props.taskKinds.map((k) => (
            <option key={k} value={`task:${k}`}>
              {TASK_LABELS[k]} task
            </option>
          ))}
        </optgroup>
      ) : null}
    </select>
  );
}

function BulkBar(props: {
  count: number;
  staff: readonly Colleague[];
  meId: string;
  onAcknowledge: () => void;
  onAssign: (id: string | null) => void;
  onResolve: (reason: string) => void;
  onClear: () => void;
}) {
  const [resolving, setResolving] = useState(false);
  return (
    <div className="alerts-bulk-bar" data-testid="alerts-bulk-bar">
      <strong>
        {props.count} {props.count === 1 ? 'alert' : 'alerts'} selected
      </strong>
      {resolving ? (
        <ResolveForm label={`Resolve ${props.count}`} onCancel={() => setResolving(false)} onResolve={props.onResolve} />
      ) : (
        <div className="row-actions">
          <button type="button" data-testid="bulk-acknowledge" onClick={props.onAcknowledge}>
            Acknowledge
          </button>
          <AssignSelect
            staff={props.staff}
            meId={props.meId}
            value={null}
            onAssign={props.onAssign}
            label="Assign the selected alerts to"
          />
          <button type="button" data-testid="bulk-resolve" onClick={() => setResolving(true)}>
            Resolve…
          </button>
          <button type="button" onClick={props.onClear}>
            Clear selection
          </button>
        </div>
      )}
    </div>
  );
}

function MuteMenu({ operatorId, muted }: { operatorId: string; muted: ReadonlySet<string> }) {
  return (
    <details className="mute-menu" data-testid="alerts-mute">
      <summary title="Muted kinds raise no desktop notification and are not counted in the tab">
        {muted.size ? `Muted (${muted.size})` : 'Mute…'}
      </summary>
      <div className="mute-list">
        {ALERT_KINDS.map((kind) => (
          <label key={kind}>
            <input type="checkbox" checked={muted.has(kind)} onChange={() => toggleMuted(operatorId, kind)} /> {alertKindLabel(kind)}
          </label>
        ))}
      </div>
    </details>
  );
}

/** Browser console only: notifications need the operator's consent for this origin once (Electron has nothing to ask). */
function NotificationPermission() {
  const api = useMemo(() => getDesktopApi(), []);
  const [state, setState] = useState<NotificationPermissionState | undefined>(undefined);
  useEffect(() => {
    void api.notifications.permission().then(setState);
  }, [api]);
  if (state !== 'default') return null;
  return (
    <button type="button" className="text-button" onClick={() => void api.notifications.requestPermission().then(setState)}>
      Turn on desktop notifications
    </button>
  );
}
