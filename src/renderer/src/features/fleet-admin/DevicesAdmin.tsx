/**
 * Back office → Devices (admins): which registered vehicles have device credentials; provision the selected ones
 * in one step — the passwords are shown once, in a dialog, with the installer's file to download — and revoke a
 * device with a reason (its connection to the broker ends).
 */
import { useMemo, useState } from 'react';
import { comparePlates, type IssuedDeviceCredential, type RegisteredVehicle } from '../../../../shared/vehicle-registry.js';
import { useReplica } from '../../data/hooks';
import { formatDateTime, normalizePlate, plural } from '../../lib/format';
import { useConfirm } from '../panels/ConfirmDialog';
import { ReasonRowForm } from './ReasonRowForm';
import { SecretsDialog } from './SecretsDialog';
import { messageOf, useStaffData } from './use-staff-data';
import './fleet-admin.css';

interface DeviceStatus {
  vehicleId: string;
  status: 'active' | 'revoked';
  issuedAt: number;
  rotatedAt: number | null;
  revokedAt: number | null;
}

const SHOWN = 200;

export function DevicesAdmin() {
  const r = useReplica();
  const registry = useStaffData<{ vehicles: RegisteredVehicle[] }>('/ops/v1/vehicle-registry');
  const devices = useStaffData<{ devices: DeviceStatus[] }>('/ops/v1/devices');
  const [filter, setFilter] = useState<'without' | 'all'>('without');
  const [query, setQuery] = useState('');
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [issued, setIssued] = useState<IssuedDeviceCredential[] | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [message, setMessage] = useState<string | undefined>(undefined);
  const [revoking, setRevoking] = useState<string | undefined>(undefined);
  const [confirm, confirmDialog] = useConfirm();

  const statusOf = useMemo(() => new Map((devices.data?.devices ?? []).map((d) => [d.vehicleId, d])), [devices.data]);
  const rows = useMemo(() => {
    const q = normalizePlate(query.trim());
    return (registry.data?.vehicles ?? [])
      .filter((v) => (filter === 'all' || statusOf.get(v.id)?.status !== 'active') && (q === '' || normalizePlate(v.plate).includes(q)))
      .sort((a, b) => comparePlates(a.plate, b.plate));
  }, [registry.data, statusOf, filter, query]);
  const without = (registry.data?.vehicles ?? []).filter((v) => statusOf.get(v.id)?.status !== 'active').length;

  if (!r) return <div className="panel-empty">Connecting to the server…</div>;
  const reload = () => {
    registry.reload();
    devices.reload();
  };
  const toggle = (id: string) =>
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const provision = () => {
    const ids = [...selected];
    setBusy(true);
    r.staffPost<{ devices: IssuedDeviceCredential[] }>('/ops/v1/devices/credentials', { vehicleIds: ids }).then(
      (res) => {
        setBusy(false);
        setIssued(res.devices);
        setSelected(new Set());
        setError(undefined);
        setMessage(undefined);
        reload();
      },
      (err: unknown) => {
        setBusy(false);
        setError(messageOf(err));
      },
    );
  };
  const rotating = [...selected].filter((id) => statusOf.get(id)?.status === 'active').length;
  const shownRows = rows.slice(0, SHOWN);
  const allSelected = rows.length > 0 && rows.every((v) => selected.has(v.id));

  return (
    <div className="replica-panel fleet-admin" data-testid="devices-admin">
      <div className="panel-toolbar">
        <select
          value={filter}
          onChange={(e) => setFilter(e.target.value as 'without' | 'all')}
          aria-label="Which vehicles"
          data-testid="devices-filter"
        >
          <option value="without">Without credentials ({without})</option>
          <option value="all">All vehicles</option>
        </select>
        <input
          type="search"
          className="fleet-admin-search"
          placeholder="Search plate"
          aria-label="Search plate"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <span className="muted" data-testid="devices-selected">
          {plural(selected.size, 'vehicle')} selected
        </span>
        <span className="spacer" />
        <button
          type="button"
          className="primary-button small"
          disabled={selected.size === 0 || busy}
          data-testid="devices-provision"
          onClick={() =>
            rotating > 0
              ? confirm({
                  title: `Replace the credentials of ${plural(rotating, 'device')}?`,
                  detail: (
                    <p>
                      {plural(rotating, 'selected vehicle')} already {rotating === 1 ? 'has' : 'have'} credentials. New passwords replace
                      them: those devices are disconnected and cannot connect again until the installer enters the new password.
                    </p>
                  ),
                  confirmLabel: 'Replace and provision',
                  onConfirm: provision,
                })
              : provision()
          }
        >
          {busy ? 'Provisioning…' : `Provision ${plural(selected.size, 'device')}`}
        </button>
      </div>
      {message ? (
        <div className="fleet-admin-ok" role="status">
          {message}
        </div>
      ) : null}
      {error || registry.error || devices.error ? (
        <div className="fleet-admin-error" role="alert">
          {error ?? `The devices could not be read: ${registry.error ?? devices.error}`}
        </div>
      ) : null}
      {registry.data && rows.length === 0 ? (
        <div className="panel-empty">
          {filter === 'without' ? 'Every vehicle in the fleet has device credentials.' : 'No vehicle matches this search.'}
        </div>
      ) : null}
      {rows.length > 0 ? (
        <table className="replica-table" data-testid="devices-table">
          <thead>
            <tr>
              <th>
                <input
                  type="checkbox"
                  aria-label={`Select all ${rows.length} listed`}
                  title={`Select all ${rows.length} listed`}
                  checked={allSelected}
                  data-testid="devices-select-all"
                  onChange={() =>
                    setSelected((s) => {
                      const next = new Set(s);
                      for (const v of rows) {
                        if (allSelected) next.delete(v.id);
                        else next.add(v.id);
                      }
                      return next;
                    })
                  }
                />
              </th>
              <th>Plate</th>
              <th>Make and model</th>
              <th>Credentials</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {shownRows.map((v) => {
              const d = statusOf.get(v.id);
              return (
                <tr key={v.id} data-testid="device-row" data-vehicle-id={v.id} data-status={d?.status ?? 'none'}>
                  <td>
                    <input type="checkbox" aria-label={`Select ${v.plate}`} checked={selected.has(v.id)} onChange={() => toggle(v.id)} />
                  </td>
                  <td className="plate">{v.plate}</td>
                  <td>
                    {v.make} {v.model}
                  </td>
                  <td>
                    {!d ? (
                      <span className="muted">none</span>
                    ) : d.status === 'active' ? (
                      <span>
                        <span className="pill pill-active">active</span> issued {formatDateTime(d.rotatedAt ?? d.issuedAt)}
                      </span>
                    ) : (
                      <span>
                        <span className="pill pill-blocked">revoked</span> {formatDateTime(d.revokedAt)}
                      </span>
                    )}
                  </td>
                  <td>
                    {d?.status === 'active' && revoking === v.id ? (
                      <ReasonRowForm
                        verb="Revoke"
                        label={`Reason to revoke ${v.plate}`}
                        testId="revoke"
                        onCancel={() => setRevoking(undefined)}
                        onReason={(reason) =>
                          confirm({
                            title: `Revoke the device of ${v.plate}?`,
                            detail: (
                              <>
                                <p>
                                  The device is disconnected from the broker now and cannot connect again. {v.plate} stops reporting until
                                  it gets new credentials.
                                </p>
                                <p>Reason: {reason}</p>
                              </>
                            ),
                            confirmLabel: 'Revoke device',
                            onConfirm: () =>
                              void r.staffPost('/ops/v1/devices/revoke', { vehicleIds: [v.id], reason }).then(
                                () => {
                                  setRevoking(undefined);
                                  setMessage(`Revoked the device of ${v.plate}.`);
                                  reload();
                                },
                                (err: unknown) => setError(messageOf(err)),
                              ),
                          })
                        }
                      />
                    ) : d?.status === 'active' ? (
                      <div className="row-actions">
                        <button type="button" data-testid="device-revoke" onClick={() => setRevoking(v.id)}>
                          Revoke…
                        </button>
                      </div>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      {rows.length > SHOWN ? (
        <div className="muted fleet-admin-note">
          Showing {SHOWN} of {plural(rows.length, 'vehicle')}; the box in the header selects all {rows.length}. Search to narrow the list.
        </div>
      ) : null}
      {issued ? <SecretsDialog devices={issued} onClose={() => setIssued(undefined)} /> : null}
      {confirmDialog}
    </div>
  );
}
