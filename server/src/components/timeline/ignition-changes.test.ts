/**
 * The materialised trips give the timeline the same entries as the window over the raw samples (PGlite, and
 * PostgreSQL when DATABASE_URL is set): the trip entries of a read are compared with an independent derivation in
 * JavaScript from the same samples — before anything is materialised (all from the samples), half-way (changes up
 * to the watermark from the table, the rest from the samples), after a restart caught up, and after retention
 * dropped the oldest day. Batches of at most 7 minutes cut trips in two, one trip crosses midnight (two day
 * partitions); reads page with `before`, cut the range inside a trip and start exactly on a change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../platform/db/index.js';
import { createLogger } from '../../platform/log.js';
import { dbBackends } from '../../testing/backends.js';
import { readTimeline } from './data/timeline.repository.js';
import { IgnitionMaterializer } from './domain/ignition-materializer.js';
import type { TimelineQuery } from './model.js';

const log = createLogger({ level: 'silent' });
const DAY = 86_400_000;
const MIN = 60_000;
const D0 = Date.UTC(2026, 2, 10);
const LAG = 30_000;

interface Sample {
  vehicleId: string;
  at: number;
  seq: number;
  ignition: boolean;
  odometerKm: number;
}

/** Car A: a sample every 20 s for three days; trips (ignition on) in these [start, end) minutes from D0. */
const TRIPS_A: Array<[number, number]> = [
  [60, 100],
  [130, 131],
  [300, 420],
  [24 * 60 - 50, 24 * 60 + 70], // across midnight: two partitions
  [26 * 60, 26 * 60 + 33],
  [47 * 60 + 59, 48 * 60 + 1],
  [60 * 60, 60 * 60 + 45],
  [71 * 60, 72 * 60], // still on at the end of the history
];

function samplesOfA(id: string): Sample[] {
  const out: Sample[] = [];
  for (let t = 0, seq = 1; t < 3 * DAY; t += 20_000, seq++) {
    const minute = t / MIN;
    const ignition = TRIPS_A.some(([a, b]) => minute >= a && minute < b);
    out.push({ vehicleId: id, at: D0 + t, seq, ignition, odometerKm: 1000 + t / 60_000 });
  }
  return out;
}

/** Car C: sparse, toggling often, two samples in one millisecond (ordered by seq) with different ignition. */
function samplesOfC(id: string): Sample[] {
  const out: Sample[] = [];
  let seq = 1;
  for (let t = 5 * MIN; t < 3 * DAY; t += 97 * MIN) {
    out.push({ vehicleId: id, at: D0 + t, seq: seq++, ignition: Math.floor(t / (97 * MIN)) % 3 !== 0, odometerKm: 500 + t / DAY });
    if (seq % 7 === 0) out.push({ vehicleId: id, at: D0 + t, seq: seq++, ignition: seq % 2 === 0, odometerKm: 500 + t / DAY });
  }
  return out;
}

async function insertSamples(db: Db, samples: Sample[]): Promise<void> {
  for (let i = 0; i < samples.length; i += 5_000) {
    const chunk = samples.slice(i, i + 5_000);
    await db.query(
      `insert into telemetry_history (vehicle_id, seq, device_ts, received_at, lat, lon, speed_kph, heading_deg, energy_pct,
                                      odometer_km, ignition, locked, doors_closed, clock_skew_ms)
       select u.v, u.seq, u.at, to_timestamp(u.at / 1000.0), 52.5, 13.4, 0, 90, 70, u.odo, u.ign, false, true, 0
         from unnest($1::text[], $2::bigint[], $3::bigint[], $4::float8[], $5::bool[]) as u(v, seq, at, odo, ign)`,
      [
        chunk.map((s) => s.vehicleId),
        chunk.map((s) => s.seq),
        chunk.map((s) => s.at),
        chunk.map((s) => s.odometerKm),
        chunk.map((s) => s.ignition),
      ],
    );
  }
}

interface TripEntry {
  id: string;
  at: number;
  event: string;
  odometerKm: number;
  startedAt: number | null;
  startOdometerKm: number | null;
}

/**
 * The trips of a read, derived here from the samples the way the timeline defines them: in the range, a sample
 * whose ignition differs from the sample before it (also in the range); newest first; a page of the newest changes
 * (+3) carries each end's start; then the cursor and the limit.
 */
function expectedTrips(samples: Sample[], vehicleId: string, q: Pick<TimelineQuery, 'from' | 'to' | 'before' | 'limit'>): TripEntry[] {
  const from = q.from ?? 0;
  const upper = Math.min(q.to ?? Infinity, q.before?.at ?? Infinity);
  const inRange = samples
    .filter((s) => s.vehicleId === vehicleId && s.at >= from && s.at <= upper)
    .sort((a, b) => a.at - b.at || a.seq - b.seq);
  const changes = inRange.filter((s, i) => i > 0 && inRange[i - 1]!.ignition !== s.ignition).reverse();
  const page = changes.slice(0, q.limit + 3);
  const entries = page.map((c, i): TripEntry => {
    const prev = page[i + 1];
    const start = !c.ignition && prev?.ignition ? prev : undefined;
    return {
      id: `trip:${c.at}:${c.seq}`,
      at: c.at,
      event: c.ignition ? 'started' : 'ended',
      odometerKm: c.odometerKm,
      startedAt: start ? start.at : null,
      startOdometerKm: start ? start.odometerKm : null,
    };
  });
  const byCursor = (e: TripEntry) =>
    !q.before || e.at < q.before.at || (e.at === q.before.at && Buffer.compare(Buffer.from(e.id), Buffer.from(q.before.id)) < 0);
  return entries
    .filter(byCursor)
    .sort((a, b) => b.at - a.at || Buffer.compare(Buffer.from(b.id), Buffer.from(a.id)))
    .slice(0, q.limit);
}

describe.each(dbBackends())('materialised ignition changes on $name', (backend) => {
  let db: Db;
  let cleanup: () => Promise<void>;
  const A = 'IGN-A';
  const B = 'IGN-B';
  const C = 'IGN-C';
  let samples: Sample[] = [];

  const read = async (
    vehicleId: string,
    q: Partial<Pick<TimelineQuery, 'from' | 'to' | 'before' | 'limit'>> = {},
  ): Promise<TripEntry[]> => {
    const rows = await readTimeline(
      db,
      { vehicleId, from: q.from ?? null, to: q.to ?? null, before: q.before ?? null, limit: q.limit ?? 100, kinds: ['trip'] },
      false,
    );
    return rows.map((r) => ({
      id: r.id,
      at: r.at,
      event: r.event,
      odometerKm: Number(r.data.odometerKm),
      startedAt: r.data.startedAt === null || r.data.startedAt === undefined ? null : Number(r.data.startedAt),
      startOdometerKm: r.data.startOdometerKm === null || r.data.startOdometerKm === undefined ? null : Number(r.data.startOdometerKm),
    }));
  };

  /** Every read below against the derivation from `samples`: pages by cursor, ranges inside trips and on a change. */
  const expectSameEntries = async (): Promise<number> => {
    let compared = 0;
    const same = async (vehicleId: string, q: Parameters<typeof read>[1] & { limit: number }) => {
      const want = expectedTrips(samples, vehicleId, { from: null, to: null, before: null, ...q });
      expect(await read(vehicleId, q), `${vehicleId} ${JSON.stringify(q)}`).toEqual(want);
      compared += want.length;
      return want;
    };
    for (const car of [A, C]) {
      await same(car, { limit: 100 });
      // paging with before, to the end
      let before: TimelineQuery['before'] = null;
      for (let page = 0; page < 50; page++) {
        const got = await same(car, { limit: 3, before });
        if (got.length < 3) break;
        before = { at: got.at(-1)!.at, id: got.at(-1)!.id };
      }
      // a range that starts and ends inside trips (the midnight trip, the last one)
      await same(car, { limit: 100, from: D0 + (24 * 60 - 20) * MIN, to: D0 + 71.5 * 60 * MIN });
      // a range starting exactly on a change (its previous sample is outside: not a change of this range)
      await same(car, { limit: 100, from: D0 + 300 * MIN, to: D0 + 2 * DAY });
      await same(car, { limit: 2, to: D0 + 1.5 * DAY });
    }
    expect(await read(B)).toEqual(expectedTrips(samples, B, { from: null, to: null, before: null, limit: 100 }));
    return compared;
  };

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    db = await openDatabase(created.overrides, log);
    for (let d = 0; d < 3; d++) {
      const from = D0 + d * DAY;
      const name = `telemetry_history_p${new Date(from).toISOString().slice(0, 10).replaceAll('-', '')}`;
      await db.exec(
        `create table ${name} partition of telemetry_history for values from ('${new Date(from).toISOString()}') to ('${new Date(from + DAY).toISOString()}')`,
      );
    }
    samples = [...samplesOfA(A), ...samplesOfC(C)];
    await insertSamples(db, samples);
  }, 60_000);

  afterAll(async () => {
    await db?.close();
    await cleanup?.();
  });

  const materializer = (now: number) =>
    new IgnitionMaterializer(db, log, { lagMs: LAG, batchRows: 400, maxStepMs: 7 * MIN, now: () => now });
  const stored = async () => (await db.query<{ n: number }>('select count(*)::int as n from ignition_changes')).rows[0]!.n;
  const watermark = async () =>
    (await db.query<{ ms: number }>('select floor(extract(epoch from watermark) * 1000)::float8 as ms from ignition_change_progress'))
      .rows[0]?.ms;

  it('before anything is materialised: every trip from the samples', async () => {
    expect(await watermark()).toBeUndefined();
    expect(await expectSameEntries()).toBeGreaterThan(50);
  });

  it('half-way (trips cut by batches, one across midnight): the table up to the watermark, the samples after it', async () => {
    const half = materializer(D0 + 1.5 * DAY);
    const marks: number[] = [];
    for (let i = 0; i < 2_000; i++) {
      const pass = await half.batch();
      expect(pass.locked).toBe(false);
      marks.push(pass.watermark!);
      if (pass.caughtUp) break;
    }
    expect(marks.at(-1)).toBe(D0 + 1.5 * DAY - LAG);
    expect(await watermark()).toBe(D0 + 1.5 * DAY - LAG);
    // batches of at most 7 minutes: the midnight trip (2 h) spans several, its start and end in different ones
    expect(marks.length).toBeGreaterThan(100);
    const [on, off] = TRIPS_A[3]!.map((m) => D0 + m * MIN);
    expect(marks.filter((w) => w > on! && w < off!).length).toBeGreaterThan(5);
    expect(await stored()).toBeGreaterThan(10);
    await expectSameEntries();
    const midnight = (await read(A, { from: D0 + DAY - 2 * 60 * MIN, to: D0 + DAY + 2 * 60 * MIN })).find((e) => e.event === 'ended')!;
    expect(midnight).toMatchObject({ at: off, startedAt: on });
  });

  it('a restarted materializer goes on from the watermark and catches up; no change stored twice', async () => {
    const end = D0 + 3 * DAY + MIN;
    await materializer(end).catchUp();
    expect(await watermark()).toBe(end - LAG);
    await expectSameEntries();
    // every change of the whole history once: the same count as the derivation over all of it
    const all = [A, C].map((car) => expectedTrips(samples, car, { from: null, to: null, before: null, limit: 10_000 }).length);
    expect(await stored()).toBe(all[0]! + all[1]!);
  });

  it('a trip split by the watermark: its start from the table, its end from the samples after it', async () => {
    const day3 = D0 + 3 * DAY;
    await db.exec(
      `create table telemetry_history_p${new Date(day3).toISOString().slice(0, 10).replaceAll('-', '')} partition of telemetry_history
         for values from ('${new Date(day3).toISOString()}') to ('${new Date(day3 + DAY).toISOString()}')`,
    );
    // the watermark is at day3 + 30 s; B drives after it
    const trip: Sample[] = [40, 50, 60, 70].map((s, i) => ({
      vehicleId: B,
      at: day3 + s * 1000,
      seq: i + 1,
      ignition: s === 50 || s === 60,
      odometerKm: 7 + i,
    }));
    await insertSamples(db, trip);
    samples.push(...trip);
    const want = expectedTrips(samples, B, { from: null, to: null, before: null, limit: 100 });
    expect(want.map((e) => e.event)).toEqual(['ended', 'started']);
    expect(await read(B)).toEqual(want); // both from the samples
    await materializer(day3 + 55_000 + LAG).catchUp();
    expect(await watermark()).toBe(day3 + 55_000);
    expect(await read(B)).toEqual(want); // the start from the table, the end (and its start) from the tail
    await materializer(day3 + 2 * MIN + LAG).catchUp();
    expect(await read(B)).toEqual(want); // both from the table
  });

  it('after retention dropped the oldest day: changes whose previous sample is gone are forgotten', async () => {
    const before = await stored();
    await db.exec(`drop table telemetry_history_p${new Date(D0).toISOString().slice(0, 10).replaceAll('-', '')}`);
    samples = samples.filter((s) => s.at >= D0 + DAY);
    await materializer(D0 + 3 * DAY + 3 * MIN).batch();
    expect(await stored()).toBeLessThan(before);
    await expectSameEntries();
  });

  it('after a database outage the watermark waits for the history written late', async () => {
    const t = D0 + 3 * DAY + 10 * MIN;
    const car = (hold: number, name: string) => ({ hold, name, down: false, now: t });
    for (const run of [car(60_000, 'IGN-D'), car(0, 'IGN-E')]) {
      const outage: Db = { ...db, transaction: (fn) => (run.down ? Promise.reject(new Error('database down')) : db.transaction(fn)) };
      const m = new IgnitionMaterializer(outage, log, { lagMs: LAG, recoveryHoldMs: run.hold, now: () => run.now });
      await m.catchUp();
      const base = (await watermark())!;
      run.down = true;
      run.now = base + LAG + 5_000;
      await expect(m.batch()).rejects.toThrow('database down');
      // back after 100 s; the rows received during the outage are still on their way when the first pass runs
      run.down = false;
      run.now = base + LAG + 100_000;
      await m.batch();
      // received from 26 s after the last good pass (base + lag) on, held in memory through the outage
      const late: Sample[] = [27, 28, 29].map((s, i) => ({
        vehicleId: run.name,
        at: base + s * 1000,
        seq: i + 1,
        ignition: s === 28,
        odometerKm: 1,
      }));
      await insertSamples(db, late);
      run.now = base + LAG + 200_000;
      await m.catchUp();
      expect(await watermark()).toBe(base + 200_000);
      if (run.hold > 0) {
        samples.push(...late);
        expect((await read(run.name)).map((e) => e.event)).toEqual(['ended', 'started']);
        expect(await read(run.name)).toEqual(expectedTrips(samples, run.name, { from: null, to: null, before: null, limit: 100 }));
      } else {
        // the control: without the hold the watermark passed the rows before they were written
        expect(await read(run.name)).toEqual([]);
      }
    }
  });
});
