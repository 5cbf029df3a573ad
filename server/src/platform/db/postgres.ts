/** PostgreSQL over a pg connection pool (production, integration tests). */
import pg from 'pg';
import { errorFields, type Logger } from '../log.js';
import type { Db, Queryable, QueryResult } from './db.js';

export interface PostgresOptions {
  connectionString: string;
  log: Logger;
  /** pool size; small by default — the server batches its writes */
  max?: number;
}

export async function openPostgres(options: PostgresOptions): Promise<Db> {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: 'fleetdesk-server',
  });
  // An idle client whose backend dies emits 'error' on the pool; unhandled, that would crash the process.
  pool.on('error', (err) => options.log.warn('idle PostgreSQL connection failed', errorFields(err)));
  // Fail fast at start with the real reason (bad host, missing database) instead of at the first request.
  const probe = await pool.connect();
  probe.release();

  const outer = wrap(pool);
  return {
    backend: 'postgres',
    ...outer,
    async transaction(fn) {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const result = await fn(wrap(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {
          broken = true; // the connection itself is gone; do not return it to the pool
        });
        throw err;
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

function wrap(target: pg.Pool | pg.PoolClient): Queryable {
  return {
    async query<T>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
      const result = await target.query(sql, params as unknown[]);
      return { rows: result.rows as T[], rowCount: result.rowCount ?? result.rows.length };
    },
    async exec(sql: string): Promise<void> {
      await target.query(sql); // no parameters → simple query protocol, which allows several statements
    },
  };
}
