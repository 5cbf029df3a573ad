/**
 * Under a list of rentals read from the replica: says plainly that rentals closed more than N days ago are not held
 * on this desk (the server's history horizon, SYNC_HISTORY_DAYS, as the replica last heard it) and, on demand and
 * only online, reads the older ones from the staff API (`GET /ops/v1/bookings?customerId=…|vehicleId=…`,
 * `booking.read`: every staff role; customers' names for support and admin only) — the ones the replica does not
 * hold, newest first.
 */
import { useState } from 'react';
import { useHistoryDays, useReplica } from '../../data/hooks';
import { formatDateTime, formatDuration, formatMoney } from '../../lib/format';

/** One allocation as the staff API lists it (server: staff-bookings.schema.ts), the fields shown here. */
export interface StaffAllocation {
  id: string;
  kind: 'reservation' | 'booking' | 'rental';
  status: string;
  vehicleId: string;
  customerId: string;
  customerName?: string | null;
  startsAt: string | null;
  endsAt: string | null;
  startedAt: string | null;
  endedAt: string | null;
  cancelReason: string | null;
  totalCents: number | null;
  currency: string | null;
  updatedAt: string;
}

/** The most the staff API lists at once. */
const LIMIT = 200;

const ms = (iso: string | null): number | undefined => (iso === null ? undefined : Date.parse(iso));

const DAY_MS = 86_400_000;

/**
 * The older ones: what the server listed that the replica does not hold — untouched for longer than the horizon
 * (the server's rule, on `updatedAt`), so a recent one merely beyond the list's length above is not repeated here.
 */
export function olderThanReplica(
  listed: readonly StaffAllocation[],
  held: ReadonlySet<string>,
  historyDays: number,
  now: number,
): StaffAllocation[] {
  return listed.filter((x) => !held.has(x.id) && Date.parse(x.updatedAt) < now - historyDays * DAY_MS);
}

interface OlderHistoryProps {
  /** whose rentals: a customer's (customer 360) or a car's (vehicle card) */
  of: { customerId: string } | { vehicleId: string };
  /** the ids the replica holds (already listed above) */
  held: ReadonlySet<string>;
  plateOf?: (vehicleId: string) => string;
  now: number;
}

export function OlderHistory({ of, held, plateOf, now }: OlderHistoryProps) {
  const r = useReplica();
  const days = useHistoryDays(r);
  const key = 'customerId' in of ? `customerId=${encodeURIComponent(of.customerId)}` : `vehicleId=${encodeURIComponent(of.vehicleId)}`;
  const [state, setState] = useState<{ key: string; listed?: StaffAllocation[]; error?: string; loading?: boolean }>({ key });
  if (!r || days === undefined) return null;
  // (what was read for another customer or car is not this one's)
  const mine = state.key === key ? state : { key };
  const load = () => {
    setState({ key, loading: true });
    r.staffGet<{ bookings: StaffAllocation[] }>(`/ops/v1/bookings?${key}&limit=${LIMIT}`).then(
      (res) => setState((s) => (s.key === key ? { key, listed: res.bookings } : s)),
      (err: unknown) =>
        setState((s) =>
          s.key === key ? { key, error: `the server is needed for them (${err instanceof Error ? err.message : String(err)})` } : s,
        ),
    );
  };
  const older = mine.listed ? olderThanReplica(mine.listed, held, days, now) : undefined;
  return (
    <div className="older-history" data-testid="older-history" data-history-days={days}>
      <div className="muted" data-testid="history-horizon-note">
        Rentals closed more than {days} days ago are not held on this desk.{' '}
        {older === undefined ? (
          <button type="button" className="text-button" data-testid="older-history-load" disabled={mine.loading} onClick={load}>
            {mine.loading ? 'Reading the server…' : 'Show older from the server'}
          </button>
        ) : null}
      </div>
      {mine.error ? (
        <div className="muted" data-testid="older-history-error">
          Not available offline: {mine.error}.
        </div>
      ) : null}
      {older ? (
        older.length === 0 ? (
          <div className="muted" data-testid="older-history-none">
            The server has no older ones.
          </div>
        ) : (
          <ul className="ops-list muted" data-testid="older-history-list">
            {older.map((x) => {
              const start = ms(x.startedAt) ?? ms(x.startsAt);
              const end = ms(x.endedAt) ?? ms(x.endsAt);
              return (
                <li key={x.id} data-rental-id={x.id} data-status={x.status}>
                  {x.kind} · {x.status} · {start === undefined ? '—' : formatDateTime(start)}
                  {start !== undefined && end !== undefined && x.kind === 'rental' ? ` · ${formatDuration(end - start)}` : ''}
                  {x.totalCents !== null ? ` · ${formatMoney(x.totalCents, x.currency)}` : ''}
                  {'customerId' in of ? (plateOf ? ` · ${plateOf(x.vehicleId)}` : '') : x.customerName ? ` · ${x.customerName}` : ''}
                  {x.cancelReason ? ` · ${x.cancelReason}` : ''}
                </li>
              );
            })}
            {mine.listed!.length >= LIMIT ? <li>(the newest {LIMIT} the server lists)</li> : null}
          </ul>
        )
      ) : null}
    </div>
  );
}
