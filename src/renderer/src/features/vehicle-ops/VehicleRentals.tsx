/**
 * The selected car's rentals from the replica (offline too): the current rental, the reservations and bookings
 * ahead, and the last ones — and that those closed more than the server's history horizon ago are not held here (the
 * older ones read from the server on demand). Customers' names only for roles that may see customer data (support, admin).
 */
import type { RentalDoc } from '../../../../shared/sync-protocol.js';
import { useLiveQuery, useReplica } from '../../data/hooks';
import { formatDateTime, formatDuration } from '../../lib/format';
import { replicaCustomers } from '../../data/customer-index';
import { OlderHistory } from '../panels/OlderHistory';

const UPCOMING = new Set(['held', 'confirmed']);

export function VehicleRentals({ vehicleId, now }: { vehicleId: string; now: number }) {
  const r = useReplica();
  const rentals = useLiveQuery<RentalDoc>(r?.db.rentals, { selector: { vehicleId }, sort: [{ startsAt: 'desc' }], limit: 50 }, vehicleId);
  if (!r?.db.rentals) return null;
  const current = rentals.find((x) => x.kind === 'rental' && x.status === 'active');
  const ahead = rentals.filter((x) => UPCOMING.has(x.status)).sort((a, b) => a.startsAt - b.startsAt);
  const past = rentals.filter((x) => x.kind === 'rental' && x.status === 'ended').slice(0, 3);
  const who = (customerId: string) => replicaCustomers.get(customerId)?.name;
  return (
    <div className="vehicle-rentals" data-testid="vehicle-rentals" data-current={current?.id ?? ''} data-upcoming={ahead.length}>
      <div className="ops-row">
        <span className="ops-label">Rental</span>
        {current ? (
          <span data-testid="current-rental" data-rental-id={current.id}>
            <span className="pill pill-rental-active">in rental</span> since {formatDateTime(current.startedAt ?? current.startsAt)} (
            {formatDuration(now - (current.startedAt ?? current.startsAt))}){who(current.customerId) ? ` · ${who(current.customerId)}` : ''}
            {current.returnBy ? <span className="muted"> · back by {formatDateTime(current.returnBy)}</span> : null}
          </span>
        ) : (
          <span className="muted">not rented</span>
        )}
      </div>
      {ahead.length ? (
        <ul className="ops-list" data-testid="vehicle-bookings">
          {ahead.slice(0, 5).map((x) => (
            <li key={x.id} data-rental-id={x.id} data-kind={x.kind}>
              <span className={`pill pill-rental-${x.status}`}>{x.kind}</span> {formatDateTime(x.startsAt)} →{' '}
              {x.endsAt === null ? 'open' : formatDateTime(x.endsAt)}
              {who(x.customerId) ? <span className="muted"> · {who(x.customerId)}</span> : null}
            </li>
          ))}
        </ul>
      ) : null}
      {past.length ? (
        <ul className="ops-list muted" data-testid="vehicle-past-rentals">
          {past.map((x) => (
            <li key={x.id} data-rental-id={x.id}>
              rental {formatDateTime(x.startedAt)} · {formatDuration((x.endedAt ?? now) - (x.startedAt ?? x.startsAt))}
              {who(x.customerId) ? ` · ${who(x.customerId)}` : ''}
            </li>
          ))}
        </ul>
      ) : null}
      <OlderHistory of={{ vehicleId }} held={new Set(rentals.map((x) => x.id))} now={now} />
    </div>
  );
}
