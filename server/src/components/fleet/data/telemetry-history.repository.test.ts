import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoFleet } from '../../../../../src/shared/demo-fleet.js';
import { openDatabase, type Db } from '../../../platform/db/index.js';
import { createLogger } from '../../../platform/log.js';
import { dbBackends } from '../../../testing/backends.js';
import { partitionDay, partitionName, TelemetryHistoryRepository, type HistoryRow } from './telemetry-history.repository.js';
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
    await history.insert(rows);
    const { rows: stored } = await db.query<{ seq: number; part: string; clock_skew_ms: number }>(
      'select seq::float8 as seq, tableoid::regclass::text as part, clock_skew_ms::float8 as clock_skew_ms from telemetry_history where vehicle_id = $1 order by seq',
      [id],
    );
    expect(stored.map((r) => [Number(r.seq), r.part, Number(r.clock_skew_ms)])).toEqual([
      [1, partitionName(now - DAY + 1), -1_000],
      [2, partitionName(now), -1_000],
      [3, partitionName(now + 1), -1_000],
    ]);
    await expect(history.insert([historyRow(id, 4, Date.UTC(1999, 0, 1))])).rejects.toThrow();
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
    await states.writeBatch({ telemetry: [{ ...base, seq: 2, lat: 10, receivedAt: base.receivedAt + 1 }], statuses: [] });
    expect((await states.listLive()).find((s) => s.vehicleId === id)).toMatchObject({ seq: 900, lat: 52.5, clockSkewMs: 3_600_000 });
    await states.writeBatch({
      telemetry: [{ ...base, seq: 2, lat: 11, receivedAt: base.receivedAt + 2, clockSkewMs: 5, seqReset: true }],
      statuses: [],
    });
    expect((await states.listLive()).find((s) => s.vehicleId === id)).toMatchObject({ seq: 2, lat: 11, clockSkewMs: 5 });
  });
});
