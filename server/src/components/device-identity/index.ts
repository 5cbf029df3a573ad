/**
 * The device-identity component: every MQTT client has its own account (device, desktop, service) and may do
 * only what its role allows. It issues and revokes credentials (staff API), keeps them in memory for the
 * embedded broker's CONNECT checks, and supplies the broker's authorizer; mosquitto.ts turns the same rules
 * into Mosquitto configuration. Other components reach it only through this file.
 */
import { join } from 'node:path';
import type { Db } from '../../platform/db/index.js';
import type { HttpApp } from '../../platform/http/index.js';
import type { Logger } from '../../platform/log.js';
import type { MqttAuthorizer } from '../../platform/mqtt/index.js';
import { deviceIdentityRoutes } from './api/device-identity.routes.js';
import { devicesAdminRoutes, type DeviceVehiclesPort } from './api/devices-admin.routes.js';
import { createMosquittoReload } from './mosquitto-reload.js';
import { CredentialsRepository } from './data/credentials.repository.js';
import { DEMO_CREDENTIALS_FILE, type DemoCredentials } from './data/demo-credentials.file.js';
import { CredentialCache } from './domain/credential-cache.js';
import { ensureDemoCredentials } from './domain/demo-credentials.js';
import { createMqttAuthorizer } from './domain/mqtt-authorizer.js';
import { CredentialProvisioning, type IssuedCredential } from './domain/provisioning.js';

export type { DemoCredentials } from './data/demo-credentials.file.js';
export type { IssuedCredential } from './domain/provisioning.js';
export type { DeviceVehiclesPort } from './api/devices-admin.routes.js';
export { ACCESS_RULES, canPublish, canSubscribe } from './domain/access-rules.js';
export type { MqttRole } from './model.js';

export interface DeviceIdentityComponent {
  /** what the embedded broker asks on CONNECT, PUBLISH and SUBSCRIBE */
  readonly authorizer: MqttAuthorizer;
  /** A service account that exists only in this process: the server's own client on the embedded broker. */
  createLocalServiceAccount(): Promise<{ username: string; password: string }>;
  /** Issues (or rotates) a device's credentials; the secret is in the result and nowhere else. */
  provisionDevice(vehicleId: string): Promise<IssuedCredential>;
  createAccount(role: 'desktop' | 'service', name?: string): Promise<IssuedCredential>;
  /** Revokes a device's credentials if it has active ones (a retired vehicle's); its open session ends. */
  revokeDevice(vehicleId: string, actor: { id: string; role: string }, reason: string | null): Promise<boolean>;
  /**
   * Credentials for the demo fleet and one demo desktop, kept in `<dataDir>/demo-credentials.json` (none on an
   * in-memory data dir). Demo only.
   */
  ensureDemoCredentials(vehicleIds: readonly string[], dataDir: string | undefined): Promise<DemoCredentials>;
  /**
   * The registry the bulk provisioning routes check vehicles against, and the broker URL the installer's file
   * names (set by the composition root once the fleet component and the broker exist, before the routes serve).
   */
  connectRegistry(vehicles: DeviceVehiclesPort, brokerUrl: string): void;
  registerRoutes(app: HttpApp, prefix: string): Promise<void>;
  /** scrypt verifications vs cache hits since start */
  authStats(): { scrypt: number; cached: number };
  stop(): void;
}

export interface DeviceIdentityOptions {
  db: Db;
  log: Logger;
  /** how often credentials changed by other instances are picked up (default 30 s) */
  refreshIntervalMs?: number;
  /** an external Mosquitto whose password/ACL files the server rewrites after every change (and reloads by SIGHUP to the pid in pidFile) */
  mosquitto?: { dir: string; pidFile?: string };
}

const SYSTEM = { id: 'system', role: 'system' };

export async function startDeviceIdentityComponent(options: DeviceIdentityOptions): Promise<DeviceIdentityComponent> {
  const log = options.log.child({ component: 'device-identity' });
  const repo = new CredentialsRepository(options.db);
  const cache = new CredentialCache(repo, log);
  await cache.start(options.refreshIntervalMs ?? 30_000);
  const reload = options.mosquitto && createMosquittoReload({ ...options.mosquitto, records: () => repo.listAll(), log });
  const provisioning = new CredentialProvisioning(options.db, repo, cache, log, reload && (() => reload.apply()));
  let registry: { vehicles: DeviceVehiclesPort; brokerUrl: string } | undefined;
  const notConnected = (): never => {
    throw new Error('device identity: connectRegistry was not called');
  };

  return {
    authorizer: createMqttAuthorizer(cache) as MqttAuthorizer,
    createLocalServiceAccount: () => provisioning.createLocalServiceAccount(),
    provisionDevice: (vehicleId) => provisioning.provisionDevice(vehicleId, SYSTEM),
    createAccount: (role, name) => provisioning.createAccount(role, name, SYSTEM),
    async revokeDevice(vehicleId, actor, reason) {
      const existing = await repo.find(vehicleId);
      if (!existing || existing.disabled || existing.role !== 'device') return false;
      await provisioning.revoke(vehicleId, actor, 'device', reason);
      return true;
    },
    ensureDemoCredentials: (vehicleIds, dataDir) =>
      ensureDemoCredentials(vehicleIds, dataDir === undefined ? undefined : join(dataDir, DEMO_CREDENTIALS_FILE), provisioning, cache, log),
    connectRegistry: (vehicles, brokerUrl) => {
      registry = { vehicles, brokerUrl };
    },
    registerRoutes: async (app, prefix) => {
      await app.register(deviceIdentityRoutes(provisioning), { prefix });
      await app.register(
        devicesAdminRoutes({
          provisioning,
          vehicles: { registeredVehicles: (ids) => (registry?.vehicles ?? notConnected()).registeredVehicles(ids) },
          brokerUrl: () => registry?.brokerUrl ?? notConnected(),
        }),
        { prefix },
      );
    },
    authStats: () => ({ ...cache.stats }),
    stop: () => cache.stop(),
  };
}
