import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import type { RxStorage } from 'rxdb';
import { getRxStorageDexie } from 'rxdb/plugins/storage-dexie';
import { RX_SCHEMAS, type RequestDoc, type TaskDoc } from '../../../shared/sync-protocol.js';
import { taskDoc } from '../testing/fixtures';
import { CLEANUP_POLICY, openReplicaDatabase, readableCollections, type ReplicaDatabase } from './database';
import { getRxStorageMemoryMapped } from './memory-mapped-storage';

/** The desk's storage (memory-mapped) and RxDB's Dexie storage (the desk's before), both on fake-indexeddb. */
const STORAGES: Array<[string, () => RxStorage<unknown, unknown>]> = [
  ['memory-mapped', () => getRxStorageMemoryMapped({ indexedDB }) as RxStorage<unknown, unknown>],
  ['Dexie', () => getRxStorageDexie({ indexedDB, IDBKeyRange }) as RxStorage<unknown, unknown>],
];
let open: ReplicaDatabase[] = [];
afterEach(async () => {
  for (const db of open) if (!db.closed) await db.close();
  open = [];
});

const task = (id: string): TaskDoc => taskDoc({ id });

describe.each(STORAGES)('replica database (%s storage)', (_, storage) => {
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

  it('opens a replica whose requests are still schema v1 (before the booking kinds): an unsynced request survives, the new kinds can be written', async () => {
    const name = `t${Date.now()}r`;
    const v1Requests = {
      ...RX_SCHEMAS.requests,
      version: 1,
      properties: {
        ...RX_SCHEMAS.requests.properties,
        kind: { type: 'string', enum: ['vehicle_command', 'refund', 'end_rental', 'block_customer', 'unblock_customer'] },
      },
    };
    const old = await openReplicaDatabase({ name, storage: storage(), role: 'support', schemas: { requests: v1Requests } });
    const refund: RequestDoc = {
      id: 'rq-offline',
      updatedAt: 1,
      kind: 'refund',
      payload: { rentalId: 'rt-1', amountCents: 500, currency: 'EUR', reason: 'dirty' },
      createdBy: 'sue',
      createdAt: 1,
      expiresAt: 2,
      status: 'pending',
      result: null,
    };
    await old.requests!.insert(refund);
    await old.close();

    const current = await openReplicaDatabase({ name, storage: storage(), role: 'support' });
    open.push(current);
    expect(RX_SCHEMAS.requests.version).toBe(2);
    expect((await current.requests!.findOne('rq-offline').exec())?.toJSON()).toMatchObject({
      kind: 'refund',
      status: 'pending',
      payload: { amountCents: 500 },
    });
    await current.requests!.insert({
      ...refund,
      id: 'rq-extend',
      kind: 'extend_booking',
      payload: { bookingId: 'bk-1', endsAt: '2031-07-01T13:00:00.000Z', reason: 'late' },
    });
    expect((await current.requests!.findOne('rq-extend').exec())?.kind).toBe('extend_booking');
  });

  it('purges deleted documents (the history the server moved past its horizon) after CLEANUP_POLICY.minimumDeletedTime, from storage and on reopening', async () => {
    const name = `t${Date.now()}cleanup`;
    const db = await openReplicaDatabase({ name, storage: storage(), role: 'dispatcher' });
    open.push(db);
    await db.tasks!.bulkInsert([task('t-gone'), task('t-kept')]);
    await (await db.tasks!.findOne('t-gone').exec())!.remove();
    const stored = async (d: ReplicaDatabase) =>
      (await d.tasks!.storageInstance.findDocumentsById(['t-gone', 't-kept'], true)).map((x) => [x.id, x._deleted]);
    // a deletion younger than the policy's bound stays (as RxDB's tombstone)
    await db.tasks!.cleanup(CLEANUP_POLICY.minimumDeletedTime);
    expect((await stored(db)).sort()).toEqual([
      ['t-gone', true],
      ['t-kept', false],
    ]);
    await db.tasks!.cleanup(0);
    expect(await stored(db)).toEqual([['t-kept', false]]);
    await db.close();
    const again = await openReplicaDatabase({ name, storage: storage(), role: 'dispatcher' });
    open.push(again);
    expect(await stored(again)).toEqual([['t-kept', false]]);
  });
});
