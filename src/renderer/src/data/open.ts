/**
 * Opens the app's replica: Dexie (IndexedDB) storage, dev-mode + schema validation in dev builds only, and the
 * replication to `syncUrl` as the operator. The last sync config is remembered (localStorage) so the replica can
 * open from IndexedDB before — or without — the host answering.
 */
import { addRxPlugin, type RxStorage } from 'rxdb';
import { getRxStorageDexie } from 'rxdb/plugins/storage-dexie';
import { OPERATOR_ROLES, type AppInfo } from '../../../shared/desktop-api.js';
import { ReplicaActions } from './actions';
import { openReplicaDatabase, type ReplicaDatabase } from './database';
import { Replica, type ReplicationConfig } from './replication';

export interface OpenReplica {
  db: ReplicaDatabase;
  replica: Replica;
  actions: ReplicaActions;
  close(): Promise<void>;
}

const CONFIG_KEY = 'fleetdesk.replica.config';

export function syncConfigFrom(info: Pick<AppInfo, 'syncUrl' | 'operator'> | undefined): ReplicationConfig | undefined {
  if (!info?.syncUrl || !info.operator?.id || !OPERATOR_ROLES.includes(info.operator.role)) return undefined;
  return { syncUrl: info.syncUrl, operator: { id: info.operator.id, role: info.operator.role } };
}

export function rememberedSyncConfig(): ReplicationConfig | undefined {
  try {
    const raw = localStorage.getItem(CONFIG_KEY);
    return raw ? syncConfigFrom(JSON.parse(raw) as AppInfo) : undefined;
  } catch {
    return undefined;
  }
}

export function rememberSyncConfig(c: ReplicationConfig): void {
  try {
    localStorage.setItem(CONFIG_KEY, JSON.stringify(c));
  } catch {
    /* private mode: we just won't open before the host answers */
  }
}

/** One IndexedDB database per server + operator + role (RxDB names: lowercase, digits, `_`, `-`). */
export function replicaDbName(c: ReplicationConfig): string {
  let h = 0x811c9dc5;
  for (const ch of `${c.syncUrl}|${c.operator.id}|${c.operator.role}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return `fleetdesk-replica-${h.toString(16).padStart(8, '0')}`;
}

let devReady: Promise<(s: RxStorage<unknown, unknown>) => RxStorage<unknown, unknown>> | undefined;
async function storage(): Promise<RxStorage<unknown, unknown>> {
  const dexie = getRxStorageDexie() as RxStorage<unknown, unknown>;
  if (!import.meta.env.DEV) return dexie;
  devReady ??= (async () => {
    const [{ RxDBDevModePlugin, disableWarnings }, { wrappedValidateZSchemaStorage }] = await Promise.all([import('rxdb/plugins/dev-mode'), import('rxdb/plugins/validate-z-schema')]);
    disableWarnings();
    addRxPlugin(RxDBDevModePlugin);
    return (s) => wrappedValidateZSchemaStorage({ storage: s }) as RxStorage<unknown, unknown>;
  })();
  return (await devReady)(dexie);
}

export async function openReplica(config: ReplicationConfig): Promise<OpenReplica> {
  const db = await openReplicaDatabase({ name: replicaDbName(config), storage: await storage(), role: config.operator.role });
  const replica = new Replica(db, config);
  await replica.start();
  return {
    db,
    replica,
    actions: new ReplicaActions(db, config.operator),
    async close() {
      await replica.dispose();
      await db.close();
    },
  };
}
