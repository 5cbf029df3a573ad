/**
 * Which engines a test runs against: always the embedded ones; PostgreSQL and an external broker too when
 * DATABASE_URL / MQTT_URL are set in the test environment.
 */
import { IN_MEMORY_DATA_DIR } from '../platform/config.js';
import { createTestDatabase, type TestDatabase } from './test-databases.js';

export interface DbBackendCase {
  name: 'pglite' | 'postgres';
  /** Returns the server overrides for a fresh database, and how to clean it up. */
  create(): Promise<{ overrides: { databaseUrl?: string; dataDir: string }; cleanup: () => Promise<void> }>;
}

export interface BrokerBackendCase {
  name: 'embedded' | 'external';
  overrides: { mqttUrl?: string; mqttPort: number };
}

export function dbBackends(env: Record<string, string | undefined> = process.env): DbBackendCase[] {
  const cases: DbBackendCase[] = [
    {
      name: 'pglite',
      create: async () => ({ overrides: { databaseUrl: undefined, dataDir: IN_MEMORY_DATA_DIR }, cleanup: async () => undefined }),
    },
  ];
  const baseUrl = env.DATABASE_URL;
  if (baseUrl) {
    cases.push({
      name: 'postgres',
      create: async () => {
        const db = await createTestDatabase(baseUrl);
        return { overrides: { databaseUrl: db.url, dataDir: IN_MEMORY_DATA_DIR }, cleanup: db.drop };
      },
    });
  }
  return cases;
}

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
