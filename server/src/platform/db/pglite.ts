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
  const pg = await PGlite.create(dataDir, { extensions: { btree_gist } });
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
