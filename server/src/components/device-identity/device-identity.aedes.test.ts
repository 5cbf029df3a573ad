/**
 * Device identity on the embedded broker (MQTT_AUTH=required, the default): credentials issued through the
 * staff API, and a rogue device with valid credentials of its own trying to act as another car.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../../../../src/shared/device-protocol.js';
import { startServer, type ServerHandle } from '../../app.js';
import { staffHeaders } from '../../testing/auth.js';
import { dbBackends } from '../../testing/backends.js';
import { telemetry, uniqueTestVehicles, waitFor } from '../../testing/devices.js';
import { metricValue } from '../../testing/metrics.js';
import { closed, connectAs, connectOutcome, subscribeGranted, waitUntil, type Account } from '../../testing/mqtt-clients.js';

const NOT_AUTHORIZED = /not authorized/i;

describe.each(dbBackends())('device identity on the embedded broker ($name)', (backend) => {
  let server: ServerHandle;
  let cleanup: (() => Promise<void>) | undefined;
  const [vehA, vehB, vehC] = uniqueTestVehicles(3).map((v) => v);
  let devA: Account;
  let devB: Account;
  let desktop: Account;
  let service: Account;

  /** the admin `ada`, signed in */
  const admin = () => staffHeaders(server, 'admin', 'ada');
  const post = async (path: string, body?: unknown, as?: Record<string, string>) => {
    const headers = as ?? (await admin());
    return fetch(`${server.httpUrl}/ops/v1${path}`, {
      method: 'POST',
      ...(body === undefined ? { headers } : { headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
  };
  const del = async (path: string) => fetch(`${server.httpUrl}/ops/v1${path}`, { method: 'DELETE', headers: await admin() });
  const liveIds = async () => {
    await server.flushIngestion();
    const body = (await (await fetch(`${server.httpUrl}/ops/v1/fleet/live`, { headers: await admin() })).json()) as {
      vehicles: Array<{ id: string; seq: number }>;
    };
    return new Map(body.vehicles.map((v) => [v.id, v.seq]));
  };
  const denied = (action: string, reason: string) => metricValue(server.metrics, 'fleetdesk_mqtt_auth_denied_total', { action, reason });

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({ ...created.overrides, port: 0, mqttPort: 0, mqttUrl: undefined, seedVehicles: 0, logLevel: 'silent' });
    expect(server.config.mqttAuth).toBe('required');
    await server.registerVehicles([vehA!, vehB!, vehC!]);
    const issue = async (path: string, body?: unknown) => {
      const res = await post(path, body);
      expect(res.status, path).toBe(201);
      expect(res.headers.get('cache-control')).toBe('no-store');
      return (await res.json()) as Account & { role: string; rotated: boolean };
    };
    devA = await issue(`/vehicles/${vehA!.id}/device-credentials`);
    devB = await issue(`/vehicles/${vehB!.id}/device-credentials`);
    desktop = await issue('/mqtt-accounts', { role: 'desktop' });
    service = await issue('/mqtt-accounts', { role: 'service', name: `t-${vehA!.id.slice(1, 9)}` });
  });

  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  it('issues a device its vehicle id as username and a 256-bit secret; stores only hashes; audits it', async () => {
    expect(devA.username).toBe(vehA!.id);
    expect(Buffer.from(devA.password, 'base64url')).toHaveLength(32);
    expect(desktop.username).toMatch(/^desktop\.[0-9a-f]{12}$/);
    const { rows } = await server.db.query<{ secret_hash: string; broker_hash: string; role: string }>(
      'select secret_hash, broker_hash, role from mqtt_credentials where username = $1',
      [devA.username],
    );
    expect(rows[0]!.role).toBe('device');
    expect(rows[0]!.secret_hash).toMatch(/^\$scrypt\$/);
    expect(rows[0]!.broker_hash).toMatch(/^\$7\$/);
    expect(JSON.stringify(rows)).not.toContain(devA.password);
    const audit = await server.db.query<{ actor: string; action: string }>(
      `select actor, action from audit_log where target_type = 'mqtt_credentials' and target_id = $1`,
      [devA.username],
    );
    expect(audit.rows).toEqual([{ actor: 'ada', action: 'mqtt_credentials.issued' }]);
  });

  it('answers bad provisioning requests with problems, not secrets', async () => {
    const forbidden = await post(`/vehicles/${vehC!.id}/device-credentials`, undefined, await staffHeaders(server, 'dispatcher'));
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('content-type')).toContain('application/problem+json');
    expect((await post('/vehicles/no-such-car/device-credentials')).status).toBe(404);
    expect((await post('/vehicles/bad%2Bid/device-credentials')).status).toBe(400);
    expect((await post('/mqtt-accounts', { role: 'device' })).status).toBe(400);
    expect((await post('/mqtt-accounts', { role: 'desktop', name: 'Bad Name' })).status).toBe(400);
    expect((await del('/vehicles/no-such-car/device-credentials')).status).toBe(404);
  });

  it('refuses anonymous, unknown, wrong-password, wrong-client-id and foreign-will CONNECTs as "not authorized"', async () => {
    const url = server.mqttUrl;
    const before = await denied('connect', 'anonymous');
    expect(await connectOutcome(url, undefined, { clientId: devA.username })).toMatch(NOT_AUTHORIZED);
    expect(await denied('connect', 'anonymous')).toBe(before + 1);
    expect(await connectOutcome(url, { username: 'veh-nobody', password: devA.password }, { clientId: 'veh-nobody' })).toMatch(
      NOT_AUTHORIZED,
    );
    expect(await connectOutcome(url, { username: devA.username, password: devB.password }, { clientId: devA.username })).toMatch(
      NOT_AUTHORIZED,
    );
    expect(await denied('connect', 'bad_password')).toBeGreaterThanOrEqual(1);
    // valid credentials, but the client id of another car (which would kick that car's session)
    expect(await connectOutcome(url, devA, { clientId: devB.username })).toMatch(NOT_AUTHORIZED);
    expect(await denied('connect', 'client_id')).toBeGreaterThanOrEqual(1);
    // a desktop may choose its client id, but not a device's
    expect(await connectOutcome(url, desktop, { clientId: devB.username })).toMatch(NOT_AUTHORIZED);
    // a last will on another car's status topic
    const will = {
      topic: deviceTopic(devB.username, 'status'),
      payload: Buffer.from('{"state":"offline","ts":1}'),
      qos: 1 as const,
      retain: true,
    };
    expect(await connectOutcome(url, devA, { clientId: devA.username, will })).toMatch(NOT_AUTHORIZED);
    expect(await denied('connect', 'will')).toBe(1);
    // the real thing connects
    expect(
      await connectOutcome(url, devA, { clientId: devA.username, will: { ...will, topic: deviceTopic(devA.username, 'status') } }),
    ).toBe('connected');
  });

  it('a rogue device cannot publish as another car: dropped, counted, and it stays connected', async () => {
    const watcher = await connectAs(server.mqttUrl, desktop, { clientId: 'fleetdesk-desktop-watch' });
    const rogue = await connectAs(server.mqttUrl, devA, { clientId: devA.username });
    try {
      expect(await subscribeGranted(watcher.client, 'fleet/v1/vehicles/+/telemetry')).toBe(1);
      const before = await denied('publish', 'topic');
      await rogue.client.publishAsync(deviceTopic(devB.username, 'telemetry'), JSON.stringify(telemetry(1)), { qos: 1 });
      await rogue.client.publishAsync(deviceTopic(devB.username, 'status'), '{"state":"online","ts":1}', { qos: 1, retain: true });
      // a message of its own after the forged ones: once it arrives, the forged ones would have too
      await rogue.client.publishAsync(deviceTopic(devA.username, 'telemetry'), JSON.stringify(telemetry(5)), { qos: 1 });
      await waitUntil(
        () => watcher.received.some((m) => m.topic === deviceTopic(devA.username, 'telemetry')),
        'own telemetry at the watcher',
      );
      expect(watcher.received.map((m) => m.topic)).toEqual([deviceTopic(devA.username, 'telemetry')]);
      expect(await denied('publish', 'topic')).toBe(before + 2);
      expect(rogue.client.connected).toBe(true);
      // the server ingested veh-A's own message and nothing for veh-B
      await waitFor(async () => (await liveIds()).get(devA.username) === 5, { what: 'veh-A state' });
      expect((await liveIds()).has(devB.username)).toBe(false);
      // the forged retained status was not stored either
      const late = await connectAs(server.mqttUrl, desktop, { clientId: 'fleetdesk-desktop-late' });
      try {
        expect(await subscribeGranted(late.client, deviceTopic(devB.username, 'status'))).toBe(1);
        await late.client.publishAsync(deviceTopic(devA.username, 'status'), 'x').catch(() => undefined); // desktop: dropped
        await new Promise((r) => setTimeout(r, 200));
        expect(late.received).toEqual([]);
      } finally {
        await late.close();
      }
    } finally {
      await rogue.close();
      await watcher.close();
    }
  });

  it('a rogue device cannot read another car’s commands: failed SUBACK, nothing delivered', async () => {
    const rogue = await connectAs(server.mqttUrl, devA, { clientId: devA.username });
    const victim = await connectAs(server.mqttUrl, devB, { clientId: devB.username });
    const ops = await connectAs(server.mqttUrl, service, { clientId: `fleetdesk-test-ops` });
    try {
      expect(await subscribeGranted(rogue.client, deviceTopic(devB.username, 'commands'))).toBe(128);
      expect(await subscribeGranted(rogue.client, 'fleet/v1/vehicles/+/commands')).toBe(128);
      expect(await subscribeGranted(rogue.client, 'fleet/v1/#')).toBe(128);
      expect(await subscribeGranted(rogue.client, deviceTopic(devA.username, 'commands'))).toBe(1);
      expect(await subscribeGranted(victim.client, deviceTopic(devB.username, 'commands'))).toBe(1);
      expect(await denied('subscribe', 'topic')).toBeGreaterThanOrEqual(3);
      await ops.client.publishAsync(deviceTopic(devB.username, 'commands'), '{"commandId":"c-for-b"}', { qos: 1 });
      await ops.client.publishAsync(deviceTopic(devA.username, 'commands'), '{"commandId":"c-for-a"}', { qos: 1 });
      await waitUntil(() => victim.received.length === 1 && rogue.received.length === 1, 'commands delivered');
      expect(victim.received[0]!.payload).toContain('c-for-b');
      expect(rogue.received.map((m) => m.payload)).toEqual(['{"commandId":"c-for-a"}']);
      expect(rogue.client.connected).toBe(true);
    } finally {
      await Promise.all([rogue.close(), victim.close(), ops.close()]);
    }
  });

  it('a desktop account reads telemetry, status and events but cannot publish or read commands', async () => {
    const desk = await connectAs(server.mqttUrl, desktop, { clientId: 'fleetdesk-desktop-ro' });
    const car = await connectAs(server.mqttUrl, devB, { clientId: devB.username });
    try {
      for (const c of ['telemetry', 'status', 'events'] as const)
        expect(await subscribeGranted(desk.client, `fleet/v1/vehicles/+/${c}`), c).toBe(1);
      expect(await subscribeGranted(desk.client, 'fleet/v1/vehicles/+/commands')).toBe(128);
      expect(await subscribeGranted(desk.client, 'fleet/v1/vehicles/+/command-results')).toBe(128);
      const before = await denied('publish', 'topic');
      await desk.client.publishAsync(deviceTopic(devB.username, 'telemetry'), JSON.stringify(telemetry(99)), { qos: 1 });
      await car.client.publishAsync(deviceTopic(devB.username, 'telemetry'), JSON.stringify(telemetry(7)), { qos: 1 });
      const telemetryAtDesk = () => desk.received.filter((m) => m.topic === deviceTopic(devB.username, 'telemetry'));
      await waitUntil(() => telemetryAtDesk().length >= 1, 'car telemetry at the desktop');
      await new Promise((r) => setTimeout(r, 100));
      expect(telemetryAtDesk().map((m) => JSON.parse(m.payload).seq)).toEqual([7]);
      expect(await denied('publish', 'topic')).toBe(before + 1);
      await waitFor(async () => (await liveIds()).get(devB.username) === 7, { what: 'veh-B state from its own device' });
    } finally {
      await Promise.all([desk.close(), car.close()]);
    }
  });

  it('rotation and revocation end open sessions and refuse the old secret', async () => {
    const creds = (await (await post(`/vehicles/${vehC!.id}/device-credentials`)).json()) as Account;
    const car = await connectAs(server.mqttUrl, creds, { clientId: creds.username });
    const rotatedRes = await post(`/vehicles/${vehC!.id}/device-credentials`);
    expect(rotatedRes.status).toBe(201);
    const rotated = (await rotatedRes.json()) as Account & { rotated: boolean };
    expect(rotated.rotated).toBe(true);
    expect(rotated.password).not.toBe(creds.password);
    expect(await closed(car.client)).toBe(true);
    expect(await connectOutcome(server.mqttUrl, creds, { clientId: creds.username })).toMatch(NOT_AUTHORIZED);
    const again = await connectAs(server.mqttUrl, rotated, { clientId: rotated.username });
    expect((await del(`/vehicles/${vehC!.id}/device-credentials`)).status).toBe(204);
    expect(await closed(again.client)).toBe(true);
    expect(await connectOutcome(server.mqttUrl, rotated, { clientId: rotated.username })).toMatch(NOT_AUTHORIZED);
    expect(await denied('connect', 'disabled')).toBe(1);
    const audit = await server.db.query<{ action: string }>(
      `select action from audit_log where target_type = 'mqtt_credentials' and target_id = $1 order by id`,
      [vehC!.id],
    );
    expect(audit.rows.map((r) => r.action)).toEqual(['mqtt_credentials.issued', 'mqtt_credentials.rotated', 'mqtt_credentials.revoked']);
    await Promise.all([car.close(), again.close()]);
  });

  it('the server’s own client is a service account (ingestion works with auth on)', async () => {
    const ready = (await (await fetch(`${server.httpUrl}/ready`)).json()) as { checks: Record<string, string> };
    expect(ready.checks['broker']).toBe('ok');
  });
});
