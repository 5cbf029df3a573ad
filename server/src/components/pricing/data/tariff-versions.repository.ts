/**
 * SQL of tariff versions (020_tariff_versions.sql) as the staff API manages them: list, insert, withdraw. The
 * lookup a price is computed with is in vehicle-types.repository.ts.
 */
import type { TariffFigures, TariffVersionView } from '../../../../../src/shared/tariffs.js';
import type { Queryable } from '../../../platform/db/index.js';
import { ts } from './vehicle-types.repository.js';

const ms = (expr: string) => `(case when isfinite(${expr}) then floor(extract(epoch from ${expr}) * 1000)::float8 end)`;

interface VersionDbRow {
  id: string;
  vehicle_type_id: string;
  effective_from_ms: number | null;
  currency: string;
  per_minute_driving_cents: number;
  per_minute_parked_cents: number;
  included_km: number;
  per_km_cents: number;
  daily_cap_cents: number;
  reservation_fee_per_minute_cents: number;
  created_by: string;
  created_at_ms: number;
  withdrawn_at_ms: number | null;
  quoted: boolean;
}

export type VersionRow = Omit<TariffVersionView, 'status' | 'used'> & { quoted: boolean };

const COLUMNS = `tv.id, tv.vehicle_type_id, ${ms('tv.effective_from')} as effective_from_ms, tv.currency, tv.per_minute_driving_cents,
  tv.per_minute_parked_cents, tv.included_km, tv.per_km_cents, tv.daily_cap_cents, tv.reservation_fee_per_minute_cents, tv.created_by,
  ${ms('tv.created_at')} as created_at_ms, ${ms('tv.withdrawn_at')} as withdrawn_at_ms,
  exists (select 1 from allocations a where a.tariff_version_id = tv.id) as quoted`;

const n = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function toRow(r: VersionDbRow): VersionRow {
  return {
    id: r.id,
    vehicleTypeId: r.vehicle_type_id,
    effectiveFrom: n(r.effective_from_ms),
    currency: r.currency,
    perMinuteDrivingCents: Number(r.per_minute_driving_cents),
    perMinuteParkedCents: Number(r.per_minute_parked_cents),
    includedKm: Number(r.included_km),
    perKmCents: Number(r.per_km_cents),
    dailyCapCents: Number(r.daily_cap_cents),
    reservationFeePerMinuteCents: Number(r.reservation_fee_per_minute_cents),
    createdBy: r.created_by,
    createdAt: Number(r.created_at_ms),
    withdrawnAt: n(r.withdrawn_at_ms),
    quoted: r.quoted,
  };
}

export async function listVersions(q: Queryable, vehicleTypeId?: string): Promise<VersionRow[]> {
  const { rows } = await q.query<VersionDbRow>(
    `select ${COLUMNS} from tariff_versions tv where ($1::text is null or tv.vehicle_type_id = $1)
      order by tv.vehicle_type_id, tv.effective_from desc, tv.created_at desc`,
    [vehicleTypeId ?? null],
  );
  return rows.map(toRow);
}

/** The version, locked FOR UPDATE (a booking quoting it meanwhile waits on its foreign key check). */
export async function lockVersion(tx: Queryable, id: string): Promise<VersionRow | undefined> {
  const { rows } = await tx.query<VersionDbRow>(`select ${COLUMNS} from tariff_versions tv where tv.id = $1 for update`, [id]);
  return rows[0] ? toRow(rows[0]) : undefined;
}

export async function vehicleTypeExists(tx: Queryable, id: string, lock: boolean): Promise<{ id: string; name: string } | undefined> {
  const { rows } = await tx.query<{ id: string; name: string }>(
    `select id, name from vehicle_types where id = $1${lock ? ' for update' : ''}`,
    [id],
  );
  return rows[0];
}

export async function listVehicleTypes(q: Queryable): Promise<Array<{ id: string; name: string; propulsion: 'combustion' | 'electric' }>> {
  const { rows } = await q.query<{ id: string; name: string; propulsion: 'combustion' | 'electric' }>(
    'select id, name, propulsion from vehicle_types order by name, id',
  );
  return rows;
}

/** Inserts a live version; false when the type already has a live version starting at that very time. */
export async function insertVersion(
  tx: Queryable,
  v: TariffFigures & { id: string; vehicleTypeId: string; effectiveFrom: number; createdBy: string },
): Promise<boolean> {
  const result = await tx.query(
    `insert into tariff_versions (id, vehicle_type_id, effective_from, currency, per_minute_driving_cents, per_minute_parked_cents,
                                  included_km, per_km_cents, daily_cap_cents, reservation_fee_per_minute_cents, created_by)
     values ($1, $2, ${ts('$3')}, $4, $5, $6, $7, $8, $9, $10, $11) on conflict do nothing`,
    [
      v.id,
      v.vehicleTypeId,
      v.effectiveFrom,
      v.currency,
      v.perMinuteDrivingCents,
      v.perMinuteParkedCents,
      v.includedKm,
      v.perKmCents,
      v.dailyCapCents,
      v.reservationFeePerMinuteCents,
      v.createdBy,
    ],
  );
  return result.rowCount > 0;
}

export async function markWithdrawn(tx: Queryable, id: string, by: string, at: number): Promise<void> {
  await tx.query(`update tariff_versions set withdrawn_at = ${ts('$3')}, withdrawn_by = $2 where id = $1`, [id, by, at]);
}
