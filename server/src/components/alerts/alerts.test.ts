/**
 * The alerts component against a real database (PGlite always, PostgreSQL when DATABASE_URL is set), driven
 * through the domain event bus: dedup, hysteresis, auto-resolve, restarts, two instances on one database.
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SERVICE_AREA } from '../../../../src/shared/service-area.js';
import type { DeviceEvent } from '../../../../src/shared/device-protocol.js';
import { openDatabase, type Db } from '../../platform/db/index.js';
import { DomainEvents } from '../../platform/domain-events.js';
import { createLogger } from '../../platform/log.js';
import { dbBackends } from '../../testing/backends.js';
import { metricValue } from '../../testing/metrics.js';
import { sample, westEdge } from './domain/alert-engine.test-helpers.js';
import { startAlertsComponent } from './index.js';

const log = createLogger({ level: 'silent' });

interface Row {
  id: string;
  kind: string;
  status: string;
  occurrences: number;
  resolved_by: string | null;
  resolution: string | null;
  server_seq: string;
}

describe.each(dbBackends())('alerts component on $name', (backend) => {
  let db: Db;
  let url: string | undefined;
  let cleanup: () => Promise<void>;
  let run = 0;

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    url = created.overrides.databaseUrl;
    db = await openDatabase(created.overrides, log);
  });
  afterAll(async () => {
    await db?.close();
    await cleanup?.();
  });

  async function start(options: { db?: Db; now?: () => number } = {}) {
    const events = new DomainEvents(log);
    const metrics = new Registry();
    const alerts = await startAlertsComponent({
      db: options.db ?? db,
      events,
      log,
      metrics,
      zone: DEFAULT_SERVICE_AREA,
      ...(options.now ? { now: options.now } : {}),
    });
    return { events, metrics, alerts };
  }
  const vehicle = () => `alerts-${backend.name}-${++run}-${Math.random().toString(36).slice(2, 8)}`;
  const rows = async (vehicleId: string) =>
    (
      await db.query<Row>(
        'select id::text as id, kind, status, occurrences, resolved_by, resolution, server_seq::text as server_seq from alerts where vehicle_id = $1 order by alerts.server_seq',
        [vehicleId],
      )
    ).rows;
  const crash = (seq: number): DeviceEvent => ({ v: 1, seq, ts: 1_700_000_000_000, type: 'crash_detected' });

  it('a condition persisting over 1,000 samples → one alert; a new start → one more occurrence, same row', async () => {
    const { events, alerts, metrics } = await start();
    const id = vehicle();
    for (let i = 0; i < 1000; i++) {
      events.emit('vehicle.telemetry', { vehicleId: id, state: sample(i * 1000, { id, speedKph: 40, ignition: true }), clockSkewMs: 0 });
    }
    await alerts.flush();
    expect(await rows(id)).toMatchObject([{ kind: 'movement_without_rental', status: 'open', occurrences: 1 }]);
    // stops, then drives off again: still one open alert, counted twice
    events.emit('vehicle.telemetry', { vehicleId: id, state: sample(1_001_000, { id }), clockSkewMs: 0 });
    for (let t = 1_002_000; t < 1_100_000; t += 1000)
      events.emit('vehicle.telemetry', { vehicleId: id, state: sample(t, { id, speedKph: 40, ignition: true }), clockSkewMs: 0 });
    await alerts.flush();
    expect(await rows(id)).toMatchObject([{ kind: 'movement_without_rental', status: 'open', occurrences: 2 }]);
    expect(await metricValue(metrics, 'fleetdesk_alerts_raised_total', { kind: 'movement_without_rental' })).toBe(1);
    expect(await metricValue(metrics, 'fleetdesk_alerts_open', { kind: 'movement_without_rental' })).toBeGreaterThanOrEqual(1);
    await alerts.stop();
  });

  it('zone boundary: ±20 m oscillation → no alert; 100 m out → one alert; ±20 m → no flapping; 100 m in → resolved', async () => {
    const { events, alerts, metrics } = await start();
    const id = vehicle();
    let t = 0;
    const at = (m: number) =>
      events.emit('vehicle.telemetry', { vehicleId: id, state: sample((t += 1000), { id, lon: westEdge(m) }), clockSkewMs: 0 });
    for (let i = 0; i < 400; i++) at(i % 2 === 0 ? 20 : -20);
    await alerts.flush();
    expect(await rows(id)).toEqual([]);
    at(100);
    at(100);
    for (let i = 0; i < 400; i++) at(i % 2 === 0 ? 20 : -20);
    await alerts.flush();
    expect(await rows(id)).toMatchObject([{ kind: 'zone_exit', status: 'open', occurrences: 1 }]);
    at(-100);
    await alerts.flush();
    expect(await rows(id)).toMatchObject([
      { kind: 'zone_exit', status: 'resolved', resolved_by: 'system', resolution: 'auto: back inside the operating zone' },
    ]);
    expect(await metricValue(metrics, 'fleetdesk_alerts_resolved_total', { kind: 'zone_exit', by: 'system' })).toBe(1);
    await alerts.stop();
  });

  it('offline → alert; online → resolved automatically; every write takes a new server_seq', async () => {
    const { events, alerts } = await start();
    const id = vehicle();
    events.emit('vehicle.online', { vehicleId: id, online: false, at: 1_000, source: 'last_will' });
    await alerts.flush();
    const [raised] = await rows(id);
    expect(raised).toMatchObject({ kind: 'device_offline', status: 'open' });
    events.emit('vehicle.online', { vehicleId: id, online: true, at: 2_000, source: 'status' });
    await alerts.flush();
    const [resolved] = await rows(id);
    expect(resolved).toMatchObject({ id: raised!.id, status: 'resolved', resolved_by: 'system', resolution: 'auto: back online (status)' });
    expect(BigInt(resolved!.server_seq)).toBeGreaterThan(BigInt(raised!.server_seq));
    await alerts.stop();
  });

  it('low energy with hysteresis; crash from a device event', async () => {
    const { events, alerts } = await start();
    const id = vehicle();
    let t = 0;
    for (const pct of [50, 14, 12, 16, 19, 13])
      events.emit('vehicle.telemetry', { vehicleId: id, state: sample((t += 1000), { id, energyPct: pct }), clockSkewMs: 0 });
    events.emit('vehicle.event', { vehicleId: id, event: crash(7), receivedAt: (t += 1000) });
    events.emit('vehicle.event', { vehicleId: id, event: crash(8), receivedAt: (t += 1000) });
    await alerts.flush();
    expect(await rows(id)).toMatchObject([
      { kind: 'low_energy', status: 'open', occurrences: 1 },
      { kind: 'crash', status: 'open', occurrences: 2 },
    ]);
    events.emit('vehicle.telemetry', { vehicleId: id, state: sample(t + 1000, { id, energyPct: 21 }), clockSkewMs: 0 });
    await alerts.flush();
    expect((await rows(id)).map((r) => `${r.kind}:${r.status}`).sort()).toEqual(['crash:open', 'low_energy:resolved']);
    await alerts.stop();
  });

  it('door open while parked only after the dwell time (sweep, injected clock)', async () => {
    let clock = 0;
    const { events, alerts } = await start({ now: () => clock });
    const id = vehicle();
    events.emit('vehicle.telemetry', { vehicleId: id, state: sample(0, { id, doorsClosed: false }), clockSkewMs: 0 });
    clock = 119_000;
    alerts.sweep();
    await alerts.flush();
    expect(await rows(id)).toEqual([]);
    clock = 121_000;
    alerts.sweep();
    await alerts.flush();
    expect(await rows(id)).toMatchObject([{ kind: 'door_open_parked', status: 'open' }]);
    await alerts.stop();
  });

  it('a restart keeps dedup and auto-resolve: the new engine adopts what is open', async () => {
    const id = vehicle();
    const first = await start();
    first.events.emit('vehicle.telemetry', { vehicleId: id, state: sample(1000, { id, energyPct: 5 }), clockSkewMs: 0 });
    first.events.emit('vehicle.online', { vehicleId: id, online: false, at: 1500, source: 'heartbeat_timeout' });
    await first.alerts.stop();

    const second = await start();
    expect(second.alerts.openKinds(id).sort()).toEqual(['device_offline', 'low_energy']);
    for (let i = 0; i < 50; i++)
      second.events.emit('vehicle.telemetry', {
        vehicleId: id,
        state: sample(2000 + i, { id, energyPct: 5, online: false }),
        clockSkewMs: 0,
      });
    second.events.emit('vehicle.online', { vehicleId: id, online: false, at: 3000, source: 'heartbeat_timeout' });
    await second.alerts.flush();
    expect((await rows(id)).map((r) => `${r.kind}:${r.status}:${r.occurrences}`).sort()).toEqual([
      'device_offline:open:1',
      'low_energy:open:1',
    ]);
    second.events.emit('vehicle.online', { vehicleId: id, online: true, at: 4000, source: 'status' });
    second.events.emit('vehicle.telemetry', { vehicleId: id, state: sample(5000, { id, energyPct: 60 }), clockSkewMs: 0 });
    await second.alerts.flush();
    expect((await rows(id)).map((r) => `${r.kind}:${r.status}`).sort()).toEqual(['device_offline:resolved', 'low_energy:resolved']);
    await second.alerts.stop();
  });

  it('two engine instances raising the same condition at once → one alert row', async () => {
    // On PostgreSQL each instance has its own pool (as two servers would); PGlite has one connection to share.
    const secondDb = url ? await openDatabase({ databaseUrl: url, dataDir: 'memory://' }, log) : db;
    try {
      const a = await start();
      const b = await start({ db: secondDb });
      const ids = Array.from({ length: 20 }, () => vehicle());
      for (const id of ids) {
        for (const instance of [a, b]) {
          instance.events.emit('vehicle.online', { vehicleId: id, online: false, at: 1000, source: 'heartbeat_timeout' });
          instance.events.emit('vehicle.event', { vehicleId: id, event: crash(1), receivedAt: 1000 });
        }
      }
      await Promise.all([a.alerts.flush(), b.alerts.flush()]);
      const { rows: counts } = await db.query<{ kind: string; n: number; occ: number }>(
        `select kind, count(*)::int as n, max(occurrences)::int as occ from alerts where vehicle_id = any($1::text[]) group by kind order by kind`,
        [ids],
      );
      expect(counts).toEqual([
        { kind: 'crash', n: 20, occ: 1 },
        { kind: 'device_offline', n: 20, occ: 1 },
      ]);
      // instance B learns about A's alerts (reconcile) and resolves them when the vehicle comes back through B
      await b.alerts.reconcile();
      b.events.emit('vehicle.online', { vehicleId: ids[0]!, online: true, at: 2000, source: 'status' });
      await b.alerts.flush();
      expect((await rows(ids[0]!)).map((r) => `${r.kind}:${r.status}`).sort()).toEqual(['crash:open', 'device_offline:resolved']);
      await a.alerts.stop();
      await b.alerts.stop();
    } finally {
      if (secondDb !== db) await secondDb.close();
    }
  });

  it('the database refuses a second open alert per (vehicle, kind) even to a direct insert', async () => {
    const id = vehicle();
    const insert = () =>
      db.query(
        `insert into alerts (id, vehicle_id, kind, severity, details, first_seen_at, last_seen_at, server_seq) values (gen_random_uuid(), $1, 'tamper', 'critical', '{}', now(), now(), fleetdesk_next_seq())`,
        [id],
      );
    await insert();
    await expect(insert()).rejects.toThrow(/alerts_one_open_per_vehicle_kind|duplicate key/);
  });
});
