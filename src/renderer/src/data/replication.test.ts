/** The replica against an in-memory fake of the sync endpoints (RxDB memory storage, no SSE: polled). */
import { afterEach, describe, expect, it } from 'vitest';
import { getRxStorageMemory } from 'rxdb/plugins/storage-memory';
import type { AlertDoc, PushRow } from '../../../shared/sync-protocol.js';
import { ReplicaActions } from './actions';
import { openReplicaDatabase, type ReplicaDatabase } from './database';
import { Replica } from './replication';

type Doc = Record<string, unknown> & { id: string };

/** Pull/push per collection with a sequence checkpoint; a push whose assumed master is stale returns the master. */
function fakeServer() {
  let seq = 0;
  const docs = new Map<string, { doc: Doc; seq: number }>();
  const headers: Array<Record<string, string>> = [];
  let down = false;
  const write = (c: string, doc: Doc) => docs.set(`${c}/${doc.id}`, { doc: { ...doc, updatedAt: Date.now() }, seq: ++seq });
  const fetchImpl = (async (input: string | URL, init?: RequestInit) => {
    if (down) throw new TypeError('Failed to fetch');
    headers.push({ ...(init?.headers as Record<string, string>) });
    const url = new URL(String(input));
    const [, , , c, verb] = url.pathname.split('/') as [string, string, string, string, string];
    if (verb === 'pull') {
      const after = Number(url.searchParams.get('checkpoint'));
      const rows = [...docs.entries()].filter(([k, v]) => k.startsWith(`${c}/`) && v.seq > after).sort((a, b) => a[1].seq - b[1].seq);
      const limited = rows.slice(0, Number(url.searchParams.get('limit')));
      return Response.json({ documents: limited.map(([, v]) => v.doc), checkpoint: { seq: limited.at(-1)?.[1].seq ?? after } });
    }
    if (verb === 'push') {
      const conflicts: Doc[] = [];
      for (const row of JSON.parse(String(init?.body)) as PushRow<Doc>[]) {
        const cur = docs.get(`${c}/${row.newDocumentState.id}`)?.doc;
        const { updatedAt: _a, _deleted: _c, ...assumed } = (row.assumedMasterState ?? {}) as Doc;
        const { updatedAt: _b, _deleted: _d, ...current } = (cur ?? {}) as Doc;
        if (cur && JSON.stringify(assumed) !== JSON.stringify(current)) conflicts.push(cur);
        else {
          const { _deleted: _e, ...doc } = row.newDocumentState;
          write(c, doc as Doc);
        }
      }
      return Response.json(conflicts);
    }
    return new Response('not found', { status: 404 });
  }) as typeof fetch;
  return { fetchImpl, write, docs, headers, setDown: (d: boolean) => (down = d) };
}

const alert: AlertDoc = {
  id: 'a1',
  updatedAt: 1,
  vehicleId: 'veh-1',
  kind: 'low_battery',
  severity: 'warning',
  status: 'open',
  assignee: null,
  resolution: null,
  openedAt: 1,
  lastSeenAt: 1,
  occurrences: 1,
  acknowledgedBy: null,
  acknowledgedAt: null,
  resolvedBy: null,
  resolvedAt: null,
};

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function setup() {
  const server = fakeServer();
  server.write('alerts', alert as unknown as Doc);
  const db: ReplicaDatabase = await openReplicaDatabase({ name: `r${Math.random().toString(36).slice(2)}`, storage: getRxStorageMemory(), role: 'dispatcher' });
  const replica = new Replica(db, { syncUrl: 'http://sync.test/', operator: { id: 'op-1', role: 'dispatcher' }, fetchImpl: server.fetchImpl, streamed: [], pollMs: 50, retryMs: 50 });
  cleanup.push(async () => {
    await replica.dispose();
    await db.close();
  });
  await replica.start();
  await expect.poll(() => replica.view().status, { timeout: 10_000 }).toBe('synced');
  return { server, db, replica, actions: new ReplicaActions(db, replica.operator) };
}

describe('Replica', () => {
  it('pulls, pushes an edit with the operator headers and empties the outbox', async () => {
    const { server, db, replica, actions } = await setup();
    expect((await db.alerts!.findOne('a1').exec())?.status).toBe('open');
    await actions.acknowledgeAlert('a1');
    await expect.poll(() => (server.docs.get('alerts/a1')?.doc.status as string | undefined), { timeout: 10_000 }).toBe('acknowledged');
    await expect.poll(() => replica.view().pending, { timeout: 10_000 }).toBe(0);
    expect(server.headers.every((h) => h['x-fleetdesk-actor'] === 'op-1' && h['x-fleetdesk-role'] === 'dispatcher')).toBe(true);
    expect(replica.view().lastSyncAt).toBeGreaterThan(0);
  });

  it('queues edits while the server is down, then records a clash as a conflict and keeps the server version', async () => {
    const { server, db, replica, actions } = await setup();
    server.setDown(true);
    await expect.poll(() => replica.view().status, { timeout: 10_000 }).toBe('offline');
    await actions.assignAlertToMe('a1');
    await expect.poll(() => replica.view().pending).toBe(1);
    // meanwhile another operator assigned it on the server
    server.write('alerts', { ...(server.docs.get('alerts/a1')!.doc), assignee: 'op-2' });
    server.setDown(false);
    await expect.poll(() => replica.view().conflicts, { timeout: 10_000 }).toBe(1);
    await expect.poll(() => replica.view().pending, { timeout: 10_000 }).toBe(0);
    const [c] = await db.conflicts.find().exec();
    expect(c!.toJSON()).toMatchObject({ collectionName: 'alerts', docId: 'a1', local: { assignee: 'op-1' }, master: { assignee: 'op-2' }, resolved: false });
    await expect.poll(async () => (await db.alerts!.findOne('a1').exec())?.assignee, { timeout: 10_000 }).toBe('op-2');
    // "re-apply mine" pushes the operator's value onto the current master
    await actions.reapplyConflict(c!.id);
    await expect.poll(() => server.docs.get('alerts/a1')?.doc.assignee, { timeout: 10_000 }).toBe('op-1');
    await expect.poll(() => replica.view().conflicts).toBe(0);
  });
});
