/**
 * The replica side of the selected-vehicle card: service state (available ↔ maintenance), a vehicle command sent
 * as a `requests` doc with the matching `commands` doc's status as it replicates, the car's command history with
 * every step and Cancel (features/commands), a new task, and notes. Only the
 * controls the operator's role may use are rendered (the role table, src/shared/permissions.ts); a change the
 * server refused is shown here with its reason; immobilizing asks for confirmation first.
 */
import { useState } from 'react';
import type { CommandDoc, NoteDoc, RequestDoc, TaskKind, VehicleDoc } from '../../../../shared/sync-protocol.js';
import type { VehicleLive } from '../../../../shared/fleet.js';
import { COMMAND_TYPES, REQUEST_TTL_MS, type CommandType } from '../../data/actions';
import { useLiveQuery, useReplica } from '../../data/hooks';
import { useStaffNames } from '../panels/staff-names';
import { formatAgo } from '../../lib/format';
import { noteProblem, optionalTextProblem, reasonProblem, TASK_NOTE_MAX } from '../../lib/validation';
import { useConfirm } from '../panels/ConfirmDialog';
import { FieldInput, useFieldProblems } from '../panels/Field';
import { Refusals } from '../panels/Refusals';
import { VehicleCommands } from '../commands/VehicleCommands';
import { commandReadiness, immobilizedFromCommands } from './command-readiness';
import { VehicleRentals } from './VehicleRentals';

const TASK_KINDS: TaskKind[] = ['cleaning', 'refuel', 'repair', 'inspection'];

export function VehicleOps({ vehicleId, now, live }: { vehicleId: string; now: number; live: VehicleLive | undefined }) {
  const r = useReplica();
  const [confirm, confirmDialog] = useConfirm();
  const [vehicle] = useLiveQuery<VehicleDoc>(r?.db.vehicles, { selector: { id: vehicleId } }, vehicleId);
  // `payload` has no schema'd properties: filter the recent requests here instead of in the query.
  const recent = useLiveQuery<RequestDoc>(r?.db.requests, { sort: [{ createdAt: 'desc' }], limit: 200 }, 'recent');
  const requests = recent.filter((q) => q.payload.vehicleId === vehicleId).slice(0, 3);
  const commands = useLiveQuery<CommandDoc>(
    r?.db.commands,
    { selector: { vehicleId }, sort: [{ createdAt: 'desc' }], limit: 5 },
    vehicleId,
  );
  // immobilized or not: the car's last immobilize/release that succeeded (older than the 5 commands above, maybe)
  const immobilizations = useLiveQuery<CommandDoc>(
    r?.db.commands,
    { selector: { vehicleId, type: { $in: ['immobilize', 'release'] }, status: 'succeeded' }, sort: [{ createdAt: 'desc' }], limit: 1 },
    `immobilized:${vehicleId}`,
  );
  const notes = useLiveQuery<NoteDoc>(
    r?.db.notes,
    { selector: { targetType: 'vehicle', targetId: vehicleId }, sort: [{ createdAt: 'desc' }], limit: 20 },
    vehicleId,
  );
  const [cmd, setCmd] = useState<CommandType>('lock');
  const [reason, setReason] = useState('');
  const [note, setNote] = useState('');
  const [taskKind, setTaskKind] = useState<TaskKind>('cleaning');
  const [taskNote, setTaskNote] = useState('');
  const fields = useFieldProblems<'reason' | 'note' | 'taskNote'>();
  const staffName = useStaffNames();
  const [error, setError] = useState<string | undefined>(undefined);
  if (!r) return <div className="vehicle-ops muted">Local replica not open yet…</div>;
  const act = (p: Promise<unknown>) =>
    void p.then(
      () => setError(undefined),
      (err: unknown) => setError(err instanceof Error ? err.message : String(err)),
    );
  const service = vehicle?.serviceState;
  const may = (c: Parameters<typeof r.actions.can>[0]) => r.actions.can(c);
  const plate = vehicle?.plate ?? vehicleId;
  const readiness = commandReadiness(cmd, {
    plate,
    live,
    immobilized: immobilizedFromCommands(immobilizations),
    ttlMs: REQUEST_TTL_MS,
    now,
  });
  const send = () => act(r.actions.requestCommand(vehicleId, cmd, reason).then(() => setReason('')));
  const commandFor = (req: RequestDoc) => {
    const commandId = typeof req.result?.commandId === 'string' ? req.result.commandId : undefined;
    return commandId ? commands.find((c) => c.id === commandId) : undefined;
  };
  return (
    <div className="vehicle-ops" data-testid="vehicle-ops">
      <VehicleRentals vehicleId={vehicleId} now={now} />
      <div className="ops-row">
        <span className="ops-label">Service</span>
        {vehicle ? (
          <>
            <span className={`service-pill service-${service}`} data-testid="service-state">
              {service}
            </span>
            {may('vehicle.maintenance') ? (
              <button
                type="button"
                data-testid="toggle-service"
                onClick={() => act(r.actions.setServiceState(vehicleId, service === 'maintenance' ? 'available' : 'maintenance'))}
              >
                {service === 'maintenance' ? 'Back to available' : 'To maintenance'}
              </button>
            ) : null}
            <span className="muted" title="Registry data from the replica">
              {formatAgo(vehicle.updatedAt, now)}
            </span>
          </>
        ) : (
          <span className="muted">not in the replica yet</span>
        )}
      </div>
      <Refusals collection="vehicles" what="Service change" match={(c) => c.docId === vehicleId} />
      {may('vehicle.command') ? (
        <form
          className="ops-row ops-wrap"
          data-testid="command-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (readiness.level === 'blocked') return; // the reason is shown under the form; Send is disabled
            if (!fields.check({ reason: reasonProblem(reason) })) return;
            if (cmd !== 'immobilize') return send();
            confirm({
              title: `Immobilize ${plate}?`,
              detail: (
                <>
                  <p>The car&apos;s engine will be disabled: nobody can start it until a release command is sent.</p>
                  <p>Reason: {reason.trim()}</p>
                </>
              ),
              confirmLabel: 'Immobilize',
              onConfirm: send,
            });
          }}
        >
          <span className="ops-label">Command</span>
          <select value={cmd} onChange={(e) => setCmd(e.target.value as CommandType)} aria-label="Command">
            {COMMAND_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
          <FieldInput
            {...fields.input('reason', reason, setReason)}
            placeholder="Reason (required)"
            aria-label="Command reason"
            data-testid="command-reason"
          />
          <button type="submit" disabled={readiness.level === 'blocked'} data-testid="command-send">
            {readiness.level === 'warning' ? 'Send anyway' : 'Send'}
          </button>
        </form>
      ) : null}
      {may('vehicle.command') && readiness.reason ? (
        <div
          className={`command-readiness command-${readiness.level}`}
          role="status"
          data-testid="command-readiness"
          data-level={readiness.level}
        >
          {readiness.reason}
        </div>
      ) : null}
      <Refusals
        collection="requests"
        what="Command"
        match={(c) =>
          c.local.payload !== null &&
          typeof c.local.payload === 'object' &&
          (c.local.payload as { vehicleId?: unknown }).vehicleId === vehicleId
        }
      />
      {requests.length ? (
        <ul className="ops-list" data-testid="command-requests">
          {requests.map((q) => {
            const c = commandFor(q);
            return (
              <li key={q.id} data-request-id={q.id} data-request-status={q.status} data-command-status={c?.status ?? ''}>
                {String(q.payload.type)} · request {q.status}
                {c
                  ? ` · command ${c.status}${c.lastResultReason ? ` (${c.lastResultReason})` : ''}`
                  : q.status === 'pending'
                    ? ' · waiting for the server'
                    : ''}
                {q.status === 'rejected' || q.status === 'failed' ? ` · ${String(q.result?.message ?? '')}` : ''}
                <span className="muted"> · {formatAgo(q.createdAt, now)}</span>
              </li>
            );
          })}
        </ul>
      ) : null}
      <VehicleCommands vehicleId={vehicleId} now={now} />
      {may('task.work') ? (
        <form
          className="ops-row ops-wrap"
          data-testid="task-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (!fields.check({ taskNote: optionalTextProblem(taskNote, TASK_NOTE_MAX) })) return;
            act(r.actions.createTask({ vehicleId, kind: taskKind, note: taskNote.trim() }).then(() => setTaskNote('')));
          }}
        >
          <span className="ops-label">Task</span>
          <select value={taskKind} onChange={(e) => setTaskKind(e.target.value as TaskKind)} aria-label="Task kind">
            {TASK_KINDS.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
          <FieldInput
            {...fields.input('taskNote', taskNote, setTaskNote)}
            placeholder="Note for the task (optional)"
            aria-label="Task note"
            data-testid="task-note"
          />
          <button type="submit" data-testid="create-task">
            Create task
          </button>
        </form>
      ) : null}
      <Refusals collection="tasks" what="Task" match={(c) => c.local.vehicleId === vehicleId} />
      <form
        className="ops-row"
        data-testid="note-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (!fields.check({ note: noteProblem(note) })) return;
          act(r.actions.addNote('vehicle', vehicleId, note).then(() => setNote('')));
        }}
      >
        <span className="ops-label">Note</span>
        <FieldInput {...fields.input('note', note, setNote)} placeholder="Add a note" aria-label="Note" data-testid="vehicle-note-input" />
        <button type="submit">Add</button>
      </form>
      {notes.length ? (
        <ul className="ops-list" data-testid="vehicle-notes">
          {notes.map((n) => (
            <li key={n.id}>
              {n.text}{' '}
              <span className="muted">
                — {staffName(n.author)}, {formatAgo(n.createdAt, now)}
              </span>
            </li>
          ))}
        </ul>
      ) : null}
      <Refusals collection="notes" what="Note" match={(c) => c.local.targetType === 'vehicle' && c.local.targetId === vehicleId} />
      {error ? <div className="ops-error">{error}</div> : null}
      {confirmDialog}
    </div>
  );
}
