/** The audit writer commits and rolls back with the change it records; the list is filtered and newest first. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../platform/db/index.js';
import { createLogger } from '../../platform/log.js';
import { dbBackends } from '../../testing/backends.js';
import { listAudit, recordAudit } from './index.js';

describe.each(dbBackends())('audit log on $name', (backend) => {
  let db: Db;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    db = await openDatabase(created.overrides, createLogger({ level: 'silent' }));
  });
  afterAll(async () => {
    await db?.close();
    await cleanup?.();
  });

  it('writes inside the caller transaction: nothing remains when the change rolls back', async () => {
    await expect(
      db.transaction(async (tx) => {
        await recordAudit(tx, {
          actor: 'alice',
          role: 'admin',
          action: 'thing.changed',
          targetType: 'thing',
          targetId: 'rolled-back',
          reason: 'test',
        });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await listAudit(db, { targetType: 'thing', targetId: 'rolled-back', limit: 10 })).toEqual([]);
  });

  it('lists entries for one target, newest first, with before/after and a replication sequence', async () => {
    await db.transaction(async (tx) => {
      await recordAudit(tx, {
        actor: 'alice',
        role: 'admin',
        action: 'thing.created',
        targetType: 'thing',
        targetId: 't1',
        before: null,
        after: { n: 1 },
        at: 1_700_000_000_123,
      });
      await recordAudit(tx, {
        actor: 'bob',
        role: 'support',
        action: 'thing.changed',
        targetType: 'thing',
        targetId: 't1',
        reason: 'fix',
        before: { n: 1 },
        after: { n: 2 },
      });
      await recordAudit(tx, {
        actor: 'bob',
        role: 'support',
        action: 'thing.changed',
        targetType: 'thing',
        targetId: 't2',
        after: { n: 9 },
      });
    });
    const entries = await listAudit(db, { targetType: 'thing', targetId: 't1', limit: 10 });
    expect(entries.map((e) => e.action)).toEqual(['thing.changed', 'thing.created']);
    expect(entries[0]).toMatchObject({ actor: 'bob', role: 'support', reason: 'fix', before: { n: 1 }, after: { n: 2 }, targetId: 't1' });
    expect(entries[1]).toMatchObject({ at: 1_700_000_000_123, before: null, reason: null });
    expect(await listAudit(db, { targetType: 'thing', limit: 1 })).toHaveLength(1);
    expect(await listAudit(db, { targetType: 'thing', beforeId: entries[0]!.id, limit: 10 })).toEqual([entries[1]]);
    const { rows } = await db.query<{ n: number }>(
      "select count(distinct server_seq)::float8 as n from audit_log where target_type = 'thing'",
    );
    expect(rows[0]!.n).toBe(3);
  });
});
