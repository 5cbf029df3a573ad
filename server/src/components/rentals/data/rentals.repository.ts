/**
 * SQL the rentals component owns: damage reports, and read-only views of the vehicle's telemetry (vehicle_state,
 * telemetry_history) and the operating zones (zones) that end-of-rental rules are judged on. The rental rows
 * themselves are rows of `allocations`, reached through the bookings component's claim API.
 *
 * Times are epoch ms in and out (the caller's clock, stored exactly).
 */
import type { Db, Queryable } from '../../../platform/db/index.js';
import type { StartFailure } from '../../../../../src/shared/start-failures.js';
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

/** A start of a reservation or booking that failed (the reservation kept, the hold voided). */
export interface StartAttemptRow {
  sourceId: string;
  /** the rental id the attempt would have had (its hold and unlock command carry it) */
  attemptId: string;
  at: number;
  failure: StartFailure;
  detail: string | null;
  unlockCommandId: string | null;
  paymentId: string | null;
}

/** A customer's failed start, with what it was for. */
export type CustomerStartAttemptRow = StartAttemptRow & { sourceKind: 'reservation' | 'booking'; vehicleId: string };

/** failed starts kept per reservation or booking */
export const MAX_START_ATTEMPTS = 50;

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

  /** Records a failed start (in the caller's transaction; at most MAX_START_ATTEMPTS per source are kept). */
  async recordStartAttempt(q: Queryable, a: StartAttemptRow): Promise<void> {
    await q.query(
      `insert into rental_start_attempts (source_id, attempt_id, at, failure, detail, unlock_command_id, payment_id)
       select $1, $2, ${ts('$3')}, $4, $5, $6, $7
        where (select count(*) from rental_start_attempts where source_id = $1) < ${MAX_START_ATTEMPTS}`,
      [a.sourceId, a.attemptId, a.at, a.failure, a.detail, a.unlockCommandId, a.paymentId],
    );
  }

  /** A customer's failed starts (of any reservation or booking), newest first, with what they were for. */
  async listStartAttemptsOfCustomer(customerId: string, limit: number): Promise<CustomerStartAttemptRow[]> {
    const { rows } = await this.db.query<StartAttemptDbRow & { source_kind: 'reservation' | 'booking'; vehicle_id: string }>(
      `select t.source_id, s.kind as source_kind, s.vehicle_id, t.attempt_id, ${ms('t.at')} as at_ms, t.failure, t.detail,
              t.unlock_command_id, t.payment_id
         from rental_start_attempts t join allocations s on s.id = t.source_id
        where s.customer_id = $1
        order by t.at desc, t.id desc limit $2`,
      [customerId, limit],
    );
    return rows.map((r) => ({ ...startAttempt(r), sourceKind: r.source_kind, vehicleId: r.vehicle_id }));
  }

  /** The failed starts of these reservations/bookings, oldest first. */
  async listStartAttempts(sourceIds: readonly string[]): Promise<StartAttemptRow[]> {
    if (sourceIds.length === 0) return [];
    const { rows } = await this.db.query<StartAttemptDbRow>(
      `select source_id, attempt_id, ${ms('at')} as at_ms, failure, detail, unlock_command_id, payment_id
         from rental_start_attempts where source_id = any($1::text[]) order by at, id`,
      [sourceIds],
    );
    return rows.map(startAttempt);
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

interface StartAttemptDbRow {
  source_id: string;
  attempt_id: string;
  at_ms: number;
  failure: StartFailure;
  detail: string | null;
  unlock_command_id: string | null;
  payment_id: string | null;
}

function startAttempt(r: StartAttemptDbRow): StartAttemptRow {
  return {
    sourceId: r.source_id,
    attemptId: r.attempt_id,
    at: Number(r.at_ms),
    failure: r.failure,
    detail: r.detail,
    unlockCommandId: r.unlock_command_id,
    paymentId: r.payment_id,
  };
}
