/**
 * The specific kinds of unexpected movement through the whole server (PGlite always, PostgreSQL when DATABASE_URL is
 * set): a car in maintenance that moves raises `moved_in_maintenance` — its service state written to the database
 * as any instance would, seen through the bookings component's availability view — a car that rolls locked with the
 * ignition off raises `moved_while_locked`, and a car driven without a rental still raises `movement_without_rental`.
 * Each is stored (migration 018 admits the kinds), listed by the staff API and replicated as an alert document.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERT_KIND_INFO } from '../../../../src/shared/alert-kinds.js';
import { startServer, type ServerHandle } from '../../app.js';
import { staffHeaders } from '../../testing/auth.js';
import { dbBackends } from '../../testing/backends.js';
import { placeVehicle, QUIET, setServiceState } from '../../testing/bookings.js';
import { sample } from './domain/alert-engine.test-helpers.js';

const CAR = (n: number) => `veh-${String(n).padStart(5, '0')}`;

describe.each(dbBackends())('unexpected movement by kind on $name', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({ ...QUIET, ...created.overrides, seedVehicles: 6 });
    for (let i = 1; i <= 6; i++) await placeVehicle(server, CAR(i), { lat: 52.52, lon: 13.405 });
  });
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  /** 70 s of telemetry at 1 Hz from now on (the engine's dwell is 60 s), then the alert changes written. */
  async function drive(vehicleId: string, state: { locked: boolean; ignition: boolean; speedKph: number }): Promise<void> {
    const t0 = Date.now();
    for (let s = 0; s <= 70; s++)
      server.events.emit('vehicle.telemetry', { vehicleId, state: sample(t0 + s * 1000, { id: vehicleId, ...state }), clockSkewMs: 0 });
    await server.flushAlerts();
  }
  const openKinds = async (vehicleId: string) =>
    (
      await server.db.query<{ kind: string }>(`select kind from alerts where vehicle_id = $1 and status <> 'resolved' order by kind`, [
        vehicleId,
      ])
    ).rows.map((r) => r.kind);

  it('a car in maintenance that moves: moved_in_maintenance, not movement_without_rental', async () => {
    await setServiceState(server, CAR(1), 'maintenance');
    await server.bookings.refreshAvailability();
    await drive(CAR(1), { locked: false, ignition: true, speedKph: 35 });
    expect(await openKinds(CAR(1))).toEqual(['moved_in_maintenance']);
    const { rows } = await server.db.query<{ severity: string; details: Record<string, unknown> }>(
      `select severity, details from alerts where vehicle_id = $1`,
      [CAR(1)],
    );
    expect(rows[0]).toMatchObject({ severity: 'critical', details: { serviceState: 'maintenance', reason: 'moving' } });
  });

  it('back in service, the same movement is movement without a rental again', async () => {
    await setServiceState(server, CAR(2), 'maintenance');
    await server.bookings.refreshAvailability();
    await setServiceState(server, CAR(2), 'available');
    await server.bookings.refreshAvailability();
    await drive(CAR(2), { locked: false, ignition: true, speedKph: 35 });
    expect(await openKinds(CAR(2))).toEqual(['movement_without_rental']);
  });

  it('a locked car rolling with the ignition off: moved_while_locked, listed by the staff API and replicated', async () => {
    await drive(CAR(3), { locked: true, ignition: false, speedKph: 12 });
    expect(await openKinds(CAR(3))).toEqual(['moved_while_locked']);
    const headers = await staffHeaders(server, 'dispatcher');
    const listed = await fetch(`${server.httpUrl}/ops/v1/alerts?vehicleId=${CAR(3)}&kind=moved_while_locked`, { headers });
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { alerts: Array<{ kind: string }> }).alerts.map((a) => a.kind)).toEqual(['moved_while_locked']);
    const pulled = await fetch(`${server.httpUrl}/sync/v1/alerts/pull?limit=500`, { headers });
    expect(pulled.status).toBe(200);
    const docs = ((await pulled.json()) as { documents: Array<{ vehicleId: string; kind: string }> }).documents;
    expect(docs.filter((d) => d.vehicleId === CAR(3)).map((d) => d.kind)).toEqual(['moved_while_locked']);
    expect(ALERT_KIND_INFO.moved_while_locked.notify).toBe(true);
  });
});
