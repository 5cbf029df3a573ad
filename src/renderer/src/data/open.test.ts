/**
 * open.ts's choice of storage on fake-indexeddb (its own file: in a dev build — vitest is one — the storage comes
 * with RxDB's dev-mode and schema validation, which are global plugins).
 */
import 'fake-indexeddb/auto';
import { afterEach, expect, it } from 'vitest';
import { getRxStorageDexie } from 'rxdb/plugins/storage-dexie';
import { taskDoc } from '../testing/fixtures';
import { openReplicaDatabase, type ReplicaDatabase } from './database';
import { replicaStorage } from './open';

let open: ReplicaDatabase[] = [];
afterEach(async () => {
  for (const db of open) if (!db.closed) await db.close();
  open = [];
});
const dexieStores = async (name: string) =>
  (await indexedDB.databases()).flatMap((d) => (d.name?.startsWith(`rxdb-dexie-${name}--`) ? [d.name] : []));

it('a replica this computer holds on Dexie opens memory-mapped with its documents and the local changes not yet sent', async () => {
  const name = `open${Date.now()}`;
  const old = await openReplicaDatabase({ name, storage: getRxStorageDexie(), role: 'dispatcher' });
  await old.tasks!.insert(taskDoc({ id: 'task-offline', note: 'Check the tyres' }));
  await old.outbox.insert({ id: 'tasks/task-offline', collectionName: 'tasks', docId: 'task-offline', at: 1 });
  await old.close();
  expect((await dexieStores(name)).length).toBeGreaterThan(0);

  const db = await openReplicaDatabase({ name, storage: await replicaStorage(name), role: 'dispatcher' });
  open.push(db);
  expect(db.storage.name).toContain('memory-mapped');
  expect((await db.tasks!.findOne('task-offline').exec())?.note).toBe('Check the tyres');
  expect((await db.outbox.find().exec()).map((d) => d.id)).toEqual(['tasks/task-offline']);
  expect(await dexieStores(name)).toEqual([]);
});

it('a new replica starts memory-mapped', async () => {
  const name = `fresh${Date.now()}`;
  const db = await openReplicaDatabase({ name, storage: await replicaStorage(name), role: 'dispatcher' });
  open.push(db);
  expect(db.storage.name).toContain('memory-mapped');
  expect(await dexieStores(name)).toEqual([]);
});
