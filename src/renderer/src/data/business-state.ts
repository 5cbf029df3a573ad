/**
 * What a car is, for the business: the one derivation the map, the grid's State column, the top-bar counts and the
 * vehicle card all read (through BusinessStateIndex), so they never disagree.
 *
 * Precedence, highest first, and why:
 * 1. alarm — an open critical alert (crash, tamper, movement without rental, …) needs a person now, whatever else is
 *    true; a crashed car that then loses its connection must stay red, not turn grey.
 * 2. maintenance — the car is out of service by an operator's decision; whether it reports from the workshop or is
 *    rented on paper does not change what the desk should do with it.
 * 3. offline — no live link: any rental/reservation claim can no longer be checked against the car (lock, position),
 *    and that is what the dispatcher must see first for a car in use.
 * 4. in rental — an active rental (the car is with a customer).
 * 5. reserved — a held reservation, or a confirmed booking whose window has begun (a future booking leaves the car
 *    available until its window starts).
 * 6. available — none of the above.
 * Moving/parked is not a business state: it stays a secondary cue (heading tick on the map, a note in the grid).
 */
import type { RentalDoc } from '../../../shared/sync-protocol.js';

export const BUSINESS_STATES = ['available', 'reserved', 'in_rental', 'maintenance', 'offline', 'alarm'] as const;
export type BusinessState = (typeof BUSINESS_STATES)[number];

export const BUSINESS_STATE_LABELS: Record<BusinessState, string> = {
  available: 'Available',
  reserved: 'Reserved',
  in_rental: 'In rental',
  maintenance: 'Maintenance',
  offline: 'Offline',
  alarm: 'Alarm',
};

/**
 * The one source of the states' colours: the map's canvas, the legend, the top bar's counts read this; the CSS
 * (state pills, the vehicle card's service pill) reads the same values as `--available`, `--in-rental`, … which
 * `applyBusinessStateColors` sets on the document at start.
 */
export const BUSINESS_STATE_COLORS: Record<BusinessState, string> = {
  available: '#22c55e',
  reserved: '#f59e0b',
  in_rental: '#3b82f6',
  maintenance: '#a855f7',
  offline: '#8a8f98',
  alarm: '#ef4444',
};

/** `in_rental` → `--in-rental` */
export const businessStateCssVariable = (s: BusinessState) => `--${s.replace(/_/g, '-')}`;

export function applyBusinessStateColors(root: { style: { setProperty(name: string, value: string): void } }): void {
  for (const s of BUSINESS_STATES) root.style.setProperty(businessStateCssVariable(s), BUSINESS_STATE_COLORS[s]);
}

/** What is known about one car at one moment. */
export interface BusinessFacts {
  /** a live link vouches for the car (telemetry or retained status says online) */
  online: boolean;
  maintenance: boolean;
  activeRental: boolean;
  /** a held reservation or a confirmed booking whose window has begun */
  reserved: boolean;
  /** open critical alerts on the car */
  openCriticalAlerts: number;
}

export function deriveBusinessState(f: BusinessFacts): BusinessState {
  if (f.openCriticalAlerts > 0) return 'alarm';
  if (f.maintenance) return 'maintenance';
  if (!f.online) return 'offline';
  if (f.activeRental) return 'in_rental';
  if (f.reserved) return 'reserved';
  return 'available';
}

/** How a rentals document bears on its car now. */
export type ClaimEffect = 'rental' | 'reserved' | 'later' | 'none';

export function claimEffect(d: Pick<RentalDoc, 'kind' | 'status' | 'startsAt' | 'endsAt' | '_deleted'>, now: number): ClaimEffect {
  if (d._deleted) return 'none';
  if (d.kind === 'rental') return d.status === 'active' ? 'rental' : 'none';
  const holding = d.kind === 'reservation' ? d.status === 'held' : d.status === 'confirmed';
  if (!holding) return 'none';
  if (d.endsAt !== null && d.endsAt <= now) return 'none'; // lapsed: the server's sweep will say so shortly
  return d.startsAt <= now ? 'reserved' : 'later';
}
