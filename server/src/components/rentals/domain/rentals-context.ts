/**
 * What every rental use case shares: the ports, the repository, settings, clock, log, metrics and the event bus;
 * plus the API views of a rental and its receipt (built from the stored row alone, so reading a rental never
 * depends on the payment provider or the device).
 */
import { Counter, type Registry } from 'prom-client';
import type { DomainEvents } from '../../../platform/domain-events.js';
import type { Actor } from '../../../platform/http/actor.js';
import type { Logger } from '../../../platform/log.js';
import { METRIC_PREFIX } from '../../../platform/metrics.js';
import type { RentalRow } from '../../bookings/index.js';
import type { RentalsRepository } from '../data/rentals.repository.js';
import type { EndZone } from '../model.js';
import type {
  PriceBreakdown,
  RentalClaimsPort,
  RentalCommandsPort,
  RentalCustomersPort,
  RentalPaymentsPort,
  RentalPaymentsSummary,
  RentalPricingPort,
  RentalTelemetryPort,
  RentalVehicleLinkPort,
} from './rentals-ports.js';
import type { MeasuredUsage } from './rentals-usage.js';

export interface RentalSettings {
  /** how long the start waits for the car to acknowledge the unlock (RENTAL_UNLOCK_TIMEOUT_MS) */
  unlockTimeoutMs: number;
  /** how long the end waits for the lock's acknowledgement before answering (RENTAL_LOCK_TIMEOUT_MS) */
  lockTimeoutMs: number;
  /** the payment hold's deadline (the provider is retried until then) (RENTAL_HOLD_DEADLINE_MS) */
  holdDeadlineMs: number;
  /** telemetry older than this cannot prove where and how the car was left (RENTAL_END_TELEMETRY_MAX_AGE_S) */
  endTelemetryMaxAgeMs: number;
  /** a booking may be started this long before its window */
  bookingEarlyStartMs: number;
  /** a rental that would have to be returned sooner than this is refused at start */
  minRentalMs: number;
}

export const DEFAULT_RENTAL_SETTINGS: Readonly<RentalSettings> = Object.freeze({
  unlockTimeoutMs: 15_000,
  lockTimeoutMs: 10_000,
  holdDeadlineMs: 5_000,
  endTelemetryMaxAgeMs: 120_000,
  bookingEarlyStartMs: 15 * 60_000,
  minRentalMs: 15 * 60_000,
});

export interface RentalMetrics {
  started: Counter;
  startFailed: Counter<'reason'>;
  ended: Counter<'by'>;
  endBlocked: Counter<'code'>;
  lockUnacknowledged: Counter;
}

export function createRentalMetrics(registry: Registry | undefined): RentalMetrics {
  const registers = registry ? [registry] : [];
  return {
    started: new Counter({
      name: `${METRIC_PREFIX}rentals_started_total`,
      help: 'Rentals started (unlock acknowledged, rental committed)',
      registers,
    }),
    startFailed: new Counter({
      name: `${METRIC_PREFIX}rental_starts_failed_total`,
      help: 'Rental starts that failed after the checks, by reason (payment_declined, payment_unavailable, vehicle_unreachable, unlock_timeout, unlock_failed, conflict)',
      labelNames: ['reason'],
      registers,
    }),
    ended: new Counter({
      name: `${METRIC_PREFIX}rentals_ended_total`,
      help: 'Rentals ended, by who ended them (customer, staff)',
      labelNames: ['by'],
      registers,
    }),
    endBlocked: new Counter({
      name: `${METRIC_PREFIX}rental_end_blocked_total`,
      help: 'Refused rental ends, by blocker',
      labelNames: ['code'],
      registers,
    }),
    lockUnacknowledged: new Counter({
      name: `${METRIC_PREFIX}rental_lock_unacknowledged_total`,
      help: 'Rentals that ended without the car acknowledging the lock in time (follow up at the desk)',
      registers,
    }),
  };
}

export interface RentalsContext {
  repo: RentalsRepository;
  claims: RentalClaimsPort;
  customers: RentalCustomersPort;
  payments: RentalPaymentsPort;
  commands: RentalCommandsPort;
  vehicleLink?: RentalVehicleLinkPort | undefined;
  pricing: RentalPricingPort;
  telemetry: RentalTelemetryPort;
  /** used when the zones table has no operating zone */
  fallbackZones: readonly EndZone[];
  settings: RentalSettings;
  events?: DomainEvents;
  log: Logger;
  metrics: RentalMetrics;
  now: () => number;
}

/** A command issued for a customer is the server's doing on their behalf: the reason names the customer. */
export function customerCommandActor(customerId: string): Actor {
  return { id: `customer:${customerId}`, role: 'system' };
}

// ------------------------------------------------------------------------------------------------ views

/** The price stored with a rental: the pricing breakdown plus the usage it was computed from. */
export type StoredPrice = PriceBreakdown & { usage: MeasuredUsage };

export interface RentalView {
  rentalId: string;
  status: 'active' | 'ended';
  customerId: string;
  vehicleId: string;
  source: { kind: 'reservation' | 'booking'; id: string } | null;
  startedAt: string;
  endedAt: string | null;
  /** the car must be back by then (its next booking); null = open-ended */
  returnBy: string | null;
  /** ended after returnBy */
  overran: boolean;
  start: { odometerKm: number | null; lat: number | null; lon: number | null };
  end: { odometerKm: number | null; lat: number | null; lon: number | null } | null;
  totalCents: number | null;
  currency: string | null;
  unlockCommandId: string | null;
  lockCommandId: string | null;
}

export interface StaffRentalView extends RentalView {
  paymentId: string | null;
  endedBy: string | null;
  endReason: string | null;
}

export interface Receipt {
  rentalId: string;
  vehicleId: string;
  startedAt: string;
  endedAt: string;
  overran: boolean;
  /** measured (fractional minutes, 2 decimals); the lines carry the billed, per-started-minute quantities */
  usage: { durationMinutes: number; drivingMinutes: number; parkedMinutes: number; distanceKm: number; reservationMinutes: number };
  lines: PriceBreakdown['lines'];
  subtotalCents: number;
  totalCents: number;
  currency: string;
  payment: {
    status: RentalPaymentsSummary['status'];
    heldCents: number;
    capturedCents: number;
    refundedCents: number;
    currency: string;
  } | null;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function rentalView(r: RentalRow): RentalView {
  return {
    rentalId: r.id,
    status: r.status,
    customerId: r.customerId,
    vehicleId: r.vehicleId,
    source: r.sourceId && r.sourceKind ? { kind: r.sourceKind, id: r.sourceId } : null,
    startedAt: iso(r.startedAt)!,
    endedAt: iso(r.endedAt),
    returnBy: iso(r.returnBy),
    overran: r.endedAt !== null && r.returnBy !== null && r.endedAt > r.returnBy,
    start: { odometerKm: r.startOdometerKm, lat: r.startLat, lon: r.startLon },
    end: r.status === 'ended' ? { odometerKm: r.endOdometerKm, lat: r.endLat, lon: r.endLon } : null,
    totalCents: r.totalCents,
    currency: r.currency,
    unlockCommandId: r.unlockCommandId,
    lockCommandId: r.lockCommandId,
  };
}

export function staffRentalView(r: RentalRow): StaffRentalView {
  return { ...rentalView(r), paymentId: r.paymentId, endedBy: r.endedBy, endReason: r.endReason };
}

export function storedPrice(r: RentalRow): StoredPrice | null {
  const p = r.price as StoredPrice | null;
  return p && typeof p === 'object' && Array.isArray(p.lines) ? p : null;
}

/** The receipt of an ended rental (null while active); `payments` null when the payment summary is unavailable. */
export function buildReceipt(r: RentalRow, payments: RentalPaymentsSummary | null): Receipt | null {
  const price = storedPrice(r);
  if (r.status !== 'ended' || !price || r.endedAt === null) return null;
  const u = price.usage;
  return {
    rentalId: r.id,
    vehicleId: r.vehicleId,
    startedAt: iso(r.startedAt)!,
    endedAt: iso(r.endedAt)!,
    overran: r.returnBy !== null && r.endedAt > r.returnBy,
    usage: {
      durationMinutes: round2(u.durationMinutes),
      drivingMinutes: round2(u.drivingMinutes),
      parkedMinutes: round2(u.parkedMinutes),
      distanceKm: u.distanceKm,
      reservationMinutes: round2(u.reservationMinutes),
    },
    lines: price.lines,
    subtotalCents: price.subtotalCents,
    totalCents: price.totalCents,
    currency: price.currency,
    payment: payments
      ? {
          status: payments.status,
          heldCents: payments.held,
          capturedCents: payments.captured,
          refundedCents: payments.refunded,
          currency: payments.currency,
        }
      : null,
  };
}

/** The payments summary, or null when the payments side cannot answer (reading a rental must not fail on it). */
export async function paymentsSummary(
  ctx: Pick<RentalsContext, 'payments' | 'log'>,
  rentalId: string,
): Promise<RentalPaymentsSummary | null> {
  try {
    return await ctx.payments.rentalPayments(rentalId);
  } catch (err) {
    ctx.log.warn('rental payments summary unavailable', { rentalId, error: err instanceof Error ? err.message : String(err) });
    return null;
  }
}
