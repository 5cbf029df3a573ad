/** The sync indicator's model: per-collection replication health folded into one status + the texts shown. */
import { formatAgo } from '../lib/format';

export type SyncStatus = 'connecting' | 'synced' | 'syncing' | 'offline' | 'error';

export interface CollectionHealth {
  /** the initial pull of this collection has completed (this session) */
  initialDone: boolean;
  streamOpen: boolean;
  active: boolean;
  /** last failure: 'network' (server unreachable) or 'server' (HTTP error / bad answer); undefined after a success */
  failure?: { kind: 'network' | 'server'; message: string; at: number } | undefined;
  /** epoch ms of the last successful pull, stream open or stream message of this collection */
  lastOkAt?: number | undefined;
  /** how long after the server wrote it the last streamed change arrived (desk clock − document's updatedAt) */
  lagMs?: number | undefined;
}

/** One replicated collection as the Health panel lists it. */
export interface CollectionSync {
  name: string;
  state: 'up' | 'degraded' | 'down';
  /** what is going on, in words: "live", "first sync running", "live stream closed", the failure */
  words: string;
  lastOkAt: number | undefined;
  lagMs: number | undefined;
  /** this operator's local edits to it not yet accepted by the server */
  pending: number;
  /** its first pull of this session has completed (until then the replica may hold less, or older, than the server) */
  initialDone: boolean;
}

export function collectionSync(name: string, h: CollectionHealth, pending: number): CollectionSync {
  const [state, words]: [CollectionSync['state'], string] = h.failure
    ? [h.failure.kind === 'network' ? 'down' : 'degraded', h.failure.message]
    : !h.initialDone
      ? ['degraded', h.active ? 'first sync running' : 'waiting for the first sync']
      : !h.streamOpen
        ? ['degraded', 'live stream closed: catching up by pulls']
        : ['up', 'live'];
  return { name, state, words, lastOkAt: h.lastOkAt, lagMs: h.lagMs, pending, initialDone: h.initialDone };
}

export interface SyncView {
  status: SyncStatus;
  /** epoch ms of the last successful exchange with the server (persisted across restarts) */
  lastSyncAt: number | undefined;
  /** local changes not yet accepted by the server */
  pending: number;
  /** 0..1 while the initial sync runs, undefined otherwise */
  progress: number | undefined;
  detail: string | undefined;
  conflicts: number;
  /** per replicated collection (the operator's role decides which) */
  collections: readonly CollectionSync[];
}

export function foldStatus(health: readonly CollectionHealth[], pending: number): Pick<SyncView, 'status' | 'progress' | 'detail'> {
  const total = health.length;
  const done = health.filter((h) => h.initialDone).length;
  const progress = total && done < total ? done / total : undefined;
  const failures = health.map((h) => h.failure).filter((f): f is NonNullable<CollectionHealth['failure']> => !!f);
  const server = failures.find((f) => f.kind === 'server');
  const network = failures.find((f) => f.kind === 'network');
  if (network) return { status: 'offline', progress, detail: network.message };
  if (server) return { status: 'error', progress, detail: server.message };
  if (progress !== undefined) return { status: 'connecting', progress, detail: undefined };
  if (health.some((h) => h.active) || pending > 0) return { status: 'syncing', progress, detail: undefined };
  if (health.some((h) => !h.streamOpen)) return { status: 'connecting', progress, detail: 'waiting for the live stream' };
  return { status: 'synced', progress, detail: undefined };
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** "Synced · 3 s ago" / "Offline · data from 12 min ago" / "2 local changes waiting" … */
export function syncText(v: Pick<SyncView, 'status' | 'lastSyncAt' | 'pending' | 'progress'>, now: number): string {
  const waiting = v.pending > 0 ? plural(v.pending, 'local change waiting', 'local changes waiting') : '';
  const ago = v.lastSyncAt === undefined ? undefined : formatAgo(v.lastSyncAt, now);
  const age = ago === undefined ? 'never synced' : ago === 'now' ? 'just now' : ago;
  switch (v.status) {
    case 'synced':
      return `Synced · ${age}`;
    case 'syncing':
      return waiting || 'Syncing…';
    case 'connecting':
      return v.progress !== undefined ? `Initial sync · ${Math.round(v.progress * 100)} %` : 'Connecting…';
    case 'offline':
    case 'error': {
      const head = v.status === 'offline' ? 'Offline' : 'Sync error';
      const data = ago === undefined ? 'no local data yet' : `data from ${ago === 'now' ? 'just now' : ago}`;
      return [head, data, waiting].filter(Boolean).join(' · ');
    }
  }
}
