/**
 * The pricing component: vehicle types (derived from the registry) with their versioned tariffs (staff routes
 * under /ops/v1/tariffs: a change is a new version from now on), the tariff lookup of a
 * vehicle, and the pure price functions a reservation fee, a booking's estimate, a rental's hold and its final
 * price are computed with. Bookings and rentals use it; it uses neither. Other components reach it only through
 * this file.
 */
import type { Db } from '../../platform/db/index.js';
import type { HttpApp } from '../../platform/http/index.js';
import type { Logger } from '../../platform/log.js';
import { recordAudit } from '../audit/index.js';
import { tariffsRoutes } from './api/tariffs.routes.js';
import { listVehicleTypesWithTariffs, vehicleTypeAssignments } from './data/vehicle-types.repository.js';
import { TariffAdmin } from './domain/tariff-versions.js';
import { ensureVehicleTypes, prepareVehicleTypes } from './domain/vehicle-types.js';
import type { VehicleType, VehicleTypeWithTariff } from './model.js';

export { estimateHoldCents, estimateWindow, priceRental, rentalDays, reservationFeeCents } from './domain/pricing.js';
export { loadTariff, type TariffPick } from './domain/vehicle-types.js';
export type { PriceBreakdown, PriceLine, Propulsion, RentalUsage, Tariff, VehicleType, VehicleTypeWithTariff } from './model.js';

export interface PricingComponent {
  /** vehicle types with their tariff (GBFS vehicle_types / system_pricing_plans, the public list), cached briefly */
  vehicleTypes(): Promise<VehicleTypeWithTariff[]>;
  /** every type and which type each vehicle has, read now (the availability index) */
  readVehicleTypes(): Promise<{ types: VehicleType[]; typeOf: Map<string, string> }>;
  /** Gives every vehicle registered since the last pass its type; returns how many were assigned. */
  ensureVehicleTypes(): Promise<number>;
  /** staff routes: tariffs and their versions */
  registerRoutes(app: HttpApp, prefix: string): Promise<void>;
}

export interface PricingOptions {
  db: Db;
  log: Logger;
  /** RESERVATION_HOLD_MIN: copied into every tariff at start */
  freeHoldMinutes: number;
  now?: () => number;
}

const VEHICLE_TYPES_CACHE_MS = 10_000;

export async function startPricingComponent(options: PricingOptions): Promise<PricingComponent> {
  const log = options.log.child({ component: 'pricing' });
  const { db } = options;
  const now = options.now ?? Date.now;

  const typed = await prepareVehicleTypes(db, options.freeHoldMinutes);
  if (typed.assigned > 0 || typed.tariffsUpdated > 0) log.info('vehicle types prepared', typed);

  let typesCache: { at: number; value: Promise<VehicleTypeWithTariff[]> } | undefined;
  return {
    vehicleTypes() {
      const at = now();
      if (!typesCache || at - typesCache.at > VEHICLE_TYPES_CACHE_MS) {
        const value = listVehicleTypesWithTariffs(db);
        value.catch(() => (typesCache = undefined));
        typesCache = { at, value };
      }
      return typesCache.value;
    },
    async readVehicleTypes() {
      const [rows, typeOf] = await Promise.all([listVehicleTypesWithTariffs(db), vehicleTypeAssignments(db)]);
      return { types: rows.map(({ tariff: _t, ...t }) => t), typeOf };
    },
    ensureVehicleTypes: () => ensureVehicleTypes(db),
    registerRoutes: async (app, prefix) => {
      await app.register(tariffsRoutes(new TariffAdmin(db, recordAudit, now)), { prefix });
    },
  };
}
