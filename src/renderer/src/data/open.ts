/**
 * Opens the app's replica for an operator: the memory-mapped storage (memory-mapped-storage.ts: RxDB's memory
 * storage, every write persisted to IndexedDB before it resolves), dev-mode + schema validation in dev builds
 * only, and the replication to `syncUrl` with the operator's access tokens. The last signed-in operator is
 * remembered (localStorage: server URL, staff id, name, role — no secret) so the replica opens from IndexedDB
 * before the host answers, and with the server down after a restart (offline mode: edits queue up and are sent
 * once the operator is signed in again).
 */
import { addRxPlugin, type RxStorage } from 'rxdb';
import type { AppInfo, AuthState, OperatorInfo } from '../../../shared/desktop-api.js';
import { OPERATOR_ROLES } from '../../../shared/operator-role.js';
import type { TokenSource } from './access-token';
import { ReplicaActions } from './actions';
import { openReplicaDatabase, type ReplicaDatabase } from './database';
import { carryOverDexieReplica } from './dexie-carry-over';
import { getRxStorageMemoryMapped, ReplicaInUseError } from './memory-mapped-storage';
import { Replica } from './replication';

export interface OpenReplica {
  db: ReplicaDatabase;
  replica: Replica;
  actions: ReplicaActions;
  identity: ReplicaIdentity;
  /** a live read of the staff API (`/ops/v1…`) as this operator; rejects offline — the replica is what works then */
  staffGet<T>(path: string, signal?: AbortSignal): Promise<T>;
  /** a staff API action (`POST /ops/v1…`, JSON body) as this operator; rejects with the server's problem detail */
  staffPost<T>(path: string, body: unknown): Promise<T>;
  /**
   * Any staff API call (`PATCH`, `PUT`, `DELETE`, a CSV body, a file download) as this operator; rejects with a
   * {@link StaffApiError} carrying the server's problem document (its `errors`, e.g. the bad rows of an import).
   */
  staffRequest<T>(method: StaffMethod, path: string, init?: StaffRequestInit): Promise<T>;
  close(): Promise<void>;
}

export type StaffMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface StaffRequestInit {
  /** sent as JSON */
  body?: unknown;
  /** sent as it is, with `contentType` (e.g. a CSV file) */
  text?: string;
  contentType?: string;
  /** how to read the answer: JSON (default), text (CSV export) or a Blob (a photo, a file to save) */
  as?: 'json' | 'text' | 'blob';
  signal?: AbortSignal;
}

/** The server's RFC 9457 problem document, as far as the desk reads it. */
export interface StaffProblem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  /** per-item errors (e.g. `{ line, field, message }` of a CSV import) */
  errors?: unknown[];
  [key: string]: unknown;
}

/** A staff API call the server refused (or could not answer): the message is its detail, `problem` the whole answer. */
export class StaffApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: StaffProblem | undefined,
  ) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`);
    this.name = 'StaffApiError';
  }
}

/** Whose replica, against which server. */
export interface ReplicaIdentity {
  syncUrl: string;
  operator: OperatorInfo;
}

const IDENTITY_KEY = 'fleetdesk.replica.identity';

function isOperator(o: unknown): o is OperatorInfo {
  const x = o as Partial<OperatorInfo> | undefined;
  return (
    !!x &&
    typeof x.id === 'string' &&
    x.id !== '' &&
    typeof x.name === 'string' &&
    typeof x.email === 'string' &&
    (OPERATOR_ROLES as readonly unknown[]).includes(x.role)
  );
}

/** The signed-in operator's replica identity (undefined while signed out or before the host answered). */
export function identityFrom(info: Pick<AppInfo, 'syncUrl'> | undefined, auth: AuthState | undefined): ReplicaIdentity | undefined {
  if (!info?.syncUrl || auth?.status !== 'signed_in' || !isOperator(auth.operator)) return undefined;
  return { syncUrl: info.syncUrl, operator: { ...auth.operator } };
}

export function rememberedIdentity(): ReplicaIdentity | undefined {
  try {
    const raw = localStorage.getItem(IDENTITY_KEY);
    const parsed = raw ? (JSON.parse(raw) as Partial<ReplicaIdentity>) : undefined;
    return parsed && typeof parsed.syncUrl === 'string' && isOperator(parsed.operator)
      ? { syncUrl: parsed.syncUrl, operator: parsed.operator }
      : undefined;
  } catch {
    return undefined;
  }
}

export function rememberIdentity(i: ReplicaIdentity): void {
  try {
    localStorage.setItem(IDENTITY_KEY, JSON.stringify(i));
  } catch {
    /* private mode: we just won't open before the host answers */
  }
}

/** After an explicit sign-out: the next start shows the sign-in screen (the local data stays for that operator). */
export function forgetIdentity(): void {
  try {
    localStorage.removeItem(IDENTITY_KEY);
  } catch {
    /* nothing remembered */
  }
}

/** One IndexedDB database per server + operator + role (RxDB names: lowercase, digits, `_`, `-`). */
export function replicaDbName(i: ReplicaIdentity): string {
  let h = 0x811c9dc5;
  for (const ch of `${i.syncUrl}|${i.operator.id}|${i.operator.role}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return `fleetdesk-replica-${h.toString(16).padStart(8, '0')}`;
}

let devReady: Promise<(s: RxStorage<unknown, unknown>) => RxStorage<unknown, unknown>> | undefined;
async function withDevChecks(base: RxStorage<unknown, unknown>): Promise<RxStorage<unknown, unknown>> {
  if (!import.meta.env.DEV) return base;
  devReady ??= (async () => {
    const [{ RxDBDevModePlugin, disableWarnings }, { wrappedValidateZSchemaStorage }] = await Promise.all([
      import('rxdb/plugins/dev-mode'),
      import('rxdb/plugins/validate-z-schema'),
    ]);
    disableWarnings();
    addRxPlugin(RxDBDevModePlugin);
    return (s) => wrappedValidateZSchemaStorage({ storage: s }) as RxStorage<unknown, unknown>;
  })();
  return (await devReady)(base);
}

/**
 * The storage the replica opens on: the memory-mapped one — after carrying over a replica this computer still
 * holds on RxDB's Dexie storage (the desk's storage before; dexie-carry-over.ts: its documents, checkpoints and
 * local changes not yet sent come along). Should the carry-over fail, the replica opens on Dexie as before (its
 * waiting changes stay usable) and the next start tries again. One window at a time carries over (Web Locks).
 */
export async function replicaStorage(dbName: string): Promise<RxStorage<unknown, unknown>> {
  const mapped = getRxStorageMemoryMapped() as RxStorage<unknown, unknown>;
  const idb = globalThis.indexedDB;
  if (!idb) return withDevChecks(mapped);
  // (RxDB's Dexie storage is loaded only for a replica still on it)
  const legacyStorage = async () => {
    const { getRxStorageDexie } = await import('rxdb/plugins/storage-dexie');
    return getRxStorageDexie() as RxStorage<unknown, unknown>;
  };
  const carry = async (): Promise<RxStorage<unknown, unknown>> => {
    try {
      const result = await carryOverDexieReplica(dbName, { legacy: legacyStorage, target: mapped, idb });
      if (result.kind === 'carried')
        console.info(`replica ${dbName}: carried over from Dexie (${result.instances} stores, ${result.documents} documents)`);
      if (result.kind === 'left') console.warn(`replica ${dbName}: ${result.reason}`);
      return mapped;
    } catch (err) {
      if (err instanceof ReplicaInUseError) throw err;
      console.error(`replica ${dbName}: could not carry it over from Dexie, opened on Dexie this time:`, err);
      return legacyStorage();
    }
  };
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  return withDevChecks(locks ? await locks.request(`fleetdesk-replica-carry-over:${dbName}`, carry) : await carry());
}

export async function openReplica(identity: ReplicaIdentity, tokens: TokenSource): Promise<OpenReplica> {
  const operator = { id: identity.operator.id, role: identity.operator.role };
  const name = replicaDbName(identity);
  const db = await openReplicaDatabase({ name, storage: await replicaStorage(name), role: operator.role });
  const replica = new Replica(db, {
    syncUrl: identity.syncUrl,
    operator,
    accessToken: () => tokens.get(operator.id),
    onUnauthorized: () => tokens.invalidate(),
  });
  await replica.start();
  const staffRequest = async <T>(method: StaffMethod, path: string, init: StaffRequestInit = {}): Promise<T> => {
    if (!path.startsWith('/ops/v1/')) throw new Error(`not a staff API path: ${path}`);
    const as = init.as ?? 'json';
    const headers: Record<string, string> = {
      accept: as === 'json' ? 'application/json' : '*/*',
      authorization: `Bearer ${await tokens.get(operator.id)}`,
    };
    let body: string | undefined;
    if (init.text !== undefined) {
      body = init.text;
      headers['content-type'] = init.contentType ?? 'text/plain';
    } else if (init.body !== undefined) {
      body = JSON.stringify(init.body);
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(`${identity.syncUrl.replace(/\/+$/, '')}${path}`, {
      method,
      headers,
      cache: 'no-store',
      ...(body !== undefined ? { body } : {}),
      ...(init.signal ? { signal: init.signal } : {}),
    });
    if (res.status === 401) tokens.invalidate();
    if (!res.ok) throw new StaffApiError(res.status, (await res.json().catch(() => undefined)) as StaffProblem | undefined);
    if (as === 'text') return (await res.text()) as T;
    if (as === 'blob') return (await res.blob()) as T;
    return (await res.json().catch(() => undefined)) as T;
  };
  return {
    db,
    replica,
    identity,
    staffGet: (path, signal) => staffRequest('GET', path, signal ? { signal } : {}),
    staffPost: (path, body) => staffRequest('POST', path, { body }),
    staffRequest,
    actions: new ReplicaActions(db, operator),
    async close() {
      await replica.dispose();
      await db.close();
    },
  };
}
