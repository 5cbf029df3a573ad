/**
 * Tariff versions as the staff API answers them (GET/POST /ops/v1/tariffs…) and the desk shows them. Prices are
 * integers in minor units of `currency`. A version is in force from `effectiveFrom` (null: since ever) until the
 * next version of its type starts; one that is in force or was quoted is never changed — a change is a new version.
 */

/** The figures a tariff version sets (what POST …/versions takes besides `effectiveFrom`). */
export interface TariffFigures {
  currency: string;
  perMinuteDrivingCents: number;
  perMinuteParkedCents: number;
  includedKm: number;
  perKmCents: number;
  dailyCapCents: number;
  reservationFeePerMinuteCents: number;
}

export const TARIFF_FIGURE_FIELDS = [
  'perMinuteDrivingCents',
  'perMinuteParkedCents',
  'includedKm',
  'perKmCents',
  'dailyCapCents',
  'reservationFeePerMinuteCents',
] as const satisfies ReadonlyArray<keyof TariffFigures>;

/** Upper bounds per field: a typo (an extra zero or three) is refused rather than charged. */
export const TARIFF_FIGURE_MAX: Record<(typeof TARIFF_FIGURE_FIELDS)[number], number> = {
  perMinuteDrivingCents: 10_000,
  perMinuteParkedCents: 10_000,
  includedKm: 10_000,
  perKmCents: 10_000,
  dailyCapCents: 1_000_000,
  reservationFeePerMinuteCents: 10_000,
};

export type TariffVersionStatus = 'in_force' | 'upcoming' | 'past' | 'withdrawn';

export interface TariffVersionView extends TariffFigures {
  id: string;
  vehicleTypeId: string;
  /** epoch ms; null = in force since the type exists */
  effectiveFrom: number | null;
  status: TariffVersionStatus;
  /** used: in force once, or quoted to a booking or rental — never changed nor withdrawn */
  used: boolean;
  createdBy: string;
  createdAt: number;
  withdrawnAt: number | null;
}

export interface TariffOverview {
  vehicleType: { id: string; name: string; propulsion: 'combustion' | 'electric' };
  /** newest first */
  versions: TariffVersionView[];
}
