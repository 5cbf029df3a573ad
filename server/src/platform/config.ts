/**
 * Server configuration. The environment is read in one place (start.ts → loadConfig); everything else gets a
 * validated ServerConfig. Tests build one from defaults + overrides (resolveConfig) and never touch the env.
 */
import { isAbsolute, resolve } from 'node:path';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `dataDir` value that keeps PGlite in memory (tests). */
export const IN_MEMORY_DATA_DIR = 'memory://';

export const MQTT_AUTH_MODES = ['required', 'off'] as const;
export type MqttAuthMode = (typeof MQTT_AUTH_MODES)[number];

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
  /** `required`: the embedded broker enforces per-client credentials and topic rules; `off`: open (development only) */
  mqttAuth: MqttAuthMode;
  /** the server's own broker account on an external broker (a `service` account); the embedded one needs none */
  mqttUsername?: string;
  mqttPassword?: string;
  /** size of the demo fleet upserted into the registry at start (0 = none) */
  seedVehicles: number;
  logLevel: LogLevel;
  /** a vehicle with no message for this long counts as offline */
  heartbeatTimeoutS: number;
  /** commands: first resend of a command the vehicle has not acknowledged (doubles per attempt, up to 60 s) */
  commandResendMs: number;
  /** commands: a `received` command without a result expires this long after its expiry */
  commandResultGraceMs: number;
  /** alerts: low_energy below this fuel/battery %, resolved at or above alertLowEnergyResolvePct */
  alertLowEnergyPct: number;
  alertLowEnergyResolvePct: number;
  /** alerts: door_open_parked after doors open/unlocked while parked for this long */
  alertDoorOpenParkedS: number;
  /** alerts: movement_without_rental when faster than this, or ignition on, for alertMovementDwellS */
  alertMovementSpeedKph: number;
  alertMovementDwellS: number;
  /** alerts: zone_exit when more than this far outside (2 samples); resolved when alertZoneReturnM back inside */
  alertZoneExitM: number;
  alertZoneReturnM: number;
  /** device clock more than this far from the receive time: accepted but flagged (counted, skew stored) */
  clockSkewToleranceS: number;
  /** telemetry history partitions (days) older than this are dropped */
  telemetryRetentionDays: number;
  /**
   * MQTT shared-subscription group for telemetry and events (`$share/<group>/…`), '' = off; ignored on the
   * embedded broker. Off by default here (tests on a shared broker must not split each other's messages);
   * loadConfig (the environment) defaults it to `fleetdesk-ingest`.
   */
  mqttSharedGroup: string;
  /** sync: tombstones (deleted replica documents) are kept this many days; a desktop offline longer resyncs fully */
  syncTombstoneDays: number;
  /** sync: CORS origins allowed on /sync and /ops (`null` = the Electron renderer's file:// page) */
  desktopOrigins: readonly string[];
}

export const DEFAULT_CONFIG: Readonly<ServerConfig> = Object.freeze({
  host: '127.0.0.1',
  port: 4310,
  dataDir: './var/server',
  mqttPort: 18830,
  mqttAuth: 'required',
  seedVehicles: 1000,
  logLevel: 'info',
  heartbeatTimeoutS: 120,
  commandResendMs: 5_000,
  commandResultGraceMs: 10_000,
  alertLowEnergyPct: 15,
  alertLowEnergyResolvePct: 20,
  alertDoorOpenParkedS: 120,
  alertMovementSpeedKph: 5,
  alertMovementDwellS: 60,
  alertZoneExitM: 50,
  alertZoneReturnM: 50,
  clockSkewToleranceS: 300,
  telemetryRetentionDays: 30,
  mqttSharedGroup: '',
  syncTombstoneDays: 30,
  desktopOrigins: Object.freeze(['null']),
});

/** MQTT_SHARED_GROUP when the variable is not set at all (set but empty = off). */
export const DEFAULT_ENV_SHARED_GROUP = 'fleetdesk-ingest';

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
    mqttAuth: (read('MQTT_AUTH')?.toLowerCase() ?? DEFAULT_CONFIG.mqttAuth) as MqttAuthMode,
    mqttUsername: read('MQTT_USERNAME'),
    mqttPassword: read('MQTT_PASSWORD'),
    seedVehicles: parseInteger('SEED_VEHICLES', read('SEED_VEHICLES'), DEFAULT_CONFIG.seedVehicles, 0, 99_999),
    logLevel: parseLogLevel(read('LOG_LEVEL')),
    heartbeatTimeoutS: parseInteger('HEARTBEAT_TIMEOUT_S', read('HEARTBEAT_TIMEOUT_S'), DEFAULT_CONFIG.heartbeatTimeoutS, 1, 86_400),
    commandResendMs: parseInteger('COMMAND_RESEND_MS', read('COMMAND_RESEND_MS'), DEFAULT_CONFIG.commandResendMs, 100, 600_000),
    commandResultGraceMs: parseInteger('COMMAND_RESULT_GRACE_MS', read('COMMAND_RESULT_GRACE_MS'), DEFAULT_CONFIG.commandResultGraceMs, 0, 3_600_000),
    alertLowEnergyPct: parseInteger('ALERT_LOW_ENERGY_PCT', read('ALERT_LOW_ENERGY_PCT'), DEFAULT_CONFIG.alertLowEnergyPct, 0, 100),
    alertLowEnergyResolvePct: parseInteger('ALERT_LOW_ENERGY_RESOLVE_PCT', read('ALERT_LOW_ENERGY_RESOLVE_PCT'), DEFAULT_CONFIG.alertLowEnergyResolvePct, 0, 100),
    alertDoorOpenParkedS: parseInteger('ALERT_DOOR_OPEN_PARKED_S', read('ALERT_DOOR_OPEN_PARKED_S'), DEFAULT_CONFIG.alertDoorOpenParkedS, 0, 86_400),
    alertMovementSpeedKph: parseInteger('ALERT_MOVEMENT_SPEED_KPH', read('ALERT_MOVEMENT_SPEED_KPH'), DEFAULT_CONFIG.alertMovementSpeedKph, 0, 300),
    alertMovementDwellS: parseInteger('ALERT_MOVEMENT_DWELL_S', read('ALERT_MOVEMENT_DWELL_S'), DEFAULT_CONFIG.alertMovementDwellS, 0, 86_400),
    alertZoneExitM: parseInteger('ALERT_ZONE_EXIT_M', read('ALERT_ZONE_EXIT_M'), DEFAULT_CONFIG.alertZoneExitM, 0, 100_000),
    alertZoneReturnM: parseInteger('ALERT_ZONE_RETURN_M', read('ALERT_ZONE_RETURN_M'), DEFAULT_CONFIG.alertZoneReturnM, 0, 100_000),
    clockSkewToleranceS: parseInteger('CLOCK_SKEW_TOLERANCE_S', read('CLOCK_SKEW_TOLERANCE_S'), DEFAULT_CONFIG.clockSkewToleranceS, 1, 31_536_000),
    telemetryRetentionDays: parseInteger('TELEMETRY_RETENTION_DAYS', read('TELEMETRY_RETENTION_DAYS'), DEFAULT_CONFIG.telemetryRetentionDays, 1, 3_650),
    mqttSharedGroup: env.MQTT_SHARED_GROUP === undefined ? DEFAULT_ENV_SHARED_GROUP : env.MQTT_SHARED_GROUP.trim(),
    syncTombstoneDays: parseInteger('SYNC_TOMBSTONE_DAYS', read('SYNC_TOMBSTONE_DAYS'), DEFAULT_CONFIG.syncTombstoneDays, 1, 3_650),
    desktopOrigins:
      env.DESKTOP_ORIGINS === undefined
        ? DEFAULT_CONFIG.desktopOrigins
        : env.DESKTOP_ORIGINS.split(',')
            .map((o) => o.trim())
            .filter((o) => o !== ''),
  });
}

/** Defaults + overrides, validated (the same rules as the environment, named by variable). */
export function resolveConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  const config: ServerConfig = { ...DEFAULT_CONFIG, ...withoutUndefinedDefaults(overrides) };
  checkInteger('PORT', config.port, 0, 65535);
  checkInteger('MQTT_PORT', config.mqttPort, 0, 65535);
  if (!(MQTT_AUTH_MODES as readonly string[]).includes(config.mqttAuth)) throw new ConfigError(`MQTT_AUTH must be one of ${MQTT_AUTH_MODES.join(', ')} (got "${config.mqttAuth}")`);
  // never echo the password
  if (config.mqttPassword !== undefined && config.mqttUsername === undefined) throw new ConfigError('MQTT_PASSWORD is set but MQTT_USERNAME is not');
  checkInteger('SEED_VEHICLES', config.seedVehicles, 0, 99_999);
  checkInteger('HEARTBEAT_TIMEOUT_S', config.heartbeatTimeoutS, 1, 86_400);
  checkInteger('COMMAND_RESEND_MS', config.commandResendMs, 100, 600_000);
  checkInteger('COMMAND_RESULT_GRACE_MS', config.commandResultGraceMs, 0, 3_600_000);
  checkInteger('ALERT_LOW_ENERGY_PCT', config.alertLowEnergyPct, 0, 100);
  checkInteger('ALERT_LOW_ENERGY_RESOLVE_PCT', config.alertLowEnergyResolvePct, 0, 100);
  if (config.alertLowEnergyResolvePct < config.alertLowEnergyPct) throw new ConfigError('ALERT_LOW_ENERGY_RESOLVE_PCT must be at least ALERT_LOW_ENERGY_PCT (hysteresis)');
  checkInteger('ALERT_DOOR_OPEN_PARKED_S', config.alertDoorOpenParkedS, 0, 86_400);
  checkInteger('ALERT_MOVEMENT_SPEED_KPH', config.alertMovementSpeedKph, 0, 300);
  checkInteger('ALERT_MOVEMENT_DWELL_S', config.alertMovementDwellS, 0, 86_400);
  checkInteger('ALERT_ZONE_EXIT_M', config.alertZoneExitM, 0, 100_000);
  checkInteger('ALERT_ZONE_RETURN_M', config.alertZoneReturnM, 0, 100_000);
  checkInteger('CLOCK_SKEW_TOLERANCE_S', config.clockSkewToleranceS, 1, 31_536_000);
  checkInteger('TELEMETRY_RETENTION_DAYS', config.telemetryRetentionDays, 1, 3_650);
  checkInteger('SYNC_TOMBSTONE_DAYS', config.syncTombstoneDays, 1, 3_650);
  for (const origin of config.desktopOrigins) {
    if (origin === '*' || !(origin === 'null' || /^[a-z][a-z0-9+.-]*:\/\/[^/\s]+$/i.test(origin))) {
      throw new ConfigError(`DESKTOP_ORIGINS must be a comma list of origins (scheme://host[:port]) or null, never * (got "${origin}")`);
    }
  }
  if (!/^[A-Za-z0-9_-]{0,64}$/.test(config.mqttSharedGroup)) throw new ConfigError(`MQTT_SHARED_GROUP must be 0–64 characters of A–Z a–z 0–9 _ - (got "${config.mqttSharedGroup}")`);
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
