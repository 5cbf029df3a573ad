/**
 * The same access rules on Mosquitto: credentials issued through the staff API, the password and ACL files
 * generated from the database (mosquitto.ts), and a Mosquitto this test starts on a free port in a temp dir
 * (never the shared one) with `use_username_as_clientid true`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../../../../src/shared/device-protocol.js';
import { startServer, type ServerHandle } from '../../app.js';
import { staffHeaders } from '../../testing/auth.js';
import { telemetry, uniqueTestVehicles } from '../../testing/devices.js';
import { CredentialsRepository } from './data/credentials.repository.js';
import { writeMosquittoFiles } from './mosquitto.js';
import { closed, connectAs, connectOutcome, subscribeGranted, waitUntil, type Account } from '../../testing/mqtt-clients.js';

const MOSQUITTO = '/usr/sbin/mosquitto';

/**
 * The SUBACK a subscription the ACL denies gets: Mosquitto 2.0 grants it (QoS 1 asked → 1) and then delivers
 * nothing the ACL denies — what the test proves by the payloads each client receives; 2.1 and later answer 0x80.
 */
const DENIED_SUBACK = mosquittoAtLeast(2, 1) ? 128 : 1;

function mosquittoAtLeast(major: number, minor: number): boolean {
  if (!existsSync(MOSQUITTO)) return false;
  const out = spawnSync(MOSQUITTO, ['-h'], { encoding: 'utf8' });
  const m = /mosquitto version (\d+)\.(\d+)/.exec(`${out.stdout}${out.stderr}`);
  if (!m) throw new Error(`cannot read the Mosquitto version from \`${MOSQUITTO} -h\``);
  return Number(m[1]) > major || (Number(m[1]) === major && Number(m[2]) >= minor);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.skipIf(!existsSync(MOSQUITTO))('device identity on a test-owned Mosquitto (generated password + ACL files)', () => {
  let server: ServerHandle;
  let dir: string;
  let mosquitto: ChildProcess | undefined;
  let url: string;
  let stderr = '';
  const [vehA, vehB] = uniqueTestVehicles(2);
  let devA: Account;
  let devB: Account;
  let desktop: Account;
  let service1: Account;
  let service2: Account;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fleetdesk-mosquitto-'));
    server = await startServer({
      // the server manages this Mosquitto's files: it rewrites them after every change and sends SIGHUP
      mosquittoConfigDir: dir,
      mosquittoPidFile: join(dir, 'mosquitto.pid'),
      port: 0,
      mqttPort: 0,
      dataDir: 'memory://',
      databaseUrl: undefined,
      mqttUrl: undefined,
      seedVehicles: 0,
      logLevel: 'silent',
    });
    await server.registerVehicles([vehA!, vehB!]);
    const ADMIN = await staffHeaders(server, 'admin');
    const issue = async (path: string, body?: unknown) => {
      const res = await fetch(`${server.httpUrl}/ops/v1${path}`, {
        method: 'POST',
        ...(body === undefined
          ? { headers: ADMIN }
          : { headers: { ...ADMIN, 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
      expect(res.status).toBe(201);
      return (await res.json()) as Account;
    };
    devA = await issue(`/vehicles/${vehA!.id}/device-credentials`);
    devB = await issue(`/vehicles/${vehB!.id}/device-credentials`);
    desktop = await issue('/mqtt-accounts', { role: 'desktop' });
    service1 = await issue('/mqtt-accounts', { role: 'service' });
    service2 = await issue('/mqtt-accounts', { role: 'service' });
    // a revoked account must not reach the password file
    const revoked = await issue('/mqtt-accounts', { role: 'desktop' });
    expect((await fetch(`${server.httpUrl}/ops/v1/mqtt-accounts/${revoked.username}`, { method: 'DELETE', headers: ADMIN })).status).toBe(
      204,
    );

    const files = await writeMosquittoFiles(dir, await new CredentialsRepository(server.db).listAll());
    expect(statSync(files.passwordFile).mode & 0o777).toBe(0o600);
    const passwd = readFileSync(files.passwordFile, 'utf8');
    expect(passwd).toContain(`${devA.username}:$7$101$`);
    expect(passwd).not.toContain(revoked.username);
    expect(passwd).not.toContain(devA.password);
    const acl = readFileSync(files.aclFile, 'utf8');
    expect(acl).toContain('pattern write fleet/v1/vehicles/%u/telemetry');
    expect(acl).toContain('pattern read fleet/v1/vehicles/%u/commands');
    expect(acl).toContain(`user ${desktop.username}\ntopic read fleet/v1/vehicles/+/telemetry`);

    const port = await freePort();
    url = `mqtt://127.0.0.1:${port}`;
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous false',
        `password_file ${files.passwordFile}`,
        `acl_file ${files.aclFile}`,
        'use_username_as_clientid true',
        'persistence false',
        `pid_file ${join(dir, 'mosquitto.pid')}`,
        // as root, Mosquitto would switch to the `mosquitto` user, who cannot read this 0700 temp dir
        ...(process.getuid?.() === 0 ? ['user root'] : []),
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        '',
      ].join('\n'),
    );
    mosquitto = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    mosquitto.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 10_000;
    for (;;) {
      const outcome = await connectOutcome(url, service1);
      if (outcome === 'connected') break;
      if (Date.now() > deadline || mosquitto.exitCode !== null) throw new Error(`mosquitto did not come up: ${outcome} ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  afterAll(async () => {
    if (mosquitto && mosquitto.exitCode === null) {
      const exited = new Promise((resolve) => mosquitto!.once('exit', resolve));
      mosquitto.kill('SIGTERM');
      await exited;
    }
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses anonymous, unknown and wrong-password CONNECTs', async () => {
    expect(await connectOutcome(url, undefined)).toMatch(/not authorized/i);
    expect(await connectOutcome(url, { username: 'veh-nobody', password: devA.password })).toMatch(/not authorized|bad user/i);
    expect(await connectOutcome(url, { username: devA.username, password: devB.password })).toMatch(/not authorized|bad user/i);
    expect(await connectOutcome(url, devA)).toBe('connected');
  });

  it('a rogue device cannot publish as another car', async () => {
    const watcher = await connectAs(url, service1);
    const rogue = await connectAs(url, devA);
    try {
      expect(await subscribeGranted(watcher.client, 'fleet/v1/vehicles/+/telemetry')).toBe(1);
      await rogue.client.publishAsync(deviceTopic(devB.username, 'telemetry'), JSON.stringify(telemetry(1)), { qos: 1 });
      await rogue.client.publishAsync(deviceTopic(devB.username, 'commands'), '{"commandId":"forged"}', { qos: 1 });
      await rogue.client.publishAsync(deviceTopic(devA.username, 'telemetry'), JSON.stringify(telemetry(2)), { qos: 1 });
      await waitUntil(() => watcher.received.length >= 1, 'own telemetry at the watcher');
      await new Promise((r) => setTimeout(r, 100));
      expect(watcher.received.map((m) => m.topic)).toEqual([deviceTopic(devA.username, 'telemetry')]);
    } finally {
      await Promise.all([rogue.close(), watcher.close()]);
    }
  });

  it('a rogue device cannot read another car’s commands', async () => {
    const rogue = await connectAs(url, devA);
    const victim = await connectAs(url, devB);
    const ops = await connectAs(url, service1);
    try {
      const granted = await subscribeGranted(rogue.client, deviceTopic(devB.username, 'commands'));
      expect(granted).toBe(DENIED_SUBACK);
      expect(await subscribeGranted(rogue.client, 'fleet/v1/vehicles/+/commands')).toBe(DENIED_SUBACK);
      expect(await subscribeGranted(rogue.client, deviceTopic(devA.username, 'commands'))).toBe(1);
      expect(await subscribeGranted(victim.client, deviceTopic(devB.username, 'commands'))).toBe(1);
      await ops.client.publishAsync(deviceTopic(devB.username, 'commands'), '{"commandId":"c-for-b"}', { qos: 1 });
      await ops.client.publishAsync(deviceTopic(devA.username, 'commands'), '{"commandId":"c-for-a"}', { qos: 1 });
      await waitUntil(() => victim.received.length === 1 && rogue.received.length >= 1, 'commands delivered');
      await new Promise((r) => setTimeout(r, 100));
      expect(rogue.received.map((m) => m.payload)).toEqual(['{"commandId":"c-for-a"}']);
      expect(victim.received.map((m) => m.payload)).toEqual(['{"commandId":"c-for-b"}']);
    } finally {
      await Promise.all([rogue.close(), victim.close(), ops.close()]);
    }
  });

  it('a device cannot take over another car’s session by using its client id (use_username_as_clientid)', async () => {
    const victim = await connectAs(url, devB);
    let victimClosed = false;
    victim.client.on('close', () => (victimClosed = true));
    try {
      const rogue = await connectAs(url, devA, { clientId: devB.username });
      await new Promise((r) => setTimeout(r, 300));
      expect(victimClosed).toBe(false);
      expect(victim.client.connected).toBe(true);
      // the rogue session runs as veh-A: it may still not publish as veh-B
      await rogue.close();
    } finally {
      await victim.close();
    }
  });

  it('a desktop account reads telemetry, status and events, and cannot publish', async () => {
    const desk = await connectAs(url, desktop);
    const car = await connectAs(url, devB);
    try {
      for (const c of ['telemetry', 'status', 'events'] as const) await subscribeGranted(desk.client, `fleet/v1/vehicles/+/${c}`);
      await desk.client.publishAsync(deviceTopic(devB.username, 'telemetry'), JSON.stringify(telemetry(99)), { qos: 1 });
      await car.client.publishAsync(deviceTopic(devB.username, 'telemetry'), JSON.stringify(telemetry(7)), { qos: 1 });
      await car.client.publishAsync(deviceTopic(devB.username, 'events'), '{"type":"door_opened"}', { qos: 1 });
      await waitUntil(() => desk.received.length >= 2, 'car telemetry and event at the desktop');
      await new Promise((r) => setTimeout(r, 100));
      expect(desk.received.map((m) => m.topic)).toEqual([deviceTopic(devB.username, 'telemetry'), deviceTopic(devB.username, 'events')]);
      expect(JSON.parse(desk.received[0]!.payload).seq).toBe(7);
    } finally {
      await Promise.all([desk.close(), car.close()]);
    }
  });

  it('service accounts share telemetry through a shared subscription: each message to exactly one', async () => {
    const s1 = await connectAs(url, service1);
    const s2 = await connectAs(url, service2);
    const car = await connectAs(url, devA);
    try {
      const filter = `$share/ingest-${vehA!.id}/fleet/v1/vehicles/+/telemetry`;
      expect(await subscribeGranted(s1.client, filter)).toBe(1);
      expect(await subscribeGranted(s2.client, filter)).toBe(1);
      const n = 20;
      for (let seq = 1; seq <= n; seq++)
        await car.client.publishAsync(deviceTopic(devA.username, 'telemetry'), JSON.stringify(telemetry(seq)), { qos: 1 });
      await waitUntil(() => s1.received.length + s2.received.length >= n, 'all shared deliveries');
      await new Promise((r) => setTimeout(r, 100));
      const seqs = [...s1.received, ...s2.received].map((m) => JSON.parse(m.payload).seq as number).sort((a, b) => a - b);
      expect(seqs).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      expect(s1.received.length).toBeGreaterThan(0);
      expect(s2.received.length).toBeGreaterThan(0);
      // the same service account connected twice would share one client id: that is why each instance gets its own
      expect(await closed(s1.client, 100)).toBe(false);
    } finally {
      await Promise.all([s1.close(), s2.close(), car.close()]);
    }
  });

  it('follows the staff API without a restart: bulk-provisioned devices connect, revoked ones are refused and their open session ends', async () => {
    const ADMIN = await staffHeaders(server, 'admin');
    const [vehC, vehD] = uniqueTestVehicles(2);
    await server.registerVehicles([vehC!, vehD!]);
    const res = await fetch(`${server.httpUrl}/ops/v1/devices/credentials`, {
      method: 'POST',
      headers: { ...ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify({ vehicleIds: [vehC!.id, vehD!.id] }),
    });
    expect(res.status).toBe(201);
    const { devices } = (await res.json()) as { devices: Account[] };
    const devC = devices.find((d) => d.username === vehC!.id)!;
    // the server rewrote the files and sent SIGHUP: the new account works with no operator step
    // (SIGHUP is handled by Mosquitto's own loop: poll, do not sleep)
    await expect.poll(() => connectOutcome(url, devC), { timeout: 5_000 }).toBe('connected');
    const live = await connectAs(url, devC);
    const bystander = await connectAs(
      url,
      devices.find((d) => d.username === vehD!.id)!,
    );
    const revoke = await fetch(`${server.httpUrl}/ops/v1/devices/revoke`, {
      method: 'POST',
      headers: { ...ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify({ vehicleIds: [vehC!.id], reason: 'unit stolen' }),
    });
    expect(revoke.status).toBe(200);
    await expect.poll(() => connectOutcome(url, devC), { timeout: 5_000 }).toMatch(/not authorized|bad user/i);
    // Mosquitto 2 checks connected clients against the reloaded password file: the revoked one is dropped, the other stays
    expect(await closed(live.client, 5_000)).toBe(true);
    expect(bystander.client.connected).toBe(true);
    await bystander.close();
  });
});
