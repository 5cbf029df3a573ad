/**
 * Choose a colleague by name (the staff directory), yourself first, or nobody: alerts and tasks are assigned with it.
 * The caller passes the colleagues who may take the work (e.g. only roles that may work tasks).
 */
import type { Colleague } from './use-staff-directory';

export function AssignSelect({
  staff,
  meId,
  value,
  onAssign,
  label = 'Assign to',
}: {
  staff: readonly Colleague[];
  meId: string;
  value: string | null;
  onAssign: (id: string | null) => void;
  label?: string;
}) {
  const options = [...staff].sort((a, b) => Number(b.id === meId) - Number(a.id === meId));
  return (
    <select aria-label={label} title={label} value={value ?? ''} onChange={(e) => onAssign(e.target.value === '' ? null : e.target.value)}>
      <option value="">{value ? 'Unassign' : 'Assign…'}</option>
      {value && !staff.some((s) => s.id === value) ? <option value={value}>{value}</option> : null}
      {options.map((s) => (
        <option key={s.id} value={s.id}>
          {s.id === meId ? `Me (${s.name})` : `${s.name} · ${s.role}`}
        </option>
      ))}
    </select>
  );
}
