/**
 * Fresh PostgreSQL databases for tests: each run gets its own `fleetdesk_test_<random>` database, created
 * through the server's `postgres` maintenance database and dropped afterwards, so parallel runs never share
 * state. Framework-free: used by the server's unit tests and by test/integration, test/e2e alike.
 */
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { createLogger } from '../platform/log.js';
import { migrate, readMigrations } from '../platform/db/migrate.js';
import { openPostgres } from '../platform/db/postgres.js';

export interface TestDatabase {
  /** connection string of the new database (same server and credentials as the base URL) */
  url: string;
  name: string;
  /** Drops the database, disconnecting whoever is still connected. */
  drop(): Promise<void>;
}

export interface TestDatabaseOptions {
  /**
   * `migrated` (default): a copy of a database with every migration applied (PostgreSQL's `create database …
   * template`), made once per set of migration files on that server — a migration run costs about a second, paid
   * by every test that starts a server otherwise; the server's own migrate then finds nothing to do.
   * `empty`: a database as `create database` makes it (tests of the migrations themselves).
   */
  schema?: 'migrated' | 'empty';
}

/** `baseUrl`: any database on the target server, e.g. postgres://postgres@127.0.0.1:5432/postgres. */
export async function createTestDatabase(
  baseUrl: string,
  prefix = 'fleetdesk_test',
  { schema = 'migrated' }: TestDatabaseOptions = {},
): Promise<TestDatabase> {
  if (!/^[a-z_][a-z0-9_]*$/.test(prefix)) throw new Error(`test database prefix must be a lower-case identifier: ${prefix}`);
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const template = schema === 'migrated' ? await migratedTemplate(baseUrl) : undefined;
  await withMaintenanceClient(baseUrl, (client) => client.query(`create database ${name}${template ? ` template ${template}` : ''}`));
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

/** Taken on the maintenance database while a template is looked for or made (several test processes at once). */
const TEMPLATE_LOCK_KEY = 7_346_150_077;
/** Templates of older migration sets kept on the server (other checkouts may still be using them); older ones go. */
const TEMPLATES_KEPT = 4;
const templates = new Map<string, Promise<string>>();

/**
 * The name of a database on `baseUrl`'s server holding every migration of this checkout, made if missing. Its name
 * carries a hash of the migration files, so a checkout with other migrations gets (and makes) its own; it is built
 * under another name and renamed when complete, so a name that exists is a finished template.
 */
function migratedTemplate(baseUrl: string): Promise<string> {
  const key = new URL(baseUrl).host;
  let made = templates.get(key);
  if (!made) {
    made = makeTemplate(baseUrl).catch((err: unknown) => {
      templates.delete(key);
      throw err;
    });
    templates.set(key, made);
  }
  return made;
}

async function makeTemplate(baseUrl: string): Promise<string> {
  const migrations = await readMigrations();
  const hash = createHash('sha256')
    .update(migrations.map((m) => `${m.version}:${m.checksum}`).join('\n'))
    .digest('hex')
    .slice(0, 16);
  const name = `fleetdesk_template_${hash}`;
  await withMaintenanceClient(baseUrl, async (client) => {
    await client.query('select pg_advisory_lock($1::bigint)', [TEMPLATE_LOCK_KEY]);
    try {
      const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
      if (rowCount) return;
      const building = `${name}_building_${randomBytes(3).toString('hex')}`;
      await client.query(`create database ${building}`);
      const url = new URL(baseUrl);
      url.pathname = `/${building}`;
      try {
        const db = await openPostgres({ connectionString: url.toString(), log: createLogger({ level: 'silent' }) });
        try {
          await migrate(db, createLogger({ level: 'silent' }));
        } finally {
          await db.close();
        }
        await client.query(`alter database ${building} rename to ${name}`);
      } catch (err) {
        await client.query(`drop database if exists ${building} with (force)`);
        throw err;
      }
      // templates of older migration sets: keep the newest few, drop the rest where nobody is using them
      const { rows } = await client.query<{ datname: string }>(
        `select datname from pg_database where datname like 'fleetdesk\\_template\\_%' and datname <> $1 order by oid desc offset $2`,
        [name, TEMPLATES_KEPT - 1],
      );
      for (const { datname } of rows) await client.query(`drop database if exists ${datname}`).catch(() => undefined);
    } finally {
      await client.query('select pg_advisory_unlock($1::bigint)', [TEMPLATE_LOCK_KEY]);
    }
  });
  return name;
}
