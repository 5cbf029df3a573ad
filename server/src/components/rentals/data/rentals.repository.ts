/**
 * SQL the rentals component owns: damage reports, and read-only views of the vehicle's telemetry (vehicle_state,
 * telemetry_history) and the operating zones (zones) that end-of-rental rules are judged on. The rental rows
 * themselves are rows of `allocations`, reached through the bookings component's claim API.
 *
 * Times are epoch ms in and out (the caller's clock, stored exactly).
 */
import type { Db } from '../../../platform/db/index.js';
import type { EndZone, LatestVehicleState, UsageSample } from '../model.js';

/** Epoch ms (an integer parameter) as timestamptz, exactly. */
const ts = (param: string) => `(timestamptz 'epoch' + (${param})::bigint * interval '1 millisecond')`;
/** timestamptz as epoch ms (float8: both drivers return a JS number). */
const ms = (expr: string) => `floor(extract(epoch from ${expr}) * 1000)::float8`;

export interface DamagePhoto {
  file: string;
  contentType: string;
  bytes: number;
  sha256: string;
}

export interface DamageReportRow {
  id: string;
  rentalId: string;
  customerId: string;
  text: string;
  photos: DamagePhoto[];
  createdAt: number;
}

/** A refused end: who tried, when, and what blocked it. */
export interface EndAttemptRow {
  rentalId: string;
  at: number;
  byKind: 'customer' | 'staff';
  byId: string;
  blockers: Array<{ code: string; message: string }>;
}

/** refused ends kept per rental */
export const MAX_END_ATTEMPTS = 50;

export class RentalsRepository {
  constructor(private readonly db: Db) {}

  get database(): Db {
    return this.db;
  }

  // ------------------------------------------------------------------------------------------------ telemetry (read-only)

  /**
   * The vehicle's latest telemetry (fleet's vehicle_state, written by whichever instance ingested it). Its receive
   * time is device_ts − clock_skew_ms (the skew was measured against the receive time); received_at alone also
   * moves on status messages, which say nothing about doors or position.
   */
  async latestState(vehicleId: string): Promise<LatestVehicleState | null> {
    const { rows } = await this.db.query<{
      lat: number;
      lon: number;
      speed_kph: number;
      ignition: boolean;
      doors_closed: boolean;
      locked: boolean;
      odometer_km: number;
      telemetry_at_ms: number;
    }>(
      `select lat, lon, speed_kph, ignition, doors_closed, locked, odometer_km,
              (case when clock_skew_ms is not null then (device_ts - clock_skew_ms)::float8 else ${ms('received_at')} end) as telemetry_at_ms
         from vehicle_state where vehicle_id = $1 and seq is not null and lat is not null`,
      [vehicleId],
    );
    const r = rows[0];
    if (!r) return null;
    return {
      lat: Number(r.lat),
      lon: Number(r.lon),
      speedKph: Number(r.speed_kph ?? 0),
      ignition: r.ignition === true,
      doorsClosed: r.doors_closed !== false,
      locked: r.locked === true,
      odometerKm: Number(r.odometer_km),
      telemetryAt: Number(r.telemetry_at_ms),
    };
  }

  /** Telemetry samples received in [from, to] (partition-pruned on received_at), oldest first, at most `limit`. */
  async telemetrySamples(vehicleId: string, from: number, to: number, limit = 500_000): Promise<UsageSample[]> {
    const { rows } = await this.db.query<{ at_ms: number; speed_kph: number; ignition: boolean; odometer_km: number }>(
      `select ${ms('received_at')} as at_ms, speed_kph, ignition, odometer_km from telemetry_history
        where vehicle_id = $1 and received_at >= ${ts('$2')} and received_at <= ${ts('$3')}
        order by received_at, seq limit $4`,
      [vehicleId, from, to, limit],
    );
    return rows.map((r) => ({
      at: Number(r.at_ms),
      speedKph: Number(r.speed_kph),
      ignition: r.ignition,
      odometerKm: Number(r.odometer_km),
    }));
  }

  /** Read at every end attempt (no cache): a zone an admin changed on any instance counts at once. */
  async endZones(): Promise<EndZone[]> {
    const { rows } = await this.db.query<{ id: string; kind: 'operating' | 'no_parking'; polygon: unknown }>(
      `select id, kind, polygon from zones where kind in ('operating', 'no_parking') order by id`,
    );
    return rows.flatMap((r) => (isRing(r.polygon) ? [{ id: r.id, kind: r.kind, polygon: r.polygon }] : []));
  }

  // ------------------------------------------------------------------------------------------------ refused ends

  /** Records a refused end (at most MAX_END_ATTEMPTS per rental are kept: the rest are not written). */
  async recordEndAttempt(a: EndAttemptRow): Promise<void> {
    await this.db.query(
      `insert into rental_end_attempts (rental_id, at, by_kind, by_id, blockers)
       select $1, ${ts('$2')}, $3, $4, $5::jsonb
        where (select count(*) from rental_end_attempts where rental_id = $1) < ${MAX_END_ATTEMPTS}`,
      [a.rentalId, a.at, a.byKind, a.byId, JSON.stringify(a.blockers)],
    );
  }

  async listEndAttempts(rentalId: string): Promise<EndAttemptRow[]> {
    const { rows } = await this.db.query<{ at_ms: number; by_kind: 'customer' | 'staff'; by_id: string; blockers: unknown }>(
      `select ${ms('at')} as at_ms, by_kind, by_id, blockers from rental_end_attempts where rental_id = $1 order by at, id`,
      [rentalId],
    );
    return rows.map((r) => ({
      rentalId,
      at: Number(r.at_ms),
      byKind: r.by_kind,
      byId: r.by_id,
      blockers: (typeof r.blockers === 'string' ? JSON.parse(r.blockers) : r.blockers) as EndAttemptRow['blockers'],
    }));
  }

  // ------------------------------------------------------------------------------------------------ damage reports

  async countDamageReports(rentalId: string): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>('select count(*)::float8 as n from damage_reports where rental_id = $1', [
      rentalId,
    ]);
    return Number(rows[0]?.n ?? 0);
  }

  async insertDamageReport(r: Omit<DamageReportRow, 'createdAt'> & { createdAt: number }): Promise<void> {
    await this.db.query(
      `insert into damage_reports (id, rental_id, customer_id, text, photos, created_at) values ($1, $2, $3, $4, $5::jsonb, ${ts('$6')})`,
      [r.id, r.rentalId, r.customerId, r.text, JSON.stringify(r.photos), r.createdAt],
    );
  }

  /** One report of one rental (another rental's report id → null). */
  async getDamageReport(rentalId: string, reportId: string): Promise<DamageReportRow | null> {
    return (await this.listDamageReports(rentalId, reportId))[0] ?? null;
  }

  async listDamageReports(rentalId: string, reportId?: string): Promise<DamageReportRow[]> {
    const { rows } = await this.db.query<{
      id: string;
      rental_id: string;
      customer_id: string;
      text: string;
      photos: DamagePhoto[] | string;
      created_at_ms: number;
    }>(
      `select id, rental_id, customer_id, text, photos, ${ms('created_at')} as created_at_ms from damage_reports
        where rental_id = $1 and ($2::text is null or id = $2) order by created_at, id`,
      [rentalId, reportId ?? null],
    );
    return rows.map((r) => ({
      id: r.id,
      rentalId: r.rental_id,
      customerId: r.customer_id,
      text: r.text,
      photos: typeof r.photos === 'string' ? (JSON.parse(r.photos) as DamagePhoto[]) : r.photos,
      createdAt: Number(r.created_at_ms),
    }));
  }
}

function isRing(value: unknown): value is Array<[number, number]> {
  return (
    Array.isArray(value) &&
    value.length >= 3 &&
    value.every((p) => Array.isArray(p) && p.length >= 2 && p.every((n) => typeof n === 'number'))
  );
}
