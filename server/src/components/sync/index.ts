/**
 * The sync component: the server side of the desktop's offline replica (RxDB's replication protocol over HTTP
 * + SSE) under /sync/v1 — pull by server sequence, push through the owning components' use cases, SSE streams
 * woken by PostgreSQL LISTEN/NOTIFY (every instance), tombstone retention. Contract: src/shared/sync-protocol.ts;
 * prose: docs/sync-protocol.md. Other components reach it only through this file.
 */
import type { FastifyInstance } from 'fastify';
import { lockReplicationSequence, type Db } from '../../platform/db/index.js';
import type { HttpApp } from '../../platform/http/index.js';
import { errorFields, type Logger } from '../../platform/log.js';
import { recordAudit } from '../audit/index.js';
import { registerDesktopCors } from './api/cors.js';
import { syncRoutes } from './api/sync.routes.js';
import { purgeTombstones } from './data/collections.js';
import { PushHandler, type PushPorts } from './domain/push.js';
import { RequestExecutor, type CommandsPort } from './domain/requests.js';
import { StreamHub } from './domain/stream-hub.js';
import { SyncService } from './domain/sync-service.js';

export { commandIdForRequest } from './domain/requests.js';
export { registerDesktopCors } from './api/cors.js';

export interface SyncOptions {
  db: Db;
  log: Logger;
  alerts: PushPorts['alerts'];
  fleet: PushPorts['fleet'];
  ops: PushPorts['ops'];
  commands: CommandsPort;
  /** tombstones older than this are purged (SYNC_TOMBSTONE_DAYS) */
  tombstoneDays: number;
  retentionIntervalMs?: number;
  stream?: { minIntervalMs?: number; heartbeatMs?: number; safetyPollMs?: number };
  now?: () => number;
}

export interface SyncComponent {
  registerRoutes(app: HttpApp, prefix: string): Promise<void>;
  /** Purges expired tombstones now (also hourly); returns how many. */
  purgeTombstones(now?: number): Promise<number>;
  /** Open SSE streams on this instance. */
  streamCount(): number;
  stop(): Promise<void>;
}

const DAY_MS = 86_400_000;

export async function startSyncComponent(options: SyncOptions): Promise<SyncComponent> {
  const log = options.log.child({ component: 'sync' });
  const now = options.now ?? Date.now;
  const requests = new RequestExecutor(options.db, options.commands, recordAudit, log, now);
  const pushHandler = new PushHandler(options.db, { alerts: options.alerts, fleet: options.fleet, ops: options.ops, requests });
  const service = new SyncService(options.db, pushHandler);
  const hub = new StreamHub({
    listen: (channel, handler) => options.db.listen(channel, handler),
    pull: (collection, checkpoint, limit) => service.pull(collection, checkpoint, limit),
    log,
    ...options.stream,
  });
  await hub.start();

  const purge = async (at = now()): Promise<number> => {
    const n = await options.db.transaction(async (tx) => {
      await lockReplicationSequence(tx);
      return purgeTombstones(tx, at - options.tombstoneDays * DAY_MS);
    });
    if (n > 0) log.info('sync tombstones purged', { count: n, olderThanDays: options.tombstoneDays });
    return n;
  };
  const retentionTimer = setInterval(() => {
    purge().catch((err: unknown) => log.warn('purging sync tombstones failed; will retry', errorFields(err)));
  }, options.retentionIntervalMs ?? 3_600_000);
  retentionTimer.unref();
  // A crash may have left requests pending between storing and executing them.
  requests.executePending().catch((err: unknown) => log.warn('executing pending sync requests failed', errorFields(err)));

  let stopping: Promise<void> | undefined;
  return {
    registerRoutes: async (app, prefix) => {
      // Streams are hijacked responses: end them before the HTTP server waits for its connections to close.
      (app as unknown as FastifyInstance).addHook('preClose', async () => hub.stop());
      await app.register(syncRoutes(service, hub), { prefix });
    },
    purgeTombstones: purge,
    streamCount: () => hub.size,
    stop: () =>
      (stopping ??= (async () => {
        clearInterval(retentionTimer);
        await hub.stop();
      })()),
  };
}

/** CORS for the desktop's file:// renderer (DESKTOP_ORIGINS) on the given prefixes; call before registering routes. */
export function enableDesktopCors(app: HttpApp, origins: readonly string[], prefixes: readonly string[] = ['/sync', '/ops']): void {
  registerDesktopCors(app as unknown as FastifyInstance, origins, prefixes);
}
