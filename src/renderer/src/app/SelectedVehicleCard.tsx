/** Details of the selected vehicle, floating over the map; re-reads the store twice a second. */
import { BUSINESS_STATE_LABELS } from '../data/business-state';
import type { BusinessStateIndex } from '../data/business-state-index';
import type { FleetStore } from '../data/fleet-store';
import { situationText } from '../features/vehicle-grid/situation';
import { VehicleOps } from '../features/vehicle-ops/VehicleOps';
import { TrackReplay } from '../features/replay/TrackReplay';
import { VehicleTimeline } from '../features/timeline/VehicleTimeline';
import { replicaVehicles } from '../data/vehicle-index';
import { energyLabel, formatAgo, formatClock, formatCount, formatLatLon, formatPercent, formatSpeed } from '../lib/format';
import { useNow } from './hooks';
import type { SelectVehicle } from './selection';

interface SelectedVehicleCardProps {
  store: FleetStore;
  index: BusinessStateIndex;
  id: string;
  onSelect: SelectVehicle;
}

export function SelectedVehicleCard({ store, index, id, onSelect }: SelectedVehicleCardProps) {
  const now = useNow(500);
  const live = store.live.get(id);
  const info = store.registry.get(id);
  const synced = replicaVehicles.get(id);
  // Without live telemetry, fall back to the replica's coarse last-known state, labelled with its age.
  const replicaValue = (v: string) =>
    v === '—' || !synced ? v : `${v} · replica, ${formatAgo(synced.lastSeenAt ?? synced.updatedAt, now)}`;
  const detail = index.detail(id);
  const state = detail.state;
  const situation = situationText(detail, now);
  const rows: Array<[string, string]> = [
    ['Speed', formatSpeed(live?.speedKph)],
    [
      energyLabel(info?.energyType ?? synced?.energyType),
      live ? formatPercent(live.energyPct) : replicaValue(formatPercent(synced?.energyPct ?? undefined)),
    ],
    ['Ignition', live ? (live.ignition ? 'on' : 'off') : '—'],
    ['Lock', live ? (live.locked ? 'locked' : 'unlocked') : '—'],
    ['Doors', live ? (live.doorsClosed ? 'closed' : 'open') : '—'],
    ['Odometer', live ? `${formatCount(Math.round(live.odometerKm))} km` : '—'],
    ['Position', live ? formatLatLon(live.lat, live.lon) : replicaValue(formatLatLon(synced?.lat ?? undefined, synced?.lon ?? undefined))],
    [
      'Last seen',
      live
        ? `${formatAgo(live.receivedAt, now)} · ${formatClock(live.receivedAt)} (live)`
        : synced?.lastSeenAt
          ? `${formatAgo(synced.lastSeenAt, now)} (replica)`
          : 'never',
    ],
  ];
  return (
    <aside className="vehicle-card" data-testid="selected-vehicle" data-vehicle-id={id} aria-label="Selected vehicle">
      <header className="vehicle-card-head">
        <span className="vehicle-card-plate">{info?.plate ?? synced?.plate ?? id}</span>
        <span className={`state-pill state-${state}`} data-testid="selected-vehicle-state" data-state={state}>
          {BUSINESS_STATE_LABELS[state]}
        </span>
        {state !== 'offline' ? <span className="motion-note">{detail.moving ? 'moving' : 'parked'}</span> : null}
        <button
          type="button"
          className="icon-button"
          aria-label="Close"
          title="Close (deselect)"
          onClick={() => onSelect(undefined, 'map')}
        >
          ×
        </button>
      </header>
      <div className="vehicle-card-sub">
        {info
          ? `${info.make} ${info.model} · ${info.homeZone}`
          : synced
            ? `${synced.make} ${synced.model} · ${synced.homeZone} (replica)`
            : 'not in the registry'}{' '}
        · <span className="muted">{id}</span>
      </div>
      {situation ? (
        <div
          className={`vehicle-card-situation${detail.alarms.length ? ' vehicle-card-alarm' : ''}`}
          data-testid="selected-vehicle-situation"
        >
          {situation}
        </div>
      ) : null}
      <dl className="vehicle-card-rows">
        {rows.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
      <button type="button" className="text-button" onClick={() => onSelect(id, 'search')}>
        Center on map
      </button>
      <VehicleTimeline vehicleId={id} now={now} />
      <TrackReplay vehicleId={id} now={now} />
      <VehicleOps vehicleId={id} now={now} live={live} />
    </aside>
  );
}
