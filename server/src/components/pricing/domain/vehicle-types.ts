/**
 * Vehicle types: derived from the registry (make, model, energy type → a slug id such as
 * `volkswagen-id-3-electric`), each with a propulsion, a maximum range and a tariff. Types and tariffs are
 * created when first needed and never overwritten (a tariff changed in the database stays as changed), except the
 * free reservation hold, a platform setting (RESERVATION_HOLD_MIN) copied into every tariff at start. Also the
 * tariff lookup (`loadTariff`: vehicle → its type's tariff, typing a brand-new vehicle on the way).
 *
 * Tariffs (EUR, cents), plausible for a German free-floating service in 2025:
 *
 * | class   | models                                  | driving | parked | included | per km | daily cap | res. fee |
 * | ------- | --------------------------------------- | ------- | ------ | -------- | ------ | --------- | -------- |
 * | city    | Renault Zoe, Fiat 500, Opel Corsa       | 26¢/min | 9¢/min | 200 km/d | 29¢    | 69.00 €   | 9¢/min   |
 * | compact | VW ID.3, BMW i3, VW Golf, Toyota Yaris Hybrid, Mini Cooper, anything unknown | 29¢/min | 9¢/min | 200 km/d | 29¢ | 79.00 € | 9¢/min |
 *
 * Maximum ranges (WLTP-ish, km): ID.3 420, Zoe 390, i3 300, Golf 750, Corsa 650, 500 550, Yaris Hybrid 800,
 * Cooper 600; unknown models 300 (electric) / 600 (combustion).
 */
import { AppError } from '../../../../../src/shared/errors.js';
import type { EnergyType } from '../../../../../src/shared/fleet.js';
import type { Db, Queryable } from '../../../platform/db/index.js';
import {
  assignVehicleTypes,
  insertVehicleTypesIfAbsent,
  readTariffForVehicle,
  readVehicleRegistryFields,
  setFreeHoldMinutes,
  untypedVehicleModels,
  type TariffRow,
  type VehicleTypeRow,
} from '../data/vehicle-types.repository.js';
import type { Propulsion, Tariff, VehicleTypeWithTariff } from '../model.js';

type TariffFigures = Omit<Tariff, 'vehicleTypeId' | 'freeHoldMinutes'>;

const TARIFF_CLASSES: Record<'city' | 'compact', TariffFigures> = {
  city: {
    currency: 'EUR',
    perMinuteDrivingCents: 26,
    perMinuteParkedCents: 9,
    includedKm: 200,
    perKmCents: 29,
    dailyCapCents: 6_900,
    reservationFeePerMinuteCents: 9,
  },
  compact: {
    currency: 'EUR',
    perMinuteDrivingCents: 29,
    perMinuteParkedCents: 9,
    includedKm: 200,
    perKmCents: 29,
    dailyCapCents: 7_900,
    reservationFeePerMinuteCents: 9,
  },
};

interface KnownModel {
  tariffClass: keyof typeof TARIFF_CLASSES;
  rangeKm: number;
}

/** Keyed by `make model` in lower case. */
const KNOWN_MODELS: Record<string, KnownModel> = {
  'volkswagen id.3': { tariffClass: 'compact', rangeKm: 420 },
  'renault zoe': { tariffClass: 'city', rangeKm: 390 },
  'bmw i3': { tariffClass: 'compact', rangeKm: 300 },
  'volkswagen golf': { tariffClass: 'compact', rangeKm: 750 },
  'opel corsa': { tariffClass: 'city', rangeKm: 650 },
  'fiat 500': { tariffClass: 'city', rangeKm: 550 },
  'toyota yaris hybrid': { tariffClass: 'compact', rangeKm: 800 },
  'mini cooper': { tariffClass: 'compact', rangeKm: 600 },
};

const DEFAULT_FREE_HOLD_MINUTES = 15;

export function slugify(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

export interface RegistryModel {
  make: string;
  model: string;
  energyType: EnergyType;
}

/** The type a registry entry belongs to, with the tariff it gets when the type is new. */
export function deriveVehicleType(m: RegistryModel, freeHoldMinutes = DEFAULT_FREE_HOLD_MINUTES): VehicleTypeWithTariff {
  const propulsion: Propulsion = m.energyType === 'electric' ? 'electric' : 'combustion';
  const known = KNOWN_MODELS[`${m.make} ${m.model}`.toLowerCase().trim()];
  const rangeKm = known?.rangeKm ?? (propulsion === 'electric' ? 300 : 600);
  const id = (slugify(`${m.make}-${m.model}-${propulsion}`) || 'vehicle').slice(0, 100);
  return {
    id,
    name: `${m.make} ${m.model}`.slice(0, 200),
    make: m.make,
    model: m.model,
    propulsion,
    maxRangeMeters: rangeKm * 1000,
    tariff: { vehicleTypeId: id, freeHoldMinutes, ...TARIFF_CLASSES[known?.tariffClass ?? 'compact'] },
  };
}

function toRows(types: readonly VehicleTypeWithTariff[]): { types: VehicleTypeRow[]; tariffs: TariffRow[] } {
  return {
    types: types.map(({ tariff: _t, ...t }) => t),
    tariffs: types.map((t) => t.tariff),
  };
}

/**
 * Gives every vehicle without a type its type (creating type and tariff when new). Cheap when there is nothing to
 * do (a partial index finds untyped vehicles). Returns how many vehicles were assigned.
 */
export async function ensureVehicleTypes(db: Db, freeHoldMinutes?: number): Promise<number> {
  const models = await untypedVehicleModels(db);
  if (models.length === 0) return 0;
  const derived = models.map((m) => deriveVehicleType(m, freeHoldMinutes));
  const rows = toRows(derived);
  return db.transaction(async (tx) => {
    // The registry's upserts lock vehicle rows under this lock too: taking it first means we never deadlock with them.
    await insertVehicleTypesIfAbsent(tx, rows.types, rows.tariffs, freeHoldMinutes === undefined);
    return assignVehicleTypes(
      tx,
      models.map((m, i) => ({ ...m, vehicleTypeId: derived[i]!.id })),
    );
  });
}

/** The same for one vehicle (a car registered a moment ago); false when the vehicle does not exist. */
export async function ensureVehicleTypeOf(db: Queryable, vehicleId: string): Promise<boolean> {
  const fields = await readVehicleRegistryFields(db, vehicleId);
  if (!fields) return false;
  const derived = deriveVehicleType(fields);
  const rows = toRows([derived]);
  // free hold: undefined → copied from the existing tariffs (all carry the configured value), else the default
  await insertVehicleTypesIfAbsent(db, rows.types, rows.tariffs, true);
  await assignVehicleTypes(db, [{ ...fields, vehicleTypeId: derived.id }], vehicleId);
  return true;
}

/** At start: types for every vehicle, and the configured free hold in every tariff. */
export async function prepareVehicleTypes(db: Db, freeHoldMinutes: number): Promise<{ assigned: number; tariffsUpdated: number }> {
  const assigned = await ensureVehicleTypes(db, freeHoldMinutes);
  const tariffsUpdated = await setFreeHoldMinutes(db, freeHoldMinutes);
  return { assigned, tariffsUpdated };
}

/** Which tariff version: `versionId` (a booking's or rental's own) when set, else the one in force at `at` (default: now). */
export interface TariffPick {
  at?: number;
  versionId?: string | null;
}

/**
 * The tariff of the vehicle's type (vehicles.vehicle_type_id), as the version `pick` names. A vehicle registered since the last type pass is
 * given its type here (idempotent upserts), so a brand-new car can be priced at once. Unknown vehicle → 404.
 */
export async function loadTariff(db: Queryable, vehicleId: string, pick: TariffPick = {}): Promise<Tariff> {
  const tariff = await readTariffForVehicle(db, vehicleId, pick);
  if (tariff) return tariff;
  if (!(await ensureVehicleTypeOf(db, vehicleId))) throw new AppError('vehicle_not_found', `No vehicle ${vehicleId}`, { status: 404 });
  const assigned = await readTariffForVehicle(db, vehicleId, pick);
  if (!assigned) throw new AppError('tariff_missing', `No tariff for the type of vehicle ${vehicleId}`, { status: 500 });
  return assigned;
}
