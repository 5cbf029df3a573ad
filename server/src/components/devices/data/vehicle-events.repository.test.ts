import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoFleet } from '../../../../../src/shared/demo-fleet.js';
import type { DeviceEvent } from '../../../../../src/shared/device-protocol.js';
import { openDatabase, type Db } from '../../../platform/db/index.js';
import { createLogger } from '../../../platform/log.js';
import { dbBackends } from '../../../testing/backends.js';
import { eventKey, VehicleEventsRepository } from './vehicle-events.repository.js';

const log = createLogger({ level: 'silent' });

describe.each(dbBackends())('vehicle events on $name', (backend) => {
  let db: Db;
  let cleanup: () => Promise<void>;
  let events: VehicleEventsRepository;

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    db = await openDatabase(created.overrides, log);
    events = new VehicleEventsRepository(db);
    // fixture rows for the events' foreign key (the fleet component is not under test, nor reachable but through its index.ts)
    for (const v of demoFleet(2)) {
      await db.query('insert into vehicles (id, plate, make, model, energy_type, home_zone) values ($1, $2, $3, $4, $5, $6)', [
        v.id,
        v.plate,
        v.make,
        v.model,
        v.energyType,
        v.homeZone,
      ]);
    }
  });
  afterAll(async () => {
    await db?.close();
    await cleanup?.();
  });

  it('stores each event once: redeliveries and rows of unknown vehicles are skipped', async () => {
    const id = demoFleet(1)[0]!.id;
    const crash: DeviceEvent = { v: 1, seq: 7, ts: 1_790_000_000_000, type: 'crash_detected', lat: 52.5, lon: 13.4, data: { peakG: 4.2 } };
    const door: DeviceEvent = { v: 1, seq: 8, ts: 1_790_000_001_000, type: 'door_opened' };
    const first = await events.insertNew([
      { vehicleId: id, event: crash, receivedAt: 1 },
      { vehicleId: 'ghost', event: door, receivedAt: 1 },
    ]);
    expect([...first]).toEqual([eventKey(id, 7, crash.ts)]);
    const second = await events.insertNew([
      { vehicleId: id, event: crash, receivedAt: 2 },
      { vehicleId: id, event: door, receivedAt: 2 },
    ]);
    expect([...second]).toEqual([eventKey(id, 8, door.ts)]);
    // a reused seq after a device reboot (other ts) is a new event
    const reused = await events.insertNew([{ vehicleId: id, event: { ...door, ts: door.ts + 60_000 }, receivedAt: 3 }]);
    expect(reused.size).toBe(1);
    expect(await events.listFor(id)).toEqual([
      { seq: 7, deviceTs: crash.ts, type: 'crash_detected', lat: 52.5, lon: 13.4, data: { peakG: 4.2 } },
      { seq: 8, deviceTs: door.ts, type: 'door_opened', lat: null, lon: null, data: null },
      { seq: 8, deviceTs: door.ts + 60_000, type: 'door_opened', lat: null, lon: null, data: null },
    ]);
  });
});
