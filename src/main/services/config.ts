/**
 * Desktop configuration from the environment, validated up front so a typo fails at launch with a one-line
 * message naming the variable, instead of as a connection error minutes later. Values are not echoed: URLs may
 * carry credentials.
 */
import { readFileSync } from 'node:fs';
import type { DesktopServicesConfig } from './desktop-services.js';

export interface DesktopEnvConfig {
  serverUrl: string;
  mqttUrl: string;
  mqttUsername?: string;
  mqttPassword?: string;
  /** FLEETDESK_MQTT_CA_FILE, read at launch: with mqtts://, the CA (PEM) the broker's certificate must chain to */
  mqttCa?: string;
  /** undefined = the default tiles; '' = no tiles */
  tileUrl?: string;
  /** FLEETDESK_TILE_DIR: a local `{z}/{x}/{y}.png` directory served under the desk's own `/tiles/` (browser console, app://) */
  tileDir?: string;
  /** browser console port; 0 = random */
  consolePort: number;
  /**
   * FLEETDESK_STAFF_EMAIL / FLEETDESK_STAFF_PASSWORD: the host signs in as this staff member by itself (demo,
   * tests, kiosk set-ups); unset = the operator signs in on the sign-in screen.
   */
  staffCredentials?: { email: string; password: string };
}

export const DEFAULT_SERVER_URL = 'http://127.0.0.1:4310';
export const DEFAULT_MQTT_URL = 'mqtt://127.0.0.1:18830';
export const DEFAULT_CONSOLE_PORT = 4320;

type Env = Record<string, string | undefined>;

export function loadDesktopConfig(env: Env = process.env): DesktopEnvConfig {
  const config: DesktopEnvConfig = {
    serverUrl: url(env, 'FLEETDESK_SERVER_URL', DEFAULT_SERVER_URL, ['http:', 'https:']),
    mqttUrl: url(env, 'FLEETDESK_MQTT_URL', DEFAULT_MQTT_URL, ['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:']),
    consolePort: port(env, 'FLEETDESK_CONSOLE_PORT', DEFAULT_CONSOLE_PORT),
  };
  const email = env['FLEETDESK_STAFF_EMAIL']?.trim();
  const staffPassword = env['FLEETDESK_STAFF_PASSWORD'];
  if (email || staffPassword) {
    if (!email || !staffPassword) throw new Error('FLEETDESK_STAFF_EMAIL and FLEETDESK_STAFF_PASSWORD must be set together');
    if (!/^[^\s@]{1,200}@[^\s@]{1,200}$/.test(email)) throw new Error('FLEETDESK_STAFF_EMAIL is not an e-mail address');
    config.staffCredentials = { email, password: staffPassword };
  }
  const username = env['FLEETDESK_MQTT_USERNAME'];
  const password = env['FLEETDESK_MQTT_PASSWORD'];
  if (username !== undefined && username !== '') config.mqttUsername = username;
  if (password !== undefined && password !== '') {
    if (config.mqttUsername === undefined) throw new Error('FLEETDESK_MQTT_PASSWORD is set but FLEETDESK_MQTT_USERNAME is not');
    config.mqttPassword = password;
  }
  const caFile = env['FLEETDESK_MQTT_CA_FILE']?.trim();
  if (caFile) {
    try {
      config.mqttCa = readFileSync(caFile, 'utf8');
    } catch {
      throw new Error('FLEETDESK_MQTT_CA_FILE cannot be read (a PEM file with the CA certificate of the broker)');
    }
    if (!config.mqttCa.includes('-----BEGIN CERTIFICATE-----')) throw new Error('FLEETDESK_MQTT_CA_FILE holds no PEM certificate');
  }
  const tileUrl = env['FLEETDESK_TILE_URL'];
  if (tileUrl !== undefined) config.tileUrl = tileTemplate(tileUrl);
  const tileDir = env['FLEETDESK_TILE_DIR']?.trim();
  if (tileDir) config.tileDir = tileDir;
  return config;
}

/** The services part of the config, for `createDesktopServices` / `startBrowserConsole`. */
export function toServicesConfig(c: DesktopEnvConfig): Omit<DesktopServicesConfig, 'host'> {
  const out: Omit<DesktopServicesConfig, 'host'> = { serverUrl: c.serverUrl, mqttUrl: c.mqttUrl };
  if (c.staffCredentials) out.staffCredentials = { ...c.staffCredentials };
  if (c.mqttUsername !== undefined) out.mqttUsername = c.mqttUsername;
  if (c.mqttPassword !== undefined) out.mqttPassword = c.mqttPassword;
  if (c.mqttCa !== undefined) out.mqttCa = c.mqttCa;
  if (c.tileUrl !== undefined) out.tileUrl = c.tileUrl;
  if (c.tileDir !== undefined) out.tileDir = c.tileDir;
  return out;
}

function url(env: Env, name: string, fallback: string, protocols: string[]): string {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  let parsed: URL;
  try {
    parsed = new URL(raw.trim());
  } catch {
    throw new Error(`${name} is not a valid URL (expected e.g. ${fallback})`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new Error(`${name} must use ${protocols.map((p) => p.replace(':', '://')).join(', ')} (got ${parsed.protocol}//)`);
  }
  if (!parsed.hostname) throw new Error(`${name} has no host`);
  // Keep it as given (minus a trailing slash) so paths like http://host/base keep working with new URL(path, base).
  return raw.trim().replace(/\/+$/, '');
}

function port(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d{1,5}$/.test(raw.trim())) throw new Error(`${name} must be an integer port 0–65535 (0 = random)`);
  const n = Number(raw.trim());
  if (n > 65_535) throw new Error(`${name} must be an integer port 0–65535 (0 = random)`);
  return n;
}

function tileTemplate(raw: string): string {
  const t = raw.trim();
  if (t === '') return '';
  let parsed: URL;
  try {
    parsed = new URL(t.replace(/\{[a-z]+\}/g, 'x'));
  } catch {
    throw new Error(
      'FLEETDESK_TILE_URL is not a valid URL template (expected e.g. https://tile.example.org/{z}/{x}/{y}.png, or empty for no tiles)',
    );
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error('FLEETDESK_TILE_URL must be an http(s) URL template');
  if (!t.includes('{z}') || !t.includes('{x}') || !t.includes('{y}')) {
    throw new Error('FLEETDESK_TILE_URL must contain {z}, {x} and {y}');
  }
  return t;
}
