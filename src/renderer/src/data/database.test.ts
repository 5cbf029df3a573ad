import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { getRxStorageDexie } from 'rxdb/plugins/storage-dexie';
import { RX_SCHEMAS, type TaskDoc } from '../../../shared/sync-protocol.js';
import { openReplicaDatabase, readableCollections, type ReplicaDatabase } from './database';

const storage = () => getRxStorageDexie({ indexedDB, IDBKeyRange });
let open: ReplicaDatabase[] = [];
afterEach(async () => {
  for (const db of open) if (!db.closed) await db.close();
  open = [];
});

const task = (id: string): TaskDoc => ({
  id,
  updatedAt: 0,
  vehicleId: 'veh-1',
  kind: 'cleaning',
  status: 'open',
  assignee: null,
  note: 'seats dirty',
  alertId: null,
  createdBy: 'op-1',
  createdAt: 1_700_000_000_000,
  dueAt: null,
  completedAt: null,
});

describe('replica database', () => {
  it('creates every collection the role may read plus conflicts and meta', async () => {
    const db = await openReplicaDatabase({ name: `t${Date.now()}a`, storage: storage(), role: 'support' });
    open.push(db);
    expect(Object.keys(db.collections).sort()).toEqual([...readableCollections('support'), 'conflicts', 'meta', 'outbox'].sort());
  });

  it('migrates a schema version bump without losing an unsynced local edit', async () => {
    const name = `t${Date.now()}m`;
    const v0 = await openReplicaDatabase({ name, storage: storage(), role: 'dispatcher' });
    await v0.tasks!.insert(task('task-offline'));
    await v0.close();

    const v1Schema = {
      ...RX_SCHEMAS.tasks,
      version: 1,
      properties: { ...RX_SCHEMAS.tasks.properties, priority: { type: 'string', maxLength: 10 } },
    };
    const v1 = await openReplicaDatabase({
      name,
      storage: storage(),
      role: 'dispatcher',
      schemas: { tasks: v1Schema },
      migrations: { tasks: { 1: (doc: Record<string, unknown>) => ({ ...doc, priority: 'normal' }) } },
    });
    open.push(v1);
    const doc = await v1.tasks!.findOne('task-offline').exec();
    expect(doc?.toJSON()).toMatchObject({ id: 'task-offline', note: 'seats dirty', priority: 'normal' });
  });
});
