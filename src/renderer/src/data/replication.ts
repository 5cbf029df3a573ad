/**
 * Replication of the replica's sync collections with the server (RxDB's protocol over HTTP + SSE):
 * pull  GET  {syncUrl}/sync/v1/{c}/pull?checkpoint=<seq>&limit=<n> → {documents, checkpoint}
 * push  POST {syncUrl}/sync/v1/{c}/push  [{assumedMasterState, newDocumentState}] → conflicting master states
 * live  GET  {syncUrl}/sync/v1/{c}/stream?checkpoint=<seq> (SSE via fetch; RESYNC emitted on every (re)connect)
 * Every request carries the operator identity headers. Health per collection feeds the sync indicator.
 */
import type { RxCollection } from 'rxdb';
import { replicateRxCollection, type RxReplicationState } from 'rxdb/plugins/replication';
import { Subject } from 'rxjs';
import { SYNC_LIMITS, SYNC_PATH_PREFIX, type PullResponse, type SyncCheckpoint, type SyncCollection, type SyncRole } from '../../../shared/sync-protocol.js';
import { docsEqual } from './conflicts';
import { readableCollections, type ReplicaDatabase } from './database';
import { openSseStream } from './sse';
import { foldStatus, type CollectionHealth, type SyncView } from './sync-status';

export interface Operator {
  id: string;
  role: SyncRole;
}

export interface ReplicationConfig {
  syncUrl: string;
  operator: Operator;
  fetchImpl?: typeof fetch;
  /** RxDB's retry delay after a failed pull/push */
  retryMs?: number;
  /** collections kept live by an SSE stream; the others are re-pulled every `pollMs` (see STREAMED) */
  streamed?: readonly SyncCollection[];
  pollMs?: number;
}

/**
 * Chromium allows 6 HTTP/1.1 connections per origin and every SSE stream holds one for good: one stream per
 * collection (7) would leave none for pulls and pushes. So only the collections that change often or whose
 * changes the operator waits for are streamed; the quiet ones are re-pulled every POLL_MS. (A multiplexed
 * stream of all collections on one connection would remove this trade-off — a protocol addition.)
 */
export const STREAMED: readonly SyncCollection[] = ['vehicles', 'alerts', 'commands', 'tasks'];
export const POLL_MS = 10_000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const LAST_SYNC_KEY = 'lastSyncAt';
/** HTTP statuses that mean "the server is not reachable" (the console's proxy answers 502/503/504 then) */
const UNREACHABLE = new Set([502, 503, 504]);

export class Replica {
  readonly collections: SyncCollection[];
  private readonly states = new Map<SyncCollection, RxReplicationState<unknown, SyncCheckpoint>>();
  private readonly health = new Map<SyncCollection, CollectionHealth>();
  private readonly listeners = new Set<() => void>();
  private readonly disposers: Array<() => void> = [];
  private lastSyncAt: number | undefined;
  private lastSyncPersistedAt = 0;
  private pending = 0;
  private conflicts = 0;
  private viewCache: SyncView | undefined;
  private disposed = false;

  constructor(
    readonly db: ReplicaDatabase,
    private readonly config: ReplicationConfig,
  ) {
    this.collections = readableCollections(config.operator.role);
    for (const c of this.collections) this.health.set(c, { initialDone: false, streamOpen: false, active: false });
  }

  get operator(): Operator {
    return this.config.operator;
  }

  async start(): Promise<void> {
    const meta = await this.db.meta.findOne(LAST_SYNC_KEY).exec();
    this.lastSyncAt = meta?.value;
    const pendingSub = this.db.outbox.count().$.subscribe((n) => this.set(() => (this.pending = n)));
    // (a count() query must be fully indexed in RxDB: count the few open conflicts from a find instead)
    const conflictSub = this.db.conflicts.find({ selector: { resolved: false } }).$.subscribe((docs) => this.set(() => (this.conflicts = docs.length)));
    this.disposers.push(
      () => pendingSub.unsubscribe(),
      () => conflictSub.unsubscribe(),
    );
    for (const c of this.collections) if (!this.disposed) this.replicate(c);
  }

  view(): SyncView {
    return (this.viewCache ??= {
      ...foldStatus([...this.health.values()], this.pending),
      lastSyncAt: this.lastSyncAt,
      pending: this.pending,
      conflicts: this.conflicts,
    });
  }

  subscribe(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** Ask every collection to pull now (e.g. after the operator clicked "retry"). */
  reSync(): void {
    for (const s of this.states.values()) s.reSync();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    for (const d of this.disposers.splice(0)) d();
    await Promise.all([...this.states.values()].map((s) => s.cancel()));
    this.states.clear();
    this.listeners.clear();
  }

  // ------------------------------------------------------------------------------------------------ internals

  private set(mutate: () => void): void {
    mutate();
    this.viewCache = undefined;
    for (const l of this.listeners) l();
  }

  private patchHealth(c: SyncCollection, patch: Partial<CollectionHealth>): void {
    this.set(() => this.health.set(c, { ...this.health.get(c)!, ...patch }));
  }

  private ok(c: SyncCollection): void {
    const now = Date.now();
    this.patchHealth(c, { failure: undefined });
    this.set(() => (this.lastSyncAt = now));
    if (now - this.lastSyncPersistedAt > 5_000) {
      this.lastSyncPersistedAt = now;
      this.db.meta.upsert({ id: LAST_SYNC_KEY, value: now }).catch((err: unknown) => console.warn('[replica] could not store the last sync time', err));
    }
  }

  private fail(c: SyncCollection, err: unknown): void {
    const network = !(err instanceof HttpError) || UNREACHABLE.has(err.status);
    const message = err instanceof Error ? err.message : String(err);
    this.patchHealth(c, { failure: { kind: network ? 'network' : 'server', message, at: Date.now() } });
  }

  private headers(): Record<string, string> {
    return { 'x-fleetdesk-actor': this.config.operator.id, 'x-fleetdesk-role': this.config.operator.role };
  }

  private url(c: SyncCollection, verb: 'pull' | 'push' | 'stream', query = ''): string {
    return `${this.config.syncUrl.replace(/\/+$/, '')}${SYNC_PATH_PREFIX}/${c}/${verb}${query}`;
  }

  private async request<T>(c: SyncCollection, url: string, init: RequestInit = {}): Promise<T> {
    const doFetch = this.config.fetchImpl ?? fetch.bind(globalThis);
    try {
      const res = await doFetch(url, { ...init, cache: 'no-store', headers: { ...this.headers(), ...(init.headers as Record<string, string> | undefined) } });
      if (!res.ok) {
        let detail = '';
        try {
          const body = (await res.json()) as { detail?: string; title?: string };
          detail = body.detail ?? body.title ?? '';
        } catch {
          /* not problem+json */
        }
        throw new HttpError(res.status, `${c}: HTTP ${res.status}${detail ? ` — ${detail}` : ''}`);
      }
      const body = (await res.json()) as T;
      this.ok(c);
      return body;
    } catch (err) {
      this.fail(c, err);
      throw err;
    }
  }

  private replicate(c: SyncCollection): void {
    const collection = this.db.collections[c] as RxCollection<Record<string, unknown>> | undefined;
    if (!collection) return;
    const stream$ = new Subject<{ documents: Record<string, unknown>[]; checkpoint: SyncCheckpoint } | 'RESYNC'>();
    let lastSeq = 0;
    const streamed = (this.config.streamed ?? STREAMED).includes(c);
    // Polled collections: re-pull shortly after a push to pick up what the server did with it (a request's result).
    const followUps = new Set<ReturnType<typeof setTimeout>>();
    const followUp = () => {
      if (streamed || this.disposed) return;
      for (const ms of [1_000, 3_000]) {
        const t = setTimeout(() => {
          followUps.delete(t);
          if (!this.disposed) stream$.next('RESYNC');
        }, ms);
        followUps.add(t);
      }
    };
    const state = replicateRxCollection<Record<string, unknown>, SyncCheckpoint>({
      collection,
      replicationIdentifier: `fleetdesk-sync-v1-${c}-${this.config.syncUrl}`,
      live: true,
      retryTime: this.config.retryMs ?? 5_000,
      waitForLeadership: false,
      pull: {
        // the largest page the server serves: the initial sync of a big collection is bound by round trips
        batchSize: SYNC_LIMITS.maxPullLimit,
        handler: async (checkpoint, batchSize) => {
          const seq = checkpoint?.seq ?? 0;
          lastSeq = Math.max(lastSeq, seq);
          const res = await this.request<PullResponse<Record<string, unknown>>>(c, this.url(c, 'pull', `?checkpoint=${seq}&limit=${batchSize}`));
          lastSeq = Math.max(lastSeq, res.checkpoint.seq);
          return { documents: res.documents as never, checkpoint: res.checkpoint };
        },
        stream$: stream$.asObservable() as never,
      },
      push: {
        batchSize: 100,
        handler: async (rows) => {
          const conflicts = await this.request<never[]>(c, this.url(c, 'push'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(rows) });
          followUp();
          return conflicts;
        },
      },
    });
    this.states.set(c, state as never);

    if (!streamed) {
      this.patchHealth(c, { streamOpen: true });
      const poll = setInterval(() => stream$.next('RESYNC'), this.config.pollMs ?? POLL_MS);
      const subs = [
        state.active$.subscribe((active) => this.patchHealth(c, { active })),
        state.sent$.subscribe((sent) => void this.clearOutbox(c, sent as Record<string, unknown>)),
      ];
      this.initial(c, state);
      this.disposers.push(() => {
        clearInterval(poll);
        for (const t of followUps) clearTimeout(t);
        for (const s of subs) s.unsubscribe();
        stream$.complete();
      });
      return;
    }

    let sse: { close(): void } | undefined;
    const openStream = () =>
      (sse = openSseStream({
      url: () => this.url(c, 'stream', `?checkpoint=${lastSeq}`),
      headers: this.headers(),
      ...(this.config.fetchImpl ? { fetchImpl: this.config.fetchImpl } : {}),
      onOpen: () => {
        this.patchHealth(c, { streamOpen: true });
        this.ok(c);
        // Whatever happened while we were disconnected: pull from our checkpoint.
        stream$.next('RESYNC');
      },
      onEvent: (e) => {
        let msg: unknown;
        try {
          msg = JSON.parse(e.data);
        } catch {
          console.warn(`[replica] ${c}: dropped a malformed stream message`);
          return;
        }
        if (msg === 'RESYNC') stream$.next('RESYNC');
        else if (msg && typeof msg === 'object' && Array.isArray((msg as PullResponse<unknown>).documents) && typeof (msg as PullResponse<unknown>).checkpoint?.seq === 'number') {
          const m = msg as PullResponse<Record<string, unknown>>;
          lastSeq = Math.max(lastSeq, m.checkpoint.seq);
          this.ok(c);
          stream$.next({ documents: m.documents, checkpoint: m.checkpoint });
        } else console.warn(`[replica] ${c}: dropped an unexpected stream message`);
      },
      onError: (err) => {
        this.patchHealth(c, { streamOpen: false });
        this.fail(c, err);
      },
    }));

    const subs = [
      state.active$.subscribe((active) => this.patchHealth(c, { active })),
      state.sent$.subscribe((sent) => void this.clearOutbox(c, sent as Record<string, unknown>)),
    ];
    // The stream starts from the checkpoint the initial pull reached (RxDB resumes pulls from its stored one).
    state.awaitInitialReplication().then(
      () => {
        this.patchHealth(c, { initialDone: true });
        if (!this.disposed && !state.isStopped()) openStream();
      },
      () => undefined,
    );
    this.disposers.push(() => {
      sse?.close();
      for (const s of subs) s.unsubscribe();
      stream$.complete();
    });
  }

  private initial(c: SyncCollection, state: RxReplicationState<Record<string, unknown>, SyncCheckpoint>): void {
    state.awaitInitialReplication().then(
      () => this.patchHealth(c, { initialDone: true }),
      () => undefined,
    );
  }

  /** A pushed document left the outbox once the server took it and the operator has not changed it since. */
  private async clearOutbox(c: SyncCollection, sent: Record<string, unknown>): Promise<void> {
    const id = String(sent.id);
    const current = await this.db.collections[c]?.findOne(id).exec();
    if (current && !docsEqual(current.toJSON() as Record<string, unknown>, sent)) return;
    await this.db.outbox
      .findOne(`${c}/${id}`)
      .exec()
      .then((d) => d?.remove());
  }
}
