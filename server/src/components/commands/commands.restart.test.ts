/**
 * The lifecycle survives restarts: of the server (same database), of the broker (an own Mosquitto, killed and
 * started again on the same port), and runs on two server instances sharing one PostgreSQL database with each
 * transition happening exactly once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../app.js';
import type { ServerConfig } from '../../platform/config.js';
import type { DomainEventMap } from '../../platform/domain-events.js';
import { staffHeaders } from '../../testing/auth.js';
import { brokerBackends, dbBackends } from '../../testing/backends.js';
import { connectCommandDevice, spyTopic } from '../../testing/command-device.js';
import { uniqueTestVehicles, waitFor } from '../../testing/devices.js';
import { metricValue } from '../../testing/metrics.js';
import { freePort, hasMosquitto, startOwnMosquitto } from '../../testing/mosquitto.js';
import { deviceTopic } from '../../../../src/shared/device-protocol.js';
import type { CommandRecord } from './index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quiet: Partial<ServerConfig> = {
  port: 0,
  seedVehicles: 0,
  logLevel: 'silent',
  mqttAuth: 'off',
  commandResendMs: 300,
  commandResultGraceMs: 1_000,
};

const path = (c: { transitions: Array<{ from: string | null; to: string }> }) => c.transitions.map((t) => `${t.from ?? '∅'}→${t.to}`);
const FULL = ['∅→queued', 'queued→sent', 'sent→received', 'received→succeeded'];

async function until(server: ServerHandle, commandId: string, status: CommandRecord['status'], timeoutMs = 15_000) {
  let last: CommandRecord | undefined;
  try {
    return await waitFor(
      async () => {
        const c = await server.commands.getCommand(commandId);
        last = c;
        return c.status === status ? c : undefined;
      },
      { what: `${commandId} ${status}`, timeoutMs },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last)}`, { cause: err });
  }
}

/** Cleanups run after each test in reverse order, whether it passed or not. */
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  // bounded: a stuck cleanup must not hide the test's own failure behind a hook timeout
  while (cleanups.length > 0) await Promise.race([cleanups.pop()!().catch(() => undefined), sleep(10_000)]);
});

const restartCases = dbBackends().flatMap((db) =>
  brokerBackends().map((broker) => ({ backend: db, broker, name: `${db.name} + ${broker.name} broker` })),
);

describe.each(restartCases)('server restart mid-command on $name', ({ backend, broker }) => {
  it('brings a sent command and an expiring queued one to terminal states after a restart', async () => {
    const { overrides, cleanup } = await backend.create();
    cleanups.push(cleanup);
    const dataDir = backend.name === 'pglite' ? await mkdtemp(join(tmpdir(), 'fleetdesk-cmd-restart-')) : overrides.dataDir;
    if (backend.name === 'pglite') cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    // an embedded broker restarts with the server, on the same port (the harder case: its sessions are gone too)
    const config = {
      ...quiet,
      ...overrides,
      dataDir,
      ...(broker.name === 'embedded' ? { mqttUrl: undefined, mqttPort: await freePort() } : broker.overrides),
    };

    let server = await startServer(config);
    cleanups.push(() => server.stop());
    const [car, parked] = uniqueTestVehicles(2);
    await server.registerVehicles([car!, parked!]);

    const device = await connectCommandDevice(server.mqttUrl, car!.id, { ignoreFirstDeliveries: 1_000 }); // holds it, answers nothing yet
    cleanups.push(() => device.close());
    const sent = await server.commands.issueCommand({
      vehicleId: car!.id,
      type: 'unlock',
      reason: 'rental start',
      ttlSeconds: 60,
      actor: { id: 'system', role: 'system' },
    });
    const queued = await server.commands.issueCommand({
      vehicleId: parked!.id,
      type: 'lock',
      reason: 'night lock',
      ttlSeconds: 5,
      actor: { id: 'ops', role: 'dispatcher' },
    });
    await until(server, sent.command.commandId, 'sent');
    await waitFor(() => device.deliveries.some((d) => d.commandId === sent.command.commandId), { what: 'delivery before the restart' });
    expect((await server.commands.getCommand(queued.command.commandId)).status).toBe('queued');

    await server.stop();
    device.ignoreFirstDeliveries = 0; // the device would now execute what reaches it again
    await sleep(5_500); // the queued command expires while no server runs

    server = await startServer(config);
    const parkedWatch = await spyTopic(server.mqttUrl, deviceTopic(parked!.id, 'commands'));
    cleanups.push(() => parkedWatch.close());

    const done = await until(server, sent.command.commandId, 'succeeded');
    expect(path(done)).toEqual(FULL); // `sent` once, however often it was published
    expect(done.sendAttempts).toBeGreaterThanOrEqual(2);
    expect(device.deliveries.filter((d) => d.commandId === sent.command.commandId).length).toBeGreaterThanOrEqual(2);
    const expired = await until(server, queued.command.commandId, 'expired');
    expect(path(expired)).toEqual(['∅→queued', 'queued→expired']);

    const parkedDevice = await connectCommandDevice(server.mqttUrl, parked!.id);
    cleanups.push(() => parkedDevice.close());
    await sleep(1_000);
    expect(parkedWatch.messages).toEqual([]);
    expect(parkedDevice.deliveries).toEqual([]);
  }, 60_000);
});

describe.skipIf(!hasMosquitto())('broker restart mid-command (own Mosquitto)', () => {
  it('brings every command to a terminal state after the broker is killed and restarted', async () => {
    const broker = await startOwnMosquitto();
    cleanups.push(() => broker.dispose());

    const server = await startServer({ ...quiet, dataDir: 'memory://', databaseUrl: undefined, mqttUrl: broker.url });
    cleanups.push(() => server.stop());
    const [a, b] = uniqueTestVehicles(2);
    await server.registerVehicles([a!, b!]);
    const deviceA = await connectCommandDevice(server.mqttUrl, a!.id, { ignoreFirstDeliveries: 1_000 });
    const deviceB = await connectCommandDevice(server.mqttUrl, b!.id, { behaviour: 'ack-only' });
    cleanups.push(
      () => deviceA.close(),
      () => deviceB.close(),
    );
    await waitFor(() => onlineIn(server, [a!.id, b!.id]), { what: 'both online' });

    const actor = { id: 'ops', role: 'dispatcher' } as const;
    const unanswered = await server.commands.issueCommand({
      vehicleId: a!.id,
      type: 'immobilize',
      reason: 'theft report',
      ttlSeconds: 60,
      actor,
    });
    const inProgress = await server.commands.issueCommand({
      vehicleId: b!.id,
      type: 'unlock',
      reason: 'rental start',
      ttlSeconds: 60,
      actor,
    });
    await until(server, unanswered.command.commandId, 'sent');
    await waitFor(() => deviceA.deliveries.length > 0, { what: 'delivery to A' });
    await until(server, inProgress.command.commandId, 'received');

    await broker.stop();
    await waitFor(async () => ((await (await fetch(`${server.httpUrl}/ready`)).json()) as { status: string }).status === 'degraded', {
      what: 'server notices the broker is gone',
    });
    deviceA.ignoreFirstDeliveries = 0;
    // B finishes while the broker is down: its client queues the result until it reconnects
    void deviceB.answer(inProgress.command.commandId, 'succeeded').catch(() => undefined);
    const duringOutage = await server.commands.issueCommand({
      vehicleId: a!.id,
      type: 'honk_flash',
      reason: 'find the car',
      ttlSeconds: 60,
      actor,
    });
    await sleep(1_000);
    expect((await server.commands.getCommand(duringOutage.command.commandId)).status).toBe('queued'); // never "sent" into a dead broker
    await broker.start();

    for (const id of [unanswered.command.commandId, inProgress.command.commandId, duringOutage.command.commandId]) {
      expect(path(await until(server, id, 'succeeded', 30_000)), id).toEqual(FULL);
    }
  }, 90_000);
});

describe.runIf(process.env.DATABASE_URL)('two server instances on one PostgreSQL database', () => {
  it('applies each transition exactly once', async () => {
    const [pg] = dbBackends().filter((b) => b.name === 'postgres');
    const { overrides, cleanup } = await pg!.create();
    cleanups.push(cleanup);
    const one = await startServer({ ...quiet, ...overrides, mqttUrl: undefined, mqttPort: 0 });
    cleanups.push(() => one.stop());
    const two = await startServer({ ...quiet, ...overrides, mqttUrl: one.mqttUrl }); // same broker (instance one's)
    cleanups.push(() => two.stop());
    const events: Array<DomainEventMap['command.transition']> = [];
    for (const s of [one, two]) s.events.on('command.transition', (e) => events.push(e));

    const [car, offline] = uniqueTestVehicles(2);
    await one.registerVehicles([car!, offline!]);
    await two.registerVehicles([car!, offline!]);
    const device = await connectCommandDevice(one.mqttUrl, car!.id);
    cleanups.push(() => device.close());
    await waitFor(async () => (await onlineIn(one, [car!.id])) && (await onlineIn(two, [car!.id])), { what: 'online on both' });

    const actor = { id: 'ops', role: 'dispatcher' } as const;
    const delivered = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? one : two).commands.issueCommand({
          vehicleId: car!.id,
          type: 'honk_flash',
          reason: `test ${i}`,
          ttlSeconds: 60,
          actor,
        }),
      ),
    );
    const expiring = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        (i % 2 === 0 ? one : two).commands.issueCommand({
          vehicleId: offline!.id,
          type: 'lock',
          reason: `test ${i}`,
          ttlSeconds: 5,
          actor,
        }),
      ),
    );
    for (const { command } of delivered) expect(path(await until(one, command.commandId, 'succeeded'))).toEqual(FULL);
    for (const { command } of expiring)
      expect(path(await until(two, command.commandId, 'expired', 15_000))).toEqual(['∅→queued', 'queued→expired']);
    await Promise.all([one.commands.settle(), two.commands.settle()]);

    for (const { command } of delivered) {
      expect(
        events
          .filter((e) => e.commandId === command.commandId)
          .map((e) => e.to)
          .sort(),
      ).toEqual(['queued', 'received', 'sent', 'succeeded']);
    }
    for (const { command } of expiring) {
      expect(
        events
          .filter((e) => e.commandId === command.commandId)
          .map((e) => e.to)
          .sort(),
      ).toEqual(['expired', 'queued']);
    }
    const { rows } = await one.db.query<{ n: number }>(
      `select count(*)::float8 as n from audit_log where target_type = 'command' and target_id = any($1::text[])`,
      [[...delivered, ...expiring].map((r) => r.command.commandId)],
    );
    expect(rows[0]!.n).toBe(10 * 4 + 4 * 2);
    // both instances hear every result (no shared subscription on the embedded broker): the loser of each race drops it
    const dropped = async (s: ServerHandle) =>
      (await metricValue(s.metrics, 'fleetdesk_command_results_dropped_total', { reason: 'duplicate' })) +
      (await metricValue(s.metrics, 'fleetdesk_command_results_dropped_total', { reason: 'after_terminal' }));
    expect((await dropped(one)) + (await dropped(two))).toBeGreaterThanOrEqual(10 * 2);
  }, 60_000);
});

/** Both servers' fleet views (the dispatcher starts from this and follows vehicle.online). */
async function onlineIn(server: ServerHandle, ids: string[]): Promise<boolean> {
  await server.flushIngestion();
  const res = await fetch(`${server.httpUrl}/ops/v1/fleet/live`, { headers: await staffHeaders(server, 'dispatcher') });
  const body = (await res.json()) as { vehicles: Array<{ id: string; online: boolean }> };
  const { rows } = await server.db.query<{ vehicle_id: string }>(
    'select vehicle_id from vehicle_state where online and vehicle_id = any($1::text[])',
    [ids],
  );
  return ids.every((id) => body.vehicles.some((v) => v.id === id && v.online) || rows.some((r) => r.vehicle_id === id));
}
