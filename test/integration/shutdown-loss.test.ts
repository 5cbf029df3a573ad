/**
 * No loss at shutdown (issue 12, bar 1): a server is fed a burst of telemetry and device events from many
 * vehicles that raise and resolve alerts, stopped by stop() — the path SIGTERM takes — while its write-behind
 * buffers are still full, and restarted on the same database. What it stored (alerts: the open set per
 * vehicle + kind with its occurrences, and the resolved history; latest states; history rows; events) must equal
 * what a reference server, fed the same input and never stopped, stored.
 *
 * Always on PGlite (a data directory on disk, so the restart finds it) + embedded Aedes; on PostgreSQL +
 * the external broker too when DATABASE_URL and MQTT_URL are set. SHUTDOWN_LOSS_VEHICLES / _SAMPLES size the
 * burst.
 *
 * The database is busy when the stop comes: another transaction locks the alerts table against writes: every
 * alert write waits, for BUSY_MS (6 s) — a long writer, or a database saturated by the ingest load. The old
 * alert writer gave up 5 s after stop() whatever the database was doing and lost what was queued; the stop
 * must wait for a database that is slow but alive (it gives up only after SHUTDOWN_STALL_MS without progress).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../server/src/app.js';
import type { ServerConfig } from '../../server/src/platform/config.js';
import { telemetry, uniqueTestVehicles, waitFor } from '../../server/src/testing/devices.js';
import { metricValue } from '../../server/src/testing/metrics.js';
import { createTestDatabase } from '../../server/src/testing/test-databases.js';
import { deviceTopic, type DeviceEvent, type Telemetry } from '../../src/shared/device-protocol.js';
import type { VehicleInfo } from '../../src/shared/fleet.js';

const VEHICLES = Number(process.env['SHUTDOWN_LOSS_VEHICLES'] ?? 150);
const SAMPLES = Number(process.env['SHUTDOWN_LOSS_SAMPLES'] ?? 24);
const PUBLISHERS = 4;
const BUSY_MS = 6_000;

interface Case {
  name: string;
  /** a fresh database (the same one for the stop and the restart); cleanup drops it */
  database(): Promise<{ overrides: Partial<ServerConfig>; cleanup: () => Promise<void> }>;
  mqttUrl?: string;
  postgres: boolean;
}

const cases: Case[] = [
  {
    name: 'PGlite + embedded Aedes',
    postgres: false,
    database: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'fleetdesk-shutdown-'));
      return { overrides: { dataDir: dir }, cleanup: () => rm(dir, { recursive: true, force: true }) };
    },
  },
];
if (process.env['DATABASE_URL'] && process.env['MQTT_URL']) {
  const base = process.env['DATABASE_URL'];
  cases.push({
    name: 'PostgreSQL + external broker',
    postgres: true,
    database: async () => {
      const db = await createTestDatabase(base);
      const dir = await mkdtemp(join(tmpdir(), 'fleetdesk-shutdown-'));
      return {
        overrides: { databaseUrl: db.url, dataDir: dir },
        cleanup: async () => {
          await db.drop();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
    mqttUrl: process.env['MQTT_URL'],
  });
}

const INSIDE = { lat: 52.515, lon: 13.405 };
const OUTSIDE = { lat: 52.7, lon: 13.405 }; // ~20 km north of the operating zone

/**
 * The input, deterministic per vehicle: even vehicles toggle low_energy on every sample (a raise/resolve pair per
 * two samples, ending open or resolved by parity), every third leaves the operating zone for four samples
 * (zone_exit raised and auto-resolved), every fifth reports three crashes (one open alert, 3 occurrences).
 * Parked, locked and closed: no dwell alerts, which depend on the wall clock.
 */
function inputFor(index: number, vehicleId: string): { telemetry: Telemetry[]; events: DeviceEvent[] } {
  const samples: Telemetry[] = [];
  const count = SAMPLES + (index % 4 === 0 ? 1 : 0);
  for (let seq = 1; seq <= count; seq++) {
    const energy = index % 2 === 0 ? (seq % 2 === 1 ? 10 : 25) : index % 4 === 1 && seq === count ? 12 : 80;
    const where = index % 3 === 0 && seq >= 5 && seq <= 8 ? OUTSIDE : INSIDE;
    samples.push(
      telemetry(seq, {
        ts: Date.now(),
        ...where,
        speedKph: 0,
        ignition: false,
        locked: true,
        doorsClosed: true,
        batteryPct: energy,
      }),
    );
  }
  const events: DeviceEvent[] =
    index % 5 === 0
      ? [1, 2, 3].map((seq) => ({ v: 1, seq, ts: Date.now() + seq, vehicleId, type: 'crash_detected', data: { peakG: 4 + seq } }))
      : [];
  return { telemetry: samples, events };
}

async function connectPublishers(url: string): Promise<MqttClient[]> {
  return Promise.all(
    Array.from({ length: PUBLISHERS }, (_, i) =>
      mqtt.connectAsync(url, {
        clientId: `shutdown-pub-${i}-${Math.random().toString(16).slice(2, 8)}`,
        protocolVersion: 4,
        reconnectPeriod: 0,
      }),
    ),
  );
}

/** Publishes every vehicle's input (one publisher per vehicle keeps its order) and waits until the server has it all. */
async function feed(server: ServerHandle, fleet: VehicleInfo[]): Promise<void> {
  const publishers = await connectPublishers(server.mqttUrl);
  let telemetryCount = 0;
  let eventCount = 0;
  try {
    const sends: Array<Promise<unknown>> = [];
    fleet.forEach((v, i) => {
      const client = publishers[i % PUBLISHERS]!;
      const input = inputFor(i, v.id);
      telemetryCount += input.telemetry.length;
      eventCount += input.events.length;
      for (const t of input.telemetry) sends.push(client.publishAsync(deviceTopic(v.id, 'telemetry'), JSON.stringify(t), { qos: 1 }));
      for (const e of input.events) sends.push(client.publishAsync(deviceTopic(v.id, 'events'), JSON.stringify(e), { qos: 1 }));
    });
    await Promise.all(sends);
    // Accepted = received − dropped: a shared broker also carries other runs' vehicles (dropped as unknown_vehicle).
    const accepted = async (channel: string) =>
      (await metricValue(server.metrics, 'fleetdesk_mqtt_messages_received_total', { channel })) -
      (await metricValue(server.metrics, 'fleetdesk_mqtt_messages_dropped_total', { channel }));
    await waitFor(async () => (await accepted('telemetry')) >= telemetryCount && (await accepted('events')) >= eventCount, {
      timeoutMs: 60_000,
      what: 'the server to accept the whole input',
    });
  } finally {
    await Promise.all(publishers.map((p) => p.endAsync()));
  }
  const dropped = await metricValue(server.metrics, 'fleetdesk_mqtt_messages_dropped_total');
  expect(dropped).toBe(await metricValue(server.metrics, 'fleetdesk_mqtt_messages_dropped_total', { reason: 'unknown_vehicle' }));
}

interface Snapshot {
  /** `vehicle index/kind` → occurrences of the open alert */
  open: Record<string, number>;
  /** `vehicle index/kind` → resolved alerts (the history) */
  resolved: Record<string, number>;
  /** vehicle index → `seq energy lat online` of the latest state */
  states: Record<string, string>;
  historyRows: Record<string, number>;
  events: Record<string, number>;
}

/** What the database holds about the fleet, keyed by the vehicle's index (the two runs use different ids). */
async function snapshot(server: ServerHandle, fleet: VehicleInfo[]): Promise<Snapshot> {
  const index = new Map(fleet.map((v, i) => [v.id, i]));
  const ids = fleet.map((v) => v.id);
  const s: Snapshot = { open: {}, resolved: {}, states: {}, historyRows: {}, events: {} };
  const alerts = await server.db.query<{ vehicle_id: string; kind: string; open: boolean; occurrences: number; n: number }>(
    `select vehicle_id, kind, status <> 'resolved' as open, sum(occurrences)::int as occurrences, count(*)::int as n
       from alerts where vehicle_id = any($1::text[]) group by 1, 2, 3`,
    [ids],
  );
  for (const r of alerts.rows) {
    const key = `${index.get(r.vehicle_id)}/${r.kind}`;
    if (r.open) s.open[key] = r.occurrences;
    else s.resolved[key] = r.n;
  }
  const states = await server.db.query<{ vehicle_id: string; seq: number; energy_pct: number; lat: number; online: boolean }>(
    `select vehicle_id, seq::int as seq, energy_pct, lat, online from vehicle_state where vehicle_id = any($1::text[])`,
    [ids],
  );
  for (const r of states.rows) s.states[String(index.get(r.vehicle_id))] = `${r.seq} ${r.energy_pct} ${r.lat} ${r.online}`;
  const history = await server.db.query<{ vehicle_id: string; n: number }>(
    `select vehicle_id, count(*)::int as n from telemetry_history where vehicle_id = any($1::text[]) group by 1`,
    [ids],
  );
  for (const r of history.rows) s.historyRows[String(index.get(r.vehicle_id))] = r.n;
  const events = await server.db.query<{ vehicle_id: string; n: number }>(
    `select vehicle_id, count(*)::int as n from vehicle_events where vehicle_id = any($1::text[]) group by 1`,
    [ids],
  );
  for (const r of events.rows) s.events[String(index.get(r.vehicle_id))] = r.n;
  return s;
}

/**
 * Another transaction locks the alerts table against writes (every alert write waits on it; reads go on; on
 * PGlite, one connection, every write waits) and holds it until `release()`; `cleanups` releases it whatever fails.
 */
async function holdAlertWrites(
  server: ServerHandle,
  cleanups: Array<() => Promise<void>>,
): Promise<{ release: () => void; done: Promise<void> }> {
  let locked = false;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const done = server.db.transaction(async (tx) => {
    await tx.query('lock table alerts in exclusive mode');
    locked = true;
    await released;
  });
  cleanups.push(async () => release());
  await waitFor(() => locked, { what: 'a transaction to lock the alerts table' });
  return { release, done };
}

const quiet = { port: 0, mqttPort: 0, seedVehicles: 0, mqttAuth: 'off', logLevel: 'error', seedDemoStaff: false } as const;
/** a shared-subscription group of its own: on a shared broker, another run's servers must not take a share of ours */
const ownGroup = () => `shutdown-${Math.random().toString(16).slice(2, 10)}`;

describe.each(cases)('no loss at shutdown on $name', (c) => {
  const cleanups: Array<() => Promise<void>> = [];
  /** the reference run's snapshot, for the repair test as well */
  let referenceSnapshot: Snapshot | undefined;
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('a server stopped with full buffers and restarted stores what a server that was never stopped stores', async () => {
    // Reference: fed the same input, everything written while it runs, read before it stops.
    const refDb = await c.database();
    cleanups.push(refDb.cleanup);
    const refFleet = uniqueTestVehicles(VEHICLES);
    const reference = await startServer({ ...quiet, ...refDb.overrides, mqttUrl: c.mqttUrl, mqttSharedGroup: ownGroup() });
    let expected: Snapshot;
    try {
      await reference.registerVehicles(refFleet);
      await feed(reference, refFleet);
      await reference.flushIngestion();
      await reference.flushAlerts();
      await reference.flushIngestion(); // events stored after the first flush raised crash alerts
      await reference.flushAlerts();
      expected = await snapshot(reference, refFleet);
    } finally {
      await reference.stop();
    }
    // The input means something: alerts opened and resolved, every state and event stored.
    expect(Object.keys(expected.states)).toHaveLength(VEHICLES);
    expect(Object.values(expected.open).length).toBeGreaterThan(VEHICLES / 4);
    expect(Object.keys(expected.resolved).length).toBeGreaterThan(VEHICLES / 4);
    expect(Object.values(expected.open)).toContain(3); // the crashes, counted
    referenceSnapshot = expected;

    // Under test: the same input, then stop() at once — the buffers are still full — and a restart on the same database.
    const db = await c.database();
    cleanups.push(db.cleanup);
    const fleet = uniqueTestVehicles(VEHICLES);
    const group = ownGroup();
    const server = await startServer({ ...quiet, ...db.overrides, mqttUrl: c.mqttUrl, mqttSharedGroup: group, shutdownStallMs: 10_000 });
    await server.registerVehicles(fleet);
    // Busy from before the input until BUSY_MS after stop() begins: the buffers fill while writes wait.
    const { release, done: busy } = await holdAlertWrites(server, cleanups);
    await feed(server, fleet);
    const queued =
      (await metricValue(server.metrics, 'fleetdesk_alert_changes_pending')) +
      (await metricValue(server.metrics, 'fleetdesk_live_state_pending')) +
      (await metricValue(server.metrics, 'fleetdesk_telemetry_history_pending'));
    const busyTimer = setTimeout(release, BUSY_MS);
    await server.stop();
    clearTimeout(busyTimer);
    release();
    await busy;
    expect(queued).toBeGreaterThan(0); // the stop had buffered work to write
    expect(server.shutdownReport()).toEqual({ lost: 0, alertChanges: 0, states: 0, historyRows: 0, events: 0 });

    const restarted = await startServer({ ...quiet, ...db.overrides, mqttUrl: c.mqttUrl, mqttSharedGroup: group });
    try {
      await restarted.flushIngestion();
      await restarted.flushAlerts();
      const actual = await snapshot(restarted, fleet);
      expect(actual.states).toEqual(expected.states);
      expect(actual.historyRows).toEqual(expected.historyRows);
      expect(actual.events).toEqual(expected.events);
      expect(actual.open).toEqual(expected.open);
      expect(actual.resolved).toEqual(expected.resolved);
    } finally {
      await restarted.stop();
    }
  }, 180_000);

  // PostgreSQL only: on PGlite (one connection) a stuck transaction stops every write, the state's too, so
  // nothing would be left to repair from; on PostgreSQL only the replicated writes (alerts) wait on that lock.
  it.skipIf(!c.postgres)(
    'a stop that gives up (database stuck past SHUTDOWN_STALL_MS) counts what it lost, and the restart repairs the alerts from the stored state',
    async () => {
      expect(referenceSnapshot).toBeDefined();
      const expected = referenceSnapshot!;
      const db = await c.database();
      cleanups.push(db.cleanup);
      const fleet = uniqueTestVehicles(VEHICLES);
      const group = ownGroup();
      const server = await startServer({ ...quiet, ...db.overrides, mqttUrl: c.mqttUrl, mqttSharedGroup: group, shutdownStallMs: 300 });
      await server.registerVehicles(fleet);
      const { release, done: stuck } = await holdAlertWrites(server, cleanups);
      await feed(server, fleet);
      const stopping = server.stop();
      // While the lock is held nothing can be written, so an empty alert queue means the writer gave up.
      expect(await metricValue(server.metrics, 'fleetdesk_alert_changes_pending')).toBeGreaterThan(0);
      await waitFor(async () => (await metricValue(server.metrics, 'fleetdesk_alert_changes_pending')) === 0, {
        timeoutMs: 30_000,
        what: 'the alert writer to give up',
      });
      release();
      await stuck;
      await stopping;
      const report = server.shutdownReport()!;
      expect(report.alertChanges).toBeGreaterThan(0); // lost, and counted
      expect(report.lost).toBe(report.alertChanges);

      const restarted = await startServer({ ...quiet, ...db.overrides, mqttUrl: c.mqttUrl, mqttSharedGroup: group });
      try {
        await restarted.flushAlerts();
        const actual = await snapshot(restarted, fleet);
        expect(actual.states).toEqual(expected.states);
        const fromState = (open: Record<string, number>) =>
          Object.keys(open)
            .filter((key) => /\/(low_energy|zone_exit|device_offline)$/.test(key))
            .sort();
        expect(fromState(actual.open)).toEqual(fromState(expected.open));
      } finally {
        await restarted.stop();
      }
    },
    180_000,
  );
});
