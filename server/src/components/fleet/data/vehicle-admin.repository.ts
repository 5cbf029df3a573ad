/**
 * SQL of the registry as admins edit it (`vehicles`: plate, VIN, make, model, energy type, home zone,
 * retirement). Every write takes a fresh server_seq (the desks' replica follows) inside the caller's transaction.
 */
import type { EnergyType } from '../../../../../src/shared/fleet.js';
import type { RegisteredVehicle, VehicleFields } from '../../../../../src/shared/vehicle-registry.js';
import type { Queryable } from '../../../platform/db/index.js';

interface Row {
  id: string;
  plate: string;
  vin: string | null;
  make: string;
  model: string;
  energy_type: EnergyType;
  home_zone: string;
  retired_ms: number | null;
  created_ms: number;
}

const COLUMNS = `id, plate, vin, make, model, energy_type, home_zone,
  (extract(epoch from retired_at) * 1000)::float8 as retired_ms, (extract(epoch from created_at) * 1000)::float8 as created_ms`;

export interface NewVehicleRow {
  id: string;
  plate: string;
  vin: string;
  make: string;
  model: string;
  energyType: EnergyType;
  homeZone: string;
}

/** The unique constraint a write ran into (`plate` or `vin`), or null when the error is something else. */
export function duplicateField(err: unknown): 'plate' | 'vin' | null {
  const e = err as { code?: unknown; constraint?: unknown; message?: unknown };
  if (e.code !== '23505') return null;
  const where = `${String(e.constraint ?? '')} ${String(e.message ?? '')}`;
  if (where.includes('vehicles_vin_key')) return 'vin';
  if (where.includes('vehicles_plate_key')) return 'plate';
  return null;
}

export async function listRegistered(q: Queryable, includeRetired: boolean): Promise<RegisteredVehicle[]> {
  const { rows } = await q.query<Row>(
    `select ${COLUMNS} from vehicles where $1::bool or retired_at is null order by retired_at nulls first, plate`,
    [includeRetired],
  );
  return rows.map(toVehicle);
}

export async function findRegistered(q: Queryable, id: string, forUpdate = false): Promise<RegisteredVehicle | undefined> {
  const { rows } = await q.query<Row>(`select ${COLUMNS} from vehicles where id = $1${forUpdate ? ' for update' : ''}`, [id]);
  return rows[0] && toVehicle(rows[0]);
}

export async function findRegisteredMany(q: Queryable, ids: readonly string[]): Promise<RegisteredVehicle[]> {
  const { rows } = await q.query<Row>(`select ${COLUMNS} from vehicles where id = any($1::text[]) order by plate`, [ids]);
  return rows.map(toVehicle);
}

/** Which of these plates and VINs the registry already holds (retired cars included: a plate stays theirs). */
export async function existingPlatesAndVins(
  q: Queryable,
  plates: readonly string[],
  vins: readonly string[],
  exceptId?: string,
): Promise<{ plates: Set<string>; vins: Set<string> }> {
  const { rows } = await q.query<{ plate: string; vin: string | null }>(
    `select plate, vin from vehicles where (plate = any($1::text[]) or vin = any($2::text[])) and id is distinct from $3`,
    [plates, vins, exceptId ?? null],
  );
  return { plates: new Set(rows.map((r) => r.plate)), vins: new Set(rows.flatMap((r) => (r.vin ? [r.vin] : []))) };
}

/**
 * The home zones a vehicle may name: the zones on the map (by id) and the neighbourhoods the registry already uses.
 * (The zones table is the ops component's; this reads its ids only, as the foreign keys of other tables do.)
 */
export async function knownHomeZones(q: Queryable): Promise<Set<string>> {
  const { rows } = await q.query<{ zone: string }>(
    `select id as zone from zones union select distinct home_zone from vehicles where home_zone <> ''`,
  );
  return new Set(rows.map((r) => r.zone));
}

export async function insertVehicles(q: Queryable, vehicles: readonly NewVehicleRow[]): Promise<RegisteredVehicle[]> {
  const { rows } = await q.query<Row>(
    `insert into vehicles (id, plate, vin, make, model, energy_type, home_zone, server_seq)
     select x.*, fleetdesk_next_seq() from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
       as x(id, plate, vin, make, model, energy_type, home_zone)
     returning ${COLUMNS}`,
    [
      vehicles.map((v) => v.id),
      vehicles.map((v) => v.plate),
      vehicles.map((v) => v.vin),
      vehicles.map((v) => v.make),
      vehicles.map((v) => v.model),
      vehicles.map((v) => v.energyType),
      vehicles.map((v) => v.homeZone),
    ],
  );
  const order = new Map(vehicles.map((v, i) => [v.id, i]));
  return rows.map(toVehicle).sort((a, b) => order.get(a.id)! - order.get(b.id)!);
}

/** The fields as checked (a vehicle registered before VINs were recorded may keep none), and retirement. */
export type VehicleChange = Omit<Required<VehicleFields>, 'vin'> & { vin: string | null; retired: boolean };

/**
 * Writes the fields; a changed make, model or energy type clears the vehicle's type so pricing derives it again
 * (vehicles.vehicle_type_id, the pricing component's column: it assigns types to untyped vehicles).
 */
export async function updateVehicle(q: Queryable, id: string, c: VehicleChange): Promise<RegisteredVehicle> {
  const { rows } = await q.query<Row>(
    `update vehicles set
        vehicle_type_id = case when (make, model, energy_type) is distinct from ($4, $5, $6) then null else vehicle_type_id end,
        plate = $2, vin = $3, make = $4, model = $5, energy_type = $6, home_zone = $7,
        retired_at = case when $8::bool then coalesce(retired_at, now()) else null end,
        server_seq = fleetdesk_next_seq(), updated_at = now()
      where id = $1
      returning ${COLUMNS}`,
    [id, c.plate, c.vin, c.make, c.model, c.energyType, c.homeZone, c.retired],
  );
  return toVehicle(rows[0]!);
}

function toVehicle(r: Row): RegisteredVehicle {
  return {
    id: r.id,
    plate: r.plate,
    vin: r.vin,
    make: r.make,
    model: r.model,
    energyType: r.energy_type,
    homeZone: r.home_zone,
    retiredAt: r.retired_ms === null ? null : Math.round(Number(r.retired_ms)),
    createdAt: Math.round(Number(r.created_ms)),
  };
}
