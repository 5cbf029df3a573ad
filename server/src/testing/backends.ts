/**
 * Which engines a test runs against: always the embedded ones; PostgreSQL and an external broker too when
 * DATABASE_URL / MQTT_URL are set in the test environment.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IN_MEMORY_DATA_DIR } from '../platform/config.js';
import { openDatabase, type Db } from '../platform/db/index.js';
import { createLogger } from '../platform/log.js';
import { createTestDatabase, type TestDatabase, type TestDatabaseOptions } from './test-databases.js';

export interface DbBackendCase {
  name: 'pglite' | 'postgres';
  /** Returns the server overrides for a fresh database, and how to clean it up. */
  create(): Promise<{ overrides: { databaseUrl?: string; dataDir: string }; cleanup: () => Promise<void> }>;
}

export interface BrokerBackendCase {
  name: 'embedded' | 'external';
  overrides: { mqttUrl?: string; mqttPort: number };
}

/**
 * The database cases. `durable`: each database survives a server restart — PGlite on a fresh temp dir instead
 * of memory, and a temp data dir beside a fresh PostgreSQL database (for the server's other files); cleanup
 * removes them.
 */
export function dbBackends(
  env: Record<string, string | undefined> = process.env,
  { durable = false, schema = 'migrated' }: { durable?: boolean } & TestDatabaseOptions = {},
): DbBackendCase[] {
  const dataDir = async (): Promise<{ dir: string; remove: () => Promise<void> }> => {
    if (!durable) return { dir: IN_MEMORY_DATA_DIR, remove: async () => undefined };
    const dir = await mkdtemp(join(tmpdir(), 'fleetdesk-test-'));
    return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
  };
  const cases: DbBackendCase[] = [
    {
      name: 'pglite',
      create: async () => {
        const { dir, remove } = await dataDir();
        return { overrides: { databaseUrl: undefined, dataDir: dir }, cleanup: remove };
      },
    },
  ];
  const baseUrl = env.DATABASE_URL;
  if (baseUrl) {
    cases.push({
      name: 'postgres',
      create: async () => {
        const db = await createTestDatabase(baseUrl, undefined, { schema });
        const { dir, remove } = await dataDir();
        return {
          overrides: { databaseUrl: db.url, dataDir: dir },
          cleanup: async () => {
            await db.drop();
            await remove();
          },
        };
      },
    });
  }
  return cases;
}

/** A fresh database on `backend`, migrated; `close()` closes it and drops it. */
export async function openTestDatabase(backend: DbBackendCase): Promise<{ db: Db; close(): Promise<void> }> {
  const { overrides, cleanup } = await backend.create();
  const db = await openDatabase(overrides, createLogger({ level: 'silent' })).catch(async (err: unknown) => {
    await cleanup();
    throw err;
  });
  return {
    db,
    async close() {
      await db.close();
      await cleanup();
    },
  };
}

/** dbBackends whose databases survive a server restart. */
export const durableDbBackends = (env: Record<string, string | undefined> = process.env): DbBackendCase[] =>
  dbBackends(env, { durable: true });

export function brokerBackends(env: Record<string, string | undefined> = process.env): BrokerBackendCase[] {
  const cases: BrokerBackendCase[] = [{ name: 'embedded', overrides: { mqttUrl: undefined, mqttPort: 0 } }];
  if (env.MQTT_URL) cases.push({ name: 'external', overrides: { mqttUrl: env.MQTT_URL, mqttPort: 0 } });
  return cases;
}

/** A whole stack for a cross-process test: the embedded engines, or PostgreSQL with the external broker. */
export interface EngineStackCase {
  name: string;
  /** a fresh PostgreSQL database (absent: PGlite) */
  databaseUrl?: () => Promise<TestDatabase>;
  /** the external broker (absent: the embedded Aedes) */
  mqttUrl?: string;
}

/** PGlite + embedded Aedes always; PostgreSQL + the external broker too when DATABASE_URL and MQTT_URL are set. */
export function engineStacks(env: Record<string, string | undefined> = process.env): EngineStackCase[] {
  const cases: EngineStackCase[] = [{ name: 'PGlite + embedded Aedes' }];
  const base = env.DATABASE_URL;
  if (base && env.MQTT_URL) {
    cases.push({ name: 'PostgreSQL + external broker', databaseUrl: () => createTestDatabase(base), mqttUrl: env.MQTT_URL });
  }
  return cases;
}
