/**
 * Back office → Vehicles (admins): the registry with search, register one vehicle, change or retire one (with a
 * reason and a confirmation; a retired car leaves the active fleet, its history stays), and the CSV import.
 */
import { useMemo, useState } from 'react';
import { comparePlates, type RegisteredVehicle } from '../../../../shared/vehicle-registry.js';
import { useReplica } from '../../data/hooks';
import { energyLabel, formatDateTime, normalizePlate, plural } from '../../lib/format';
import { useConfirm } from '../panels/ConfirmDialog';
import { ReasonRowForm } from './ReasonRowForm';
import { VehicleForm } from './VehicleForm';
import { VehicleImport } from './VehicleImport';
import { messageOf, useStaffData } from './use-staff-data';
import './fleet-admin.css';

/** Rows drawn at most (the search narrows a fleet of thousands). */
const SHOWN = 200;

type Panel = { kind: 'none' } | { kind: 'register' } | { kind: 'import' } | { kind: 'edit'; vehicle: RegisteredVehicle };

export function VehiclesAdmin() {
  const r = useReplica();
  const registry = useStaffData<{ vehicles: RegisteredVehicle[] }>('/ops/v1/vehicle-registry?includeRetired=true');
  const [query, setQuery] = useState('');
  const [showRetired, setShowRetired] = useState(false);
  const [panel, setPanel] = useState<Panel>({ kind: 'none' });
  const [message, setMessage] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [retiring, setRetiring] = useState<string | undefined>(undefined);
  const [confirm, confirmDialog] = useConfirm();

  const all = useMemo(() => [...(registry.data?.vehicles ?? [])].sort((a, b) => comparePlates(a.plate, b.plate)), [registry.data]);
  const matches = useMemo(() => {
    const q = query.trim().toUpperCase();
    const plateQ = normalizePlate(q);
    return all.filter(
      (v) =>
        (showRetired || v.retiredAt === null) &&
        (q === '' ||
          normalizePlate(v.plate).includes(plateQ) ||
          (v.vin ?? '').includes(q) ||
          `${v.make} ${v.model}`.toUpperCase().includes(q) ||
          v.id.toUpperCase().includes(q)),
    );
  }, [all, query, showRetired]);
  const active = all.filter((v) => v.retiredAt === null).length;

  if (!r) return <div className="panel-empty">Connecting to the server…</div>;
  const done = (text: string) => {
    setPanel({ kind: 'none' });
    setMessage(text);
    setError(undefined);
    registry.reload();
  };
  const patch = (v: RegisteredVehicle, body: Record<string, unknown>) =>
    r.staffRequest<RegisteredVehicle>('PATCH', `/ops/v1/vehicles/${encodeURIComponent(v.id)}`, { body });

  return (
    <div className="replica-panel fleet-admin" data-testid="vehicles-admin">
      <div className="panel-toolbar">
        <input
          type="search"
          className="fleet-admin-search"
          placeholder="Search plate, VIN, make or model"
          aria-label="Search vehicles"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          data-testid="vehicles-search"
        />
        <label className="fleet-admin-check">
          <input type="checkbox" checked={showRetired} onChange={(e) => setShowRetired(e.target.checked)} /> Show retired
        </label>
        <span className="muted" data-testid="vehicles-count">
          {plural(active, 'vehicle')} in the fleet
        </span>
        <span className="spacer" />
        <button type="button" onClick={() => setPanel({ kind: 'register' })} data-testid="vehicles-register">
          Register a vehicle
        </button>
        <button type="button" onClick={() => setPanel({ kind: 'import' })} data-testid="vehicles-import">
          Import CSV…
        </button>
      </div>
      {message ? (
        <div className="fleet-admin-ok" role="status" data-testid="vehicles-message">
          {message}
        </div>
      ) : null}
      {error || registry.error ? (
        <div className="fleet-admin-error" role="alert">
          {error ?? `The registry could not be read: ${registry.error}`}
        </div>
      ) : null}
      {panel.kind === 'register' ? (
        <section className="fleet-admin-box">
          <h3 className="section-title">Register a vehicle</h3>
          <VehicleForm submit={(body) => r.staffPost('/ops/v1/vehicles', body)} onDone={done} onCancel={() => setPanel({ kind: 'none' })} />
        </section>
      ) : null}
      {panel.kind === 'edit' ? (
        <section className="fleet-admin-box">
          <h3 className="section-title">Change {panel.vehicle.plate}</h3>
          <VehicleForm
            vehicle={panel.vehicle}
            submit={(body) => patch(panel.vehicle, body)}
            onDone={done}
            onCancel={() => setPanel({ kind: 'none' })}
          />
        </section>
      ) : null}
      {panel.kind === 'import' ? <VehicleImport onImported={done} onClose={() => setPanel({ kind: 'none' })} /> : null}

      {registry.data && matches.length === 0 ? (
        <div className="panel-empty">
          {all.length === 0 ? 'No vehicles registered yet. Register one or import a CSV file.' : 'No vehicle matches this search.'}
        </div>
      ) : null}
      {!registry.data && registry.loading ? <div className="panel-empty">Loading the registry…</div> : null}
      {matches.length > 0 ? (
        <table className="replica-table" data-testid="vehicles-table">
          <thead>
            <tr>
              <th>Plate</th>
              <th>VIN</th>
              <th>Make and model</th>
              <th>Energy</th>
              <th>Home zone</th>
              <th>Registered</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {matches.slice(0, SHOWN).map((v) => (
              <tr key={v.id} data-testid="vehicle-row" data-vehicle-id={v.id} className={v.retiredAt ? 'fleet-admin-retired' : undefined}>
                <td className="plate">{v.plate}</td>
                <td className="mono">{v.vin ?? <span className="muted">not recorded</span>}</td>
                <td>
                  {v.make} {v.model}
                </td>
                <td>{energyLabel(v.energyType)}</td>
                <td>{v.homeZone || <span className="muted">—</span>}</td>
                <td>{v.retiredAt ? <span className="muted">retired {formatDateTime(v.retiredAt)}</span> : formatDateTime(v.createdAt)}</td>
                <td>
                  {retiring === v.id ? (
                    <ReasonRowForm
                      verb="Retire"
                      label={`Reason to retire ${v.plate}`}
                      testId="retire"
                      onCancel={() => setRetiring(undefined)}
                      onReason={(reason) =>
                        confirm({
                          title: `Retire ${v.plate}?`,
                          detail: (
                            <>
                              <p>
                                {v.plate} leaves the active fleet: it is no longer offered to customers, not shown on the desks&apos; map,
                                and its device&apos;s credentials are revoked. Its history (trips, rentals, audit) stays.
                              </p>
                              <p>Reason: {reason}</p>
                            </>
                          ),
                          confirmLabel: 'Retire vehicle',
                          onConfirm: () =>
                            void patch(v, { retired: true, reason }).then(
                              () => {
                                setRetiring(undefined);
                                done(`Retired ${v.plate}.`);
                              },
                              (err: unknown) => setError(messageOf(err)),
                            ),
                        })
                      }
                    />
                  ) : (
                    <div className="row-actions">
                      {v.retiredAt === null ? (
                        <>
                          <button type="button" onClick={() => setPanel({ kind: 'edit', vehicle: v })} data-testid="vehicle-edit">
                            Edit
                          </button>
                          <button type="button" onClick={() => setRetiring(v.id)} data-testid="vehicle-retire">
                            Retire…
                          </button>
                        </>
                      ) : (
                        <button
                          type="button"
                          onClick={() =>
                            void patch(v, { retired: false, reason: 'reinstated from the back office' }).then(
                              () => done(`${v.plate} is back in the fleet.`),
                              (err: unknown) => setError(messageOf(err)),
                            )
                          }
                        >
                          Reinstate
                        </button>
                      )}
                    </div>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {matches.length > SHOWN ? (
        <div className="muted fleet-admin-note">
          Showing {SHOWN} of {plural(matches.length, 'vehicle')}; search to narrow the list.
        </div>
      ) : null}
      {confirmDialog}
    </div>
  );
}
