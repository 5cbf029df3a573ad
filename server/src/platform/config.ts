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
  /** PostgreSQL connections per server instance (DB_POOL_MAX) */
  dbPoolMax: number;
  /** how long a request may wait for a free connection before it is answered 503 database_busy (DB_POOL_WAIT_MS) */
  dbPoolWaitMs: number;
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
  /** payments: the provider's base URL; absent → the sandbox provider started in-process on a random port */
  paymentProviderUrl?: string;
  /** payments: API key sent to the provider (`Authorization: Bearer …`) */
  paymentProviderApiKey?: string;
  /** payments: webhook signing secret shared with the provider (required with paymentProviderUrl) */
  paymentWebhookSecret?: string;
  /** payments: timeout of one provider call */
  paymentCallTimeoutMs: number;
  /** payments: first outbox retry after this (doubles per attempt, up to 5 min) */
  paymentRetryBaseMs: number;
  /** payments: attempts before an outbox operation is given up (`failed`, listed for staff) */
  paymentMaxAttempts: number;
  /** payments: reconciliation every this many seconds (0 = only on demand) */
  paymentReconcileIntervalS: number;
  /** payments, embedded sandbox: answer latency, % of tok_sandbox_flaky calls that fail, fault seed */
  paymentSandboxLatencyMs: number;
  paymentSandboxFlakyPct: number;
  paymentSandboxSeed: string;
  /** sync: CORS origins allowed on /sync and /ops (`null` = the Electron renderer's file:// page) */
  desktopOrigins: readonly string[];
  /** identity: HS256 secret for access tokens (≥ 32 characters); undefined = one generated once and kept in the database */
  authSecret?: string;
  /** identity: access-token lifetime (seconds) */
  accessTokenTtlS: number;
  /** identity: refresh-token lifetime (days, from its issue; every refresh rotates it) */
  refreshTokenTtlDays: number;
  /** identity: seed the documented demo staff accounts at start (turn off in production) */
  seedDemoStaff: boolean;
  /** identity: failed logins allowed per email / per client IP within loginWindowS before 429 */
  loginMaxFailuresPerEmail: number;
  loginMaxFailuresPerIp: number;
  loginWindowS: number;
  /** licence checks: a provider call taking longer counts as a provider failure (retried) */
  licenceCheckTimeoutMs: number;
  /** licence checks: first retry delay after a provider failure (doubles per attempt, up to 5 min) */
  licenceRetryBaseMs: number;
  /** licence checks, sandbox provider: answer latency and the share of calls (%) that fail like an outage */
  licenceSandboxLatencyMs: number;
  licenceSandboxFailurePct: number;
  /** bookings: the free reservation hold (minutes), also the default hold; copied into every tariff at start */
  reservationHoldMin: number;
  /** bookings: the longest reservation hold a customer may ask for (the minutes beyond the free hold cost the tariff's fee) */
  reservationMaxHoldMin: number;
  /** bookings: minutes kept free before every booking (between two bookings; the returnBy of a rental before it) */
  bookingBufferMin: number;
  /** rentals: how long a start waits for the car to acknowledge the unlock before answering 504 (hold voided, reservation kept) */
  rentalUnlockTimeoutMs: number;
  /** rentals: how long an end waits for the lock's acknowledgement before answering (the rental ends either way) */
  rentalLockTimeoutMs: number;
  /** rentals: the payment hold's deadline at start (provider timeouts are retried until then) */
  rentalHoldDeadlineMs: number;
  /** rentals: telemetry older than this cannot prove where and how the car was left: ending is refused */
  rentalEndTelemetryMaxAgeS: number;
  /** public base URL of this API, no trailing slash (gbfs.json links, OpenAPI servers); absent → from each request's Host */
  publicUrl?: string;
  /** feeds: GBFS system_information.feed_contact_email */
  gbfsContactEmail: string;
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
  dbPoolMax: 10,
  dbPoolWaitMs: 30_000,
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
  paymentCallTimeoutMs: 5_000,
  paymentRetryBaseMs: 1_000,
  paymentMaxAttempts: 12,
  paymentReconcileIntervalS: 3_600,
  paymentSandboxLatencyMs: 20,
  paymentSandboxFlakyPct: 30,
  paymentSandboxSeed: 'fleetdesk',
  desktopOrigins: Object.freeze(['null']),
  accessTokenTtlS: 900,
  refreshTokenTtlDays: 30,
  seedDemoStaff: true,
  loginMaxFailuresPerEmail: 5,
  loginMaxFailuresPerIp: 30,
  loginWindowS: 900,
  licenceCheckTimeoutMs: 5_000,
  licenceRetryBaseMs: 1_000,
  licenceSandboxLatencyMs: 500,
  licenceSandboxFailurePct: 0,
  reservationHoldMin: 15,
  reservationMaxHoldMin: 60,
  bookingBufferMin: 15,
  rentalUnlockTimeoutMs: 15_000,
  rentalLockTimeoutMs: 10_000,
  rentalHoldDeadlineMs: 5_000,
  rentalEndTelemetryMaxAgeS: 120,
  gbfsContactEmail: 'gbfs@fleetdesk.example',
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
    dbPoolMax: parseInteger('DB_POOL_MAX', read('DB_POOL_MAX'), DEFAULT_CONFIG.dbPoolMax, 1, 1_000),
    dbPoolWaitMs: parseInteger('DB_POOL_WAIT_MS', read('DB_POOL_WAIT_MS'), DEFAULT_CONFIG.dbPoolWaitMs, 100, 600_000),
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
    paymentProviderUrl: read('PAYMENT_PROVIDER_URL'),
    paymentProviderApiKey: read('PAYMENT_PROVIDER_API_KEY'),
    paymentWebhookSecret: read('PAYMENT_WEBHOOK_SECRET'),
    paymentCallTimeoutMs: parseInteger('PAYMENT_CALL_TIMEOUT_MS', read('PAYMENT_CALL_TIMEOUT_MS'), DEFAULT_CONFIG.paymentCallTimeoutMs, 50, 120_000),
    paymentRetryBaseMs: parseInteger('PAYMENT_RETRY_BASE_MS', read('PAYMENT_RETRY_BASE_MS'), DEFAULT_CONFIG.paymentRetryBaseMs, 10, 600_000),
    paymentMaxAttempts: parseInteger('PAYMENT_MAX_ATTEMPTS', read('PAYMENT_MAX_ATTEMPTS'), DEFAULT_CONFIG.paymentMaxAttempts, 1, 1_000),
    paymentReconcileIntervalS: parseInteger('PAYMENT_RECONCILE_INTERVAL_S', read('PAYMENT_RECONCILE_INTERVAL_S'), DEFAULT_CONFIG.paymentReconcileIntervalS, 0, 604_800),
    paymentSandboxLatencyMs: parseInteger('PAYMENT_SANDBOX_LATENCY_MS', read('PAYMENT_SANDBOX_LATENCY_MS'), DEFAULT_CONFIG.paymentSandboxLatencyMs, 0, 60_000),
    paymentSandboxFlakyPct: parseInteger('PAYMENT_SANDBOX_FLAKY_PCT', read('PAYMENT_SANDBOX_FLAKY_PCT'), DEFAULT_CONFIG.paymentSandboxFlakyPct, 0, 100),
    paymentSandboxSeed: read('PAYMENT_SANDBOX_SEED') ?? DEFAULT_CONFIG.paymentSandboxSeed,
    authSecret: read('AUTH_SECRET'),
    accessTokenTtlS: parseInteger('ACCESS_TOKEN_TTL_S', read('ACCESS_TOKEN_TTL_S'), DEFAULT_CONFIG.accessTokenTtlS, 10, 86_400),
    refreshTokenTtlDays: parseInteger('REFRESH_TOKEN_TTL_DAYS', read('REFRESH_TOKEN_TTL_DAYS'), DEFAULT_CONFIG.refreshTokenTtlDays, 1, 365),
    seedDemoStaff: parseBoolean('SEED_DEMO_STAFF', read('SEED_DEMO_STAFF'), DEFAULT_CONFIG.seedDemoStaff),
    loginMaxFailuresPerEmail: parseInteger('LOGIN_MAX_FAILURES_PER_EMAIL', read('LOGIN_MAX_FAILURES_PER_EMAIL'), DEFAULT_CONFIG.loginMaxFailuresPerEmail, 1, 1_000),
    loginMaxFailuresPerIp: parseInteger('LOGIN_MAX_FAILURES_PER_IP', read('LOGIN_MAX_FAILURES_PER_IP'), DEFAULT_CONFIG.loginMaxFailuresPerIp, 1, 100_000),
    loginWindowS: parseInteger('LOGIN_WINDOW_S', read('LOGIN_WINDOW_S'), DEFAULT_CONFIG.loginWindowS, 1, 86_400),
    licenceCheckTimeoutMs: parseInteger('LICENCE_CHECK_TIMEOUT_MS', read('LICENCE_CHECK_TIMEOUT_MS'), DEFAULT_CONFIG.licenceCheckTimeoutMs, 100, 120_000),
    licenceRetryBaseMs: parseInteger('LICENCE_RETRY_BASE_MS', read('LICENCE_RETRY_BASE_MS'), DEFAULT_CONFIG.licenceRetryBaseMs, 10, 600_000),
    licenceSandboxLatencyMs: parseInteger('LICENCE_SANDBOX_LATENCY_MS', read('LICENCE_SANDBOX_LATENCY_MS'), DEFAULT_CONFIG.licenceSandboxLatencyMs, 0, 60_000),
    licenceSandboxFailurePct: parseInteger('LICENCE_SANDBOX_FAILURE_PCT', read('LICENCE_SANDBOX_FAILURE_PCT'), DEFAULT_CONFIG.licenceSandboxFailurePct, 0, 100),
    reservationHoldMin: parseInteger('RESERVATION_HOLD_MIN', read('RESERVATION_HOLD_MIN'), DEFAULT_CONFIG.reservationHoldMin, 1, 120),
    reservationMaxHoldMin: parseInteger('RESERVATION_MAX_HOLD_MIN', read('RESERVATION_MAX_HOLD_MIN'), DEFAULT_CONFIG.reservationMaxHoldMin, 1, 240),
    bookingBufferMin: parseInteger('BOOKING_BUFFER_MIN', read('BOOKING_BUFFER_MIN'), DEFAULT_CONFIG.bookingBufferMin, 0, 240),
    rentalUnlockTimeoutMs: parseInteger('RENTAL_UNLOCK_TIMEOUT_MS', read('RENTAL_UNLOCK_TIMEOUT_MS'), DEFAULT_CONFIG.rentalUnlockTimeoutMs, 1_000, 120_000),
    rentalLockTimeoutMs: parseInteger('RENTAL_LOCK_TIMEOUT_MS', read('RENTAL_LOCK_TIMEOUT_MS'), DEFAULT_CONFIG.rentalLockTimeoutMs, 0, 120_000),
    rentalHoldDeadlineMs: parseInteger('RENTAL_HOLD_DEADLINE_MS', read('RENTAL_HOLD_DEADLINE_MS'), DEFAULT_CONFIG.rentalHoldDeadlineMs, 500, 60_000),
    rentalEndTelemetryMaxAgeS: parseInteger('RENTAL_END_TELEMETRY_MAX_AGE_S', read('RENTAL_END_TELEMETRY_MAX_AGE_S'), DEFAULT_CONFIG.rentalEndTelemetryMaxAgeS, 5, 3_600),
    publicUrl: read('PUBLIC_URL'),
    gbfsContactEmail: read('GBFS_CONTACT_EMAIL') ?? DEFAULT_CONFIG.gbfsContactEmail,
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
  checkInteger('DB_POOL_MAX', config.dbPoolMax, 1, 1_000);
  checkInteger('DB_POOL_WAIT_MS', config.dbPoolWaitMs, 100, 600_000);
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
  checkInteger('PAYMENT_CALL_TIMEOUT_MS', config.paymentCallTimeoutMs, 50, 120_000);
  checkInteger('PAYMENT_RETRY_BASE_MS', config.paymentRetryBaseMs, 10, 600_000);
  checkInteger('PAYMENT_MAX_ATTEMPTS', config.paymentMaxAttempts, 1, 1_000);
  checkInteger('PAYMENT_RECONCILE_INTERVAL_S', config.paymentReconcileIntervalS, 0, 604_800);
  checkInteger('PAYMENT_SANDBOX_LATENCY_MS', config.paymentSandboxLatencyMs, 0, 60_000);
  checkInteger('PAYMENT_SANDBOX_FLAKY_PCT', config.paymentSandboxFlakyPct, 0, 100);
  if (config.paymentProviderUrl !== undefined) {
    checkUrl('PAYMENT_PROVIDER_URL', config.paymentProviderUrl, ['http:', 'https:']);
    // never echo the secret
    if (!config.paymentWebhookSecret || config.paymentWebhookSecret.length < 16) throw new ConfigError('PAYMENT_WEBHOOK_SECRET (at least 16 characters) is required with PAYMENT_PROVIDER_URL');
  }
  // never echo the secret
  if (config.authSecret !== undefined && config.authSecret.length < 32) throw new ConfigError('AUTH_SECRET must be at least 32 characters');
  checkInteger('ACCESS_TOKEN_TTL_S', config.accessTokenTtlS, 10, 86_400);
  checkInteger('REFRESH_TOKEN_TTL_DAYS', config.refreshTokenTtlDays, 1, 365);
  checkInteger('LOGIN_MAX_FAILURES_PER_EMAIL', config.loginMaxFailuresPerEmail, 1, 1_000);
  checkInteger('LOGIN_MAX_FAILURES_PER_IP', config.loginMaxFailuresPerIp, 1, 100_000);
  checkInteger('LOGIN_WINDOW_S', config.loginWindowS, 1, 86_400);
  checkInteger('LICENCE_CHECK_TIMEOUT_MS', config.licenceCheckTimeoutMs, 100, 120_000);
  checkInteger('LICENCE_RETRY_BASE_MS', config.licenceRetryBaseMs, 10, 600_000);
  checkInteger('LICENCE_SANDBOX_LATENCY_MS', config.licenceSandboxLatencyMs, 0, 60_000);
  checkInteger('LICENCE_SANDBOX_FAILURE_PCT', config.licenceSandboxFailurePct, 0, 100);
  checkInteger('RESERVATION_HOLD_MIN', config.reservationHoldMin, 1, 120);
  checkInteger('RESERVATION_MAX_HOLD_MIN', config.reservationMaxHoldMin, 1, 240);
  if (config.reservationMaxHoldMin < config.reservationHoldMin) throw new ConfigError('RESERVATION_MAX_HOLD_MIN must be at least RESERVATION_HOLD_MIN');
  checkInteger('BOOKING_BUFFER_MIN', config.bookingBufferMin, 0, 240);
  checkInteger('RENTAL_UNLOCK_TIMEOUT_MS', config.rentalUnlockTimeoutMs, 1_000, 120_000);
  checkInteger('RENTAL_LOCK_TIMEOUT_MS', config.rentalLockTimeoutMs, 0, 120_000);
  checkInteger('RENTAL_HOLD_DEADLINE_MS', config.rentalHoldDeadlineMs, 500, 60_000);
  checkInteger('RENTAL_END_TELEMETRY_MAX_AGE_S', config.rentalEndTelemetryMaxAgeS, 5, 3_600);
  if (config.publicUrl !== undefined) {
    checkUrl('PUBLIC_URL', config.publicUrl, ['http:', 'https:']);
    if (!/^https?:\/\/[^/?#\s]+(\/[^?#\s]*[^/?#\s])?$/.test(config.publicUrl)) throw new ConfigError(`PUBLIC_URL must be scheme://host[:port][/path] without a trailing slash, query or fragment (got "${config.publicUrl}")`);
  }
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(config.gbfsContactEmail)) throw new ConfigError(`GBFS_CONTACT_EMAIL must be an email address (got "${config.gbfsContactEmail}")`);
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

function parseBoolean(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined) return fallback;
  const value = raw.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(`${name} must be true or false (got ${JSON.stringify(raw)})`);
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
