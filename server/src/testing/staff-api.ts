/**
 * Test helpers around a running server's staff API and sync pull, shared by the sync conformance tests (the test
 * client's and the desk's own replica) and the offline-desk e2e: a staff call as a dispatcher, every document of
 * a collection as the server sees it, a crash alert raised through the server's own alert engine, a free port.
 */
import { createServer } from 'node:net';
import type { OperatorRole } from '../../../src/shared/operator-role.js';
import type { AlertDoc, PullResponse, SyncCollection } from '../../../src/shared/sync-protocol.js';
import type { ServerHandle } from '../app.js';
import { staffHeaders } from './auth.js';
import { waitFor } from './devices.js';

/** A staff API call (`/ops/v1` + path) as `actor` with `role` (a dispatcher unless said); the body parsed as JSON, the content type as sent. */
export async function staffCall<T>(
  server: Pick<ServerHandle, 'httpUrl' | 'db'>,
  method: string,
  path: string,
  body?: unknown,
  actor = 'ana',
  role: OperatorRole = 'dispatcher',
): Promise<{ status: number; type: string | null; body: T }> {
  const res = await fetch(`${server.httpUrl}/ops/v1${path}`, {
    method,
    headers: {
      ...(await staffHeaders(server, role, actor)),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as T };
}

/** Every live document of a collection as the server sees it, read through the sync pull itself (all pages, as an admin). */
export async function serverDocs<D extends { id: string }>(
  server: Pick<ServerHandle, 'httpUrl' | 'db'>,
  c: SyncCollection,
): Promise<Map<string, D>> {
  const out = new Map<string, D>();
  let seq = 0;
  for (;;) {
    const res = await fetch(`${server.httpUrl}/sync/v1/${c}/pull?checkpoint=${seq}&limit=1000`, {
      headers: await staffHeaders(server, 'admin', 'checker'),
    });
    if (res.status !== 200) throw new Error(`pull of ${c} answered ${res.status}`);
    const page = (await res.json()) as PullResponse<D & { _deleted?: boolean }>;
    for (const d of page.documents) {
      if (d._deleted) out.delete(d.id);
      else out.set(d.id, d);
    }
    if (page.documents.length === 0 || page.checkpoint.seq === seq) return out;
    seq = page.checkpoint.seq;
  }
}

/** A crash alert on a vehicle, raised through the server's own alert engine; the open alert as the staff API lists it. */
export async function raiseCrashAlert(server: ServerHandle, vehicleId: string, actor?: string): Promise<AlertDoc> {
  server.events.emit('vehicle.event', {
    vehicleId,
    event: { v: 1, seq: Date.now(), ts: Date.now(), type: 'crash_detected', data: { peakG: 5 } },
    receivedAt: Date.now(),
  });
  await server.flushAlerts();
  const list = await staffCall<{ alerts: AlertDoc[] }>(
    server,
    'GET',
    `/alerts?vehicleId=${vehicleId}&kind=crash&status=open`,
    undefined,
    actor,
  );
  if (list.status !== 200 || list.body.alerts.length !== 1)
    throw new Error(`expected one open crash alert on ${vehicleId}, got ${list.status} ${JSON.stringify(list.body)}`);
  return list.body.alerts[0]!;
}

/** A TCP port free on 127.0.0.1 right now (for a server that must come back on the same port after a stop). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Waits until every one of `vehicleIds` is in the fleet's live view (`/ops/v1/fleet/live`): the cars report. */
export async function waitForCarsReporting(
  server: Pick<ServerHandle, 'httpUrl' | 'db'>,
  vehicleIds: readonly string[],
  timeoutMs = 30_000,
): Promise<void> {
  const wanted = new Set(vehicleIds);
  await waitFor(
    async () => {
      const { body } = await staffCall<{ vehicles: Array<{ id: string }> }>(server, 'GET', '/fleet/live');
      return body.vehicles.filter((v) => wanted.has(v.id)).length === wanted.size;
    },
    { timeoutMs, intervalMs: 250, what: 'every car reporting' },
  );
}
