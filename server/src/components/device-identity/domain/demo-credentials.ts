/**
 * Demo credentials: on start, every seeded demo vehicle and one desktop account get MQTT credentials, kept in
 * `$DATA_DIR/demo-credentials.json` (see data/demo-credentials.file.ts). Entries already in the file that still
 * verify are kept (and warm the verified-secret cache); missing or stale ones are issued again.
 */
import type { Logger } from '../../../platform/log.js';
import { readDemoCredentials, writeDemoCredentials, type DemoCredentials } from '../data/demo-credentials.file.js';
import type { CredentialCache } from './credential-cache.js';
import type { CredentialProvisioning } from './provisioning.js';

export const DEMO_DESKTOP_NAME = 'demo';
const ACTOR = { id: 'system', role: 'system' };

export async function ensureDemoCredentials(
  vehicleIds: readonly string[],
  file: string | undefined,
  provisioning: CredentialProvisioning,
  cache: CredentialCache,
  log: Logger,
): Promise<DemoCredentials> {
  const previous = file ? await readDemoCredentials(file) : undefined;
  const devices: Record<string, string> = {};
  const missing: string[] = [];
  await Promise.all(
    vehicleIds.map(async (id) => {
      const secret = previous?.devices[id];
      if (secret !== undefined && (await cache.authenticate(id, Buffer.from(secret))).ok) devices[id] = secret;
      else missing.push(id);
    }),
  );
  let desktop = previous?.desktop;
  if (!desktop || !(await cache.authenticate(desktop.username, Buffer.from(desktop.password))).ok) {
    const issued = await provisioning.createAccount('desktop', DEMO_DESKTOP_NAME, ACTOR);
    desktop = { username: issued.username, password: issued.password };
  }
  missing.sort();
  for (const issued of await provisioning.provisionDevices(missing, ACTOR)) devices[issued.username] = issued.password;

  const credentials: DemoCredentials = { devices: Object.fromEntries(vehicleIds.map((id) => [id, devices[id]!])), desktop };
  const changed = missing.length > 0 || desktop !== previous?.desktop || Object.keys(previous?.devices ?? {}).length !== vehicleIds.length;
  if (file && changed) {
    await writeDemoCredentials(file, credentials);
    log.info('demo MQTT credentials written (demo only)', { file, devices: vehicleIds.length, issued: missing.length });
  }
  return credentials;
}
