/** Production mode (NODE_ENV=production) refuses every demo default, each named in one line (issue 13 §1). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeSelfSignedCert } from '../../scripts/self-signed-cert.mjs';
import { startServer } from './app.js';
import { ConfigError, demoDefaultsInUse, loadConfig } from './platform/config.js';

const PRODUCTION_ENV = {
  NODE_ENV: 'production',
  SEED_DEMO_STAFF: 'false',
  SEED_VEHICLES: '0',
  AUTH_SECRET: 'a-production-signing-secret-of-32-characters-or-more',
  PUBLIC_URL: 'https://api.fleetdesk.example',
  MQTT_TLS_CERT_FILE: '/etc/fleetdesk/broker.crt',
  MQTT_TLS_KEY_FILE: '/etc/fleetdesk/broker.key',
  MAIL_SMTP_URL: 'smtps://fleetdesk:mail-password-7c1e@smtp.fleetdesk.example:465',
  MAIL_FROM: 'Fleetdesk <no-reply@fleetdesk.example>',
};

function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('loadConfig accepted the configuration');
}

describe('production mode', () => {
  it('refuses the demo defaults, each named in its own line', () => {
    const message = refusal({ NODE_ENV: 'production' });
    const lines = message.split('\n');
    expect(lines[0]).toMatch(/production mode \(NODE_ENV=production\) refuses to start/);
    expect(lines.slice(1).map((line) => line.trim().split(':')[0])).toEqual([
      'SEED_DEMO_STAFF',
      'SEED_VEHICLES',
      'AUTH_SECRET',
      'PUBLIC_URL',
      'MQTT_TLS_CERT_FILE',
      'MAIL_SMTP_URL',
    ]);
    // an external broker carries its own TLS: only the embedded one needs the certificate here
    expect(refusal({ NODE_ENV: 'production', MQTT_URL: 'mqtts://broker.fleetdesk.example:8883' })).not.toContain('MQTT_TLS_CERT_FILE');
    // MQTT_AUTH defaults to required; off is refused on its own line
    expect(
      refusal({ ...PRODUCTION_ENV, MQTT_AUTH: 'off' })
        .split('\n')
        .slice(1),
    ).toEqual([expect.stringMatching(/^ {2}MQTT_AUTH: is off/)]);
  });

  it('names only what is left, and never echoes a secret', () => {
    const { AUTH_SECRET: _secret, ...withoutSecret } = PRODUCTION_ENV;
    const message = refusal({ ...withoutSecret, SEED_DEMO_STAFF: 'true' });
    expect(
      message
        .split('\n')
        .slice(1)
        .map((line) => line.trim().split(':')[0]),
    ).toEqual(['SEED_DEMO_STAFF', 'AUTH_SECRET']);
    expect(refusal({ ...PRODUCTION_ENV, PUBLIC_URL: '' })).not.toContain(PRODUCTION_ENV.AUTH_SECRET);
  });

  it('refuses to start without a real mail provider, or with its password in clear', () => {
    const { MAIL_SMTP_URL: _url, ...withoutMail } = PRODUCTION_ENV;
    expect(refusal(withoutMail).split('\n').slice(1)).toEqual([
      expect.stringMatching(/^ {2}MAIL_SMTP_URL: missing: sign-up confirmation codes would only reach the sandbox mailbox/),
    ]);
    const plain = { ...PRODUCTION_ENV, MAIL_SMTP_URL: 'smtp://fleetdesk:mail-password-7c1e@127.0.0.1:25', MAIL_SMTP_TLS: 'off' };
    const message = refusal(plain);
    expect(message.split('\n').slice(1)).toEqual([
      expect.stringMatching(/^ {2}MAIL_SMTP_TLS: is off while MAIL_SMTP_URL carries a password/),
    ]);
    expect(message).not.toContain('mail-password-7c1e');
    // a relay on the same host without a password may go without TLS
    expect(loadConfig({ ...plain, MAIL_SMTP_URL: 'smtp://127.0.0.1:25' }).mailSmtpTls).toBe('off');
  });

  it('starts with real settings; npm start (no NODE_ENV) keeps the demo defaults and lists them', () => {
    const production = loadConfig(PRODUCTION_ENV);
    expect(production.production).toBe(true);
    expect(demoDefaultsInUse(production)).toEqual([]);
    const development = loadConfig({ NODE_ENV: 'development' });
    expect(development.production).toBe(false);
    expect(demoDefaultsInUse(development).map((d) => d.env)).toEqual([
      'SEED_DEMO_STAFF',
      'SEED_VEHICLES',
      'AUTH_SECRET',
      'PUBLIC_URL',
      'MQTT_TLS_CERT_FILE',
      'MAIL_SMTP_URL',
    ]);
  });

  it('refuses a database where a development run left the demo staff with their published passwords', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'fleetdesk-prod-'));
    try {
      const quiet = {
        port: 0,
        mqttPort: 0,
        logLevel: 'silent' as const,
        dataDir,
        databaseUrl: undefined,
        mqttUrl: undefined,
        seedVehicles: 0,
      };
      const development = await startServer({ ...quiet, seedDemoStaff: true });
      await development.stop();
      const tls = makeSelfSignedCert(join(dataDir, 'tls'), 'broker', 1)!;
      const production = {
        ...quiet,
        production: true,
        mqttTlsCertFile: tls.cert,
        mqttTlsKeyFile: tls.key,
        seedDemoStaff: false,
        authSecret: PRODUCTION_ENV.AUTH_SECRET,
        publicUrl: PRODUCTION_ENV.PUBLIC_URL,
        mailSmtpUrl: PRODUCTION_ENV.MAIL_SMTP_URL,
        mailFrom: PRODUCTION_ENV.MAIL_FROM,
      };
      await expect(startServer(production)).rejects.toThrow(
        /demo staff accounts are active with their published passwords \(dispatcher@fleetdesk\.local, support@fleetdesk\.local, admin@fleetdesk\.local\)/,
      );
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
