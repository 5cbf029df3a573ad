import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoFleet } from '../../../../../src/shared/demo-fleet.js';
import { openDatabase, type Db } from '../../../platform/db/index.js';
import { createLogger } from '../../../platform/log.js';
import { dbBackends } from '../../../testing/backends.js';
import { VehicleStateRepository, type TelemetryStateRow } from './vehicle-state.repository.js';
import { VehiclesRepository } from './vehicles.repository.js';

const log = createLogger({ level: 'silent' });

function row(vehicleId: string, seq: number, lat: number, receivedAt = Date.now()): TelemetryStateRow {
  return {
    vehicleId,
    lat,
    lon: 13.4,
    speedKph: 5,
    headingDeg: 10,
    energyPct: 60,
    odometerKm: 100,
    ignition: true,
    locked: false,
    doorsClosed: true,
    online: true,
    seq,
    deviceTs: 1_700_000_000_000 + seq,
    receivedAt,
    clockSkewMs: -5,
  };
}

describe.each(dbBackends())('fleet repositories on $name', (backend) => {
  let db: Db;
  let cleanup: () => Promise<void>;
  let vehicles: VehiclesRepository;
  let states: VehicleStateRepository;

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    db = await openDatabase(created.overrides, log);
    vehicles = new VehiclesRepository(db);
    states = new VehicleStateRepository(db);
  });
  afterAll(async () => {
    await db?.close();
    await cleanup?.();
  });

  it('seeding is idempotent and does not bump the replication sequence for unchanged rows', async () => {
    expect(await vehicles.upsert(demoFleet(50))).toBe(50);
    const before = await db.query<{ id: string; server_seq: string }>('select id, server_seq::text from vehicles order by id');
    expect(await vehicles.upsert(demoFleet(50))).toBe(0);
    const after = await db.query<{ id: string; server_seq: string }>('select id, server_seq::text from vehicles order by id');
    expect(after.rows).toEqual(before.rows);

    const changed = { ...demoFleet(1)[0]!, homeZone: 'elsewhere' };
    expect(await vehicles.upsert([changed])).toBe(1);
    const { rows } = await db.query<{ server_seq: string }>('select server_seq::text from vehicles where id = $1', [changed.id]);
    const maxBefore = Math.max(...before.rows.map((r) => Number(r.server_seq)));
    expect(Number(rows[0]!.server_seq)).toBeGreaterThan(maxBefore);
    expect((await vehicles.list()).find((v) => v.id === changed.id)).toEqual(changed);
  });

  it('never moves state backwards, whatever order batches arrive in', async () => {
    const [a, b] = demoFleet(2).map((v) => v.id) as [string, string];
    await states.writeBatch({ telemetry: [row(a, 5, 52.5), row(b, 1, 52.1)], statuses: [] });
    await states.writeBatch({ telemetry: [row(a, 3, 10), row(b, 2, 52.2)], statuses: [] });
    await states.writeBatch({ telemetry: [row(a, 5, 11)], statuses: [] });
    const live = await states.listLive();
    expect(live.find((s) => s.vehicleId === a)).toMatchObject({ seq: 5, lat: 52.5 });
    expect(live.find((s) => s.vehicleId === b)).toMatchObject({ seq: 2, lat: 52.2 });
    expect([...(await states.lastTelemetry())].map(([id, t]) => [id, t.seq])).toEqual(
      expect.arrayContaining([
        [a, 5],
        [b, 2],
      ]),
    );
  });

  it('stores status without telemetry, and skips rows of vehicles not in the registry', async () => {
    const c = demoFleet(3)[2]!.id;
    await states.writeBatch({
      telemetry: [row('not-registered', 1, 1)],
      statuses: [
        { vehicleId: c, online: true, receivedAt: Date.now() },
        { vehicleId: 'ghost', online: true, receivedAt: null },
      ],
    });
    const { rows } = await db.query<{ vehicle_id: string; online: boolean; seq: string | null }>(
      'select vehicle_id, online, seq from vehicle_state where vehicle_id = any($1::text[])',
      [[c, 'ghost', 'not-registered']],
    );
    expect(rows).toEqual([{ vehicle_id: c, online: true, seq: null }]);
    expect((await states.listLive()).map((s) => s.vehicleId)).not.toContain(c);
    expect(await states.countOnline(Date.now() - 60_000)).toBe(3);
  });

  it('round-trips every field and the receive time', async () => {
    const d = demoFleet(4)[3]!.id;
    const written = { ...row(d, 9, 52.51, 1_790_000_000_123), online: false, ignition: false };
    await states.writeBatch({ telemetry: [written], statuses: [] });
    expect((await states.listLive()).find((s) => s.vehicleId === d)).toEqual(written);
  });
});
