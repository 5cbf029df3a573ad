/**
 * The track route against a real server (PGlite, and PostgreSQL when DATABASE_URL is set) over a history written
 * into the telemetry partitions: 9,400 samples at 1 Hz — parked 5 min, a drive, 10 min without a sample (offline),
 * a drive, parked again. The points stay within maxPoints and keep the first and last sample exactly; the stops and
 * the gap are where the history has them; a short range gives every sample; bad ranges and input are 400 problems.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRACK_MAX_RANGE_MS, type Track } from '../../../../src/shared/track.js';
import { startServer, type ServerHandle } from '../../app.js';
import { staffHeaders } from '../../testing/auth.js';
import { dbBackends } from '../../testing/backends.js';
import { call, expectProblem, QUIET } from '../../testing/bookings.js';
import { uniqueTestVehicles } from '../../testing/devices.js';

const S = 1_000;
const DAY = 86_400_000;
/** within today's partition (created at start, with the next two days') */
const BASE = Math.floor(Date.now() / DAY) * DAY + 60 * S;
const LAST = 9_399;
const GAP = [5_000, 5_599] as const;

describe.each(dbBackends())('vehicle track on $name', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void>;
  let carId: string;
  let emptyId: string;
  let dispatcher: Record<string, string>;

  const track = async (query: string, vehicleId = carId, headers = dispatcher) =>
    call<Track>(server, 'GET', `/ops/v1/vehicles/${vehicleId}/track${query}`, { headers });
  const range = (fromS: number, toS: number) => `from=${BASE + fromS * S}&to=${BASE + toS * S}`;

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({ ...created.overrides, ...QUIET, seedVehicles: 0 });
    const [car, empty] = uniqueTestVehicles(2);
    await server.registerVehicles([car!, empty!]);
    carId = car!.id;
    emptyId = empty!.id;
    dispatcher = await staffHeaders(server, 'dispatcher');
    // second i: parked (0–299 s, 9,000 s on), driving east otherwise; no samples from 5,000 to 5,599 s
    await server.db.query(
      `insert into telemetry_history (vehicle_id, seq, device_ts, received_at, lat, lon, speed_kph, heading_deg, energy_pct,
                                      odometer_km, ignition, locked, doors_closed, clock_skew_ms)
       select $1, i, $2::bigint + i * 1000, to_timestamp(($2::bigint + i * 1000) / 1000.0),
              52.5 + 0.0001 * sin(least(greatest(i, 300), 9000) / 100.0),
              13.4 + 0.00001 * (least(greatest(i, 300), 9000) - 300),
              case when i < 300 or i >= 9000 then 0 else 30 end, 90, 80, 1000, i between 300 and 8999, false, true, 0
         from generate_series(0, ${LAST}) as i where i not between ${GAP[0]} and ${GAP[1]}`,
      [carId, BASE],
    );
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  const first = { at: BASE, lat: 52.5 + 0.0001 * Math.sin(3), lon: 13.4, speedKph: 0, ignition: false };
  const last = { at: BASE + LAST * S, lat: 52.5 + 0.0001 * Math.sin(90), lon: 13.4 + 0.00001 * 8700, speedKph: 0, ignition: false };
  const expectPoint = (actual: Track['points'][number] | undefined, expected: typeof first) => {
    expect(actual).toMatchObject({ at: expected.at, speedKph: expected.speedKph, ignition: expected.ignition });
    expect(actual!.lat).toBeCloseTo(expected.lat, 9);
    expect(actual!.lon).toBeCloseTo(expected.lon, 9);
  };

  it('thins the path to at most maxPoints (default 2,000), keeping the first and last sample exactly', async () => {
    const samples = LAST + 1 - (GAP[1] - GAP[0] + 1);
    for (const [query, max] of [
      ['', 2_000],
      ['&maxPoints=500', 500],
      ['&maxPoints=10', 10],
    ] as const) {
      const res = await track(`?${range(0, LAST)}${query}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.samples).toBe(samples);
      expect(res.body.points.length).toBeLessThanOrEqual(max);
      // thinned, not starved: close to the bound
      expect(res.body.points.length).toBeGreaterThan(max * 0.8);
      expect(res.body.bucketMs).toBeGreaterThan(0);
      expectPoint(res.body.points[0], first);
      expectPoint(res.body.points.at(-1), last);
      const times = res.body.points.map((p) => p.at);
      expect(times).toEqual([...times].sort((a, b) => a - b));
      expect(new Set(times).size).toBe(times.length);
    }
  });

  it('gives every sample of a short range', async () => {
    const res = await track(`?${range(100, 399)}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ samples: 300, bucketMs: 0 });
    expect(res.body.points.map((p) => p.at)).toEqual(Array.from({ length: 300 }, (_, i) => BASE + (100 + i) * S));
    expect(res.body.points[250]).toMatchObject({ speedKph: 30, ignition: true });
  });

  it('makes stops and offline gaps explicit, from every sample', async () => {
    const res = await track(`?${range(-600, LAST + 600)}&maxPoints=10`);
    expect(res.status).toBe(200);
    expect(res.body.stops.map(({ from, to }) => ({ from, to }))).toEqual([
      { from: BASE, to: BASE + 299 * S },
      { from: BASE + 9_000 * S, to: BASE + LAST * S },
    ]);
    expect(res.body.stops[0]!.lon).toBeCloseTo(13.4, 9);
    // before the first sample, the ten minutes without one, after the last (the heartbeat timeout is 120 s)
    expect(res.body.gaps).toEqual([
      { from: BASE - 600 * S, to: BASE },
      { from: BASE + (GAP[0] - 1) * S, to: BASE + (GAP[1] + 1) * S },
      { from: BASE + LAST * S, to: BASE + (LAST + 600) * S },
    ]);
  });

  it('a car without history: no points, the whole range a gap', async () => {
    const res = await track(`?${range(0, 3_600)}`, emptyId);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ samples: 0, points: [], stops: [], gaps: [{ from: BASE, to: BASE + 3_600 * S }] });
  });

  it('takes ISO instants, defaults to the last hour, and serves any staff role', async () => {
    const iso = await track(`?from=${new Date(BASE + 100 * S).toISOString()}&to=${new Date(BASE + 109 * S).toISOString()}`);
    expect(iso.body.points).toHaveLength(10);
    const recent = await track('', carId, await staffHeaders(server, 'support'));
    expect(recent.status).toBe(200);
    expect(recent.body.to - recent.body.from).toBe(3_600_000);
  });

  it('answers bad ranges and input with 400 problems, an unknown car with 404, no token with 401', async () => {
    expectProblem(await track(`?from=${BASE + 10 * S}&to=${BASE}`), 400, 'invalid_range');
    expectProblem(await track(`?from=${BASE}&to=${BASE + TRACK_MAX_RANGE_MS + 1}`), 400, 'range_too_long');
    expect((await track(`?from=${BASE}&to=${BASE + TRACK_MAX_RANGE_MS}&maxPoints=10`)).status).toBe(200);
    expectProblem(await track(`?from=yesterday`), 400, 'invalid_instant');
    expectProblem(await track(`?from=2026-01-01T10:00:00`), 400, 'invalid_instant');
    expectProblem(await track(`?maxPoints=9`), 400);
    expectProblem(await track(`?maxPoints=10001`), 400);
    expectProblem(await track(`?maxPoints=abc`), 400);
    expectProblem(await track('', 'no-such-car'), 404, 'vehicle_not_found');
    expect((await call(server, 'GET', `/ops/v1/vehicles/${carId}/track`)).status).toBe(401);
  });
});
