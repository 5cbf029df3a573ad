/**
 * SQL for the telemetry history (`telemetry_history`, range-partitioned by day on received_at, UTC):
 * multi-row inserts and partition maintenance (create ahead, drop after retention).
 */
import type { VehicleLive } from '../../../../../src/shared/fleet.js';
import type { Db } from '../../../platform/db/index.js';
import { HISTORY_COPY_COLUMNS, type TelemetryRows } from './telemetry-columns.js';

/** A row of `telemetry_history`: one accepted telemetry message (received_at, UTC, is the partition key). */
export type HistoryRow = Omit<VehicleLive, 'id' | 'online'> & {
  vehicleId: string;
  clockSkewMs: number;
};

/** Held while partitions are created or dropped, so instances maintaining at the same time do not collide. */
const PARTITION_LOCK_KEY = 7_346_150_003;
const DAY_MS = 86_400_000;
const PARTITION_NAME = /^telemetry_history_p(\d{4})(\d{2})(\d{2})$/;

/** `telemetry_history_pYYYYMMDD` of the UTC day containing `ms`. */
export function partitionName(ms: number): string {
  return `telemetry_history_p${new Date(ms).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/** Start of the UTC day (epoch ms) a partition holds, or undefined for a name that is not ours. */
export function partitionDay(name: string): number | undefined {
  const m = PARTITION_NAME.exec(name);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : undefined;
}

export function startOfUtcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

export class TelemetryHistoryRepository {
  constructor(private readonly db: Db) {}

  /**
   * One statement for the whole block: PostgreSQL's bulk load (COPY … FROM STDIN, binary format) where the database
   * has it; elsewhere (PGlite) one insert from parallel arrays (unnest: constant SQL text, one round trip). Rows go
   * to their day partitions either way; a row whose day has no partition fails the whole block.
   */
  async insert(block: TelemetryRows): Promise<void> {
    if (block.length === 0) return;
    if (this.db.copyFrom) {
      await this.db.copyFrom(`copy telemetry_history (${HISTORY_COPY_COLUMNS}) from stdin (format binary)`, block.toCopyBinary());
      return;
    }
    const rows = block.toRows();
    await this.db.query(
      `insert into telemetry_history (vehicle_id, seq, device_ts, received_at, lat, lon, speed_kph, heading_deg, energy_pct,
                                      odometer_km, ignition, locked, doors_closed, clock_skew_ms)
       select u.vehicle_id, u.seq, u.device_ts, to_timestamp(u.received_ms / 1000.0), u.lat, u.lon, u.speed_kph, u.heading_deg,
              u.energy_pct, u.odometer_km, u.ignition, u.locked, u.doors_closed, u.clock_skew_ms
         from unnest($1::text[], $2::bigint[], $3::bigint[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::float8[],
                     $9::float8[], $10::float8[], $11::bool[], $12::bool[], $13::bool[], $14::bigint[])
              as u(vehicle_id, seq, device_ts, received_ms, lat, lon, speed_kph, heading_deg, energy_pct, odometer_km,
                   ignition, locked, doors_closed, clock_skew_ms)`,
      [
        rows.map((r) => r.vehicleId),
        rows.map((r) => r.seq),
        rows.map((r) => r.deviceTs),
        rows.map((r) => r.receivedAt),
        rows.map((r) => r.lat),
        rows.map((r) => r.lon),
        rows.map((r) => r.speedKph),
        rows.map((r) => r.headingDeg),
        rows.map((r) => r.energyPct),
        rows.map((r) => r.odometerKm),
        rows.map((r) => r.ignition),
        rows.map((r) => r.locked),
        rows.map((r) => r.doorsClosed),
        rows.map((r) => Math.round(r.clockSkewMs)),
      ],
    );
  }

  /** Names of the existing day partitions, oldest first. */
  async listPartitions(): Promise<string[]> {
    const { rows } = await this.db.query<{ name: string }>(
      `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'telemetry_history'::regclass order by c.relname`,
    );
    return rows.map((r) => r.name);
  }

  /**
   * Creates the partitions of the UTC days from the one containing `fromMs` for `days` days (those missing);
   * drops the partitions of days before `dropBeforeMs`. Returns what it created and dropped.
   */
  async maintain(fromMs: number, days: number, dropBeforeMs: number): Promise<{ created: string[]; dropped: string[] }> {
    return this.db.transaction(async (tx) => {
      await tx.query('select pg_advisory_xact_lock($1::bigint)', [PARTITION_LOCK_KEY]);
      const { rows } = await tx.query<{ name: string }>(
        `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'telemetry_history'::regclass`,
      );
      const existing = new Set(rows.map((r) => r.name));
      const created: string[] = [];
      const first = startOfUtcDay(fromMs);
      for (let d = 0; d < days; d++) {
        const from = first + d * DAY_MS;
        const name = partitionName(from);
        if (existing.has(name)) continue;
        // Names and bounds come from numbers we formatted ourselves, never from input.
        await tx.exec(
          `create table ${name} partition of telemetry_history
             for values from ('${new Date(from).toISOString()}') to ('${new Date(from + DAY_MS).toISOString()}')`,
        );
        created.push(name);
      }
      const dropped: string[] = [];
      for (const name of [...existing].sort()) {
        const day = partitionDay(name);
        if (day !== undefined && day < startOfUtcDay(dropBeforeMs)) {
          await tx.exec(`drop table ${name}`);
          dropped.push(name);
        }
      }
      return { created, dropped };
    });
  }
}
