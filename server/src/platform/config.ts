/**
 * Server configuration. The environment is read in one place (start.ts → loadConfig); everything else gets a
 * validated ServerConfig. Tests build one from defaults + overrides (resolveConfig) and never touch the env.
 */
import { DESKTOP_APP_ORIGIN } from '../../../src/shared/desktop-origin.js';
import { isAbsolute, resolve } from 'node:path';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `dataDir` value that keeps PGlite in memory (tests). */
export const IN_MEMORY_DATA_DIR = 'memory://';

export const MQTT_AUTH_MODES = ['required', 'off'] as const;
export type MqttAuthMode = (typeof MQTT_AUTH_MODES)[number];

/**
 * One setting: its environment variable, what it means, its default and how its text is read and its value checked.
 * The ServerConfig type, DEFAULT_CONFIG, loadConfig and resolveConfig are all derived from the table below.
 */
interface Setting<T> {
  env: string;
  doc: string;
  /** absent: the setting is optional (undefined when unset) */
  default?: T;
  optional?: true;
  /** the variable's text (trimmed; empty = unset) → value, throwing ConfigError naming the variable (default: the text) */
  parse?: (raw: string) => T;
  /** instead of parse: the variable as it is, set or not (where empty and unset mean something of their own) */
  fromEnv?: (value: string | undefined) => T;
  /** validates a value, however it came (the environment or overrides) */
  check?: (value: T) => void;
}

type Defaulted<T> = Setting<T> & { default: T; optional?: undefined };
type Optional<T> = Setting<T> & { default?: undefined; optional: true };

function integer(env: string, defaultValue: number, min: number, max: number, doc: string): Defaulted<number> {
  return {
    env,
    doc,
    default: defaultValue,
    parse: (raw) => parseInteger(env, raw, min, max),
    check: (value) => checkInteger(env, value, min, max),
  };
}

function text(env: string, defaultValue: string, doc: string, check?: (value: string) => void): Defaulted<string> {
  return { env, doc, default: defaultValue, ...(check ? { check } : {}) };
}

function optionalText(env: string, doc: string, check?: (value: string) => void): Optional<string> {
  return { env, doc, optional: true, ...(check ? { check } : {}) };
}

function oneOf<T extends string>(env: string, values: readonly T[], defaultValue: T, doc: string): Defaulted<T> {
  return {
    env,
    doc,
    default: defaultValue,
    parse: (raw) => raw.toLowerCase() as T,
    check: (value) => {
      if (!(values as readonly string[]).includes(value))
        throw new ConfigError(`${env} must be one of ${values.join(', ')} (got "${value}")`);
    },
  };
}

/** `max` requests per `windowMs` (an abuse limit, platform/http/abuse-limits.ts). */
export interface LimitRule {
  max: number;
  windowMs: number;
}

/** "20/1h", "5/15m", "100/30s", "3/1d" → a rule; undefined when it is not of that form. */
export function parseLimitRule(text: string): LimitRule | undefined {
  const match = /^\s*(\d{1,9})\s*\/\s*(\d{1,6})\s*([smhd])\s*$/.exec(text);
  if (!match) return undefined;
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[3] as 's' | 'm' | 'h' | 'd'];
  const rule = { max: Number(match[1]), windowMs: Number(match[2]) * unit };
  return rule.max >= 1 && rule.windowMs >= 1_000 ? rule : undefined;
}

function limitRule(env: string, defaultValue: string, doc: string): Defaulted<LimitRule> {
  const parse = (raw: string): LimitRule => {
    const rule = parseLimitRule(raw);
    if (!rule) throw new ConfigError(`${env} must be <requests>/<window> with a window in s, m, h or d, e.g. 20/1h (got "${raw}")`);
    return rule;
  };
  return {
    env,
    doc: `${doc} (\`<requests>/<window>\`, window in s, m, h or d; default ${defaultValue})`,
    default: parse(defaultValue),
    parse,
    check: (value) => {
      if (!(Number.isInteger(value.max) && value.max >= 1 && Number.isInteger(value.windowMs) && value.windowMs >= 1_000))
        throw new ConfigError(`${env} must allow at least 1 request in a window of at least 1 s`);
    },
  };
}

function boolean(env: string, defaultValue: boolean, doc: string): Defaulted<boolean> {
  return { env, doc, default: defaultValue, parse: (raw) => parseBoolean(env, raw) };
}

const MQTT_URL_PROTOCOLS = ['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:'];
const HTTP_PROTOCOLS = ['http:', 'https:'];
const SMTP_PROTOCOLS = ['smtp:', 'smtps:'];
/** `address` or `Name <address>` (a display name without angle brackets or line breaks). */
const MAIL_FROM_PATTERN = /^(?:[^<>\r\n]*<[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+)$/;
const DESKTOP_ORIGINS_DEFAULT: readonly string[] = Object.freeze([DESKTOP_APP_ORIGIN]);

const SETTINGS = {
  production: {
    env: 'NODE_ENV',
    doc:
      '`production` switches on production mode: the server refuses to start with any demo default (demo staff, the demo fleet and its ' +
      'device credentials, a generated AUTH_SECRET, no PUBLIC_URL, an embedded broker without TLS, MQTT_AUTH=off, no MAIL_SMTP_URL); anything else = development (`npm start`: demo defaults, logged at start)',
    default: false,
    fromEnv: (value: string | undefined): boolean => value?.trim().toLowerCase() === 'production',
  } satisfies Defaulted<boolean>,
  host: text('HOST', '127.0.0.1', 'interface the HTTP server and the embedded broker listen on', (value) => {
    if (!value) throw new ConfigError('HOST must not be empty');
  }),
  port: integer('PORT', 4310, 0, 65535, 'HTTP port; 0 = a random free port'),
  databaseUrl: optionalText('DATABASE_URL', 'PostgreSQL connection string; absent → embedded PGlite under dataDir', (value) =>
    checkUrl('DATABASE_URL', value, ['postgres:', 'postgresql:']),
  ),
  dbPoolMax: integer('DB_POOL_MAX', 10, 1, 1_000, 'PostgreSQL connections per server instance'),
  dbPoolWaitMs: integer(
    'DB_POOL_WAIT_MS',
    30_000,
    100,
    600_000,
    'how long a request may wait for a free connection before it is answered 503 database_busy',
  ),
  dbStatementTimeoutMs: integer(
    'DB_STATEMENT_TIMEOUT_MS',
    15_000,
    0,
    3_600_000,
    'PostgreSQL: a statement running longer is cancelled, and a connection silent this long is given up, so no request hangs on a dead or cut database (answered 503 `database_unavailable` + Retry-After); 0 = no limit',
  ),
  dataDir: text(
    'DATA_DIR',
    './var/server',
    'local state directory (PGlite lives in `<dataDir>/pglite`), or `memory://` for an in-memory PGlite',
    (value) => {
      if (!value) throw new ConfigError('DATA_DIR must not be empty');
    },
  ),
  mqttUrl: optionalText('MQTT_URL', 'external MQTT broker; absent → embedded Aedes on host:mqttPort', (value) =>
    checkUrl('MQTT_URL', value, MQTT_URL_PROTOCOLS),
  ),
  mqttPort: integer('MQTT_PORT', 18830, 0, 65535, 'port of the embedded broker; 0 = a random free port'),
  mqttMaxPacketBytes: integer(
    'MQTT_MAX_PACKET_BYTES',
    65_536,
    1_024,
    268_435_455,
    'embedded broker: the largest MQTT packet a client may send; a larger one ends its connection at the socket, before it is buffered (on Mosquitto: `max_packet_size`)',
  ),
  mqttAuth: oneOf<MqttAuthMode>(
    'MQTT_AUTH',
    MQTT_AUTH_MODES,
    'required',
    '`required`: the embedded broker enforces per-client credentials and topic rules; `off`: open (development only)',
  ),
  mqttUsername: optionalText(
    'MQTT_USERNAME',
    "the server's own broker account on an external broker (a `service` account); the embedded one needs none",
  ),
  mqttPassword: optionalText('MQTT_PASSWORD', 'the password of that account'),
  mqttTlsCertFile: optionalText(
    'MQTT_TLS_CERT_FILE',
    'embedded broker: its TLS certificate chain (PEM file); with MQTT_TLS_KEY_FILE the broker speaks only mqtts:// (TLS) on MQTT_PORT',
  ),
  mqttTlsKeyFile: optionalText('MQTT_TLS_KEY_FILE', 'embedded broker: the private key (PEM file) of MQTT_TLS_CERT_FILE'),
  mqttCaFile: optionalText(
    'MQTT_CA_FILE',
    "the CA certificate(s) (PEM file) the broker's certificate must chain to, for the server's own MQTT client (mqtts:// MQTT_URL, or the embedded TLS broker; default there: MQTT_TLS_CERT_FILE itself, i.e. a self-signed certificate); unset for an external broker = the system's CAs",
  ),
  deviceBrokerUrl: optionalText(
    'DEVICE_BROKER_URL',
    "the broker URL written into the installer's credentials file (what devices connect to); absent → the server's own broker URL",
    (value) => checkUrl('DEVICE_BROKER_URL', value, MQTT_URL_PROTOCOLS),
  ),
  mosquittoConfigDir: optionalText(
    'MOSQUITTO_CONFIG_DIR',
    'external Mosquitto: the server rewrites the password and ACL files here after every credential change (docs/mosquitto-auth.md); absent → regenerate them with `npm run mqtt:mosquitto-config`',
  ),
  mosquittoPidFile: optionalText(
    'MOSQUITTO_PID_FILE',
    "with MOSQUITTO_CONFIG_DIR: Mosquitto's pid file (its `pid_file`); the server sends it SIGHUP after rewriting the files, so it reloads them without a restart",
  ),
  seedVehicles: integer('SEED_VEHICLES', 1000, 0, 99_999, 'size of the demo fleet upserted into the registry at start (0 = none)'),
  logLevel: {
    ...oneOf<LogLevel>('LOG_LEVEL', LOG_LEVELS, 'info', 'pino log level'),
    parse: (raw: string): LogLevel => {
      const level = raw.toLowerCase();
      if (!(LOG_LEVELS as readonly string[]).includes(level))
        throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${raw}")`);
      return level as LogLevel;
    },
  },
  shutdownStallMs: integer(
    'SHUTDOWN_STALL_MS',
    10_000,
    0,
    600_000,
    'at stop, each write-behind buffer (live state, history, events, alert changes) is written for as long as the database makes progress; it gives up after this long without a successful write and logs what is left as lost',
  ),
  telemetryBufferRows: integer(
    'TELEMETRY_BUFFER_ROWS',
    200_000,
    100,
    10_000_000,
    'telemetry history rows held in memory while the database is slow or down; beyond, new rows are dropped and counted (fleetdesk_telemetry_history_dropped_total) — the latest state per car is kept regardless',
  ),
  heartbeatTimeoutS: integer('HEARTBEAT_TIMEOUT_S', 120, 1, 86_400, 'a vehicle with no message for this long counts as offline'),
  timelineMaterializeLagS: integer(
    'TIMELINE_MATERIALIZE_LAG_S',
    30,
    0,
    3_600,
    "ignition changes (the timeline's trips) are materialised from the telemetry history up to this long before now (room for history rows written late); a timeline read derives the part after it from the samples",
  ),
  brokerReconnectGraceS: integer(
    'BROKER_RECONNECT_GRACE_S',
    30,
    0,
    3_600,
    'broker outage: once the broker is back, vehicles get this long to publish before the silence of the outage counts toward their heartbeat timeout (the time the broker was down never does)',
  ),
  brokerOutageMaxStalenessS: integer(
    'BROKER_OUTAGE_MAX_STALENESS_S',
    900,
    1,
    86_400,
    'broker outage: a car whose last-known state is at most this old stays listed as available (search, GBFS, reservations) while the server cannot hear it; older ones are shown stale but not offered',
  ),
  commandResendMs: integer(
    'COMMAND_RESEND_MS',
    5_000,
    100,
    600_000,
    'commands: first resend of a command the vehicle has not acknowledged (doubles per attempt, up to 60 s)',
  ),
  commandResultGraceMs: integer(
    'COMMAND_RESULT_GRACE_MS',
    10_000,
    0,
    3_600_000,
    'commands: a `received` command without a result expires this long after its expiry',
  ),
  alertLowEnergyPct: integer('ALERT_LOW_ENERGY_PCT', 15, 0, 100, 'alerts: low_energy below this fuel/battery %'),
  alertLowEnergyResolvePct: integer(
    'ALERT_LOW_ENERGY_RESOLVE_PCT',
    20,
    0,
    100,
    'alerts: low_energy resolved at or above this % (at least ALERT_LOW_ENERGY_PCT)',
  ),
  alertDoorOpenParkedS: integer(
    'ALERT_DOOR_OPEN_PARKED_S',
    120,
    0,
    86_400,
    'alerts: door_open_parked after doors open/unlocked while parked for this long',
  ),
  alertMovementSpeedKph: integer(
    'ALERT_MOVEMENT_SPEED_KPH',
    5,
    0,
    300,
    'alerts: movement_without_rental when faster than this, or ignition on, for ALERT_MOVEMENT_DWELL_S',
  ),
  alertMovementDwellS: integer('ALERT_MOVEMENT_DWELL_S', 60, 0, 86_400, 'alerts: how long the movement must last'),
  alertZoneExitM: integer('ALERT_ZONE_EXIT_M', 50, 0, 100_000, 'alerts: zone_exit when more than this far outside (2 samples)'),
  alertZoneReturnM: integer('ALERT_ZONE_RETURN_M', 50, 0, 100_000, 'alerts: zone_exit resolved when this far back inside'),
  clockSkewToleranceS: integer(
    'CLOCK_SKEW_TOLERANCE_S',
    300,
    1,
    31_536_000,
    'device clock more than this far from the receive time: accepted but flagged (counted, skew stored)',
  ),
  telemetryRetentionDays: integer(
    'TELEMETRY_RETENTION_DAYS',
    30,
    1,
    3_650,
    'telemetry history partitions (days) older than this are dropped',
  ),
  mqttSharedGroup: {
    env: 'MQTT_SHARED_GROUP',
    doc:
      'MQTT shared-subscription group for telemetry and events (`$share/<group>/…`), empty = off; ignored on the embedded broker. ' +
      'Off by default here (tests on a shared broker must not split each other’s messages); the environment defaults it to `fleetdesk-ingest`.',
    default: '',
    // set but empty = off; not set at all = the environment's default
    fromEnv: (value: string | undefined) => (value === undefined ? DEFAULT_ENV_SHARED_GROUP : value.trim()),
    check: (value: string) => {
      if (!/^[A-Za-z0-9_-]{0,64}$/.test(value))
        throw new ConfigError(`MQTT_SHARED_GROUP must be 0–64 characters of A–Z a–z 0–9 _ - (got "${value}")`);
    },
  } satisfies Defaulted<string>,
  syncTombstoneDays: integer(
    'SYNC_TOMBSTONE_DAYS',
    30,
    1,
    3_650,
    'sync: tombstones (deleted replica documents) are kept this many days; a desktop offline longer resyncs fully',
  ),
  syncHistoryDays: integer(
    'SYNC_HISTORY_DAYS',
    30,
    1,
    3_650,
    'sync: closed allocations and tasks untouched this many days leave the desks’ replicas (read from the staff API instead)',
  ),
  paymentProviderUrl: optionalText(
    'PAYMENT_PROVIDER_URL',
    "payments: the provider's base URL; absent → the sandbox provider started in-process on a random port",
    (value) => checkUrl('PAYMENT_PROVIDER_URL', value, HTTP_PROTOCOLS),
  ),
  paymentProviderApiKey: optionalText('PAYMENT_PROVIDER_API_KEY', 'payments: API key sent to the provider (`Authorization: Bearer …`)'),
  paymentWebhookSecret: optionalText(
    'PAYMENT_WEBHOOK_SECRET',
    'payments: webhook signing secret shared with the provider (required with PAYMENT_PROVIDER_URL)',
  ),
  paymentCallTimeoutMs: integer('PAYMENT_CALL_TIMEOUT_MS', 5_000, 50, 120_000, 'payments: timeout of one provider call'),
  paymentRetryBaseMs: integer(
    'PAYMENT_RETRY_BASE_MS',
    1_000,
    10,
    600_000,
    'payments: first outbox retry after this (doubles per attempt, up to 5 min)',
  ),
  paymentMaxAttempts: integer(
    'PAYMENT_MAX_ATTEMPTS',
    12,
    1,
    1_000,
    'payments: attempts before an outbox operation is given up (`failed`, listed for staff)',
  ),
  paymentReconcileIntervalS: integer(
    'PAYMENT_RECONCILE_INTERVAL_S',
    3_600,
    0,
    604_800,
    'payments: reconciliation every this many seconds (0 = only on demand)',
  ),
  paymentSandboxLatencyMs: integer('PAYMENT_SANDBOX_LATENCY_MS', 20, 0, 60_000, 'payments, embedded sandbox: answer latency'),
  paymentSandboxFlakyPct: integer(
    'PAYMENT_SANDBOX_FLAKY_PCT',
    30,
    0,
    100,
    'payments, embedded sandbox: % of tok_sandbox_flaky calls that fail',
  ),
  paymentSandboxSeed: text('PAYMENT_SANDBOX_SEED', 'fleetdesk', 'payments, embedded sandbox: fault seed'),
  authSecret: optionalText(
    'AUTH_SECRET',
    'identity: HS256 secret for access tokens (≥ 32 characters); absent = one generated once and kept in the database',
    (value) => {
      // never echo the secret
      if (value.length < 32) throw new ConfigError('AUTH_SECRET must be at least 32 characters');
    },
  ),
  accessTokenTtlS: integer('ACCESS_TOKEN_TTL_S', 900, 10, 86_400, 'identity: access-token lifetime (seconds)'),
  refreshTokenTtlDays: integer(
    'REFRESH_TOKEN_TTL_DAYS',
    30,
    1,
    365,
    'identity: refresh-token lifetime (days, from its issue; every refresh rotates it)',
  ),
  seedDemoStaff: boolean('SEED_DEMO_STAFF', true, 'identity: seed the documented demo staff accounts at start (turn off in production)'),
  loginMaxFailuresPerEmail: integer(
    'LOGIN_MAX_FAILURES_PER_EMAIL',
    5,
    1,
    1_000,
    'identity: failed logins per email within LOGIN_WINDOW_S before each further attempt waits (LOGIN_FIRST_DELAY_S, doubling, up to LOGIN_MAX_DELAY_S; 429 + Retry-After meanwhile)',
  ),
  loginMaxFailuresPerIp: integer(
    'LOGIN_MAX_FAILURES_PER_IP',
    30,
    1,
    100_000,
    'identity: failed logins per client IP within LOGIN_WINDOW_S before each further attempt waits (the same delays)',
  ),
  loginWindowS: integer(
    'LOGIN_WINDOW_S',
    900,
    1,
    86_400,
    'identity: failures are forgotten this long after the first of a window (seconds)',
  ),
  loginFirstDelayS: integer(
    'LOGIN_FIRST_DELAY_S',
    2,
    1,
    3_600,
    'identity: the wait after the free failures of an email or IP; it doubles with every further failure',
  ),
  loginMaxDelayS: integer(
    'LOGIN_MAX_DELAY_S',
    120,
    1,
    86_400,
    'identity: the longest wait between two login attempts on one email or IP (there is no lockout: after it, the right password passes)',
  ),
  rateLimitSignupPerIp: limitRule('RATE_LIMIT_SIGNUP_PER_IP', '20/1h', 'abuse limits: sign-ups from one client IP'),
  rateLimitSignupPerEmail: limitRule(
    'RATE_LIMIT_SIGNUP_PER_EMAIL',
    '3/1h',
    'abuse limits: sign-ups with one e-mail address (each one for a taken address mails its owner)',
  ),
  rateLimitLoginPerIp: limitRule(
    'RATE_LIMIT_LOGIN_PER_IP',
    '100/15m',
    'abuse limits: sign-in attempts from one client IP (customers; staff counted apart)',
  ),
  rateLimitLoginPerEmail: limitRule(
    'RATE_LIMIT_LOGIN_PER_EMAIL',
    '30/15m',
    'abuse limits: sign-in attempts on one e-mail address, right or wrong (customers; staff counted apart); failures also slow down, LOGIN_*',
  ),
  rateLimitClaimsPerIp: limitRule('RATE_LIMIT_CLAIMS_PER_IP', '300/1h', 'abuse limits: reservations and bookings from one client IP'),
  rateLimitClaimsPerCustomer: limitRule(
    'RATE_LIMIT_CLAIMS_PER_CUSTOMER',
    '30/1h',
    'abuse limits: reservations and bookings one customer may attempt',
  ),
  rateLimitLicencePerIp: limitRule('RATE_LIMIT_LICENCE_PER_IP', '50/1d', 'abuse limits: driver-licence submissions from one client IP'),
  rateLimitLicencePerCustomer: limitRule(
    'RATE_LIMIT_LICENCE_PER_CUSTOMER',
    '5/1d',
    'abuse limits: driver-licence submissions by one customer (each one is a paid check at the provider)',
  ),
  rateLimitLoopback: oneOf(
    'RATE_LIMIT_LOOPBACK',
    ['auto', 'exempt', 'limited'] as const,
    'auto',
    'abuse limits for clients on 127.0.0.1/::1: `auto` = exempt in development (npm start: the simulated customers all come from loopback), limited in production (a proxy on the same host without TRUST_PROXY would make every client loopback)',
  ),
  loginMaxConcurrentPerClient: integer(
    'LOGIN_MAX_CONCURRENT_PER_CLIENT',
    2,
    1,
    1_000,
    'identity: password checks one client IP may have running at once per instance; the next 16 wait their turn, more are answered 429 at once',
  ),
  trustProxy: {
    env: 'TRUST_PROXY',
    doc:
      "HTTP: which proxies' X-Forwarded-For to believe for the client IP (login and rate limits): empty = none (the socket's address), " +
      '`true` = every hop, a number = that many hops, or a comma list of proxy addresses/CIDRs (e.g. `10.0.0.0/8`)',
    default: '',
    parse: (raw: string) => raw,
    check: (value: string) => {
      if (value !== '' && value !== 'true' && !/^\d{1,2}$/.test(value) && !/^[0-9A-Fa-f.:/]+(\s*,\s*[0-9A-Fa-f.:/]+)*$/.test(value))
        throw new ConfigError(`TRUST_PROXY must be empty, true, a hop count or a comma list of addresses/CIDRs (got "${value}")`);
    },
  } satisfies Defaulted<string>,
  licenceCheckTimeoutMs: integer(
    'LICENCE_CHECK_TIMEOUT_MS',
    5_000,
    100,
    120_000,
    'licence checks: a provider call taking longer counts as a provider failure (retried)',
  ),
  licenceRetryBaseMs: integer(
    'LICENCE_RETRY_BASE_MS',
    1_000,
    10,
    600_000,
    'licence checks: first retry delay after a provider failure (doubles per attempt, up to 5 min)',
  ),
  licenceSandboxLatencyMs: integer('LICENCE_SANDBOX_LATENCY_MS', 500, 0, 60_000, 'licence checks, sandbox provider: answer latency'),
  licenceSandboxFailurePct: integer(
    'LICENCE_SANDBOX_FAILURE_PCT',
    0,
    0,
    100,
    'licence checks, sandbox provider: the share of calls (%) that fail like an outage',
  ),
  mailSmtpUrl: optionalText(
    'MAIL_SMTP_URL',
    'customer mails (sign-up confirmation codes, notices): the SMTP server, `smtps://user:pass@host:465` (TLS from the first byte) or `smtp://user:pass@host:587` (STARTTLS; user and password URL-encoded); absent → the sandbox mailbox (`<DATA_DIR>/sandbox-mailbox/`, development only)',
    (value) => {
      // never echo the value: it carries the password
      checkUrl('MAIL_SMTP_URL', value, SMTP_PROTOCOLS);
      const url = new URL(value);
      if (!url.hostname) throw new ConfigError('MAIL_SMTP_URL must name a host (smtp://host:port or smtps://host:port)');
      if ((url.pathname !== '' && url.pathname !== '/') || url.search || url.hash)
        throw new ConfigError('MAIL_SMTP_URL must be scheme://[user:pass@]host[:port] without a path, query or fragment');
    },
  ),
  mailFrom: optionalText(
    'MAIL_FROM',
    'customer mails: the sender, `no-reply@example.com` or `Fleetdesk <no-reply@example.com>`; required with MAIL_SMTP_URL',
    (value) => {
      if (!MAIL_FROM_PATTERN.test(value))
        throw new ConfigError(`MAIL_FROM must be an address or "Name <address>" (got ${JSON.stringify(value)})`);
    },
  ),
  mailSmtpTls: oneOf(
    'MAIL_SMTP_TLS',
    ['required', 'off'] as const,
    'required',
    "customer mails: `required` = smtps:// speaks TLS at once, smtp:// must upgrade with STARTTLS or nothing is sent (the server's certificate is always verified); `off` = plain smtp:// without STARTTLS (a relay on the same host; production refuses it with a password)",
  ),
  mailSmtpCaFile: optionalText(
    'MAIL_SMTP_CA_FILE',
    "customer mails: the CA certificate(s) (PEM file) the SMTP server's certificate must chain to; unset = the system's CAs",
  ),
  mailSmtpTimeoutMs: integer(
    'MAIL_SMTP_TIMEOUT_MS',
    10_000,
    1_000,
    60_000,
    'customer mails: the longest wait for the SMTP server to connect, greet or answer one command; longer counts as a transient failure (retried)',
  ),
  mailRetryBaseMs: integer(
    'MAIL_RETRY_BASE_MS',
    2_000,
    10,
    600_000,
    'customer mails: first retry after a transient failure (server unreachable, 4xx answer); doubles per attempt, up to 5 min',
  ),
  mailMaxAttempts: integer(
    'MAIL_MAX_ATTEMPTS',
    10,
    1,
    1_000,
    'customer mails: attempts before a transiently failing mail is given up (failed, counted); a 5xx refusal of the mail fails it at once',
  ),
  reservationHoldMin: integer(
    'RESERVATION_HOLD_MIN',
    15,
    1,
    120,
    'bookings: the free reservation hold (minutes), also the default hold; copied into every tariff at start',
  ),
  reservationMaxHoldMin: integer(
    'RESERVATION_MAX_HOLD_MIN',
    60,
    1,
    240,
    "bookings: the longest reservation hold a customer may ask for (the minutes beyond the free hold cost the tariff's fee)",
  ),
  bookingBufferMin: integer(
    'BOOKING_BUFFER_MIN',
    15,
    0,
    240,
    'bookings: minutes kept free before every booking (between two bookings; the returnBy of a rental before it)',
  ),
  rentalUnlockTimeoutMs: integer(
    'RENTAL_UNLOCK_TIMEOUT_MS',
    15_000,
    1_000,
    120_000,
    'rentals: how long a start waits for the car to acknowledge the unlock before answering 504 (hold voided, reservation kept)',
  ),
  rentalLockTimeoutMs: integer(
    'RENTAL_LOCK_TIMEOUT_MS',
    10_000,
    0,
    120_000,
    "rentals: how long an end waits for the lock's acknowledgement before answering (the rental ends either way)",
  ),
  rentalHoldDeadlineMs: integer(
    'RENTAL_HOLD_DEADLINE_MS',
    5_000,
    500,
    60_000,
    "rentals: the payment hold's deadline at start (provider timeouts are retried until then)",
  ),
  rentalEndTelemetryMaxAgeS: integer(
    'RENTAL_END_TELEMETRY_MAX_AGE_S',
    120,
    5,
    3_600,
    'rentals: telemetry older than this cannot prove where and how the car was left: ending is refused',
  ),
  opsToken: optionalText(
    'OPS_TOKEN',
    'HTTP: when set, /metrics, /docs and /openapi.json answer only `Authorization: Bearer <OPS_TOKEN>` (≥ 32 characters); unset: open in development, closed (404) in production',
    (value) => {
      // never echo the token
      if (value.length < 32) throw new ConfigError('OPS_TOKEN must be at least 32 characters');
    },
  ),
  publicUrl: optionalText(
    'PUBLIC_URL',
    "public base URL of this API, no trailing slash (gbfs.json links, OpenAPI servers); absent → from each request's Host",
    (value) => {
      checkUrl('PUBLIC_URL', value, HTTP_PROTOCOLS);
      if (!/^https?:\/\/[^/?#\s]+(\/[^?#\s]*[^/?#\s])?$/.test(value))
        throw new ConfigError(
          `PUBLIC_URL must be scheme://host[:port][/path] without a trailing slash, query or fragment (got "${value}")`,
        );
    },
  ),
  gbfsContactEmail: text('GBFS_CONTACT_EMAIL', 'gbfs@fleetdesk.example', 'feeds: GBFS system_information.feed_contact_email', (value) => {
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) throw new ConfigError(`GBFS_CONTACT_EMAIL must be an email address (got "${value}")`);
  }),
  desktopOrigins: {
    env: 'DESKTOP_ORIGINS',
    doc: 'sync: CORS origins allowed on /sync and /ops (`app://fleetdesk` = the Electron renderer)',
    default: DESKTOP_ORIGINS_DEFAULT,
    // a comma list; set but empty = no origin at all
    fromEnv: (value: string | undefined): readonly string[] =>
      value === undefined
        ? DESKTOP_ORIGINS_DEFAULT
        : value
            .split(',')
            .map((o) => o.trim())
            .filter((o) => o !== ''),
    check: (origins: readonly string[]) => {
      for (const origin of origins) {
        if (origin === '*' || !(origin === 'null' || /^[a-z][a-z0-9+.-]*:\/\/[^/\s]+$/i.test(origin))) {
          throw new ConfigError(
            `DESKTOP_ORIGINS must be a comma list of origins (scheme://host[:port]) or null, never * (got "${origin}")`,
          );
        }
      }
    },
  } satisfies Defaulted<readonly string[]>,
};

type Settings = typeof SETTINGS;
type ValueOf<S> = S extends Setting<infer T> ? T : never;
type OptionalKey = { [K in keyof Settings]: Settings[K] extends { optional: true } ? K : never }[keyof Settings];
type Flatten<T> = { [K in keyof T]: T[K] };

/** The validated server configuration: one field per setting of the table above (see each setting's `doc`). */
export type ServerConfig = Flatten<
  { [K in Exclude<keyof Settings, OptionalKey>]: ValueOf<Settings[K]> } & { [K in OptionalKey]?: ValueOf<Settings[K]> }
>;

const SETTING_KEYS = Object.keys(SETTINGS) as Array<keyof ServerConfig>;
const setting = (key: keyof ServerConfig): Setting<unknown> => SETTINGS[key] as Setting<unknown>;

export const DEFAULT_CONFIG: Readonly<ServerConfig> = Object.freeze(
  Object.fromEntries(SETTING_KEYS.filter((key) => !setting(key).optional).map((key) => [key, setting(key).default])) as ServerConfig,
);

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
  const values: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    const s = setting(key);
    if (s.fromEnv) {
      values[key] = s.fromEnv(env[s.env]);
      continue;
    }
    const raw = env[s.env]?.trim();
    // empty = unset
    values[key] = raw === undefined || raw === '' ? s.default : s.parse ? s.parse(raw) : raw;
  }
  return resolveConfig(values as Partial<ServerConfig>);
}

/** Defaults + overrides, validated (the same rules as the environment, named by variable). */
export function resolveConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  const config: ServerConfig = { ...DEFAULT_CONFIG, ...withoutUndefinedDefaults(overrides) };
  for (const key of SETTING_KEYS) {
    const value = config[key];
    if (value !== undefined) setting(key).check?.(value);
  }
  // rules between settings
  // never echo the password
  if (config.mqttPassword !== undefined && config.mqttUsername === undefined)
    throw new ConfigError('MQTT_PASSWORD is set but MQTT_USERNAME is not');
  if ((config.mqttTlsCertFile === undefined) !== (config.mqttTlsKeyFile === undefined))
    throw new ConfigError('MQTT_TLS_CERT_FILE and MQTT_TLS_KEY_FILE go together: set both (TLS) or neither');
  if (config.alertLowEnergyResolvePct < config.alertLowEnergyPct)
    throw new ConfigError('ALERT_LOW_ENERGY_RESOLVE_PCT must be at least ALERT_LOW_ENERGY_PCT (hysteresis)');
  // never echo the secret
  if (config.paymentProviderUrl !== undefined && (!config.paymentWebhookSecret || config.paymentWebhookSecret.length < 16)) {
    throw new ConfigError('PAYMENT_WEBHOOK_SECRET (at least 16 characters) is required with PAYMENT_PROVIDER_URL');
  }
  if (config.mailSmtpUrl !== undefined && config.mailFrom === undefined)
    throw new ConfigError('MAIL_FROM is required with MAIL_SMTP_URL (the sender of customer mails)');
  if (config.mailSmtpUrl?.startsWith('smtps:') && config.mailSmtpTls === 'off')
    throw new ConfigError(
      'MAIL_SMTP_TLS=off contradicts an smtps:// MAIL_SMTP_URL (TLS from the first byte): use smtp:// or leave it required',
    );
  if (config.reservationMaxHoldMin < config.reservationHoldMin)
    throw new ConfigError('RESERVATION_MAX_HOLD_MIN must be at least RESERVATION_HOLD_MIN');
  if (config.production) {
    const refused = demoDefaultsInUse(config);
    if (refused.length > 0)
      throw new ConfigError(
        `production mode (NODE_ENV=production) refuses to start with demo defaults:\n${refused.map((d) => `  ${d.env}: ${d.fix}`).join('\n')}`,
      );
  }
  return config;
}

/** A demo default in use: its variable, what it means, and what production needs instead. */
export interface DemoDefault {
  env: string;
  /** what the demo default does (development mode logs it) */
  what: string;
  /** what production mode asks for instead (one line) */
  fix: string;
}

/**
 * The demo defaults this configuration uses. Development mode (`npm start`) keeps them and logs them; production mode
 * (NODE_ENV=production) refuses to start while any is left, naming each in one line. Never echoes a value.
 */
export function demoDefaultsInUse(config: ServerConfig): DemoDefault[] {
  const found: DemoDefault[] = [];
  if (config.seedDemoStaff)
    found.push({
      env: 'SEED_DEMO_STAFF',
      what: 'the documented demo staff accounts (admin@fleetdesk.local / demo-admin-pass, …) are seeded',
      fix: 'demo staff accounts with published passwords would be seeded; set SEED_DEMO_STAFF=false',
    });
  if (config.seedVehicles > 0)
    found.push({
      env: 'SEED_VEHICLES',
      what: `a demo fleet of ${config.seedVehicles} cars is registered, with device credentials written to <DATA_DIR>/demo-credentials.json`,
      fix: 'the demo fleet and its demo device credentials (a plain-text file) would be issued; set SEED_VEHICLES=0 and provision real devices',
    });
  if (config.authSecret === undefined)
    found.push({
      env: 'AUTH_SECRET',
      what: 'the token signing secret is generated once and kept in the database',
      fix: 'missing; set a random secret of at least 32 characters, the same on every instance',
    });
  if (config.publicUrl === undefined)
    found.push({
      env: 'PUBLIC_URL',
      what: "public links are built from each request's Host header",
      fix: "missing; set the API's public base URL (links must not follow a request's Host header)",
    });
  if (config.mqttUrl === undefined && config.mqttTlsCertFile === undefined)
    found.push({
      env: 'MQTT_TLS_CERT_FILE',
      what: 'the embedded broker speaks plain MQTT: device and desktop passwords travel in clear',
      fix: 'missing: the embedded broker would take device and desktop passwords in clear; set MQTT_TLS_CERT_FILE and MQTT_TLS_KEY_FILE (or MQTT_URL to a broker with TLS)',
    });
  if (config.mqttAuth === 'off')
    found.push({
      env: 'MQTT_AUTH',
      what: 'the embedded broker is open to anyone (no credentials, no topic rules)',
      fix: 'is off: any client could publish as any car; set MQTT_AUTH=required',
    });
  if (config.mailSmtpUrl === undefined)
    found.push({
      env: 'MAIL_SMTP_URL',
      what: 'customer mails (sign-up confirmation codes) go to the sandbox mailbox <DATA_DIR>/sandbox-mailbox/, never to the customers',
      fix: 'missing: sign-up confirmation codes would only reach the sandbox mailbox, so nobody could become a customer; set MAIL_SMTP_URL and MAIL_FROM',
    });
  else if (config.mailSmtpTls === 'off' && new URL(config.mailSmtpUrl).password !== '')
    found.push({
      env: 'MAIL_SMTP_TLS',
      what: 'the SMTP password travels in clear (no STARTTLS)',
      fix: 'is off while MAIL_SMTP_URL carries a password: it would travel in clear; leave MAIL_SMTP_TLS=required',
    });
  return found;
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

function parseInteger(name: string, raw: string, min: number, max: number): number {
  const value = /^-?\d+$/.test(raw) ? Number(raw) : NaN;
  checkInteger(name, value, min, max, raw);
  return value;
}

function checkInteger(name: string, value: number, min: number, max: number, raw: unknown = value): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer ${min}–${max} (got ${JSON.stringify(String(raw))})`);
  }
}

function parseBoolean(name: string, raw: string): boolean {
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
