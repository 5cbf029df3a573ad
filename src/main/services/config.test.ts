import { describe, expect, it } from 'vitest';
import { loadDesktopConfig, toServicesConfig } from './config.js';

describe('loadDesktopConfig', () => {
  it('has working defaults', () => {
    expect(loadDesktopConfig({})).toEqual({
      serverUrl: 'http://127.0.0.1:4310',
      mqttUrl: 'mqtt://127.0.0.1:18830',
      consolePort: 4320,
    });
  });

  it('reads every variable', () => {
    const c = loadDesktopConfig({
      FLEETDESK_SERVER_URL: 'https://ops.example.org/',
      FLEETDESK_MQTT_URL: 'mqtts://broker.example.org:8883',
      FLEETDESK_MQTT_USERNAME: 'desk',
      FLEETDESK_MQTT_PASSWORD: 's3cret',
      FLEETDESK_TILE_URL: '',
      FLEETDESK_CONSOLE_PORT: '0',
      FLEETDESK_STAFF_EMAIL: 'anna.k@ops.example',
      FLEETDESK_STAFF_PASSWORD: 'correct horse',
    });
    expect(c).toEqual({
      serverUrl: 'https://ops.example.org',
      mqttUrl: 'mqtts://broker.example.org:8883',
      mqttUsername: 'desk',
      mqttPassword: 's3cret',
      tileUrl: '',
      consolePort: 0,
      staffCredentials: { email: 'anna.k@ops.example', password: 'correct horse' },
    });
    expect(toServicesConfig(c)).toEqual({
      serverUrl: 'https://ops.example.org',
      mqttUrl: 'mqtts://broker.example.org:8883',
      mqttUsername: 'desk',
      mqttPassword: 's3cret',
      tileUrl: '',
      staffCredentials: { email: 'anna.k@ops.example', password: 'correct horse' },
    });
  });

  it('FLEETDESK_TILE_DIR: a local tile directory for the browser console (blank = none)', () => {
    expect(loadDesktopConfig({ FLEETDESK_TILE_DIR: ' /srv/tiles ' }).tileDir).toBe('/srv/tiles');
    expect(toServicesConfig(loadDesktopConfig({ FLEETDESK_TILE_DIR: '/srv/tiles' })).tileDir).toBe('/srv/tiles');
    expect(loadDesktopConfig({ FLEETDESK_TILE_DIR: '  ' }).tileDir).toBeUndefined();
  });

  it.each([
    ['FLEETDESK_SERVER_URL', 'not a url'],
    ['FLEETDESK_SERVER_URL', 'ftp://x'],
    ['FLEETDESK_MQTT_URL', 'http://127.0.0.1:1883'],
    ['FLEETDESK_CONSOLE_PORT', 'abc'],
    ['FLEETDESK_CONSOLE_PORT', '70000'],
    ['FLEETDESK_CONSOLE_PORT', '-1'],
    ['FLEETDESK_TILE_URL', 'https://tiles.example.org/tile.png'],
    ['FLEETDESK_TILE_URL', 'javascript:alert(1)/{z}/{x}/{y}'],
    ['FLEETDESK_MQTT_PASSWORD', 'secret-without-user'],
    ['FLEETDESK_STAFF_PASSWORD', 'password-without-email'],
    ['FLEETDESK_STAFF_EMAIL', 'anna@ops.example'],
  ])('%s=%s → a one-line error naming the variable (and not echoing the value)', (name, value) => {
    let error: Error | null = null;
    try {
      loadDesktopConfig({ [name]: value });
    } catch (err) {
      error = err as Error;
    }
    expect(error).toBeInstanceOf(Error);
    expect(error!.message).toContain(name);
    expect(error!.message).not.toContain('\n');
    if (name === 'FLEETDESK_MQTT_PASSWORD' || name === 'FLEETDESK_STAFF_PASSWORD') expect(error!.message).not.toContain(value);
  });
});
