/**
 * The sync component: the server side of the desktop's offline replica (RxDB's replication protocol over HTTP
 * + SSE) under /sync/v1 — pull by server sequence, push through the owning components' use cases, SSE streams
 * woken when a collection's highest seq moves (polled by every instance), tombstone retention. Contract: src/shared/sync-protocol.ts;
 * prose: docs/sync-protocol.md. Other components reach it only through this file.
 */
import type { FastifyInstance } from 'fastify';
import type { Db } from '../../platform/db/index.js';
import type { HttpApp } from '../../platform/http/index.js';
import { errorFields, type Logger } from '../../platform/log.js';
import { AppError } from '../../../../src/shared/errors.js';
import type { OperatorRole } from '../../../../src/shared/operator-role.js';
import type { SyncCollection } from '../../../../src/shared/sync-protocol.js';
import { recordAudit } from '../audit/index.js';
import { syncRoutes } from './api/sync.routes.js';
import { collectionHeads, purgeTombstones, retireClosed, type SyncTables } from './data/collections.js';
import { requestDocs } from './data/request-docs.js';
import { PushHandler, type PushPorts } from './domain/push.js';
import { RequestExecutor, type CommandsPort, type CreatorLookup, type SupportPorts } from './domain/requests.js';
import { supportPortsViaStaffApi, type InjectResponse } from './domain/support-requests-via-staff-api.js';
import { StreamHub } from './domain/stream-hub.js';
import { SyncService } from './domain/sync-service.js';

export { commandIdForRequest, type CreatorLookup, type SupportPorts } from './domain/requests.js';

export interface SyncOptions {
  db: Db;
  log: Logger;
  /**
   * The replicated tables of the other components, each described (table, row → document) by the component that
   * owns it and exported through its index.ts; `requests` is the sync component's own.
   */
  tables: Omit<SyncTables, 'requests'>;
  alerts: PushPorts['alerts'];
  fleet: PushPorts['fleet'];
  ops: PushPorts['ops'];
  commands: CommandsPort;
  /** the staff component's accounts: a request runs only while its creator is active and still has the role for it */
  creators: CreatorLookup;
  /**
   * Short-lived staff tokens (platform/auth AccessTokens): the support requests from the desktop (refund, end a
   * rental on behalf, block/unblock) run through the staff API's own routes as their creator
   * (domain/support-requests-via-staff-api.ts). Without it (or `support`), those requests are refused `unsupported`.
   */
  staffTokens?: { issue(principal: { kind: 'staff'; staffId: string; role: OperatorRole }): Promise<{ token: string }> };
  /** tests: other ports for the support requests (default: the staff API, see staffTokens) */
  support?: () => SupportPorts;
  /** pending requests whose execution failed on the server's side are retried this often (default 30 s) */
  requestRetryMs?: number;
  /** tombstones older than this are purged (SYNC_TOMBSTONE_DAYS) */
  tombstoneDays: number;
  /**
   * closed allocations and tasks untouched this many days leave the replica (SYNC_HISTORY_DAYS; migration 032):
   * checked at start and every `historyIntervalMs` (default 10 min)
   */
  historyDays: number;
  historyIntervalMs?: number;
  retentionIntervalMs?: number;
  stream?: { minIntervalMs?: number; heartbeatMs?: number; safetyPollMs?: number; headsPollMs?: number };
  now?: () => number;
}

export interface SyncComponent {
  registerRoutes(app: HttpApp, prefix: string): Promise<void>;
  /** Purges expired tombstones now (also hourly); returns how many. */
  purgeTombstones(now?: number): Promise<number>;
  /** Moves the closed rows past the history horizon out of the replica now (also periodically); returns how many. */
  retireHistory(now?: number): Promise<number>;
  /** Open SSE streams on this instance. */
  streamCount(): number;
  stop(): Promise<void>;
}

const DAY_MS = 86_400_000;
/** rows retired per transaction (each takes a tombstone and a seq) */
const RETIRE_BATCH = 5_000;

export async function startSyncComponent(options: SyncOptions): Promise<SyncComponent> {
  const log = options.log.child({ component: 'sync' });
  const now = options.now ?? Date.now;
  // The app the routes are registered on: support requests call its staff routes in-process.
  let injectTarget: FastifyInstance | undefined;
  const tokens = options.staffTokens;
  const staffApi: SupportPorts | undefined = tokens
    ? supportPortsViaStaffApi({
        inject: () => (injectTarget ? async (opts) => (await injectTarget!.inject(opts)) as unknown as InjectResponse : undefined),
        issueToken: async (actor) => {
          if (actor.role === 'system') throw new AppError('forbidden_role', 'support actions need a staff member', { status: 403 });
          return (await tokens.issue({ kind: 'staff', staffId: actor.id, role: actor.role })).token;
        },
      })
    : undefined;
  const requests = new RequestExecutor(
    options.db,
    options.commands,
    options.support ?? (() => staffApi ?? {}),
    recordAudit,
    log,
    options.creators,
    now,
  );
  const tables: SyncTables = { ...options.tables, requests: requestDocs };
  const pushHandler = new PushHandler(
    options.db,
    { alerts: options.alerts, fleet: options.fleet, ops: options.ops, requests },
    tables,
    options.creators,
  );
  const service = new SyncService(options.db, pushHandler, tables, options.historyDays);
  const hub = new StreamHub({
    heads: () => collectionHeads(options.db, tables),
    pull: (collection, checkpoint, limit, role) => service.pull(collection, checkpoint, limit, role),
    log,
    ...options.stream,
  });
  await hub.start();

  const purge = async (at = now()): Promise<number> => {
    const n = await options.db.transaction(async (tx) => {
      return purgeTombstones(tx, tables, at - options.tombstoneDays * DAY_MS);
    });
    if (n > 0) log.info('sync tombstones purged', { count: n, olderThanDays: options.tombstoneDays });
    return n;
  };
  // Batches of RETIRE_BATCH rows, each its own short transaction (the first run after an upgrade retires the
  // whole history past the horizon); one run at a time on this instance (instances skip each other's rows).
  let retiring: Promise<number> | undefined;
  const retireHistory = (at = now()): Promise<number> =>
    (retiring ??= (async () => {
      let total = 0;
      try {
        for (const [collection, sql] of Object.entries(tables) as Array<[SyncCollection, SyncTables[SyncCollection]]>) {
          for (;;) {
            const n = await options.db.transaction((tx) =>
              retireClosed(tx, sql, collection, at - options.historyDays * DAY_MS, RETIRE_BATCH),
            );
            total += n;
            if (n < RETIRE_BATCH) break;
          }
        }
      } finally {
        retiring = undefined;
      }
      if (total > 0) log.info('sync history past the horizon left the replica', { count: total, olderThanDays: options.historyDays });
      return total;
    })());
  const retire = () => void retireHistory().catch((err: unknown) => log.warn('retiring sync history failed; will retry', errorFields(err)));
  retire();
  const historyTimer = setInterval(retire, options.historyIntervalMs ?? 600_000);
  historyTimer.unref();
  const retentionTimer = setInterval(() => {
    purge().catch((err: unknown) => log.warn('purging sync tombstones failed; will retry', errorFields(err)));
  }, options.retentionIntervalMs ?? 3_600_000);
  retentionTimer.unref();
  // A crash may have left requests pending between storing and executing them; a failing provider, too.
  const retryPending = () =>
    requests.executePending().catch((err: unknown) => log.warn('executing pending sync requests failed', errorFields(err)));
  void retryPending();
  const retryTimer = setInterval(() => void retryPending(), options.requestRetryMs ?? 30_000);
  retryTimer.unref();

  let stopping: Promise<void> | undefined;
  return {
    registerRoutes: async (app, prefix) => {
      // Streams are hijacked responses: end them before the HTTP server waits for its connections to close.
      (app as unknown as FastifyInstance).addHook('preClose', async () => hub.stop());
      injectTarget = app as unknown as FastifyInstance;
      await app.register(syncRoutes(service, hub), { prefix });
    },
    purgeTombstones: purge,
    retireHistory: (at) => retireHistory(at),
    streamCount: () => hub.size,
    stop: () =>
      (stopping ??= (async () => {
        clearInterval(retentionTimer);
        clearInterval(historyTimer);
        await retiring?.catch(() => undefined);
        clearInterval(retryTimer);
        await hub.stop();
        await requests.settle();
      })()),
  };
}
