/**
 * Device transport over TLS (issue 13 §7): the embedded broker speaks mqtts:// with the certificate and key from
 * configuration (MQTT_TLS_CERT_FILE / MQTT_TLS_KEY_FILE); the server's own client, the simulator (`--mqtt-ca`) and
 * the desktop's telemetry feed (FLEETDESK_MQTT_CA_FILE) verify the broker's certificate against a CA file and
 * refuse a broker with another certificate; a plain-MQTT client gets nothing from the TLS port. Certificates are
 * self-signed pairs made here with the openssl binary (what `npm start` does for the demo).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSelfSignedCert } from '../../scripts/self-signed-cert.mjs';
import { startServer, type ServerHandle } from '../../server/src/app.js';
import { staffHeaders } from '../../server/src/testing/auth.js';
import { waitFor } from '../../server/src/testing/devices.js';
import { startSimulation, type Simulation } from '../../sim/simulation.js';
import { demoVehicleId } from '../../src/shared/demo-fleet.js';
import { silentLogger } from '../../src/main/log.js';
import { LiveFleet } from '../../src/main/services/live-fleet.js';
import { TelemetryFeed } from '../../src/main/services/telemetry-feed.js';

/** A self-signed certificate for 127.0.0.1 (what the demo uses): key and certificate PEM files. */
function selfSigned(dir: string, name: string): { cert: string; key: string } {
  const pair = makeSelfSignedCert(dir, name, 2);
  if (!pair) throw new Error('openssl could not make a certificate');
  return pair;
}

describe('MQTT over TLS (embedded broker)', () => {
  let dir: string;
  let server: ServerHandle;
  let good: { cert: string; key: string };
  let other: { cert: string; key: string };
  const sims: Simulation[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetdesk-mqtt-tls-'));
    good = selfSigned(dir, 'fleetdesk-broker');
    other = selfSigned(dir, 'someone-else');
    server = await startServer({
      port: 0,
      mqttPort: 0,
      mqttUrl: undefined,
      databaseUrl: undefined,
      dataDir: 'memory://',
      mqttAuth: 'off',
      logLevel: 'silent',
      seedVehicles: 2,
      mqttTlsCertFile: good.cert,
      mqttTlsKeyFile: good.key,
    });
  });
  afterAll(async () => {
    for (const sim of sims) await sim.stop();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("listens on mqtts://, and the server's own client is connected through it (verified against the certificate)", async () => {
    expect(server.mqttUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    await waitFor(
      async () => {
        const ready = (await (await fetch(`${server.httpUrl}/ready`)).json()) as { checks: Record<string, string> };
        return ready.checks.broker === 'ok';
      },
      { timeoutMs: 10_000, intervalMs: 100, what: 'the server connected to its TLS broker' },
    );
  });

  it("the simulator connects with the broker's CA (its telemetry lands) and refuses a broker with another certificate", async () => {
    const sim = await startSimulation({ mqttUrl: server.mqttUrl, vehicles: 1, seed: 7, tlsCa: await readFile(good.cert) });
    sims.push(sim);
    const dispatcher = await staffHeaders(server, 'dispatcher');
    await waitFor(
      async () => {
        const live = (await (await fetch(`${server.httpUrl}/ops/v1/fleet/live`, { headers: dispatcher })).json()) as {
          vehicles: Array<{ id: string }>;
        };
        return live.vehicles.some((v) => v.id === demoVehicleId(0));
      },
      { timeoutMs: 15_000, intervalMs: 200, what: 'the simulated car reporting over TLS' },
    );

    // the same broker, but the simulator trusts only another CA: the handshake fails, nothing connects
    const refused = startSimulation({
      mqttUrl: server.mqttUrl,
      vehicles: 1,
      firstVehicle: 1,
      seed: 8,
      tlsCa: await readFile(other.cert),
      connectTimeoutMs: 3_000,
    });
    await expect(refused).rejects.toThrow(/0 of 1 MQTT connections.*(self[- ]signed|certificate|verify)/i);
  });

  it("the desktop's telemetry feed connects with the broker's CA and stays away from a broker with another certificate", async () => {
    const fleet = new LiveFleet();
    const feed = (ca: string) =>
      new TelemetryFeed({
        mqttUrl: server.mqttUrl,
        ca,
        sink: { telemetry: (id, t, at) => fleet.applyTelemetry(id, t, at), status: (id, st, at) => fleet.applyStatus(id, st, at) },
        logger: silentLogger(),
        connectTimeoutMs: 3_000,
        offlineAfterAttempts: 1,
        backoff: { initialMs: 60_000, maxMs: 60_000 },
      });
    const trusted = feed(await readFile(good.cert, 'utf8'));
    const untrusted = feed(await readFile(other.cert, 'utf8'));
    trusted.start();
    untrusted.start();
    try {
      await waitFor(() => trusted.getLinkState().status === 'connected', { timeoutMs: 10_000, intervalMs: 50, what: 'the trusted feed' });
      await waitFor(() => untrusted.getLinkState().status === 'offline', { timeoutMs: 10_000, intervalMs: 50, what: 'the refused feed' });
      expect(untrusted.getLinkState().detail ?? '').toMatch(/self[- ]signed|certificate|verify/i);
    } finally {
      await trusted.stop();
      await untrusted.stop();
    }
  });

  it('a plain MQTT client gets no session on the TLS port', async () => {
    const url = server.mqttUrl.replace(/^mqtts:/, 'mqtt:');
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 2_000, protocolVersion: 4 });
    const outcome = await new Promise<string>((resolve) => {
      client.once('connect', () => resolve('connected'));
      client.once('error', () => resolve('refused'));
      client.once('close', () => resolve('refused'));
    });
    client.end(true);
    expect(outcome).toBe('refused');
  });
});
