/**
 * SQL of vehicle types and tariffs (009_bookings.sql, 020_tariff_versions.sql) and of `vehicles.vehicle_type_id`,
 * the one registry column the pricing component owns. Types and tariffs are not replicated rows (no server_seq).
 * The prices come from `tariff_versions` (the version in force at a time, or one by id); `tariffs` keeps the free
 * hold (a platform setting) and a new type's first figures.
 */
import type { EnergyType } from '../../../../../src/shared/fleet.js';
import type { Queryable } from '../../../platform/db/index.js';
import type { Tariff } from '../model.js';

export interface VehicleTypeRow {
  id: string;
  name: string;
  make: string;
  model: string;
  propulsion: 'combustion' | 'electric';
  maxRangeMeters: number;
}

export type TariffRow = Tariff;

const TARIFF_COLUMNS = `tv.id as version_id, tv.vehicle_type_id, tv.currency, tv.per_minute_driving_cents, tv.per_minute_parked_cents,
  tv.included_km, tv.per_km_cents, tv.daily_cap_cents, t.free_hold_minutes, tv.reservation_fee_per_minute_cents`;
/** epoch ms parameter → timestamptz */
export const ts = (param: string) => `(timestamptz 'epoch' + (${param})::bigint * interval '1 millisecond')`;
/** The live version of type `typeExpr` in force at `atExpr` (a timestamptz expression). */
const versionInForce = (typeExpr: string, atExpr: string) =>
  `(select x.id from tariff_versions x where x.vehicle_type_id = ${typeExpr} and x.withdrawn_at is null and x.effective_from <= ${atExpr}
     order by x.effective_from desc limit 1)`;

interface TariffDbRow {
  version_id: string;
  vehicle_type_id: string;
  currency: string;
  per_minute_driving_cents: number;
  per_minute_parked_cents: number;
  included_km: number;
  per_km_cents: number;
  daily_cap_cents: number;
  free_hold_minutes: number;
  reservation_fee_per_minute_cents: number;
}

function toTariff(r: TariffDbRow): Tariff {
  return {
    versionId: r.version_id,
    vehicleTypeId: r.vehicle_type_id,
    currency: r.currency,
    perMinuteDrivingCents: Number(r.per_minute_driving_cents),
    perMinuteParkedCents: Number(r.per_minute_parked_cents),
    includedKm: Number(r.included_km),
    perKmCents: Number(r.per_km_cents),
    dailyCapCents: Number(r.daily_cap_cents),
    freeHoldMinutes: Number(r.free_hold_minutes),
    reservationFeePerMinuteCents: Number(r.reservation_fee_per_minute_cents),
  };
}

/** Distinct (make, model, energy type) of vehicles that have no type yet. */
export async function untypedVehicleModels(q: Queryable): Promise<Array<{ make: string; model: string; energyType: EnergyType }>> {
  const { rows } = await q.query<{ make: string; model: string; energy_type: EnergyType }>(
    'select distinct make, model, energy_type from vehicles where vehicle_type_id is null order by make, model, energy_type',
  );
  return rows.map((r) => ({ make: r.make, model: r.model, energyType: r.energy_type }));
}

export async function readVehicleRegistryFields(
  q: Queryable,
  vehicleId: string,
): Promise<{ make: string; model: string; energyType: EnergyType } | undefined> {
  const { rows } = await q.query<{ make: string; model: string; energy_type: EnergyType }>(
    'select make, model, energy_type from vehicles where id = $1',
    [vehicleId],
  );
  const r = rows[0];
  return r ? { make: r.make, model: r.model, energyType: r.energy_type } : undefined;
}

/**
 * Inserts types and their tariffs unless they exist (an existing tariff is never overwritten). With
 * `copyFreeHold`, a new tariff takes the free hold of the existing ones (they all carry the configured value).
 */
export async function insertVehicleTypesIfAbsent(
  q: Queryable,
  types: readonly VehicleTypeRow[],
  tariffs: readonly TariffRow[],
  copyFreeHold = false,
): Promise<void> {
  if (types.length === 0) return;
  await q.query(
    `insert into vehicle_types (id, name, make, model, propulsion, max_range_m)
     select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[])
     on conflict (id) do nothing`,
    [
      types.map((t) => t.id),
      types.map((t) => t.name),
      types.map((t) => t.make),
      types.map((t) => t.model),
      types.map((t) => t.propulsion),
      types.map((t) => t.maxRangeMeters),
    ],
  );
  await q.query(
    `insert into tariffs (vehicle_type_id, currency, per_minute_driving_cents, per_minute_parked_cents, included_km, per_km_cents,
                          daily_cap_cents, free_hold_minutes, reservation_fee_per_minute_cents)
     select x.id, x.currency, x.driving, x.parked, x.included, x.per_km, x.cap,
            case when $10::boolean then coalesce((select max(free_hold_minutes) from tariffs), x.free_hold) else x.free_hold end, x.fee
       from unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::int[], $6::int[], $7::int[], $8::int[], $9::int[])
            as x(id, currency, driving, parked, included, per_km, cap, free_hold, fee)
     on conflict (vehicle_type_id) do nothing`,
    [
      tariffs.map((t) => t.vehicleTypeId),
      tariffs.map((t) => t.currency),
      tariffs.map((t) => t.perMinuteDrivingCents),
      tariffs.map((t) => t.perMinuteParkedCents),
      tariffs.map((t) => t.includedKm),
      tariffs.map((t) => t.perKmCents),
      tariffs.map((t) => t.dailyCapCents),
      tariffs.map((t) => t.freeHoldMinutes),
      tariffs.map((t) => t.reservationFeePerMinuteCents),
      copyFreeHold,
    ],
  );
  // a new type's first version, in force since ever (020_tariff_versions.sql)
  await q.query(
    `insert into tariff_versions (id, vehicle_type_id, effective_from, currency, per_minute_driving_cents, per_minute_parked_cents,
                                  included_km, per_km_cents, daily_cap_cents, reservation_fee_per_minute_cents, created_by)
     select 'tv_' || t.vehicle_type_id || '_1', t.vehicle_type_id, '-infinity', t.currency, t.per_minute_driving_cents, t.per_minute_parked_cents,
            t.included_km, t.per_km_cents, t.daily_cap_cents, t.reservation_fee_per_minute_cents, 'system'
       from tariffs t
      where t.vehicle_type_id = any($1::text[])
        and not exists (select 1 from tariff_versions v where v.vehicle_type_id = t.vehicle_type_id)
     on conflict do nothing`,
    [tariffs.map((t) => t.vehicleTypeId)],
  );
}

/** Sets vehicles.vehicle_type_id for untyped vehicles of these models (only `vehicleId` when given). */
export async function assignVehicleTypes(
  q: Queryable,
  models: ReadonlyArray<{ make: string; model: string; energyType: EnergyType; vehicleTypeId: string }>,
  vehicleId?: string,
): Promise<number> {
  if (models.length === 0) return 0;
  const result = await q.query(
    `update vehicles v set vehicle_type_id = x.type_id
       from unnest($1::text[], $2::text[], $3::text[], $4::text[]) as x(make, model, energy_type, type_id)
      where v.vehicle_type_id is null and v.make = x.make and v.model = x.model and v.energy_type = x.energy_type
        and ($5::text is null or v.id = $5)`,
    [
      models.map((m) => m.make),
      models.map((m) => m.model),
      models.map((m) => m.energyType),
      models.map((m) => m.vehicleTypeId),
      vehicleId ?? null,
    ],
  );
  return result.rowCount;
}

/** The free hold is a platform setting: every tariff carries the configured value. */
export async function setFreeHoldMinutes(q: Queryable, minutes: number): Promise<number> {
  const result = await q.query('update tariffs set free_hold_minutes = $1, updated_at = now() where free_hold_minutes <> $1', [minutes]);
  return result.rowCount;
}

/**
 * The tariff a vehicle is priced with: version `versionId` when given (a booking's or rental's own), else the
 * version of the vehicle's type in force at `at` (epoch ms; the database's now when absent).
 */
export async function readTariffForVehicle(
  q: Queryable,
  vehicleId: string,
  pick: { at?: number; versionId?: string | null } = {},
): Promise<Tariff | undefined> {
  const { rows } = pick.versionId
    ? await q.query<TariffDbRow>(
        `select ${TARIFF_COLUMNS} from tariff_versions tv join tariffs t on t.vehicle_type_id = tv.vehicle_type_id
          where tv.id = $2 and exists (select 1 from vehicles where id = $1)`,
        [vehicleId, pick.versionId],
      )
    : await q.query<TariffDbRow>(
        `select ${TARIFF_COLUMNS} from vehicles v join tariffs t on t.vehicle_type_id = v.vehicle_type_id
           join tariff_versions tv on tv.id = ${versionInForce('v.vehicle_type_id', `coalesce(${ts('$2')}, now())`)}
          where v.id = $1`,
        [vehicleId, pick.at ?? null],
      );
  return rows[0] ? toTariff(rows[0]) : undefined;
}

export async function listVehicleTypesWithTariffs(q: Queryable): Promise<Array<VehicleTypeRow & { tariff: Tariff }>> {
  const { rows } = await q.query<
    TariffDbRow & { id: string; name: string; make: string; model: string; propulsion: 'combustion' | 'electric'; max_range_m: number }
  >(
    `select vt.id, vt.name, vt.make, vt.model, vt.propulsion, vt.max_range_m, ${TARIFF_COLUMNS}
       from vehicle_types vt join tariffs t on t.vehicle_type_id = vt.id
       join tariff_versions tv on tv.id = ${versionInForce('vt.id', 'now()')}
      order by vt.id`,
  );
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    make: r.make,
    model: r.model,
    propulsion: r.propulsion,
    maxRangeMeters: Number(r.max_range_m),
    tariff: toTariff(r),
  }));
}

/** vehicle id → type id, for every typed vehicle. */
export async function vehicleTypeAssignments(q: Queryable): Promise<Map<string, string>> {
  const { rows } = await q.query<{ id: string; vehicle_type_id: string }>(
    'select id, vehicle_type_id from vehicles where vehicle_type_id is not null',
  );
  return new Map(rows.map((r) => [r.id, r.vehicle_type_id]));
}
