import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoFleet } from '../../../../../src/shared/demo-fleet.js';
import { openDatabase, type Db } from '../../../platform/db/index.js';
import { createLogger } from '../../../platform/log.js';
import { dbBackends } from '../../../testing/backends.js';
import { HAZARDOUS_STRINGS } from '../../../testing/hazardous-strings.js';
import { partitionDay, partitionName, TelemetryHistoryRepository, type HistoryRow } from './telemetry-history.repository.js';
import { TelemetryRows } from './telemetry-columns.js';
import { VehicleStateRepository, type TelemetryStateRow } from './vehicle-state.repository.js';
import { VehiclesRepository } from './vehicles.repository.js';

const log = createLogger({ level: 'silent' });
const DAY = 86_400_000;

function historyRow(vehicleId: string, seq: number, receivedAt: number): HistoryRow {
  return {
    vehicleId,
    seq,
    deviceTs: receivedAt - 1_000,
    receivedAt,
    lat: 52.5,
    lon: 13.4,
    speedKph: 10,
    headingDeg: 90,
    energyPct: 50,
    odometerKm: 1000,
    ignition: true,
    locked: false,
    doorsClosed: true,
    clockSkewMs: -1_000,
  };
}

describe('partition names', () => {
  it('round-trips the UTC day', () => {
    const ms = Date.UTC(2030, 0, 31, 23, 59);
    expect(partitionName(ms)).toBe('telemetry_history_p20300131');
    expect(partitionDay('telemetry_history_p20300131')).toBe(Date.UTC(2030, 0, 31));
    expect(partitionDay('telemetry_history_default')).toBeUndefined();
  });
});

describe.each(dbBackends())('telemetry history and seq-reset writes on $name', (backend) => {
  let db: Db;
  let cleanup: () => Promise<void>;
  let history: TelemetryHistoryRepository;
  let states: VehicleStateRepository;

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    db = await openDatabase(created.overrides, log);
    history = new TelemetryHistoryRepository(db);
    states = new VehicleStateRepository(db);
    await new VehiclesRepository(db).upsert(demoFleet(3));
  });
  afterAll(async () => {
    await db?.close();
    await cleanup?.();
  });

  it('creates partitions ahead (today + 2 days), idempotently, and drops those past retention', async () => {
    const now = Date.UTC(2031, 5, 10, 12);
    const first = await history.maintain(now, 3, now - 30 * DAY);
    expect(first.created).toEqual(['telemetry_history_p20310610', 'telemetry_history_p20310611', 'telemetry_history_p20310612']);
    expect((await history.maintain(now, 3, now - 30 * DAY)).created).toEqual([]);
    // 40 days later with 30 days of retention: the June partitions go, the new days are created
    const later = now + 40 * DAY;
    const second = await history.maintain(later, 3, later - 30 * DAY);
    expect(second.dropped).toEqual(first.created);
    expect(second.created).toHaveLength(3);
    expect(await history.listPartitions()).toEqual(expect.arrayContaining(second.created));
    expect(await history.listPartitions()).not.toContain(first.created[0]);
  });

  it('writes history rows in one statement into the day partitions; a row without a partition fails the chunk', async () => {
    const id = demoFleet(1)[0]!.id;
    const now = Date.now();
    await history.maintain(now - DAY, 3, now - 30 * DAY);
    const rows = [historyRow(id, 1, now - DAY + 1), historyRow(id, 2, now), historyRow(id, 3, now + 1)];
    await history.insert(TelemetryRows.from(rows));
    const { rows: stored } = await db.query<{ seq: number; part: string; clock_skew_ms: number }>(
      'select seq::float8 as seq, tableoid::regclass::text as part, clock_skew_ms::float8 as clock_skew_ms from telemetry_history where vehicle_id = $1 order by seq',
      [id],
    );
    expect(stored.map((r) => [Number(r.seq), r.part, Number(r.clock_skew_ms)])).toEqual([
      [1, partitionName(now - DAY + 1), -1_000],
      [2, partitionName(now), -1_000],
      [3, partitionName(now + 1), -1_000],
    ]);
    await expect(history.insert(TelemetryRows.from([historyRow(id, 4, Date.UTC(1999, 0, 1))]))).rejects.toThrow();
  });

  it('a seq-reset row may go below the stored seq, a normal one never; clock skew is stored', async () => {
    const id = demoFleet(2)[1]!.id;
    const base: TelemetryStateRow = {
      vehicleId: id,
      lat: 52.5,
      lon: 13.4,
      speedKph: 1,
      headingDeg: 1,
      energyPct: 1,
      odometerKm: 1,
      ignition: false,
      locked: true,
      doorsClosed: true,
      online: true,
      seq: 900,
      deviceTs: 1,
      receivedAt: 1_790_000_000_000,
      clockSkewMs: 3_600_000,
    };
    await states.writeBatch({ telemetry: [base], statuses: [] });
    // rowExists: the writer knows the row is there (PostgreSQL then only updates it); the same rules hold
    await states.writeBatch({ telemetry: [{ ...base, seq: 2, lat: 10, receivedAt: base.receivedAt + 1, rowExists: true }], statuses: [] });
    expect((await states.listLive()).find((s) => s.vehicleId === id)).toMatchObject({ seq: 900, lat: 52.5, clockSkewMs: 3_600_000 });
    await states.writeBatch({
      telemetry: [{ ...base, seq: 2, lat: 11, receivedAt: base.receivedAt + 2, clockSkewMs: 5, seqReset: true, rowExists: true }],
      statuses: [],
    });
    expect((await states.listLive()).find((s) => s.vehicleId === id)).toMatchObject({ seq: 2, lat: 11, clockSkewMs: 5 });
    // a reset never goes behind the stored receive time; a normal write above the stored seq goes through
    await states.writeBatch({
      telemetry: [{ ...base, seq: 1, lat: 12, receivedAt: base.receivedAt + 1, seqReset: true, rowExists: true }],
      statuses: [],
    });
    expect((await states.listLive()).find((s) => s.vehicleId === id)).toMatchObject({ seq: 2, lat: 11 });
    // one batch: a known row updated, an unknown one inserted (a third vehicle's first row)
    const other = demoFleet(3)[2]!.id;
    await states.writeBatch({
      telemetry: [
        { ...base, seq: 3, lat: 13, receivedAt: base.receivedAt + 3, rowExists: true },
        { ...base, vehicleId: other, seq: 7, lat: 14 },
      ],
      statuses: [],
    });
    const live = await states.listLive();
    expect(live.find((s) => s.vehicleId === id)).toMatchObject({ seq: 3, lat: 13 });
    expect(live.find((s) => s.vehicleId === other)).toMatchObject({ seq: 7, lat: 14 });
  });
});

/**
 * The bulk writers (COPY on PostgreSQL, parallel arrays on PGlite) must store exactly what they were given: ids
 * that need escaping in COPY's text format, every field, and each row in the partition of its own UTC day.
 */
describe.each(dbBackends())('bulk writes of hazardous ids on $name', (backend) => {
  let db: Db;
  let cleanup: () => Promise<void>;
  const ids = HAZARDOUS_STRINGS.map((s, i) => `${s}#${i}`);

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    db = await openDatabase(created.overrides, log);
    await new VehiclesRepository(db).upsert(
      ids.map((id, i) => ({ id, plate: `HZ-${i}`, make: 'Test', model: 'Escape', energyType: 'electric', homeZone: 'z' })),
    );
  });
  afterAll(async () => {
    await db?.close();
    await cleanup?.();
  });

  it('history: every field stored as given, rows on both sides of midnight in their own day partitions', async () => {
    const history = new TelemetryHistoryRepository(db);
    const midnight = Date.UTC(2032, 2, 1); // 29 Feb 2032 (a leap day) → 1 Mar 2032
    await history.maintain(midnight - DAY, 2, 0);
    const rows: HistoryRow[] = ids.flatMap((vehicleId, i) =>
      [midnight - 1, midnight, midnight + 1 + i].map((receivedAt, k) => ({
        vehicleId,
        seq: 10 * i + k,
        deviceTs: receivedAt - 250 - i,
        receivedAt,
        lat: -33.5 + i / 7,
        lon: 151.25 - k / 3,
        speedKph: k * 12.5,
        headingDeg: 359.9,
        energyPct: 0.1 * i,
        odometerKm: 123_456.789 + i,
        ignition: k % 2 === 0,
        locked: k === 1,
        doorsClosed: i % 2 === 0,
        clockSkewMs: -250.4 - i,
      })),
    );
    await history.insert(TelemetryRows.from(rows));
    const { rows: stored } = await db.query<HistoryRow & { part: string }>(
      `select vehicle_id as "vehicleId", seq::float8 as seq, device_ts::float8 as "deviceTs",
              round(extract(epoch from received_at) * 1000)::float8 as "receivedAt", lat, lon, speed_kph as "speedKph",
              heading_deg as "headingDeg", energy_pct as "energyPct", odometer_km as "odometerKm", ignition, locked,
              doors_closed as "doorsClosed", clock_skew_ms::float8 as "clockSkewMs", tableoid::regclass::text as part
         from telemetry_history where received_at >= $1::timestamptz and received_at < $2::timestamptz order by seq`,
      [new Date(midnight - DAY).toISOString(), new Date(midnight + DAY).toISOString()],
    );
    expect(stored).toEqual(
      rows.map((r) => ({ ...r, clockSkewMs: Math.round(r.clockSkewMs), part: partitionName(r.receivedAt) })).sort((a, b) => a.seq - b.seq),
    );
    expect(new Set(stored.map((r) => r.part))).toEqual(new Set(['telemetry_history_p20320229', 'telemetry_history_p20320301']));
  });

  it('latest state: telemetry, a seq reset and a status in one batch, for ids that need escaping', async () => {
    const states = new VehicleStateRepository(db);
    const t0 = 1_900_000_000_000;
    const state = (vehicleId: string, i: number, seq: number, at: number): TelemetryStateRow => ({
      vehicleId,
      lat: 10 + i,
      lon: 20 + i,
      speedKph: seq,
      headingDeg: 1.5,
      energyPct: 50 + i / 10,
      odometerKm: 1_000 + seq,
      ignition: true,
      locked: false,
      doorsClosed: true,
      online: true,
      seq,
      deviceTs: at - 5,
      receivedAt: at,
      clockSkewMs: -5,
    });
    await states.writeBatch({ telemetry: ids.map((id, i) => state(id, i, 100, t0)), statuses: [] });
    // next batch: the first id goes back in seq (stale, ignored), the second resets its seq (accepted), the rest
    // move on; the last one also has a later offline status
    const next = ids.map((id, i) =>
      i === 0 ? state(id, i, 99, t0 + 1) : i === 1 ? { ...state(id, i, 3, t0 + 1), seqReset: true } : state(id, i, 101, t0 + 1),
    );
    await states.writeBatch({ telemetry: next, statuses: [{ vehicleId: ids.at(-1)!, online: false, receivedAt: t0 + 2 }] });
    const live = new Map((await states.listLive()).map((s) => [s.vehicleId, s]));
    expect([...live.keys()].sort()).toEqual([...ids].sort());
    expect(live.get(ids[0]!)).toMatchObject({ seq: 100, receivedAt: t0 });
    expect(live.get(ids[1]!)).toMatchObject({ seq: 3, speedKph: 3, receivedAt: t0 + 1 });
    for (const [i, id] of ids.entries()) {
      if (i < 2) continue;
      const { seqReset: _, ...expected } = {
        ...next[i]!,
        online: i !== ids.length - 1,
        receivedAt: i === ids.length - 1 ? t0 + 2 : t0 + 1,
      };
      expect(live.get(id)).toEqual(expected);
    }
  });
});
