import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_CONFIG, loadConfig, pgliteDataDir, resolveConfig } from './config.js';

describe('loadConfig', () => {
  it('uses the documented defaults for an empty environment', () => {
    expect(loadConfig({})).toEqual({ ...DEFAULT_CONFIG, databaseUrl: undefined, mqttUrl: undefined });
    expect(DEFAULT_CONFIG).toMatchObject({ host: '127.0.0.1', port: 4310, dataDir: './var/server', mqttPort: 18830, seedVehicles: 1000, logLevel: 'info', heartbeatTimeoutS: 120 });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      HOST: '0.0.0.0',
      PORT: '0',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/fleet',
      DATA_DIR: '/tmp/x',
      MQTT_URL: 'mqtt://127.0.0.1:1883',
      MQTT_PORT: '1884',
      SEED_VEHICLES: '20',
      LOG_LEVEL: 'DEBUG',
      HEARTBEAT_TIMEOUT_S: '30',
    });
    expect(config).toEqual({
      host: '0.0.0.0',
      port: 0,
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/fleet',
      dataDir: '/tmp/x',
      mqttUrl: 'mqtt://127.0.0.1:1883',
      mqttPort: 1884,
      seedVehicles: 20,
      logLevel: 'debug',
      heartbeatTimeoutS: 30,
    });
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
    [{ LOG_LEVEL: 'loud' }, 'Invalid configuration: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud")'],
    [{ MQTT_URL: 'http://broker' }, 'Invalid configuration: MQTT_URL must use mqtt: or mqtts: or tcp: or ssl: or ws: or wss: (got "http:")'],
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
