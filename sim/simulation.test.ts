import net, { type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { demoVehicleId } from '../src/shared/demo-fleet.js';
import { startSimulation } from './simulation.js';
import { useSimHarness } from './testing/harness.js';
import { until, type Received, type ServerClient } from './testing/test-broker.js';

const h = useSimHarness({ seed: 7 });
const { start, cleanups } = h;

/** A real mqtt.js subscriber that decodes everything with the shared decoders (a failure shows in decodeErrors). */
const subscriber = (): Promise<ServerClient> => h.server();
const decodeErrors = (sub: ServerClient): string[] => sub.messages.filter((m) => m.dropReason).map((m) => `${m.dropReason} ${m.channel}`);

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => demoVehicleId(i));

describe('simulation over MQTT (in-process Aedes)', () => {
  it('publishes retained online status and valid telemetry with strictly increasing seq for every vehicle', async () => {
    const sub = await subscriber();
    const sim = await start({ vehicles: 10, rate: 5 });
    expect(sim.vehicleIds).toEqual(ids(10));
    expect(sim.stats().connected).toBe(10);

    // Every vehicle reports; moving ones several times a second.
    await until(
      'telemetry from all 10 vehicles',
      () => new Set(sub.messages.filter((m) => m.telemetry).map((m) => m.vehicleId)).size === 10,
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(decodeErrors(sub)).toEqual([]);

    // A subscriber arriving later gets the retained online status of every vehicle.
    const late = await subscriber();
    await until('retained statuses', () => late.messages.filter((m) => m.status && m.retain).length === 10);
    expect(late.messages.filter((m) => m.status).every((m) => m.status!.state === 'online')).toBe(true);
    for (const id of sim.vehicleIds) expect(sim.snapshot(id).connected).toBe(true);

    // Stopped, and everything sent has arrived (the offline statuses come last on each connection): the
    // snapshot is the state behind the last telemetry received.
    await sim.stop();
    await until('offline statuses', () => sub.messages.filter((m) => m.status?.state === 'offline').length === 10);
    for (const id of sim.vehicleIds) {
      const statuses = sub.messages.filter((m) => m.vehicleId === id && m.status);
      expect(statuses[0]?.status?.state).toBe('online');
      const telemetry = sub.messages.filter((m) => m.vehicleId === id && m.telemetry).map((m) => m.telemetry!);
      for (let i = 1; i < telemetry.length; i++) expect(telemetry[i]!.seq).toBeGreaterThan(telemetry[i - 1]!.seq);
      const snap = sim.snapshot(id);
      expect(snap.seq).toBe(telemetry[telemetry.length - 1]!.seq);
      expect(snap.lastTelemetry).toEqual(telemetry[telemetry.length - 1]);
      if (snap.state.phase !== 'parked') expect(telemetry.length).toBeGreaterThanOrEqual(5);
    }
    expect(sim.stats().telemetry).toBe(sub.messages.filter((m) => m.telemetry).length);
  });

  it('trips on demand: cars stay parked unless asked (but the unrented share), drive when asked, park when asked', async () => {
    const sub = await subscriber();
    const sim = await start({ vehicles: 10, rate: 5, movingShare: 1, tripsOnDemand: { unrentedShare: 0.2 } });
    expect(sim.onDemandVehicleIds).toHaveLength(8);
    const unrented = sim.vehicleIds.filter((id) => !sim.onDemandVehicleIds.includes(id));
    const latest = (id: string) => sub.messages.filter((m) => m.vehicleId === id && m.telemetry).at(-1)?.telemetry;
    // the unrented ones drive on their own (movingShare 1); the others report parked, locked, switched off
    await until('the unrented cars moving', () => unrented.every((id) => (latest(id)?.speedKph ?? 0) > 0));
    await until('telemetry from every on-demand car', () => sim.onDemandVehicleIds.every((id) => latest(id)));
    for (const id of sim.onDemandVehicleIds) expect(latest(id)).toMatchObject({ speedKph: 0, ignition: false, locked: true });

    const car = sim.onDemandVehicleIds[0]!;
    expect(sim.requestPark(car)).toBe(false);
    expect(sim.requestTrip(car)).toBe(true);
    await until('the car driving', () => (latest(car)?.speedKph ?? 0) > 0);
    expect(sim.requestPark(car)).toBe(true);
    await until('the car parked', () => sim.snapshot(car).state.phase === 'parked' && latest(car)?.doorsClosed === true);
    expect(latest(car)).toMatchObject({ speedKph: 0, ignition: false, doorsClosed: true, locked: false });
    for (const id of sim.onDemandVehicleIds.slice(1)) expect(sim.snapshot(id).state.phase).toBe('parked');
  });

  it('killConnection makes the broker publish the last will; restoreConnection brings the vehicle back', async () => {
    const sub = await subscriber();
    const sim = await start({ vehicles: 10, rate: 5 });
    await until('first telemetry', () => sub.messages.some((m) => m.vehicleId === 'veh-00003' && m.telemetry));

    sim.killConnection('veh-00003');
    await until('last will', () => sub.messages.some((m) => m.vehicleId === 'veh-00003' && m.status?.state === 'offline'));
    const will = sub.messages.find((m) => m.vehicleId === 'veh-00003' && m.status?.state === 'offline')!;
    expect(will.status!.reason).toBe('connection lost');
    expect(sim.stats().connected).toBe(9);
    expect(sim.snapshot('veh-00003').connected).toBe(false);
    // Only that vehicle went offline, and it is silent now.
    expect(sub.messages.filter((m) => m.status?.state === 'offline').map((m) => m.vehicleId)).toEqual(['veh-00003']);
    const silentFrom = sub.messages.length;
    await new Promise((r) => setTimeout(r, 600));
    expect(sub.messages.slice(silentFrom).some((m) => m.vehicleId === 'veh-00003')).toBe(false);

    await sim.restoreConnection('veh-00003');
    await until('online again', () =>
      sub.messages.slice(silentFrom).some((m) => m.vehicleId === 'veh-00003' && m.status?.state === 'online'),
    );
    await until('telemetry again', () => sub.messages.slice(silentFrom).some((m) => m.vehicleId === 'veh-00003' && m.telemetry));
    expect(sim.stats().connected).toBe(10);
  });

  it('stop() publishes retained offline for every vehicle, disconnects and leaves no handles behind', async () => {
    const handlesBefore = countHandles();
    const sub = await subscriber();
    const sim = await startSimulation({ mqttUrl: h.broker().url, vehicles: 10, rate: 5, seed: 3 });
    await until('telemetry', () => sub.messages.some((m) => m.telemetry));

    await sim.stop();
    await sim.stop(); // idempotent
    await until('offline statuses', () => sub.messages.filter((m) => m.status?.state === 'offline').length === 10);
    expect(sub.messages.filter((m) => m.status?.state === 'offline').every((m) => m.status!.reason === 'simulator stopped')).toBe(true);
    expect(sim.stats().connected).toBe(0);
    const after = sub.messages.length;
    await new Promise((r) => setTimeout(r, 500));
    expect(sub.messages.length).toBe(after); // the scheduler is gone

    await sub.client.endAsync();
    cleanups.length = 0;
    await until(
      'sockets and timers released',
      () => {
        const h = countHandles();
        return h.sockets <= handlesBefore.sockets && h.timers <= handlesBefore.timers;
      },
      3_000,
    );
    // Retained offline stays for late subscribers: a clean stop does not look like a live vehicle.
    const late = await subscriber();
    await until('retained offline', () => late.messages.filter((m) => m.status && m.retain).length === 10);
    expect(late.messages.every((m) => m.status?.state === 'offline')).toBe(true);
  });

  it('multiplexes vehicles over fewer connections (no per-vehicle will; offline per vehicle on stop)', async () => {
    const sub = await subscriber();
    const sim = await start({ vehicles: 10, rate: 5, vehiclesPerConnection: 4 });
    // 10 vehicles over connections of 4, 4 and 2.
    expect(h.broker().clientEvents.filter((e) => e.startsWith('+sim-'))).toEqual(
      expect.arrayContaining(['+sim-veh-00001-n4', '+sim-veh-00005-n4', '+sim-veh-00009-n2']),
    );
    expect(sim.stats()).toMatchObject({ connections: 3, connectionsUp: 3, connected: 10 });
    await until('telemetry from all', () => new Set(sub.messages.filter((m) => m.telemetry).map((m) => m.vehicleId)).size === 10);
    expect(new Set(sub.messages.filter((m) => m.status?.state === 'online').map((m) => m.vehicleId)).size).toBe(10);

    // Killing a multiplexed connection silences its vehicles without any offline status (documented caveat).
    sim.killConnection('veh-00002');
    await until('broker noticed', () => h.broker().clientEvents.includes('-sim-veh-00001-n4'));
    await new Promise((r) => setTimeout(r, 300));
    expect(sub.messages.some((m) => m.status?.state === 'offline')).toBe(false);
    expect(sim.stats()).toMatchObject({ connectionsUp: 2, connected: 6 });

    await sim.stop();
    await until('offline for the live vehicles', () => sub.messages.filter((m) => m.status?.state === 'offline').length === 6);
    expect(decodeErrors(sub)).toEqual([]);
  });

  it('spreads the publish times of a tick instead of bursting', async () => {
    const sub = await subscriber();
    await start({ vehicles: 60, rate: 1, vehiclesPerConnection: 20 });
    await until('a full round', () => new Set(sub.messages.filter((m) => m.telemetry).map((m) => m.vehicleId)).size === 60);
    const first = new Map<string, number>();
    for (const m of sub.messages) if (m.telemetry && !first.has(m.vehicleId)) first.set(m.vehicleId, m.telemetry.ts);
    const ts = [...first.values()];
    // 60 vehicles dealt into 10 ms slots: the first round spans ~600 ms of the 1 s tick.
    expect(Math.max(...ts) - Math.min(...ts)).toBeGreaterThan(400);
  });

  it('pipes every message through middleware (the hook faults will use)', async () => {
    const sub = await subscriber();
    const sim = await start({ vehicles: 2, rate: 5 });
    const removeDup = sim.use((msg, next) => {
      next(msg);
      if (msg.channel === 'telemetry') next(msg);
    });
    await until('duplicates', () => countDuplicates(sub.messages) >= 4);
    removeDup();
    const before = countDuplicates(sub.messages);
    const mark = sub.messages.length;
    await until('more telemetry', () => sub.messages.length > mark + 10);
    expect(countDuplicates(sub.messages)).toBeLessThanOrEqual(before + 2); // at most one in flight when removed
  });

  it('fails start with a clear error when the broker is unreachable', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(startSimulation({ mqttUrl: `mqtt://127.0.0.1:${port}`, vehicles: 3, connectTimeoutMs: 800 })).rejects.toThrow(
      /only 0 of 3 MQTT connections to mqtt:\/\/127\.0\.0\.1:\d+ came up within 800 ms \(.*ECONNREFUSED/,
    );
  });

  it('rejects bad options before connecting', async () => {
    await expect(startSimulation({ mqttUrl: h.broker().url, vehicles: 0 })).rejects.toThrow(/vehicles/);
    await expect(startSimulation({ mqttUrl: h.broker().url, vehicles: 5, rate: 0 })).rejects.toThrow(/rate/);
    await expect(startSimulation({ mqttUrl: h.broker().url, vehicles: 5, vehiclesPerConnection: 1.5 })).rejects.toThrow(
      /vehiclesPerConnection/,
    );
    await expect(startSimulation({ mqttUrl: h.broker().url, vehicles: 5, tripsOnDemand: { unrentedShare: 1.5 } })).rejects.toThrow(
      /unrentedShare/,
    );
  });
});

function countDuplicates(messages: Received[]): number {
  const seen = new Set<string>();
  let dups = 0;
  for (const m of messages) {
    if (!m.telemetry) continue;
    const key = `${m.vehicleId}:${m.telemetry.seq}`;
    if (seen.has(key)) dups++;
    seen.add(key);
  }
  return dups;
}

function countHandles(): { sockets: number; timers: number } {
  const info = process.getActiveResourcesInfo();
  return { sockets: info.filter((r) => r === 'TCPSocketWrap').length, timers: info.filter((r) => r === 'Timeout').length };
}
