/**
 * What the pricing component's layers share and other components see of it: tariffs, the usage a rental is
 * priced on, the price breakdown, and vehicle types (each with its tariff).
 */
import type { TariffFigures } from '../../../../src/shared/tariffs.js';

/** The figures of a tariff version (src/shared/tariffs.ts) with the type they price and the free hold (a platform setting). */
export interface Tariff extends TariffFigures {
  /** the tariff version these figures are (020_tariff_versions.sql); absent for figures not read from one */
  versionId?: string;
  vehicleTypeId: string;
  freeHoldMinutes: number;
}

export interface RentalUsage {
  startedAt: number;
  endedAt: number;
  drivingMinutes: number;
  parkedMinutes: number;
  distanceKm: number;
  /** minutes held by the reservation before the rental started */
  reservationMinutes: number;
}

export interface PriceLine {
  code: 'driving' | 'parked' | 'distance' | 'reservation_fee' | 'daily_cap';
  description: string;
  quantity: number;
  unit: 'minute' | 'km' | 'day';
  unitCents: number;
  /** negative for the cap discount */
  amountCents: number;
}

export interface PriceBreakdown {
  currency: string;
  lines: PriceLine[];
  subtotalCents: number;
  totalCents: number;
  tariff: Tariff;
}

export type Propulsion = 'combustion' | 'electric';

export interface VehicleType {
  id: string;
  name: string;
  make: string;
  model: string;
  propulsion: Propulsion;
  maxRangeMeters: number;
}

export interface VehicleTypeWithTariff extends VehicleType {
  tariff: Tariff;
}
