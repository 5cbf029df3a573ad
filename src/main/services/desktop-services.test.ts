import { afterEach, describe, expect, it } from 'vitest';
import { DESKTOP_CHANNELS, type ConnectionState, type FleetFrame } from '../../shared/desktop-api.js';
import { silentLogger } from '../log.js';
import { startFakeServer, type FakeServer } from '../testing/fake-server.js';
import { vehicleInfo, vehicleLive, waitFor } from '../testing/fixtures.js';
import { createDesktopServices, DEFAULT_TILE_URL, type DesktopServices, type DesktopServicesConfig } from './desktop-services.js';

/** Services signed in as a dispatcher of the fake server (no broker: nothing listens on :1), frames every 20 ms. */
function signedInServices(server: FakeServer, tuning: DesktopServicesConfig['tuning'] = {}): DesktopServices {
  server.accounts.set('dana@ops.example', { password: 'pw-dana', staff: { id: 'staff-dana', name: 'Dana', role: 'dispatcher' } });
  return createDesktopServices({
    mqttUrl: 'mqtt://127.0.0.1:1',
    serverUrl: server.url,
    staffCredentials: { email: 'dana@ops.example', password: 'pw-dana' },
    host: 'browser',
    logger: silentLogger(),
    frameIntervalMs: 20,
    tuning: { brokerBackoff: { initialMs: 20, maxMs: 100 }, ...tuning },
  });
}

describe('createDesktopServices', () => {
  let services: DesktopServices | null = null;
  let server: FakeServer | null = null;
  afterEach(async () => {
    await services?.stop();
    await server?.close();
    services = null;
    server = null;
  });

  it('implements every channel; app:getInfo has defaults and the package version', async () => {
    services = createDesktopServices({
      mqttUrl: 'mqtt://127.0.0.1:1',
      serverUrl: 'http://127.0.0.1:1',
      host: 'electron',
      logger: silentLogger(),
    });
    expect(Object.keys(services.handlers).sort()).toEqual([...DESKTOP_CHANNELS].sort());
    const info = await services.handlers['app:getInfo']();
    expect(info).toMatchObject({
      name: 'Fleetdesk',
      host: 'electron',
      serverUrl: 'http://127.0.0.1:1',
      syncUrl: 'http://127.0.0.1:1',
      tileUrl: DEFAULT_TILE_URL,
    });
    expect(info.tileAttribution).toContain('OpenStreetMap');
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.version).not.toBe('0.0.0');
    expect(await services.handlers['fleet:getCounts']()).toEqual({ total: 0, byState: { moving: 0, parked: 0, offline: 0 }, dropped: {} });
    expect(await services.handlers['auth:getState']()).toEqual({ status: 'signed_out' });
  });

  it('the server link waits for a sign-in and then calls the ops API with the bearer token', async () => {
    server = await startFakeServer();
    server.requireAuth = true;
    server.accounts.set('dana@ops.example', { password: 'pw-dana', staff: { id: 'staff-dana', name: 'Dana', role: 'dispatcher' } });
    server.registry = [vehicleInfo('car-1')];
    services = createDesktopServices({
      mqttUrl: 'mqtt://127.0.0.1:1',
      serverUrl: server.url,
      host: 'browser',
      logger: silentLogger(),
      frameIntervalMs: 20,
    });
    const auth: string[] = [];
    services.events.on('auth:change', (a) => auth.push(a.status));
    await services.start();
    await new Promise((r) => setTimeout(r, 100));
    expect(server.hits.get('/ops/v1/vehicles')).toBeUndefined();
    expect((await services.handlers['connection:getState']()).server).toMatchObject({ status: 'offline', detail: 'not signed in' });
    await expect(services.handlers['auth:signIn']('dana@ops.example', 'wrong')).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect((await services.handlers['auth:signIn']('dana@ops.example', 'pw-dana')).operator).toMatchObject({
      id: 'staff-dana',
      role: 'dispatcher',
    });
    expect(auth).toContain('signed_in');
    let connected = false;
    services.events.on('connection:change', (c) => (connected ||= c.server.status === 'connected'));
    await waitFor(() => connected, 'server link connected after sign-in');
    expect(server.seenAuth.filter((h) => h.startsWith('Bearer at-staff-dana')).length).toBeGreaterThan(0);
    const token = await services.handlers['auth:getAccessToken']();
    expect(server.accessTokens.get(token.token)).toBe('staff-dana');
  });

  it('notify:show hands a checked notice to the host notifier; its click comes back as notify:click with the target', async () => {
    const shown: Array<{ title: string; click: () => void }> = [];
    services = createDesktopServices({
      mqttUrl: 'mqtt://127.0.0.1:1',
      serverUrl: 'http://127.0.0.1:1',
      host: 'electron',
      logger: silentLogger(),
      notifier: { show: (n, click) => (shown.push({ title: n.title, click }), true) },
    });
    const clicks: unknown[] = [];
    services.events.on('notify:click', (t) => clicks.push(t));
    const notice = { title: 'Crash — B-FD 1', body: 'critical', tag: 'alert', target: { vehicleId: 'car-1', alertId: 'a1', extra: 1 } };
    expect(await services.handlers['notify:show'](notice)).toEqual({ shown: true });
    expect(shown.map((s) => s.title)).toEqual(['Crash — B-FD 1']);
    shown[0]!.click();
    expect(clicks).toEqual([{ vehicleId: 'car-1', alertId: 'a1' }]);
    for (const bad of [
      null,
      { ...notice, title: 'x'.repeat(201) },
      { ...notice, target: { vehicleId: 7 } },
      { ...notice, target: undefined },
    ])
      expect(await services.handlers['notify:show'](bad as never)).toEqual({ shown: false, reason: 'bad_request' });
    expect(shown).toHaveLength(1);
    const plain = createDesktopServices({
      mqttUrl: 'mqtt://127.0.0.1:1',
      serverUrl: 'http://127.0.0.1:1',
      host: 'browser',
      logger: silentLogger(),
    });
    expect(await plain.handlers['notify:show'](notice)).toEqual({ shown: false, reason: 'unsupported' });
    await plain.stop();
  });

  it('no tiles when tileUrl is empty', async () => {
    services = createDesktopServices({
      mqttUrl: 'mqtt://127.0.0.1:1',
      serverUrl: 'http://127.0.0.1:1',
      host: 'browser',
      tileUrl: '',
      logger: silentLogger(),
    });
    expect(await services.handlers['app:getInfo']()).toMatchObject({ tileUrl: '', tileAttribution: '' });
  });

  it("a car gone from the server's registry leaves the fleet, also when the reads before were answered 304", async () => {
    server = await startFakeServer();
    server.registry = [vehicleInfo('car-1'), vehicleInfo('car-2')];
    server.live = [vehicleLive('car-1', 4), vehicleLive('car-2', 4)];
    services = signedInServices(server, { serverRefreshMs: 20 });
    const frames: FleetFrame[] = [];
    services.events.on('fleet:frame', (f) => frames.push(f));
    await services.start();
    await waitFor(() => server!.notModified >= 2, 'unchanged registry re-reads');
    let snap = await services.handlers['fleet:getSnapshot']();
    expect(snap.registry.map((r) => r.id).sort()).toEqual(['car-1', 'car-2']);
    expect(snap.vehicles.map((v) => v.id).sort()).toEqual(['car-1', 'car-2']);
    server.registry = [vehicleInfo('car-1')];
    await waitFor(() => frames.some((f) => f.removed?.includes('car-2')), 'a frame removing car-2');
    snap = await services.handlers['fleet:getSnapshot']();
    expect(snap.registry.map((r) => r.id)).toEqual(['car-1']);
    expect(snap.vehicles.map((v) => v.id)).toEqual(['car-1']);
  });

  it('seeds from the server, emits frames and connection changes; stop() unsubscribes everything', async () => {
    server = await startFakeServer();
    server.registry = [vehicleInfo('car-1')];
    server.live = [vehicleLive('car-1', 4)];
    services = signedInServices(server);
    const frames: FleetFrame[] = [];
    const changes: ConnectionState[] = [];
    services.events.on('fleet:frame', (f) => frames.push(f));
    const off = services.events.on('connection:change', (c) => changes.push(c));
    await services.start();
    await waitFor(() => frames.some((f) => f.upserts.some((v) => v.id === 'car-1')), 'seed frame');
    expect(frames.flatMap((f) => f.registry).map((r) => r.id)).toEqual(['car-1']);
    const snap = await services.handlers['fleet:getSnapshot']();
    expect(snap.seq).toBe(frames.at(-1)!.seq);
    expect(snap.vehicles).toHaveLength(1);
    await waitFor(() => changes.some((c) => c.server.status === 'connected'), 'server connected');
    await waitFor(() => changes.some((c) => c.broker.status === 'reconnecting'), 'broker reconnecting (nothing listens on :1)');
    const state = await services.handlers['connection:getState']();
    expect(state.server.status).toBe('connected');
    off();
    const n = changes.length;
    await services.stop();
    expect(changes.length).toBe(n);
    expect((await services.handlers['connection:getState']()).broker).toMatchObject({ status: 'offline', detail: 'stopped' });
  });
});
