/** Opens the configured database (PostgreSQL when a URL is given, else PGlite) and brings its schema up to date. */
import { redactUrl } from '../../../../src/shared/redact-url.js';
import { IN_MEMORY_DATA_DIR, pgliteDataDir, type ServerConfig } from '../config.js';
import type { Logger } from '../log.js';
import { observeQueries, type Db, type QueryObserver } from './db.js';
import { migrate } from './migrate.js';
import { openPglite, openPreparedMemoryPglite } from './pglite.js';
import { openPostgres } from './postgres.js';

export type { Db, DbBackend, Queryable, QueryOptions, QueryResult } from './db.js';
export { CopyBinaryWriter } from './copy-binary.js';
export { migrate, readMigrations } from './migrate.js';
export { isSaturatedSeq, SEQ_WATERMARK, settledSeq } from './replication.js';

export async function openDatabase(
  config: Pick<ServerConfig, 'databaseUrl' | 'dataDir'> &
    Partial<Pick<ServerConfig, 'dbPoolMax' | 'dbPoolWaitMs' | 'dbStatementTimeoutMs'>>,
  log: Logger,
  observe?: QueryObserver,
): Promise<Db> {
  let db: Db;
  if (config.databaseUrl) {
    log.info('opening PostgreSQL', { url: redactUrl(config.databaseUrl) });
    db = await openPostgres({
      connectionString: config.databaseUrl,
      log,
      max: config.dbPoolMax,
      waitMs: config.dbPoolWaitMs,
      statementTimeoutMs: config.dbStatementTimeoutMs,
    });
  } else {
    const dir = pgliteDataDir(config);
    log.info('opening embedded PGlite', { dataDir: dir });
    db = dir === IN_MEMORY_DATA_DIR ? await openPreparedMemoryPglite((fresh) => migrate(fresh, log)) : await openPglite(dir);
  }
  if (observe) db = observeQueries(db, observe);
  try {
    await migrate(db, log);
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  return db;
}

/** Resolves when `select 1` answers within `timeoutMs`; rejects otherwise (readiness probe). */
export async function pingDatabase(db: Db, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([db.query('select 1'), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
