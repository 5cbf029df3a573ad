/**
 * Schema migrations: plain SQL files `server/migrations/NNN_name.sql`, applied in order at start, each in its
 * own transaction, recorded in `schema_migrations`. The same files run on PGlite and PostgreSQL.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.js';
import type { Db } from './db.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations/', import.meta.url));

/**
 * Advisory lock key held while a migration runs, so two instances starting together apply each file once:
 * the second waits, then sees the first one's row in schema_migrations and skips.
 */
const MIGRATION_LOCK_KEY = 7_346_150_001;

const FILE_NAME = /^(\d{3,})_([a-z0-9_]+)\.sql$/;

export interface Migration {
  version: string;
  name: string;
  sql: string;
  checksum: string;
}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = FILE_NAME.exec(file);
    if (!match) throw new Error(`migration file name must look like 001_name.sql: ${file}`);
    const sql = await readFile(join(dir, file), 'utf8');
    migrations.push({ version: match[1]!, name: match[2]!, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  const versions = new Set(migrations.map((m) => m.version));
  if (versions.size !== migrations.length) throw new Error(`two migration files share a version number in ${dir}`);
  return migrations;
}

/** Applies pending migrations; returns the versions applied by this call. */
export async function migrate(db: Db, log: Logger, dir = MIGRATIONS_DIR): Promise<string[]> {
  const applied: string[] = [];
  for (const migration of await readMigrations(dir)) {
    if (await applyOne(db, migration, log)) applied.push(migration.version);
  }
  if (applied.length > 0) log.info('database migrated', { applied, backend: db.backend });
  return applied;
}

async function applyOne(db: Db, migration: Migration, log: Logger): Promise<boolean> {
  return db.transaction(async (tx) => {
    // Transaction-scoped lock: released by COMMIT/ROLLBACK, so no session bookkeeping on a pooled connection.
    await tx.query('select pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    await tx.exec(`create table if not exists schema_migrations (
      version text primary key,
      name text not null,
      checksum text not null,
      applied_at timestamptz not null default now()
    )`);
    const { rows } = await tx.query<{ checksum: string }>('select checksum from schema_migrations where version = $1', [migration.version]);
    if (rows[0]) {
      if (rows[0].checksum !== migration.checksum) {
        // Editing an applied migration does nothing on existing databases; say so loudly instead of silently.
        log.warn('applied migration file has changed since it ran; add a new migration instead', {
          version: migration.version,
          name: migration.name,
        });
      }
      return false;
    }
    await tx.exec(migration.sql);
    await tx.query('insert into schema_migrations (version, name, checksum) values ($1, $2, $3)', [
      migration.version,
      migration.name,
      migration.checksum,
    ]);
    return true;
  });
}
