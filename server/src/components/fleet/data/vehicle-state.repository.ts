/** SQL for the latest live state (`vehicle_state`): batched upserts that never move a row backwards. */
import type { VehicleLive } from '../../../../../src/shared/fleet.js';
import type { ServiceState } from '../../../../../src/shared/sync-protocol.js';
import { CopyBinaryWriter } from '../../../platform/db/copy-binary.js';
import type { Db, Queryable } from '../../../platform/db/index.js';
import { TELEMETRY_COLUMNS } from './telemetry-columns.js';
import type { VehiclePosition } from '../model.js';

/** A row of `vehicle_state` as written: the shared live state, keyed by vehicle, plus what only the server keeps. */
export type TelemetryStateRow = Omit<VehicleLive, 'id'> & {
  vehicleId: string;
  /** device clock minus receive time of this telemetry (ms) */
  clockSkewMs: number;
  /** written as a seq reset (device rebooted): may replace a row with a higher seq (see LiveStateBuffer) */
  seqReset?: boolean;
  /**
   * the writer knows the vehicle has a row (it loaded the vehicle's stored telemetry at start or wrote it since;
   * rows are never deleted but with their vehicle): PostgreSQL only updates it. Otherwise it is inserted if missing.
   */
  rowExists?: boolean;
};

/** What the in-memory order guard needs to know about the last accepted telemetry of a vehicle. */
export interface LastTelemetry {
  seq: number;
  deviceTs: number;
  /** epoch ms */
  receivedAt: number;
}

export interface OnlineRow {
  vehicleId: string;
  online: boolean;
  /** epoch ms of the last message heard, null if never */
  receivedAt: number | null;
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
export type StoredLiveState = Omit<TelemetryStateRow, 'seqReset'>;

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
  clock_skew_ms: number | null;
}

export class VehicleStateRepository {
  constructor(private readonly db: Db) {}

  /** Writes one batch in one transaction: telemetry first, then status changes that came after it. */
  async writeBatch(batch: StateBatch): Promise<void> {
    if (this.db.framedCopy && batch.telemetry.length > 0) return this.writeBatchStaged(batch, this.db.framedCopy.bind(this.db));
    const resets = batch.telemetry.filter((r) => r.seqReset === true);
    const normal = resets.length === 0 ? batch.telemetry : batch.telemetry.filter((r) => r.seqReset !== true);
    const statements: Array<(q: Queryable) => Promise<void>> = [];
    if (normal.length > 0) statements.push((q) => upsertTelemetry(q, normal, false));
    if (resets.length > 0) statements.push((q) => upsertTelemetry(q, resets, true));
    if (batch.statuses.length > 0) statements.push((q) => upsertStatuses(q, batch.statuses));
    if (statements.length === 0) return;
    // A single statement is atomic by itself: no BEGIN/COMMIT round trips on the hot path.
    if (statements.length === 1) return statements[0]!(this.db);
    await this.db.transaction(async (tx) => {
      for (const run of statements) await run(tx);
    });
  }

  /**
   * PostgreSQL: the telemetry rows are bulk-loaded (binary COPY) into a session-local staging table that empties
   * itself at commit, and upserted from there — the same statement as from parallel arrays, without building and
   * parsing fifteen arrays per batch; one transaction in three round trips (framedCopy). Statuses follow in their
   * own statement: a telemetry row already carries the vehicle's final online flag, so nothing in between is wrong.
   */
  private async writeBatchStaged(batch: StateBatch, framedCopy: NonNullable<Db['framedCopy']>): Promise<void> {
    const hasResets = batch.telemetry.some((r) => r.seqReset === true);
    const hasNew = batch.telemetry.some((r) => r.rowExists !== true);
    await framedCopy({
      before: `set local client_min_messages = warning;\n${CREATE_STAGE}`,
      copy: `copy vehicle_state_stage (${STAGE_COPY_COLUMNS}) from stdin (format binary)`,
      data: stageCopyBinary(batch.telemetry),
      // Vehicles with a row: a plain UPDATE joined to the stage costs PostgreSQL about half an INSERT … ON CONFLICT
      // joined to vehicles (measured with 5,000 rows); only rows that may be missing go through the upsert (a row
      // the UPDATE just wrote is left alone by it: same seq).
      after: [false, ...(hasResets ? [true] : [])]
        .flatMap((reset) => [
          updateTelemetryFromStageSql(reset),
          ...(hasNew
            ? [upsertTelemetrySql('vehicle_state_stage u', `where u.seq_reset = ${reset} and not u.row_exists`, String(reset))]
            : []),
        ])
        .join(';\n'),
    });
    if (batch.statuses.length > 0) await upsertStatuses(this.db, batch.statuses);
  }

  /** Rows that have telemetry (a status-only row has no position to show). */
  async listLive(): Promise<StoredLiveState[]> {
    const { rows } = await this.db.query<LiveRow>(
      // Numbers cast to float8 so both backends return JS numbers (pg returns bigint as a string).
      `select vehicle_id, lat, lon, speed_kph, heading_deg, energy_pct, odometer_km, ignition, locked, doors_closed,
              online, seq::float8 as seq, device_ts::float8 as device_ts,
              (extract(epoch from received_at) * 1000)::float8 as received_at_ms, clock_skew_ms::float8 as clock_skew_ms
         from vehicle_state s where seq is not null and not exists (select 1 from vehicles v where v.id = s.vehicle_id and v.retired_at is not null)
        order by vehicle_id`,
    );
    return rows.map(fromLiveRow);
  }

  /** The last stored telemetry per vehicle: the in-memory guard against going backwards starts from here. */
  async lastTelemetry(): Promise<Map<string, LastTelemetry>> {
    const { rows } = await this.db.query<{ vehicle_id: string; seq: number; device_ts: number; received_at_ms: number }>(
      `select vehicle_id, seq::float8 as seq, device_ts::float8 as device_ts, (extract(epoch from received_at) * 1000)::float8 as received_at_ms
         from vehicle_state where seq is not null`,
    );
    return new Map(
      rows.map((r) => [r.vehicle_id, { seq: Number(r.seq), deviceTs: Number(r.device_ts), receivedAt: Number(r.received_at_ms) }]),
    );
  }

  /**
   * Every vehicle with a known position. `changedSinceMs`: only those whose state was written since then, plus
   * every vehicle not in service (`maintenance`). `online` is the stored flag (the component still judges it by the
   * heartbeat timeout); `receivedAt` 0: never heard. Retired vehicles are left out.
   */
  async positions(changedSinceMs?: number): Promise<VehiclePosition[]> {
    const { rows } = await this.db.query<{
      id: string;
      service_state: ServiceState;
      lat: number;
      lon: number;
      energy_pct: number | null;
      online: boolean;
      received_ms: number | null;
    }>(
      // A retired car: not in a full read; in a read of changes it comes as out of service (not offered at once)
      // for a few minutes, enough for every instance's next full read to drop it.
      `select v.id, case when v.retired_at is null then v.service_state else 'maintenance' end as service_state, s.lat, s.lon, s.energy_pct, s.online, (extract(epoch from s.received_at) * 1000)::float8 as received_ms
         from vehicle_state s join vehicles v on v.id = s.vehicle_id
        where s.lat is not null and s.lon is not null
          and (($1::float8 is null and v.retired_at is null)
               or ($1::float8 is not null and (s.updated_at >= to_timestamp($1::float8 / 1000) or v.service_state <> 'available'
                                              or v.retired_at > now() - interval '5 minutes')))`,
      [changedSinceMs ?? null],
    );
    return rows.map((r) => ({
      vehicleId: r.id,
      lat: r.lat,
      lon: r.lon,
      energyPct: r.energy_pct,
      online: r.online,
      receivedAt: r.received_ms === null ? 0 : Number(r.received_ms),
      serviceState: r.service_state,
    }));
  }

  /** The online flag and last-heard time of every vehicle with a state row (the in-memory online view starts here). */
  async onlineView(): Promise<OnlineRow[]> {
    const { rows } = await this.db.query<{ vehicle_id: string; online: boolean; received_at_ms: number | null }>(
      'select vehicle_id, online, (extract(epoch from received_at) * 1000)::float8 as received_at_ms from vehicle_state',
    );
    return rows.map((r) => ({
      vehicleId: r.vehicle_id,
      online: r.online,
      receivedAt: r.received_at_ms === null ? null : Number(r.received_at_ms),
    }));
  }

  /**
   * Heartbeat timeout: marks offline those of `vehicleIds` that are online and not heard from since `cutoffMs`
   * (by any instance: received_at is the newest over all writers). Returns the ids this call turned offline,
   * so exactly one instance reports each change.
   */
  async markSilentOffline(vehicleIds: readonly string[], cutoffMs: number): Promise<OnlineRow[]> {
    if (vehicleIds.length === 0) return [];
    const { rows } = await this.db.query<{ vehicle_id: string; online: boolean; received_at_ms: number | null }>(
      `update vehicle_state set online = false, updated_at = clock_timestamp()
        where vehicle_id = any($1::text[]) and online and (received_at is null or received_at < to_timestamp($2::float8 / 1000.0))
        returning vehicle_id, online, (extract(epoch from received_at) * 1000)::float8 as received_at_ms`,
      [vehicleIds, cutoffMs],
    );
    return rows.map((r) => ({
      vehicleId: r.vehicle_id,
      online: r.online,
      receivedAt: r.received_at_ms === null ? null : Number(r.received_at_ms),
    }));
  }

  async onlineRows(vehicleIds: readonly string[]): Promise<OnlineRow[]> {
    if (vehicleIds.length === 0) return [];
    const { rows } = await this.db.query<{ vehicle_id: string; online: boolean; received_at_ms: number | null }>(
      'select vehicle_id, online, (extract(epoch from received_at) * 1000)::float8 as received_at_ms from vehicle_state where vehicle_id = any($1::text[])',
      [vehicleIds],
    );
    return rows.map((r) => ({
      vehicleId: r.vehicle_id,
      online: r.online,
      receivedAt: r.received_at_ms === null ? null : Number(r.received_at_ms),
    }));
  }

  /** Vehicles marked online and heard from since `sinceMs`. */
  async countOnline(sinceMs: number): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(
      'select count(*)::float8 as n from vehicle_state where online and received_at >= $1::timestamptz',
      [new Date(sinceMs).toISOString()],
    );
    return Number(rows[0]?.n ?? 0);
  }
}

/**
 * Staging table of writeBatchStaged: one per session (temporary), emptied at every commit; created on a
 * connection's first batch. received_at is the receive time as written (the upsert keeps the newest).
 */
const CREATE_STAGE = `create temp table if not exists vehicle_state_stage (
  vehicle_id text not null, lat float8, lon float8, speed_kph float8, heading_deg float8, energy_pct float8,
  odometer_km float8, ignition bool, locked bool, doors_closed bool, online bool not null, seq bigint not null,
  device_ts bigint not null, received_at timestamptz not null, clock_skew_ms bigint, seq_reset bool not null,
  row_exists bool not null
) on commit delete rows`;

const STAGE_COPY_COLUMNS = `vehicle_id, ${TELEMETRY_COLUMNS}, online, seq, device_ts, received_at, clock_skew_ms, seq_reset, row_exists`;

/** The rows as binary COPY input for vehicle_state_stage (STAGE_COPY_COLUMNS, in that order). */
function stageCopyBinary(rows: readonly TelemetryStateRow[]): Buffer {
  const w = new CopyBinaryWriter(rows.length * 180 + 64);
  for (const r of rows) {
    w.row(17);
    w.text(r.vehicleId);
    w.float8(r.lat);
    w.float8(r.lon);
    w.float8(r.speedKph);
    w.float8(r.headingDeg);
    w.float8(r.energyPct);
    w.float8(r.odometerKm);
    w.bool(r.ignition);
    w.bool(r.locked);
    w.bool(r.doorsClosed);
    w.bool(r.online);
    w.int8(r.seq);
    w.int8(r.deviceTs);
    w.timestamptz(r.receivedAt);
    w.int8(Math.round(r.clockSkewMs));
    w.bool(r.seqReset === true);
    w.bool(r.rowExists === true);
  }
  return w.finish();
}

/**
 * The telemetry upsert from `source` (aliased `u`, with vehicle_state's columns and received_at a timestamptz).
 * The join drops rows for vehicles deleted meanwhile instead of failing the batch on the foreign key; the
 * WHERE clause makes the write monotonic in the device seq, whatever order batches commit in — except for rows
 * written as a seq reset (`resetParam` true), which may go below the stored seq but never behind the stored
 * receive time. updated_at is the write's wall clock (clock_timestamp), so publish-to-commit latency can be read
 * off the row.
 */
function upsertTelemetrySql(source: string, filter: string, resetParam: string): string {
  return `insert into vehicle_state (vehicle_id, lat, lon, speed_kph, heading_deg, energy_pct, odometer_km, ignition, locked,
                                doors_closed, online, seq, device_ts, received_at, clock_skew_ms, updated_at)
     select u.vehicle_id, u.lat, u.lon, u.speed_kph, u.heading_deg, u.energy_pct, u.odometer_km, u.ignition, u.locked,
            u.doors_closed, u.online, u.seq, u.device_ts, u.received_at, u.clock_skew_ms, clock_timestamp()
       from ${source}
       join vehicles v on v.id = u.vehicle_id
       ${filter}
     on conflict (vehicle_id) do update set ${telemetrySet('vehicle_state', 'excluded', 'excluded.updated_at')}
     where ${monotonic('vehicle_state', 'excluded', resetParam)}`;
}

/** The same write as upsertTelemetrySql for the vehicles that have a row, from the staging table (PostgreSQL). */
function updateTelemetryFromStageSql(reset: boolean): string {
  return `update vehicle_state s set ${telemetrySet('s', 'u', 'clock_timestamp()')}
       from vehicle_state_stage u
      where s.vehicle_id = u.vehicle_id and u.seq_reset = ${reset} and (${monotonic('s', 'u', String(reset))})`;
}

/** The columns a telemetry write sets on `row` from `from` (received_at never goes back). */
function telemetrySet(row: string, from: string, updatedAt: string): string {
  const copied = ['lat', 'lon', 'speed_kph', 'heading_deg', 'energy_pct', 'odometer_km', 'ignition', 'locked', 'doors_closed']
    .concat(['online', 'seq', 'device_ts', 'clock_skew_ms'])
    .map((c) => `${c} = ${from}.${c}`);
  return [...copied, `received_at = greatest(${row}.received_at, ${from}.received_at)`, `updated_at = ${updatedAt}`].join(', ');
}

/** When a telemetry write may replace `row`: a higher seq, or a seq reset not behind the stored receive time. */
function monotonic(row: string, from: string, reset: string): string {
  return `${row}.seq is null or ${row}.seq < ${from}.seq
        or (${reset} and (${row}.received_at is null or ${row}.received_at <= ${from}.received_at))`;
}

/** One multi-row upsert from parallel arrays (unnest keeps the SQL text constant whatever the batch size). */
async function upsertTelemetry(tx: Queryable, rows: TelemetryStateRow[], seqReset: boolean): Promise<void> {
  await tx.query(
    upsertTelemetrySql(
      `(select a.vehicle_id, a.lat, a.lon, a.speed_kph, a.heading_deg, a.energy_pct, a.odometer_km, a.ignition, a.locked,
               a.doors_closed, a.online, a.seq, a.device_ts, to_timestamp(a.received_ms / 1000.0) as received_at, a.clock_skew_ms
          from unnest($1::text[], $2::float8[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::float8[],
                      $8::bool[], $9::bool[], $10::bool[], $11::bool[], $12::bigint[], $13::bigint[], $14::float8[], $15::bigint[])
               as a(vehicle_id, lat, lon, speed_kph, heading_deg, energy_pct, odometer_km, ignition, locked,
                    doors_closed, online, seq, device_ts, received_ms, clock_skew_ms)) u`,
      '',
      '$16::bool',
    ),
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
      rows.map((r) => Math.round(r.clockSkewMs)),
      seqReset,
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
    clockSkewMs: Number(r.clock_skew_ms ?? 0),
  };
}
