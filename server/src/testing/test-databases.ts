/**
 * Fresh PostgreSQL databases for tests: each run gets its own `fleetdesk_test_<random>` database, created
 * through the server's `postgres` maintenance database and dropped afterwards, so parallel runs never share
 * state. Framework-free: used by the server's unit tests and by test/integration, test/e2e alike.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface TestDatabase {
  /** connection string of the new database (same server and credentials as the base URL) */
  url: string;
  name: string;
  /** Drops the database, disconnecting whoever is still connected. */
  drop(): Promise<void>;
}

/** `baseUrl`: any database on the target server, e.g. postgres://postgres@127.0.0.1:5432/postgres. */
export async function createTestDatabase(baseUrl: string, prefix = 'fleetdesk_test'): Promise<TestDatabase> {
  if (!/^[a-z_][a-z0-9_]*$/.test(prefix)) throw new Error(`test database prefix must be a lower-case identifier: ${prefix}`);
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await withMaintenanceClient(baseUrl, (client) => client.query(`create database ${name}`));
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () =>
      withMaintenanceClient(baseUrl, (client) => client.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}

async function withMaintenanceClient<T>(baseUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const url = new URL(baseUrl);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
