/**
 * Read-only SQL over the fleet's telemetry history (daily partitions on `received_at`: every statement bounds it,
 * so only the range's partitions are read): the range's extent, its points thinned to one sample per time bucket
 * (first and last sample always), its stops and its gaps — all computed in the database, never by sending every
 * sample to Node.
 */
import { STOP_MIN_MS, STOP_SPEED_KPH, type TrackPoint } from '../../../../../src/shared/track.js';
import type { Queryable } from '../../../platform/db/index.js';
import type { TrackQuery, TrackSpan } from '../model.js';

const IN_RANGE = `vehicle_id = $1 and received_at >= to_timestamp($2::float8 / 1000) and received_at <= to_timestamp($3::float8 / 1000)`;
const AT_MS = `(extract(epoch from received_at) * 1000)::float8`;

export async function vehicleExists(q: Queryable, vehicleId: string): Promise<boolean> {
  const { rows } = await q.query(`select 1 from vehicles where id = $1`, [vehicleId]);
  return rows.length > 0;
}

export async function readSpan(q: Queryable, query: TrackQuery): Promise<TrackSpan> {
  const { rows } = await q.query<{ samples: string | number; first_ms: number | null; last_ms: number | null }>(
    `select count(*) as samples, min(${AT_MS}) as first_ms, max(${AT_MS}) as last_ms from telemetry_history where ${IN_RANGE}`,
    [query.vehicleId, query.from, query.to],
  );
  const r = rows[0];
  return {
    samples: Number(r?.samples ?? 0),
    first: r?.first_ms === null || r?.first_ms === undefined ? null : Math.round(Number(r.first_ms)),
    last: r?.last_ms === null || r?.last_ms === undefined ? null : Math.round(Number(r.last_ms)),
  };
}

interface PointRow {
  at_ms: number;
  lat: number;
  lon: number;
  speed_kph: number;
  ignition: boolean;
}
const toPoint = (r: PointRow): TrackPoint => ({
  at: Math.round(Number(r.at_ms)),
  lat: Number(r.lat),
  lon: Number(r.lon),
  speedKph: Number(r.speed_kph),
  ignition: r.ignition,
});

/**
 * The points: every sample when `bucketMs` is 0, else the first sample of each bucket of `bucketMs` from the
 * first sample on, plus the last sample. Ordered by time.
 */
export async function readPoints(q: Queryable, query: TrackQuery, span: TrackSpan, bucketMs: number): Promise<TrackPoint[]> {
  const fields = `${AT_MS} as at_ms, lat, lon, speed_kph, ignition`;
  if (bucketMs === 0) {
    const { rows } = await q.query<PointRow>(`select ${fields} from telemetry_history where ${IN_RANGE} order by received_at, seq`, [
      query.vehicleId,
      query.from,
      query.to,
    ]);
    return rows.map(toPoint);
  }
  const { rows } = await q.query<PointRow>(
    `select at_ms, lat, lon, speed_kph, ignition from (
       (select distinct on (floor((${AT_MS} - $4::float8) / $5::float8)) ${fields}
          from telemetry_history where ${IN_RANGE}
         order by floor((${AT_MS} - $4::float8) / $5::float8), received_at, seq)
       union
       (select ${fields} from telemetry_history where ${IN_RANGE} order by received_at desc, seq desc limit 1)
     ) p order by at_ms`,
    [query.vehicleId, query.from, query.to, span.first, bucketMs],
  );
  return rows.map(toPoint);
}

/** Runs of samples slower than STOP_SPEED_KPH lasting at least STOP_MIN_MS: where, from when to when. */
export async function readStops(q: Queryable, query: TrackQuery): Promise<Array<{ from: number; to: number; lat: number; lon: number }>> {
  const { rows } = await q.query<{ from_ms: number; to_ms: number; lat: number; lon: number }>(
    `select min(at_ms) as from_ms, max(at_ms) as to_ms, avg(lat) as lat, avg(lon) as lon from (
       select ${AT_MS} as at_ms, lat, lon, speed_kph < $4 as still,
              count(*) filter (where speed_kph >= $4) over (order by received_at, seq) as run
         from telemetry_history where ${IN_RANGE}
     ) s where still group by run having max(at_ms) - min(at_ms) >= $5 order by 1`,
    [query.vehicleId, query.from, query.to, STOP_SPEED_KPH, STOP_MIN_MS],
  );
  return rows.map((r) => ({
    from: Math.round(Number(r.from_ms)),
    to: Math.round(Number(r.to_ms)),
    lat: Number(r.lat),
    lon: Number(r.lon),
  }));
}

/** Consecutive samples further apart than `gapMs` (the car was offline between them). */
export async function readGaps(q: Queryable, query: TrackQuery): Promise<Array<{ from: number; to: number }>> {
  const { rows } = await q.query<{ from_ms: number; to_ms: number }>(
    `select prev_ms as from_ms, at_ms as to_ms from (
       select ${AT_MS} as at_ms, lag(${AT_MS}) over (order by received_at, seq) as prev_ms
         from telemetry_history where ${IN_RANGE}
     ) s where at_ms - prev_ms > $4 order by 1`,
    [query.vehicleId, query.from, query.to, query.gapMs],
  );
  return rows.map((r) => ({ from: Math.round(Number(r.from_ms)), to: Math.round(Number(r.to_ms)) }));
}
