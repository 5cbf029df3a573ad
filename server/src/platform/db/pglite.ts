/** Embedded PostgreSQL (PGlite, WebAssembly): persisted in a directory, or in memory for tests. */
import { dirname } from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist';
import { IN_MEMORY_DATA_DIR } from '../config.js';
import { ensurePrivateDir } from '../private-files.js';
import type { Db, Queryable, QueryResult } from './db.js';

export async function openPglite(dataDir: string): Promise<Db> {
  if (dataDir !== IN_MEMORY_DATA_DIR) {
    // DATA_DIR and the database in it: only the server's user reads them
    await ensurePrivateDir(dirname(dataDir));
    await ensurePrivateDir(dataDir);
  }
  // btree_gist: the allocations' exclusion constraint (no double booking) needs it, as on PostgreSQL.
  return asDb(await PGlite.create(dataDir, { extensions: { btree_gist } }));
}

/** The prepared in-memory database this process copies (see `openPreparedMemoryPglite`), once made. */
let memoryTemplate: Promise<Blob> | undefined;

/**
 * An in-memory database (`DATA_DIR=memory://`: tests, benches) that starts as a copy of one this process prepared
 * once: a fresh PGlite runs initdb and then every migration — seconds each time, most of a test file's set-up when
 * every test starts its own server — whereas loading the prepared data directory skips both. `prepare` (the
 * migrations) runs once per process; the caller still runs its own migrations on the copy, which then find
 * nothing to do.
 */
export async function openPreparedMemoryPglite(prepare: (db: Db) => Promise<unknown>): Promise<Db> {
  memoryTemplate ??= (async () => {
    const pg = await PGlite.create(IN_MEMORY_DATA_DIR, { extensions: { btree_gist } });
    try {
      await prepare(asDb(pg));
      return await pg.dumpDataDir('none');
    } finally {
      await pg.close();
    }
  })();
  let template: Blob;
  try {
    template = await memoryTemplate;
  } catch (err) {
    memoryTemplate = undefined; // the next open tries again
    throw err;
  }
  return asDb(await PGlite.create(IN_MEMORY_DATA_DIR, { extensions: { btree_gist }, loadDataDir: template }));
}

function asDb(pg: PGlite): Db {
  const outer = wrap(pg);
  return {
    backend: 'pglite',
    ...outer,
    // PGlite is one connection: its transaction() holds an internal mutex, so transactions (and queries
    // outside them) are serialized for us — no interleaving of two callers' statements.
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx))),
    async listen(channel, handler) {
      const unlisten = await pg.listen(channel, handler);
      return async () => {
        if (!pg.closed) await unlisten();
      };
    },
    close: () => pg.close(),
  };
}

function wrap(target: PGlite | Transaction): Queryable {
  return {
    async query<T>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
      const result = await target.query<T>(sql, params as unknown[]);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
    async exec(sql: string): Promise<void> {
      await target.exec(sql);
    },
  };
}
