/** The demo fleet's credentials: issued on first start, written 0600 to DATA_DIR, reused on the next start. */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { demoVehicleId } from '../../../../src/shared/demo-fleet.js';
import { startServer, type ServerHandle } from '../../app.js';
import { connectOutcome } from '../../testing/mqtt-clients.js';

describe('demo credentials', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetdesk-demo-creds-'));
  let server: ServerHandle | undefined;
  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('are issued on first start, kept in $DATA_DIR/demo-credentials.json (0600), and reused on restart', async () => {
    const file = join(dataDir, 'demo-credentials.json');
    server = await startServer({
      port: 0,
      mqttPort: 0,
      dataDir,
      databaseUrl: undefined,
      mqttUrl: undefined,
      seedVehicles: 3,
      logLevel: 'silent',
    });
    const first = server.demoCredentials!;
    expect(Object.keys(first.devices)).toEqual([0, 1, 2].map(demoVehicleId));
    expect(first.desktop.username).toBe('desktop.demo');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ devices: first.devices, desktop: first.desktop });
    const id = demoVehicleId(1);
    expect(await connectOutcome(server.mqttUrl, { username: id, password: first.devices[id]! }, { clientId: id })).toBe('connected');
    expect(await connectOutcome(server.mqttUrl, first.desktop, { clientId: 'fleetdesk-desktop-demo' })).toBe('connected');
    await server.stop();

    server = await startServer({
      port: 0,
      mqttPort: 0,
      dataDir,
      databaseUrl: undefined,
      mqttUrl: undefined,
      seedVehicles: 4,
      logLevel: 'silent',
    });
    const second = server.demoCredentials!;
    // the three existing secrets still verify and are kept; the fourth vehicle gets new ones
    expect(second.devices).toMatchObject(first.devices);
    expect(second.desktop).toEqual(first.desktop);
    expect(Object.keys(second.devices)).toHaveLength(4);
    expect(JSON.parse(readFileSync(file, 'utf8')).devices).toEqual(second.devices);
    expect(await connectOutcome(server.mqttUrl, { username: id, password: first.devices[id]! }, { clientId: id })).toBe('connected');
  });

  it('are not issued with MQTT_AUTH=off', async () => {
    const open = await startServer({
      port: 0,
      mqttPort: 0,
      dataDir: 'memory://',
      databaseUrl: undefined,
      mqttUrl: undefined,
      seedVehicles: 2,
      mqttAuth: 'off',
      logLevel: 'silent',
    });
    try {
      expect(open.demoCredentials).toBeUndefined();
      expect(await connectOutcome(open.mqttUrl, undefined)).toBe('connected');
    } finally {
      await open.stop();
    }
  });
});
