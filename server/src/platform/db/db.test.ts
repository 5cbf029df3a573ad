import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbBackends } from '../../testing/backends.js';
import { startTcpProxy } from '../../testing/tcp-proxy.js';
import { pgliteDataDir } from '../config.js';
import { createLogger } from '../log.js';
import { openPglite } from './pglite.js';
import { openPostgres } from './postgres.js';
import { migrate, readMigrations, type Db } from './index.js';

const log = createLogger({ level: 'silent' });

async function open(overrides: { databaseUrl?: string; dataDir: string }): Promise<Db> {
  return overrides.databaseUrl ? openPostgres({ connectionString: overrides.databaseUrl, log }) : openPglite(pgliteDataDir(overrides));
}

// an empty database: the first test applies the migrations itself
describe.each(dbBackends(process.env, { schema: 'empty' }))('database on $name', (backend) => {
  let db: Db;
  let cleanup: () => Promise<void>;
  let overrides: { databaseUrl?: string; dataDir: string };

  beforeAll(async () => {
    ({ overrides, cleanup } = await backend.create());
    db = await open(overrides);
  });
  afterAll(async () => {
    await db?.close();
    await cleanup?.();
  });

  it('applies every migration once and records it', async () => {
    const files = await readMigrations();
    expect(await migrate(db, log)).toEqual(files.map((m) => m.version));
    expect(await migrate(db, log)).toEqual([]);
    const { rows } = await db.query<{ version: string }>('select version from schema_migrations order by version');
    expect(rows.map((r) => r.version)).toEqual(files.map((m) => m.version));
  });

  it('rolls a transaction back when its function throws', async () => {
    await db.exec('create table if not exists tx_probe (id int primary key)');
    await expect(
      db.transaction(async (tx) => {
        await tx.query('insert into tx_probe (id) values ($1)', [1]);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await db.query('select * from tx_probe')).rows).toEqual([]);
    await db.transaction((tx) => tx.query('insert into tx_probe (id) values ($1)', [2]));
    expect((await db.query<{ id: number }>('select id from tx_probe')).rows).toEqual([{ id: 2 }]);
  });

  it('delivers NOTIFY to listeners at commit only, and stops after unlisten', async () => {
    const got: string[] = [];
    const unlisten = await db.listen('probe_channel', (payload) => got.push(payload));
    await db.transaction(async (tx) => {
      await tx.query(`select pg_notify('probe_channel', 'in-tx')`);
      await new Promise((r) => setTimeout(r, 50));
      expect(got).toEqual([]); // not before COMMIT
    });
    await expect.poll(() => got, { timeout: 5_000 }).toEqual(['in-tx']);
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`select pg_notify('probe_channel', 'rolled-back')`);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await unlisten();
    await db.query(`select pg_notify('probe_channel', 'after')`);
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual(['in-tx']);
  });

  it('passes array parameters to unnest alike on both backends', async () => {
    const { rows } = await db.query<{ a: string; b: number; c: boolean }>(
      'select * from unnest($1::text[], $2::float8[], $3::bool[]) as u(a, b, c)',
      [
        ['x', 'y"\\,{}'],
        [1.5, 2],
        [true, false],
      ],
    );
    expect(rows).toEqual([
      { a: 'x', b: 1.5, c: true },
      { a: 'y"\\,{}', b: 2, c: false },
    ]);
  });

  it('runs a prepared statement like any other, with each call its own parameters (PostgreSQL: prepared once per connection)', async () => {
    const sql = 'select $1::int * 2 as twice, $2::text as label';
    for (const [n, label] of [
      [1, 'a'],
      [2, 'b'],
      [21, 'c'],
    ] as const) {
      expect((await db.query(sql, [n, label], { prepared: 'db_test_twice' })).rows).toEqual([{ twice: n * 2, label }]);
    }
    const names = await db.transaction(async (tx) => {
      await tx.query(sql, [3, 'd'], { prepared: 'db_test_twice' });
      await tx.query(sql, [4, 'e'], { prepared: 'db_test_twice' });
      return (await tx.query<{ name: string }>(`select name from pg_prepared_statements where name = 'db_test_twice'`)).rows;
    });
    expect(names).toEqual(backend.name === 'postgres' ? [{ name: 'db_test_twice' }] : []);
  });
});

describe.runIf(process.env.DATABASE_URL)('migrations on PostgreSQL, two instances at once', () => {
  it('applies each migration exactly once (advisory lock)', async () => {
    const [backend] = dbBackends(process.env, { schema: 'empty' }).filter((b) => b.name === 'postgres');
    const { overrides, cleanup } = await backend!.create();
    const dbs = await Promise.all([open(overrides), open(overrides), open(overrides)]);
    try {
      const applied = await Promise.all(dbs.map((d) => migrate(d, log)));
      const files = await readMigrations();
      expect(applied.flat().sort()).toEqual(files.map((m) => m.version));
    } finally {
      await Promise.all(dbs.map((d) => d.close()));
      await cleanup();
    }
  });
});

describe.runIf(process.env.DATABASE_URL)('PostgreSQL pool exhausted', () => {
  it('answers a caller who waited longer than waitMs with a 503 database_busy error, then serves again', async () => {
    const [backend] = dbBackends(process.env, { schema: 'empty' }).filter((b) => b.name === 'postgres');
    const { overrides, cleanup } = await backend!.create();
    const db = await openPostgres({ connectionString: overrides.databaseUrl!, log, max: 1, waitMs: 200 });
    try {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let started!: () => void;
      const inside = new Promise<void>((resolve) => (started = resolve));
      const holder = db.transaction(async (tx) => {
        await tx.query('select 1');
        started();
        await held;
      });
      await inside;
      await expect(db.query('select 1')).rejects.toMatchObject({ name: 'AppError', code: 'database_busy', status: 503 });
      await expect(db.transaction(async (tx) => tx.query('select 1'))).rejects.toMatchObject({ code: 'database_busy', status: 503 });
      release();
      await holder;
      expect((await db.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await db.close();
      await cleanup();
    }
  });
});

describe.runIf(process.env.DATABASE_URL)('PostgreSQL connection lost inside a transaction', () => {
  it('fails that transaction with a 503 database_unavailable, does not crash the process, and serves again', async () => {
    const [backend] = dbBackends().filter((b) => b.name === 'postgres');
    const { overrides, cleanup } = await backend!.create();
    const direct = new URL(overrides.databaseUrl!);
    const proxy = await startTcpProxy(direct.hostname, Number(direct.port || 5432));
    const proxied = new URL(overrides.databaseUrl!);
    proxied.host = `127.0.0.1:${proxy.port}`;
    const db = await openPostgres({ connectionString: proxied.toString(), log, max: 2, waitMs: 1_000 });
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      let started!: () => void;
      const inside = new Promise<void>((resolve) => (started = resolve));
      // between two statements of a transaction (the client checked out of the pool, no query running) the
      // connection is reset: pg emits 'error' on the client, which must not become an uncaught exception
      const holder = db.transaction(async (tx) => {
        await tx.query('select 1');
        started();
        await new Promise((resolve) => setTimeout(resolve, 300));
        await tx.query('select 2');
      });
      await inside;
      await proxy.cut();
      await expect(holder).rejects.toMatchObject({ code: 'database_unavailable', status: 503 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(uncaught).toEqual([]);
      await proxy.restore();
      expect((await db.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      process.off('uncaughtException', onUncaught);
      await db.close();
      await proxy.close();
      await cleanup();
    }
  });
});
