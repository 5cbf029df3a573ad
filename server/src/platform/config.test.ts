import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_CONFIG, loadConfig, pgliteDataDir, resolveConfig } from './config.js';

describe('loadConfig', () => {
  it('uses the documented defaults for an empty environment', () => {
    expect(loadConfig({})).toEqual({ ...DEFAULT_CONFIG, databaseUrl: undefined, mqttUrl: undefined, mqttSharedGroup: 'fleetdesk-ingest' });
    expect(DEFAULT_CONFIG).toMatchObject({
      host: '127.0.0.1',
      port: 4310,
      dataDir: './var/server',
      mqttPort: 18830,
      seedVehicles: 1000,
      logLevel: 'info',
      heartbeatTimeoutS: 120,
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      HOST: '0.0.0.0',
      PORT: '0',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/fleet',
      DATA_DIR: '/tmp/x',
      MQTT_URL: 'mqtt://127.0.0.1:1883',
      MQTT_PORT: '1884',
      MQTT_MAX_PACKET_BYTES: '131072',
      SEED_VEHICLES: '20',
      SHUTDOWN_STALL_MS: '30000',
      LOG_LEVEL: 'DEBUG',
      HEARTBEAT_TIMEOUT_S: '30',
      TIMELINE_MATERIALIZE_LAG_S: '10',
      BROKER_RECONNECT_GRACE_S: '45',
      DB_STATEMENT_TIMEOUT_MS: '5000',
      TELEMETRY_BUFFER_ROWS: '1000',
      BROKER_OUTAGE_MAX_STALENESS_S: '600',
      COMMAND_RESEND_MS: '2000',
      COMMAND_RESULT_GRACE_MS: '0',
      ALERT_LOW_ENERGY_PCT: '10',
      ALERT_LOW_ENERGY_RESOLVE_PCT: '25',
      ALERT_DOOR_OPEN_PARKED_S: '300',
      ALERT_MOVEMENT_SPEED_KPH: '8',
      ALERT_MOVEMENT_DWELL_S: '90',
      ALERT_ZONE_EXIT_M: '75',
      ALERT_ZONE_RETURN_M: '40',
      CLOCK_SKEW_TOLERANCE_S: '60',
      TELEMETRY_RETENTION_DAYS: '7',
      MQTT_SHARED_GROUP: 'ingest-b',
      MQTT_AUTH: 'OFF',
      MQTT_USERNAME: 'service.server-1',
      MQTT_PASSWORD: 's3cret',
      SYNC_TOMBSTONE_DAYS: '90',
      SYNC_HISTORY_DAYS: '14',
      DESKTOP_ORIGINS: 'null, http://localhost:5173',
      RESERVATION_HOLD_MIN: '20',
      RESERVATION_MAX_HOLD_MIN: '45',
      BOOKING_BUFFER_MIN: '10',
      AUTH_SECRET: 'a-long-enough-signing-secret-for-tests-0123456789',
      ACCESS_TOKEN_TTL_S: '600',
      REFRESH_TOKEN_TTL_DAYS: '7',
      SEED_DEMO_STAFF: 'false',
      DB_POOL_MAX: '20',
      DB_POOL_WAIT_MS: '15000',
      LOGIN_MAX_FAILURES_PER_EMAIL: '3',
      LOGIN_MAX_FAILURES_PER_IP: '20',
      LOGIN_WINDOW_S: '600',
      LOGIN_FIRST_DELAY_S: '3',
      LOGIN_MAX_DELAY_S: '300',
      LOGIN_MAX_CONCURRENT_PER_CLIENT: '4',
      TRUST_PROXY: '10.0.0.0/8, 192.168.1.1',
      RATE_LIMIT_SIGNUP_PER_IP: '10/30m',
      RATE_LIMIT_SIGNUP_PER_EMAIL: '2/1d',
      RATE_LIMIT_LOGIN_PER_IP: '200/1h',
      RATE_LIMIT_LOGIN_PER_EMAIL: '10/5m',
      RATE_LIMIT_CLAIMS_PER_IP: '1000/1h',
      RATE_LIMIT_CLAIMS_PER_CUSTOMER: '12/1h',
      RATE_LIMIT_LICENCE_PER_IP: '20/1d',
      RATE_LIMIT_LICENCE_PER_CUSTOMER: '3/1d',
      RATE_LIMIT_LOOPBACK: 'limited',
      MQTT_TLS_CERT_FILE: '/etc/fleetdesk/broker.crt',
      MQTT_TLS_KEY_FILE: '/etc/fleetdesk/broker.key',
      MQTT_CA_FILE: '/etc/fleetdesk/ca.crt',
      LICENCE_CHECK_TIMEOUT_MS: '4000',
      LICENCE_RETRY_BASE_MS: '500',
      LICENCE_SANDBOX_LATENCY_MS: '100',
      LICENCE_SANDBOX_FAILURE_PCT: '10',
      MAIL_SMTP_URL: 'smtp://mailer:p%40ss@smtp.example.org:587',
      MAIL_FROM: 'Fleetdesk <no-reply@example.org>',
      MAIL_SMTP_TLS: 'OFF',
      MAIL_SMTP_CA_FILE: '/etc/fleetdesk/smtp-ca.crt',
      MAIL_SMTP_TIMEOUT_MS: '7000',
      MAIL_RETRY_BASE_MS: '250',
      MAIL_MAX_ATTEMPTS: '4',
      PAYMENT_PROVIDER_URL: 'http://127.0.0.1:9999',
      PAYMENT_PROVIDER_API_KEY: 'sk_test_key',
      PAYMENT_WEBHOOK_SECRET: 'whsec_test_secret_0123456789',
      PAYMENT_CALL_TIMEOUT_MS: '2500',
      PAYMENT_RETRY_BASE_MS: '300',
      PAYMENT_MAX_ATTEMPTS: '9',
      PAYMENT_RECONCILE_INTERVAL_S: '120',
      PAYMENT_SANDBOX_LATENCY_MS: '20',
      PAYMENT_SANDBOX_FLAKY_PCT: '25',
      PAYMENT_SANDBOX_SEED: '42',
      RENTAL_UNLOCK_TIMEOUT_MS: '12000',
      RENTAL_LOCK_TIMEOUT_MS: '8000',
      RENTAL_HOLD_DEADLINE_MS: '4000',
      RENTAL_END_TELEMETRY_MAX_AGE_S: '90',
      PUBLIC_URL: 'https://api.example.org',
      GBFS_CONTACT_EMAIL: 'ops@example.org',
      NODE_ENV: 'test',
    });
    expect(config).toEqual({
      production: false,
      host: '0.0.0.0',
      port: 0,
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/fleet',
      dbPoolMax: 20,
      dbPoolWaitMs: 15_000,
      dbStatementTimeoutMs: 5_000,
      dataDir: '/tmp/x',
      mqttUrl: 'mqtt://127.0.0.1:1883',
      mqttPort: 1884,
      mqttMaxPacketBytes: 131072,
      seedVehicles: 20,
      shutdownStallMs: 30_000,
      logLevel: 'debug',
      heartbeatTimeoutS: 30,
      timelineMaterializeLagS: 10,
      brokerReconnectGraceS: 45,
      telemetryBufferRows: 1_000,
      brokerOutageMaxStalenessS: 600,
      commandResendMs: 2000,
      commandResultGraceMs: 0,
      alertLowEnergyPct: 10,
      alertLowEnergyResolvePct: 25,
      alertDoorOpenParkedS: 300,
      alertMovementSpeedKph: 8,
      alertMovementDwellS: 90,
      alertZoneExitM: 75,
      alertZoneReturnM: 40,
      clockSkewToleranceS: 60,
      telemetryRetentionDays: 7,
      mqttSharedGroup: 'ingest-b',
      mqttAuth: 'off',
      mqttUsername: 'service.server-1',
      mqttPassword: 's3cret',
      syncTombstoneDays: 90,
      syncHistoryDays: 14,
      desktopOrigins: ['null', 'http://localhost:5173'],
      reservationHoldMin: 20,
      reservationMaxHoldMin: 45,
      bookingBufferMin: 10,
      authSecret: 'a-long-enough-signing-secret-for-tests-0123456789',
      accessTokenTtlS: 600,
      refreshTokenTtlDays: 7,
      seedDemoStaff: false,
      loginMaxFailuresPerEmail: 3,
      loginMaxFailuresPerIp: 20,
      loginWindowS: 600,
      loginFirstDelayS: 3,
      loginMaxDelayS: 300,
      loginMaxConcurrentPerClient: 4,
      trustProxy: '10.0.0.0/8, 192.168.1.1',
      rateLimitSignupPerIp: { max: 10, windowMs: 30 * 60_000 },
      rateLimitSignupPerEmail: { max: 2, windowMs: 86_400_000 },
      rateLimitLoginPerIp: { max: 200, windowMs: 3_600_000 },
      rateLimitLoginPerEmail: { max: 10, windowMs: 5 * 60_000 },
      rateLimitClaimsPerIp: { max: 1000, windowMs: 3_600_000 },
      rateLimitClaimsPerCustomer: { max: 12, windowMs: 3_600_000 },
      rateLimitLicencePerIp: { max: 20, windowMs: 86_400_000 },
      rateLimitLicencePerCustomer: { max: 3, windowMs: 86_400_000 },
      rateLimitLoopback: 'limited',
      mqttTlsCertFile: '/etc/fleetdesk/broker.crt',
      mqttTlsKeyFile: '/etc/fleetdesk/broker.key',
      mqttCaFile: '/etc/fleetdesk/ca.crt',
      licenceCheckTimeoutMs: 4000,
      licenceRetryBaseMs: 500,
      licenceSandboxLatencyMs: 100,
      licenceSandboxFailurePct: 10,
      mailSmtpUrl: 'smtp://mailer:p%40ss@smtp.example.org:587',
      mailFrom: 'Fleetdesk <no-reply@example.org>',
      mailSmtpTls: 'off',
      mailSmtpCaFile: '/etc/fleetdesk/smtp-ca.crt',
      mailSmtpTimeoutMs: 7000,
      mailRetryBaseMs: 250,
      mailMaxAttempts: 4,
      paymentProviderUrl: 'http://127.0.0.1:9999',
      paymentProviderApiKey: 'sk_test_key',
      paymentWebhookSecret: 'whsec_test_secret_0123456789',
      paymentCallTimeoutMs: 2500,
      paymentRetryBaseMs: 300,
      paymentMaxAttempts: 9,
      paymentReconcileIntervalS: 120,
      paymentSandboxLatencyMs: 20,
      paymentSandboxFlakyPct: 25,
      paymentSandboxSeed: '42',
      rentalUnlockTimeoutMs: 12000,
      rentalLockTimeoutMs: 8000,
      rentalHoldDeadlineMs: 4000,
      rentalEndTelemetryMaxAgeS: 90,
      publicUrl: 'https://api.example.org',
      gbfsContactEmail: 'ops@example.org',
    });
  });

  it('requires MQTT auth by default and rejects unknown modes and a password without a user (never echoing it)', () => {
    expect(loadConfig({}).mqttAuth).toBe('required');
    expect(() => loadConfig({ MQTT_AUTH: 'maybe' })).toThrow('MQTT_AUTH must be one of required, off (got "maybe")');
    expect(() => loadConfig({ MQTT_PASSWORD: 'hunter2' })).toThrow(/MQTT_PASSWORD is set but MQTT_USERNAME is not/);
    expect(() => loadConfig({ MQTT_PASSWORD: 'hunter2' })).not.toThrow(/hunter2/);
    expect(() => loadConfig({ MQTT_TLS_CERT_FILE: '/etc/fleetdesk/broker.crt' })).toThrow(
      /MQTT_TLS_CERT_FILE and MQTT_TLS_KEY_FILE go together/,
    );
    expect(() => loadConfig({ RATE_LIMIT_LOGIN_PER_IP: '100 per minute' })).toThrow(/RATE_LIMIT_LOGIN_PER_IP must be <requests>\/<window>/);
  });

  it('turns shared subscriptions off with an empty MQTT_SHARED_GROUP', () => {
    expect(loadConfig({ MQTT_SHARED_GROUP: '' }).mqttSharedGroup).toBe('');
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: ' ' })).toMatchObject({ port: 4310, databaseUrl: undefined });
  });

  it.each([
    [{ PORT: 'abc' }, 'Invalid configuration: PORT must be an integer 0–65535 (got "abc")'],
    [{ PORT: '65536' }, 'Invalid configuration: PORT must be an integer 0–65535 (got "65536")'],
    [{ PORT: '80.5' }, 'Invalid configuration: PORT must be an integer 0–65535 (got "80.5")'],
    [{ MQTT_PORT: '-1' }, 'Invalid configuration: MQTT_PORT must be an integer 0–65535 (got "-1")'],
    [{ SEED_VEHICLES: 'lots' }, 'Invalid configuration: SEED_VEHICLES must be an integer 0–99999 (got "lots")'],
    [{ HEARTBEAT_TIMEOUT_S: '0' }, 'Invalid configuration: HEARTBEAT_TIMEOUT_S must be an integer 1–86400 (got "0")'],
    [{ COMMAND_RESEND_MS: '50' }, 'Invalid configuration: COMMAND_RESEND_MS must be an integer 100–600000 (got "50")'],
    [{ ALERT_LOW_ENERGY_PCT: '101' }, 'Invalid configuration: ALERT_LOW_ENERGY_PCT must be an integer 0–100 (got "101")'],
    [
      { ALERT_LOW_ENERGY_PCT: '30' },
      'Invalid configuration: ALERT_LOW_ENERGY_RESOLVE_PCT must be at least ALERT_LOW_ENERGY_PCT (hysteresis)',
    ],
    [{ TELEMETRY_RETENTION_DAYS: '0' }, 'Invalid configuration: TELEMETRY_RETENTION_DAYS must be an integer 1–3650 (got "0")'],
    [{ SYNC_TOMBSTONE_DAYS: '0' }, 'Invalid configuration: SYNC_TOMBSTONE_DAYS must be an integer 1–3650 (got "0")'],
    [{ SYNC_HISTORY_DAYS: 'a month' }, 'Invalid configuration: SYNC_HISTORY_DAYS must be an integer 1–3650 (got "a month")'],
    [
      { DESKTOP_ORIGINS: '*' },
      'Invalid configuration: DESKTOP_ORIGINS must be a comma list of origins (scheme://host[:port]) or null, never * (got "*")',
    ],
    [{ MQTT_SHARED_GROUP: 'a/b' }, 'Invalid configuration: MQTT_SHARED_GROUP must be 0–64 characters of A–Z a–z 0–9 _ - (got "a/b")'],
    [
      { TRUST_PROXY: 'everyone' },
      'Invalid configuration: TRUST_PROXY must be empty, true, a hop count or a comma list of addresses/CIDRs (got "everyone")',
    ],
    [{ LOG_LEVEL: 'loud' }, 'Invalid configuration: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud")'],
    [
      { MQTT_URL: 'http://broker' },
      'Invalid configuration: MQTT_URL must use mqtt: or mqtts: or tcp: or ssl: or ws: or wss: (got "http:")',
    ],
    [{ MAIL_SMTP_URL: 'http://mail.example.org' }, 'Invalid configuration: MAIL_SMTP_URL must use smtp: or smtps: (got "http:")'],
    [
      { MAIL_SMTP_URL: 'smtp://mail.example.org/inbox', MAIL_FROM: 'a@example.org' },
      'Invalid configuration: MAIL_SMTP_URL must be scheme://[user:pass@]host[:port] without a path, query or fragment',
    ],
    [
      { MAIL_SMTP_URL: 'smtp://mail.example.org' },
      'Invalid configuration: MAIL_FROM is required with MAIL_SMTP_URL (the sender of customer mails)',
    ],
    [{ MAIL_FROM: 'nobody' }, 'Invalid configuration: MAIL_FROM must be an address or "Name <address>" (got "nobody")'],
    [
      { MAIL_SMTP_URL: 'smtps://mail.example.org', MAIL_FROM: 'a@example.org', MAIL_SMTP_TLS: 'off' },
      'Invalid configuration: MAIL_SMTP_TLS=off contradicts an smtps:// MAIL_SMTP_URL (TLS from the first byte): use smtp:// or leave it required',
    ],
    [{ MAIL_SMTP_TLS: 'maybe' }, 'Invalid configuration: MAIL_SMTP_TLS must be one of required, off (got "maybe")'],
    [{ MAIL_SMTP_TIMEOUT_MS: '100' }, 'Invalid configuration: MAIL_SMTP_TIMEOUT_MS must be an integer 1000–60000 (got "100")'],
  ])('rejects %j with one clear line', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
    try {
      loadConfig(env);
    } catch (err) {
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('never echoes a connection string (it may hold a password)', () => {
    expect(() => loadConfig({ DATABASE_URL: 'not a url with s3cret' })).toThrow(/DATABASE_URL must be a URL/);
    expect(() => loadConfig({ DATABASE_URL: 'not a url with s3cret' })).not.toThrow(/s3cret/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://u:s3cret@h/db' })).not.toThrow(/s3cret/);
    expect(() => loadConfig({ MAIL_SMTP_URL: 'smtp://u:s3cret@ bad host', MAIL_FROM: 'a@example.org' })).toThrow(
      /MAIL_SMTP_URL must be a URL/,
    );
    expect(() => loadConfig({ MAIL_SMTP_URL: 'smtp://u:s3cret@ bad host', MAIL_FROM: 'a@example.org' })).not.toThrow(/s3cret/);
    expect(() => loadConfig({ MAIL_SMTP_URL: 'imap://u:s3cret@mail.example.org', MAIL_FROM: 'a@example.org' })).not.toThrow(/s3cret/);
  });
});

describe('resolveConfig', () => {
  it('applies overrides over the defaults, and an undefined override does not erase a default', () => {
    expect(resolveConfig({ port: 0, host: undefined, databaseUrl: undefined })).toMatchObject({ port: 0, host: '127.0.0.1' });
  });

  it('validates overrides with the variable names', () => {
    expect(() => resolveConfig({ port: 70000 })).toThrow('PORT must be an integer 0–65535 (got "70000")');
    expect(() => resolveConfig({ seedVehicles: 1.5 })).toThrow('SEED_VEHICLES');
  });
});

describe('pgliteDataDir', () => {
  it('keeps memory:// in memory and puts files under <dataDir>/pglite', () => {
    expect(pgliteDataDir({ dataDir: 'memory://' })).toBe('memory://');
    expect(pgliteDataDir({ dataDir: '/srv/fleet' })).toBe('/srv/fleet/pglite');
  });
});
