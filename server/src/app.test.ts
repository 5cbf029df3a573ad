/** The server as a whole: operational endpoints, problem+json errors, seeding, restart with persisted data. */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoFleet } from '../../src/shared/demo-fleet.js';
import type { VehicleInfo, VehicleLive } from '../../src/shared/fleet.js';
import { startServer, type ServerHandle } from './app.js';
import { staffHeaders } from './testing/auth.js';
import { connectDevice, telemetry, waitFor } from './testing/devices.js';
import { metricValue } from './testing/metrics.js';

const quiet = {
  port: 0,
  mqttPort: 0,
  logLevel: 'silent' as const,
  dataDir: 'memory://',
  databaseUrl: undefined,
  mqttUrl: undefined,
  mqttAuth: 'off' as const,
};

async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string | null; body: T }> {
  const res = await fetch(url, { headers });
  return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as T };
}

describe('server endpoints', () => {
  let server: ServerHandle;
  beforeAll(async () => {
    server = await startServer({ ...quiet, seedVehicles: 25 });
  });
  afterAll(() => server?.stop());

  it('reports liveness and readiness', async () => {
    expect(server.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.mqttUrl).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    expect(await getJson(`${server.httpUrl}/health`)).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await getJson(`${server.httpUrl}/ready`)).toMatchObject({
      status: 200,
      body: { status: 'ready', checks: { database: 'ok', broker: 'ok' } },
    });
  });

  it('serves the seeded registry and the live fleet under /ops/v1', async () => {
    const headers = await staffHeaders(server, 'dispatcher');
    const vehicles = await getJson<{ vehicles: VehicleInfo[] }>(`${server.httpUrl}/ops/v1/vehicles`, headers);
    expect(vehicles.status).toBe(200);
    expect(vehicles.body.vehicles).toEqual(demoFleet(25));
    const live = await getJson<{ vehicles: VehicleLive[] }>(`${server.httpUrl}/ops/v1/fleet/live`, headers);
    expect(live).toMatchObject({ status: 200, body: { vehicles: [] } });
  });

  it('answers unknown routes with problem+json', async () => {
    const res = await getJson<Record<string, unknown>>(`${server.httpUrl}/ops/v1/nope`);
    expect(res.status).toBe(404);
    expect(res.type).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ type: 'urn:fleetdesk:problem:not_found', title: 'Not Found', status: 404, code: 'not_found' });
  });

  it('exposes Prometheus metrics of this instance', async () => {
    await fetch(`${server.httpUrl}/health`);
    const res = await fetch(`${server.httpUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    for (const name of [
      'fleetdesk_process_cpu_seconds_total',
      'fleetdesk_http_requests_total',
      'fleetdesk_http_request_duration_seconds_bucket',
      'fleetdesk_mqtt_messages_received_total',
      'fleetdesk_db_query_duration_seconds_bucket',
      'fleetdesk_vehicles_online',
    ]) {
      expect(text, name).toContain(name);
    }
    expect(text).toMatch(/fleetdesk_http_requests_total\{method="GET",route="\/health",status_code="200"\} [1-9]/);
    expect(text).toMatch(/fleetdesk_vehicles_registered 25/);
  });

  it('keeps metrics per instance', async () => {
    const other = await startServer({ ...quiet, seedVehicles: 0 });
    try {
      expect(await metricValue(other.metrics, 'fleetdesk_http_requests_total')).toBe(0);
      expect(await metricValue(server.metrics, 'fleetdesk_http_requests_total')).toBeGreaterThan(0);
    } finally {
      await other.stop();
    }
  });

  it('stops idempotently', async () => {
    const other = await startServer({ ...quiet, seedVehicles: 0 });
    await Promise.all([other.stop(), other.stop()]);
    await expect(fetch(`${other.httpUrl}/health`)).rejects.toThrow();
  });
});

describe('readiness without a broker', () => {
  it('stays in service (200, degraded) naming the broker while the external broker is unreachable', async () => {
    const port = await closedPort();
    const server = await startServer({ ...quiet, seedVehicles: 0, mqttUrl: `mqtt://127.0.0.1:${port}` });
    try {
      const res = await getJson<{ status: string; checks: Record<string, string> }>(`${server.httpUrl}/ready`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        status: 'degraded',
        checks: {
          database: 'ok',
          broker: expect.stringMatching(/^degraded: not connected since \d{4}-\d\d-\d\dT.*; vehicles kept at their last-known state/),
        },
      });
      expect((await getJson(`${server.httpUrl}/health`)).status).toBe(200);
    } finally {
      await server.stop();
    }
  }, 30_000);
});

describe('restart', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'fleetdesk-server-test-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('keeps the registry and the live state in the PGlite directory', async () => {
    const first = await startServer({ ...quiet, dataDir, seedVehicles: 5 });
    const id = demoFleet(1)[0]!.id;
    try {
      const device = await connectDevice(first.mqttUrl, id);
      await device.publishTelemetry(telemetry(42, { lat: 52.49 }));
      await waitFor(
        async () => (await metricValue(first.metrics, 'fleetdesk_mqtt_messages_received_total', { channel: 'telemetry' })) === 1,
      );
      await device.close();
    } finally {
      await first.stop(); // the final flush writes the pending state
    }

    const second = await startServer({ ...quiet, dataDir, seedVehicles: 5 });
    try {
      const headers = await staffHeaders(second, 'dispatcher');
      const live = await getJson<{ vehicles: VehicleLive[] }>(`${second.httpUrl}/ops/v1/fleet/live`, headers);
      expect(live.body.vehicles).toEqual([expect.objectContaining({ id, seq: 42, lat: 52.49 })]);
      expect((await getJson<{ vehicles: VehicleInfo[] }>(`${second.httpUrl}/ops/v1/vehicles`, headers)).body.vehicles).toHaveLength(5);
      // the seq guard survives the restart too
      const device = await connectDevice(second.mqttUrl, id);
      await device.publishTelemetry(telemetry(41, { lat: 1 }));
      await waitFor(async () => (await metricValue(second.metrics, 'fleetdesk_mqtt_messages_dropped_total', { reason: 'stale' })) === 1);
      await device.close();
    } finally {
      await second.stop();
    }
  }, 60_000);
});

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
