/** SQL for the latest live state (`vehicle_state`): batched upserts that never move a row backwards. */
import type { Db, Queryable } from '../../../platform/db/index.js';

export interface TelemetryStateRow {
  vehicleId: string;
  lat: number;
  lon: number;
  speedKph: number;
  headingDeg: number;
  energyPct: number;
  odometerKm: number;
  ignition: boolean;
  locked: boolean;
  doorsClosed: boolean;
  online: boolean;
  seq: number;
  deviceTs: number;
  /** epoch ms, server clock */
  receivedAt: number;
}

export interface StatusStateRow {
  vehicleId: string;
  online: boolean;
  /** epoch ms of the message, or null when it told us nothing about liveness (a retained status) */
  receivedAt: number | null;
}

export interface StateBatch {
  telemetry: TelemetryStateRow[];
  statuses: StatusStateRow[];
}

/** A stored row with telemetry; same fields as written. */
export type StoredLiveState = TelemetryStateRow;

interface LiveRow {
  vehicle_id: string;
  lat: number;
  lon: number;
  speed_kph: number;
  heading_deg: number;
  energy_pct: number;
  odometer_km: number;
  ignition: boolean;
  locked: boolean;
  doors_closed: boolean;
  online: boolean;
  seq: number;
  device_ts: number;
  received_at_ms: number;
}

export class VehicleStateRepository {
  constructor(private readonly db: Db) {}

  /** Writes one batch in one transaction: telemetry first, then status changes that came after it. */
  async writeBatch(batch: StateBatch): Promise<void> {
    if (batch.telemetry.length === 0 && batch.statuses.length === 0) return;
    await this.db.transaction(async (tx) => {
      if (batch.telemetry.length > 0) await upsertTelemetry(tx, batch.telemetry);
      if (batch.statuses.length > 0) await upsertStatuses(tx, batch.statuses);
    });
  }

  /** Rows that have telemetry (a status-only row has no position to show). */
  async listLive(): Promise<StoredLiveState[]> {
    const { rows } = await this.db.query<LiveRow>(
      // Numbers cast to float8 so both backends return JS numbers (pg returns bigint as a string).
      `select vehicle_id, lat, lon, speed_kph, heading_deg, energy_pct, odometer_km, ignition, locked, doors_closed,
              online, seq::float8 as seq, device_ts::float8 as device_ts,
              (extract(epoch from received_at) * 1000)::float8 as received_at_ms
         from vehicle_state where seq is not null order by vehicle_id`,
    );
    return rows.map(fromLiveRow);
  }

  /** The last stored device seq per vehicle: the in-memory guard against going backwards starts from here. */
  async lastSeqs(): Promise<Map<string, number>> {
    const { rows } = await this.db.query<{ vehicle_id: string; seq: number }>('select vehicle_id, seq::float8 as seq from vehicle_state where seq is not null');
    return new Map(rows.map((r) => [r.vehicle_id, Number(r.seq)]));
  }

  /** Vehicles marked online and heard from since `sinceMs`. */
  async countOnline(sinceMs: number): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>('select count(*)::float8 as n from vehicle_state where online and received_at >= $1::timestamptz', [
      new Date(sinceMs).toISOString(),
    ]);
    return Number(rows[0]?.n ?? 0);
  }
}

/**
 * One multi-row upsert from parallel arrays (unnest keeps the SQL text constant whatever the batch size).
 * The join drops rows for vehicles deleted meanwhile instead of failing the batch on the foreign key; the
 * WHERE clause makes the write monotonic in the device seq, whatever order batches commit in.
 */
async function upsertTelemetry(tx: Queryable, rows: TelemetryStateRow[]): Promise<void> {
  await tx.query(
    `insert into vehicle_state (vehicle_id, lat, lon, speed_kph, heading_deg, energy_pct, odometer_km, ignition, locked,
                                doors_closed, online, seq, device_ts, received_at, updated_at)
     select u.vehicle_id, u.lat, u.lon, u.speed_kph, u.heading_deg, u.energy_pct, u.odometer_km, u.ignition, u.locked,
            u.doors_closed, u.online, u.seq, u.device_ts, to_timestamp(u.received_ms / 1000.0), now()
       from unnest($1::text[], $2::float8[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::float8[],
                   $8::bool[], $9::bool[], $10::bool[], $11::bool[], $12::bigint[], $13::bigint[], $14::float8[])
            as u(vehicle_id, lat, lon, speed_kph, heading_deg, energy_pct, odometer_km, ignition, locked,
                 doors_closed, online, seq, device_ts, received_ms)
       join vehicles v on v.id = u.vehicle_id
     on conflict (vehicle_id) do update set
       lat = excluded.lat, lon = excluded.lon, speed_kph = excluded.speed_kph, heading_deg = excluded.heading_deg,
       energy_pct = excluded.energy_pct, odometer_km = excluded.odometer_km, ignition = excluded.ignition,
       locked = excluded.locked, doors_closed = excluded.doors_closed, online = excluded.online,
       seq = excluded.seq, device_ts = excluded.device_ts,
       received_at = greatest(vehicle_state.received_at, excluded.received_at), updated_at = now()
     where vehicle_state.seq is null or vehicle_state.seq < excluded.seq`,
    [
      rows.map((r) => r.vehicleId),
      rows.map((r) => r.lat),
      rows.map((r) => r.lon),
      rows.map((r) => r.speedKph),
      rows.map((r) => r.headingDeg),
      rows.map((r) => r.energyPct),
      rows.map((r) => r.odometerKm),
      rows.map((r) => r.ignition),
      rows.map((r) => r.locked),
      rows.map((r) => r.doorsClosed),
      rows.map((r) => r.online),
      rows.map((r) => r.seq),
      rows.map((r) => r.deviceTs),
      rows.map((r) => r.receivedAt),
    ],
  );
}

async function upsertStatuses(tx: Queryable, rows: StatusStateRow[]): Promise<void> {
  await tx.query(
    `insert into vehicle_state (vehicle_id, online, received_at, updated_at)
     select u.vehicle_id, u.online, to_timestamp(u.received_ms / 1000.0), now()
       from unnest($1::text[], $2::bool[], $3::float8[]) as u(vehicle_id, online, received_ms)
       join vehicles v on v.id = u.vehicle_id
     on conflict (vehicle_id) do update set
       online = excluded.online,
       received_at = greatest(vehicle_state.received_at, excluded.received_at), updated_at = now()`,
    [rows.map((r) => r.vehicleId), rows.map((r) => r.online), rows.map((r) => r.receivedAt)],
  );
}

function fromLiveRow(r: LiveRow): StoredLiveState {
  return {
    vehicleId: r.vehicle_id,
    lat: r.lat,
    lon: r.lon,
    speedKph: r.speed_kph,
    headingDeg: r.heading_deg,
    energyPct: r.energy_pct,
    odometerKm: r.odometer_km,
    ignition: r.ignition,
    locked: r.locked,
    doorsClosed: r.doors_closed,
    online: r.online,
    seq: Number(r.seq),
    deviceTs: Number(r.device_ts),
    receivedAt: Number(r.received_at_ms),
  };
}
