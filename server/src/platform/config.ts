/**
 * Server configuration. The environment is read in one place (start.ts → loadConfig); everything else gets a
 * validated ServerConfig. Tests build one from defaults + overrides (resolveConfig) and never touch the env.
 */
import { isAbsolute, resolve } from 'node:path';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `dataDir` value that keeps PGlite in memory (tests). */
export const IN_MEMORY_DATA_DIR = 'memory://';

export interface ServerConfig {
  /** interface the HTTP server and the embedded broker listen on */
  host: string;
  /** HTTP port; 0 = a random free port */
  port: number;
  /** PostgreSQL connection string; absent → embedded PGlite under dataDir */
  databaseUrl?: string;
  /** local state directory (PGlite lives in `<dataDir>/pglite`), or `memory://` for an in-memory PGlite */
  dataDir: string;
  /** external MQTT broker; absent → embedded Aedes on host:mqttPort */
  mqttUrl?: string;
  /** port of the embedded broker; 0 = a random free port */
  mqttPort: number;
  /** size of the demo fleet upserted into the registry at start (0 = none) */
  seedVehicles: number;
  logLevel: LogLevel;
  /** a vehicle with no message for this long counts as offline */
  heartbeatTimeoutS: number;
}

export const DEFAULT_CONFIG: Readonly<ServerConfig> = Object.freeze({
  host: '127.0.0.1',
  port: 4310,
  dataDir: './var/server',
  mqttPort: 18830,
  seedVehicles: 1000,
  logLevel: 'info',
  heartbeatTimeoutS: 120,
});

export class ConfigError extends Error {
  constructor(message: string) {
    super(`Invalid configuration: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Reads and validates the environment; throws ConfigError with a one-line message naming the variable. */
export function loadConfig(env: Env = process.env): ServerConfig {
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  return resolveConfig({
    host: read('HOST') ?? DEFAULT_CONFIG.host,
    port: parseInteger('PORT', read('PORT'), DEFAULT_CONFIG.port, 0, 65535),
    databaseUrl: read('DATABASE_URL'),
    dataDir: read('DATA_DIR') ?? DEFAULT_CONFIG.dataDir,
    mqttUrl: read('MQTT_URL'),
    mqttPort: parseInteger('MQTT_PORT', read('MQTT_PORT'), DEFAULT_CONFIG.mqttPort, 0, 65535),
    seedVehicles: parseInteger('SEED_VEHICLES', read('SEED_VEHICLES'), DEFAULT_CONFIG.seedVehicles, 0, 99_999),
    logLevel: parseLogLevel(read('LOG_LEVEL')),
    heartbeatTimeoutS: parseInteger('HEARTBEAT_TIMEOUT_S', read('HEARTBEAT_TIMEOUT_S'), DEFAULT_CONFIG.heartbeatTimeoutS, 1, 86_400),
  });
}

/** Defaults + overrides, validated (the same rules as the environment, named by variable). */
export function resolveConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  const config: ServerConfig = { ...DEFAULT_CONFIG, ...withoutUndefinedDefaults(overrides) };
  checkInteger('PORT', config.port, 0, 65535);
  checkInteger('MQTT_PORT', config.mqttPort, 0, 65535);
  checkInteger('SEED_VEHICLES', config.seedVehicles, 0, 99_999);
  checkInteger('HEARTBEAT_TIMEOUT_S', config.heartbeatTimeoutS, 1, 86_400);
  if (!config.host) throw new ConfigError('HOST must not be empty');
  if (!LOG_LEVELS.includes(config.logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${config.logLevel}")`);
  if (!config.dataDir) throw new ConfigError('DATA_DIR must not be empty');
  if (config.databaseUrl !== undefined) checkUrl('DATABASE_URL', config.databaseUrl, ['postgres:', 'postgresql:']);
  if (config.mqttUrl !== undefined) checkUrl('MQTT_URL', config.mqttUrl, ['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:']);
  return config;
}

/** Where PGlite keeps its files for this config (`memory://` stays in memory). */
export function pgliteDataDir(config: Pick<ServerConfig, 'dataDir'>): string {
  if (config.dataDir === IN_MEMORY_DATA_DIR) return IN_MEMORY_DATA_DIR;
  const base = isAbsolute(config.dataDir) ? config.dataDir : resolve(process.cwd(), config.dataDir);
  return resolve(base, 'pglite');
}

/** `{ databaseUrl: undefined }` means "no database URL", but `{ port: undefined }` must not erase a default. */
function withoutUndefinedDefaults(overrides: Partial<ServerConfig>): Partial<ServerConfig> {
  const result: Partial<ServerConfig> = { ...overrides };
  for (const key of Object.keys(DEFAULT_CONFIG) as Array<keyof ServerConfig>) {
    if (result[key] === undefined) delete result[key];
  }
  return result;
}

function parseInteger(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = /^-?\d+$/.test(raw) ? Number(raw) : NaN;
  checkInteger(name, value, min, max, raw);
  return value;
}

function checkInteger(name: string, value: number, min: number, max: number, raw: unknown = value): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer ${min}–${max} (got ${JSON.stringify(String(raw))})`);
  }
}

function parseLogLevel(raw: string | undefined): LogLevel {
  if (raw === undefined) return DEFAULT_CONFIG.logLevel;
  const level = raw.toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${raw}")`);
  }
  return level as LogLevel;
}

function checkUrl(name: string, value: string, protocols: string[]): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Never echo the value: connection strings carry passwords.
    throw new ConfigError(`${name} must be a URL (${protocols.join(' or ')}//…)`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(`${name} must use ${protocols.join(' or ')} (got "${url.protocol}")`);
  }
}

/** A connection string safe for logs: the password is replaced. */
export function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparseable url)';
  }
}
