import { describe, expect, it } from 'vitest';
import { startSimulation } from './simulation.js';
import { demoVehicleId } from '../src/shared/demo-fleet.js';
import { useSimHarness } from './testing/harness.js';
import { cleanUpSharedBroker, serverClient, sleep, until, type ServerClient } from './testing/test-broker.js';

const h = useSimHarness({ seed: 7, rate: 5, commandPolicy: { executionDelayMs: [50, 120] } });
const { setup, cleanups } = h;

const statuses = (server: ServerClient, commandId: string): string[] => server.results(commandId).map((r) => r.status);

/** Parked for good: locked, doors closed, ignition off. */
const PARKED = { movingShare: 0 } as const;
/** Every car ends its trip within a second and stands with the doors open for an hour. */
const DOORS_OPEN = {
  movingShare: 1,
  model: { tripMinMs: 1, tripMaxMs: 2, brakeMps2: 60, doorsOpenMinMs: 3_600_000, doorsOpenMaxMs: 3_600_000 },
};

describe('simulated devices answer commands per the protocol (in-process Aedes)', () => {
  it('answers received at once, then succeeded after the execution delay; lock/unlock change the reported state', async () => {
    const { sim, server } = await setup({ vehicles: 3, ...PARKED, commandPolicy: { executionDelayMs: 300 } });
    const id = 'veh-00002';
    expect(sim.snapshot(id).state.locked).toBe(true);

    const unlock = await server.sendCommand(id, 'unlock');
    await until('unlock succeeded', () => statuses(server, unlock).includes('succeeded'));
    expect(statuses(server, unlock)).toEqual(['received', 'succeeded']);
    const [received, succeeded] = server.results(unlock);
    expect(succeeded!.ts - received!.ts).toBeGreaterThanOrEqual(290);
    expect(sim.snapshot(id).state.locked).toBe(false);
    // The state change is reported in telemetry at once (not at the next 10 s heartbeat).
    await until('telemetry unlocked', () => server.of(id).some((m) => m.telemetry?.locked === false));

    const lock = await server.sendCommand(id, 'lock');
    await until('lock succeeded', () => statuses(server, lock).includes('succeeded'));
    expect(sim.snapshot(id).state.locked).toBe(true);
    // Other vehicles are untouched; every result decodes (no dropReason anywhere).
    expect(sim.snapshot('veh-00001').state.locked).toBe(true);
    expect(server.messages.filter((m) => m.dropReason)).toEqual([]);
    expect(sim.stats()).toMatchObject({ commandsReceived: 2, commandsDuplicate: 0, commandsExpired: 0 });
  });

  it('fails lock with the doors open ("doors_open"); locate answers the position; honk_flash succeeds', async () => {
    const { sim, server } = await setup({ vehicles: 2, ...DOORS_OPEN });
    const id = 'veh-00001';
    await until('doors open', () => !sim.snapshot(id).state.doorsClosed, 5_000);

    const lock = await server.sendCommand(id, 'lock');
    await until('lock answered', () => statuses(server, lock).length === 2);
    expect(statuses(server, lock)).toEqual(['received', 'failed']);
    expect(server.results(lock)[1]!.reason).toBe('doors_open');
    expect(sim.snapshot(id).state.locked).toBe(false);

    const locate = await server.sendCommand(id, 'locate');
    await until('locate answered', () => statuses(server, locate).includes('succeeded'));
    const data = server.results(locate)[1]!.data!;
    const snap = sim.snapshot(id);
    expect(data.lat).toBeCloseTo(snap.lat, 5);
    expect(data.lon).toBeCloseTo(snap.lon, 5);

    const honk = await server.sendCommand(id, 'honk_flash');
    await until('honk answered', () => statuses(server, honk).includes('succeeded'));
    expect(statuses(server, honk)).toEqual(['received', 'succeeded']);
  });

  it('rejects an expired command with rejected_expired and never executes it — judged by the device clock', async () => {
    const { sim, server } = await setup({ vehicles: 2, ...PARKED });
    const id = 'veh-00001';
    const expired = await server.sendCommand(id, 'unlock', { issuedAt: Date.now() - 60_000, expiresAt: Date.now() - 1 });
    await until('rejected', () => statuses(server, expired).length > 0);
    await sleep(400); // longer than the execution delay: nothing else follows
    expect(statuses(server, expired)).toEqual(['rejected_expired']);
    expect(server.results(expired)[0]!.reason).toMatch(/expired/);
    expect(sim.snapshot(id).state.locked).toBe(true);

    // Valid by the server's clock, expired by a device clock that is an hour ahead.
    sim.setClockSkew('veh-00002', { offsetMs: 3_600_000 });
    const ahead = await server.sendCommand('veh-00002', 'unlock', { ttlMs: 10 * 60_000 });
    await until('rejected by the device clock', () => statuses(server, ahead).length > 0);
    await sleep(400);
    expect(statuses(server, ahead)).toEqual(['rejected_expired']);
    expect(sim.snapshot('veh-00002').state.locked).toBe(true);

    // Expiring while it waits to be executed: still not executed.
    sim.setCommandPolicy({ executionDelayMs: 800 }, id);
    const late = await server.sendCommand(id, 'unlock', { ttlMs: 300 });
    await until('answered twice', () => statuses(server, late).length === 2, 5_000);
    expect(statuses(server, late)).toEqual(['received', 'rejected_expired']);
    expect(sim.snapshot(id).state.locked).toBe(true);
    expect(sim.stats().commandsExpired).toBe(3);
  });

  it('answers a repeated command id with the remembered result and does not execute it again', async () => {
    const { sim, server } = await setup({ vehicles: 1, ...PARKED });
    const id = 'veh-00001';
    const unlock = await server.sendCommand(id, 'unlock', { commandId: 'unlock-0001' });
    await until('unlock succeeded', () => statuses(server, unlock).includes('succeeded'));
    const lock = await server.sendCommand(id, 'lock');
    await until('lock succeeded', () => statuses(server, lock).includes('succeeded'));
    expect(sim.snapshot(id).state.locked).toBe(true);

    await server.sendCommand(id, 'unlock', { commandId: 'unlock-0001' });
    await until('answered again', () => statuses(server, unlock).length === 3);
    await sleep(300);
    const results = server.results(unlock);
    expect(results.map((r) => r.status)).toEqual(['received', 'succeeded', 'succeeded']);
    expect(results[2]).toEqual(results[1]); // the remembered result itself, same ts
    expect(sim.snapshot(id).state.locked).toBe(true); // not unlocked again
    expect(sim.stats().commandsDuplicate).toBe(1);
  });

  it('answers an undecodable command failed when its id is readable, and ignores garbage without crashing', async () => {
    const { sim, server } = await setup({ vehicles: 1, ...PARKED });
    await server.sendRaw(
      'veh-00001',
      JSON.stringify({ v: 1, commandId: 'bad-cmd-0001', type: 'self_destruct', issuedAt: 1, expiresAt: 2 }),
    );
    await server.sendRaw('veh-00001', 'not json at all');
    await server.sendRaw(
      'veh-00001',
      JSON.stringify({ v: 99, commandId: 'future-0001', type: 'lock', issuedAt: 1, expiresAt: Date.now() + 60_000 }),
    );
    await until('two failures', () => server.messages.filter((m) => m.result?.status === 'failed').length === 2);
    expect(server.results('bad-cmd-0001')).toMatchObject([{ status: 'failed', reason: expect.stringMatching(/^invalid_command: schema/) }]);
    expect(server.results('future-0001')).toMatchObject([{ status: 'failed', reason: expect.stringMatching(/unsupported_version/) }]);
    expect(sim.stats().commandsInvalid).toBe(3);
    // Still working.
    const honk = await server.sendCommand('veh-00001', 'honk_flash');
    await until('honk answered', () => statuses(server, honk).includes('succeeded'));
  });

  it('immobilize stops a driving car (ignition off once stopped) and keeps it parked; release lets it go again', async () => {
    const { sim, server } = await setup({ vehicles: 1, movingShare: 1, model: { brakeMps2: 8, maxBrakeMps2: 9 } });
    const id = 'veh-00001';
    expect(sim.snapshot(id).state.ignition).toBe(true);
    const imm = await server.sendCommand(id, 'immobilize');
    await until('immobilized', () => statuses(server, imm).includes('succeeded'));
    await until('ignition off', () => server.of(id).some((m) => m.event?.type === 'ignition_off'), 10_000);
    const off = server.of(id).find((m) => m.event?.type === 'ignition_off')!;
    // No telemetry after the ignition_off shows speed.
    expect(server.of(id).filter((m) => m.telemetry && m.telemetry.seq > off.event!.seq && m.telemetry.speedKph > 0)).toEqual([]);
    // Unlock while immobilized is fine, and still no trip starts.
    const unlock = await server.sendCommand(id, 'unlock');
    await until('unlocked', () => statuses(server, unlock).includes('succeeded'));
    await sleep(1_500);
    expect(sim.snapshot(id).state.ignition).toBe(false);
    expect(sim.snapshot(id).state.immobilized).toBe(true);
    const release = await server.sendCommand(id, 'release');
    await until('released', () => statuses(server, release).includes('succeeded'));
    expect(sim.snapshot(id).state.immobilized).toBe(false);
  });

  it('a command sent while the connection is dead waits in the persistent session and is executed on reconnect', async () => {
    const { sim, server } = await setup({ vehicles: 2, ...PARKED });
    const id = 'veh-00001';
    sim.killConnection(id);
    await until('broker saw the death', () => h.broker().clientEvents.includes(`-${id}`));
    const unlock = await server.sendCommand(id, 'unlock');
    await sleep(500);
    expect(statuses(server, unlock)).toEqual([]);
    expect(sim.snapshot(id).state.locked).toBe(true);

    await sim.restoreConnection(id);
    await until('delivered after reconnect', () => statuses(server, unlock).includes('succeeded'));
    expect(statuses(server, unlock)).toEqual(['received', 'succeeded']);
    expect(sim.snapshot(id).state.locked).toBe(false);

    // Gone silently (clean DISCONNECT, no offline status): the same, and no `offline` is ever published.
    const mark = server.messages.length;
    await sim.goOffline(id, { lastWill: false });
    await until('broker saw the disconnect', () => h.broker().clientEvents.filter((e) => e === `-${id}`).length === 2);
    const lock = await server.sendCommand(id, 'lock');
    await sleep(500);
    expect(statuses(server, lock)).toEqual([]);
    expect(server.messages.slice(mark).some((m) => m.vehicleId === id && m.status?.state === 'offline')).toBe(false);
    await sim.restoreConnection(id);
    await until('lock delivered', () => statuses(server, lock).includes('succeeded'));
    expect(sim.snapshot(id).state.locked).toBe(true);
  });

  it('multiplexed connections subscribe to each vehicle’s commands topic and answer for the right vehicle', async () => {
    const { sim, server } = await setup({ vehicles: 5, vehiclesPerConnection: 3, ...PARKED });
    const cmds = await Promise.all(sim.vehicleIds.map((id) => server.sendCommand(id, 'unlock')));
    await until('all answered', () => cmds.every((c) => statuses(server, c).includes('succeeded')));
    for (const [i, id] of sim.vehicleIds.entries()) {
      expect(server.messages.filter((m) => m.result?.commandId === cmds[i]).every((m) => m.vehicleId === id)).toBe(true);
      expect(sim.snapshot(id).state.locked).toBe(false);
    }
    // A multiplexed vehicle can go silently offline on its own; its neighbours keep answering.
    await sim.goOffline('veh-00002', { lastWill: false });
    await expect(sim.goOffline('veh-00003', { lastWill: true })).rejects.toThrow(/no last will/);
    const toSilent = await server.sendCommand('veh-00002', 'lock');
    const toOther = await server.sendCommand('veh-00001', 'lock');
    await until('neighbour answered', () => statuses(server, toOther).includes('succeeded'));
    await sleep(300);
    expect(statuses(server, toSilent)).toEqual([]);
    expect(sim.snapshot('veh-00002').connected).toBe(false);
    const mark = server.messages.length;
    await sleep(500);
    expect(server.messages.slice(mark).some((m) => m.vehicleId === 'veh-00002')).toBe(false);
    await sim.restoreConnection('veh-00002');
    await until('back online', () => server.messages.slice(mark).some((m) => m.vehicleId === 'veh-00002' && m.status?.state === 'online'));
  });

  it('command faults: ignored (no answer at all), failing, slow', async () => {
    const { sim, server } = await setup({ vehicles: 3, ...PARKED });
    sim.setCommandPolicy({ ignoreProbability: 1 }, 'veh-00001');
    sim.setCommandPolicy({ failProbability: 1 }, 'veh-00002');
    sim.setCommandPolicy({ executionDelayMs: 1_500 }, 'veh-00003');
    const ignored = await server.sendCommand('veh-00001', 'unlock');
    const failing = await server.sendCommand('veh-00002', 'unlock');
    const slow = await server.sendCommand('veh-00003', 'unlock');
    await until('failing answered', () => statuses(server, failing).length === 2);
    expect(server.results(failing)).toMatchObject([{ status: 'received' }, { status: 'failed', reason: 'simulated_failure' }]);
    expect(sim.snapshot('veh-00002').state.locked).toBe(true);
    await until('slow answered', () => statuses(server, slow).includes('succeeded'), 5_000);
    const [r, s] = server.results(slow);
    expect(s!.ts - r!.ts).toBeGreaterThanOrEqual(1_490);
    expect(statuses(server, ignored)).toEqual([]);
    expect(sim.snapshot('veh-00001').state.locked).toBe(true);
    expect(sim.stats().commandsIgnored).toBe(1);

    // The same through setFaults (what the CLI uses), fleet-wide.
    sim.setCommandPolicy({ ignoreProbability: 0 }, 'veh-00001');
    sim.setFaults({ commandFail: 1, commandDelayMs: 10 });
    const viaFaults = await server.sendCommand('veh-00001', 'honk_flash');
    await until('failed via faults', () => statuses(server, viaFaults).includes('failed'));
  });
});

const EXTERNAL_MQTT_URL = process.env.MQTT_URL;

describe.runIf(EXTERNAL_MQTT_URL)('commands against the external broker (MQTT_URL, e.g. the local Mosquitto)', () => {
  it('persistent-session delivery after a dead connection, and commands on a multiplexed connection', async () => {
    const url = EXTERNAL_MQTT_URL!;
    // A random id range far from the demo fleet (veh-00001…) and from other runs on the shared broker.
    const first = 60_000 + Math.floor(Math.random() * 39_000);
    const ids = Array.from({ length: 5 }, (_, i) => demoVehicleId(first + i));
    cleanups.push(() => cleanUpSharedBroker(url, ids));
    const server = await serverClient(url, ids);
    cleanups.push(() => server.close());
    const base = { mqttUrl: url, seed: 5, rate: 2, movingShare: 0, commandPolicy: { executionDelayMs: 50 } } as const;
    const single = await startSimulation({ ...base, vehicles: 2, firstVehicle: first });
    cleanups.push(() => single.stop());
    const multi = await startSimulation({ ...base, vehicles: 3, firstVehicle: first + 2, vehiclesPerConnection: 3 });
    cleanups.push(() => multi.stop());

    single.killConnection(ids[0]!);
    await until('will published', () => server.of(ids[0]!).some((m) => m.status?.state === 'offline'));
    const unlock = await server.sendCommand(ids[0]!, 'unlock');
    await sleep(300);
    expect(statuses(server, unlock)).toEqual([]);
    await single.restoreConnection(ids[0]!);
    await until('delivered after reconnect', () => statuses(server, unlock).includes('succeeded'));
    expect(statuses(server, unlock)).toEqual(['received', 'succeeded']);
    expect(single.snapshot(ids[0]!).state.locked).toBe(false);

    const viaMulti = await Promise.all(ids.slice(2).map((id) => server.sendCommand(id, 'locate')));
    await until('multiplexed answered', () => viaMulti.every((c) => statuses(server, c).includes('succeeded')));
    const expired = await server.sendCommand(ids[3]!, 'unlock', { expiresAt: Date.now() - 1 });
    await until('expired answered', () => statuses(server, expired).length > 0);
    expect(statuses(server, expired)).toEqual(['rejected_expired']);
    expect(server.messages.filter((m) => m.dropReason)).toEqual([]);
  });
});
