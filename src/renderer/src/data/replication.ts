/**
 * Replication of the replica's sync collections with the server (RxDB's protocol over HTTP + SSE):
 * pull  GET  {syncUrl}/sync/v1/{c}/pull?checkpoint=<seq>&limit=<n> → {documents, checkpoint}
 * push  POST {syncUrl}/sync/v1/{c}/push  [{assumedMasterState, newDocumentState}] → conflicting master states
 * live  GET  {syncUrl}/sync/v1/stream?collections=a,b&checkpoints=…  ONE SSE connection for every collection
 *       (events named after their collection; RESYNC emitted to every collection on each (re)connect)
 * Every request carries the signed-in operator's short-lived access token (from the host). Health per
 * collection feeds the sync indicator.
 */
import type { RxCollection } from 'rxdb';
import { replicateRxCollection, type RxReplicationState } from 'rxdb/plugins/replication';
import { Subject } from 'rxjs';
import { backoffDelay, PLUS_MINUS_20_PERCENT } from '../../../shared/backoff.js';
import type { OperatorRole } from '../../../shared/operator-role.js';
import {
  EDITABLE,
  MULTI_STREAM_PATH,
  SYNC_LIMITS,
  SYNC_PATH_PREFIX,
  type PullResponse,
  type SyncCheckpoint,
  type SyncCollection,
} from '../../../shared/sync-protocol.js';
import { bootstrapCollection, newBootstrap, readBootstrap, type BootstrapState } from './bootstrap';
import { docsEqual, isRefusal } from './conflicts';
import { readableCollections, type ReplicaDatabase } from './database';
import { openSseStream } from '../../../shared/sse.js';
import { collectionSync, foldStatus, type CollectionHealth, type SyncView } from './sync-status';

export interface Operator {
  id: string;
  role: OperatorRole;
}

export interface ReplicationConfig {
  syncUrl: string;
  operator: Operator;
  /** the signed-in operator's bearer token (rejects while signed out / unrefreshable: requests then fail and retry) */
  accessToken: () => Promise<string>;
  /** the server refused a token (401): drop the cached one */
  onUnauthorized?: () => void;
  fetchImpl?: typeof fetch;
  /** RxDB's retry delay after a failed pull/push */
  retryMs?: number;
  /** how long to gather collections finishing their initial pull before (re)opening the stream with them */
  streamGatherMs?: number;
}

/**
 * Chromium allows 6 HTTP/1.1 connections per origin and an SSE stream holds one for good: every collection
 * therefore streams over ONE multiplexed connection, leaving the others for pulls and pushes. A collection joins
 * the stream once its initial pull is done (the stream then starts from the checkpoint that pull reached; a
 * stream event must never move RxDB's checkpoint past documents its initial pull has not fetched yet): the
 * stream is reopened with the grown set — at most once per collection at start, gathered over `streamGatherMs`.
 */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** the problem document's `code` when the Fleetdesk server itself answered (the console's proxy sends none) */
    readonly code?: string,
  ) {
    super(message);
  }
}

const LAST_SYNC_KEY = 'lastSyncAt';
/** `meta` id of the server's history horizon in days (PullResponse.historyDays): the desk knows it offline too */
export const HISTORY_DAYS_KEY = 'syncHistoryDays';
/**
 * HTTP statuses that mean "the server is not reachable" (the console's proxy answers 502/503/504 then) — unless the
 * server itself answered with a problem code: a 503 `database_unavailable` is a server that answers while its database
 * does not (a sync error, not this desk being offline).
 */
const UNREACHABLE = new Set([502, 503, 504]);

const readOnly = (c: SyncCollection): boolean => !EDITABLE[c].create && EDITABLE[c].fields.length === 0;

/** A row RxDB hands the push handler. */
interface PushRowOut {
  assumedMasterState?: Record<string, unknown>;
  newDocumentState: Record<string, unknown>;
}

type StreamEvent = { documents: Record<string, unknown>[]; checkpoint: SyncCheckpoint } | 'RESYNC';

export class Replica {
  readonly collections: SyncCollection[];
  private readonly states = new Map<SyncCollection, RxReplicationState<unknown, SyncCheckpoint>>();
  private readonly subjects = new Map<SyncCollection, Subject<StreamEvent>>();
  /** the highest checkpoint seen per collection (pull or stream): where the (re)opened stream starts */
  private readonly lastSeq = new Map<SyncCollection, number>();
  /** collections whose initial pull is done: carried by the stream */
  private readonly live = new Set<SyncCollection>();
  private stream: { close(): void; retryNow(): void } | undefined;
  private streamSet = '';
  private streamTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly health = new Map<SyncCollection, CollectionHealth>();
  private readonly listeners = new Set<() => void>();
  private readonly disposers: Array<() => void> = [];
  private lastSyncAt: number | undefined;
  private lastSyncPersistedAt = 0;
  private pending = 0;
  private readonly pendingBy = new Map<string, number>();
  private conflicts = 0;
  private viewCache: SyncView | undefined;
  private disposed = false;
  /** collections whose documents arrived (partly) by bootstrap: their pushes may lack an assumed master state */
  private readonly bootstrapped = new Set<SyncCollection>();
  /** pushed rows dropped: no assumed master state and no local change recorded (a bootstrapped document) */
  droppedPushRows = 0;
  /** bootstraps waiting to retry: woken by reSync() and dispose() */
  private readonly bootstrapWaits = new Set<() => void>();
  /** reSync() calls so far: a bootstrap attempt that fails after one was asked for retries without waiting */
  private reSyncs = 0;

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
    // the outbox is small (this operator's unsent edits): counted per collection for the Health panel
    const pendingSub = this.db.outbox.find().$.subscribe((docs) =>
      this.set(() => {
        this.pending = docs.length;
        this.pendingBy.clear();
        for (const d of docs) this.pendingBy.set(d.collectionName, (this.pendingBy.get(d.collectionName) ?? 0) + 1);
      }),
    );
    // (a count() query must be fully indexed in RxDB: count the few open conflicts from a find instead);
    // refusals are shown where the change was made, not counted as conflicts
    const conflictSub = this.db.conflicts
      .find({ selector: { resolved: false } })
      .$.subscribe((docs) => this.set(() => (this.conflicts = docs.filter((d) => !isRefusal(d)).length)));
    this.disposers.push(
      () => pendingSub.unsubscribe(),
      () => conflictSub.unsubscribe(),
    );
    for (const c of this.collections) {
      if (!this.disposed) {
        this.replicate(c).catch((err: unknown) => {
          console.error(`[replica] ${c}: replication could not start`, err);
          this.fail(c, err);
        });
      }
    }
  }

  view(): SyncView {
    return (this.viewCache ??= {
      ...foldStatus([...this.health.values()], this.pending),
      lastSyncAt: this.lastSyncAt,
      pending: this.pending,
      conflicts: this.conflicts,
      collections: this.collections.map((c) => collectionSync(c, this.health.get(c)!, this.pendingBy.get(c) ?? 0)),
    });
  }

  subscribe(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** Ask every collection to pull now and the stream to reconnect (the operator clicked "retry", signed in again). */
  reSync(): void {
    this.reSyncs++;
    for (const wake of [...this.bootstrapWaits]) wake();
    for (const s of this.states.values()) s.reSync();
    this.stream?.retryNow();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    for (const wake of [...this.bootstrapWaits]) wake();
    clearTimeout(this.streamTimer);
    this.stream?.close();
    this.stream = undefined;
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
    this.patchHealth(c, { failure: undefined, lastOkAt: now });
    this.set(() => (this.lastSyncAt = now));
    if (now - this.lastSyncPersistedAt > 5_000) {
      this.lastSyncPersistedAt = now;
      this.db.meta
        .upsert({ id: LAST_SYNC_KEY, value: now })
        .catch((err: unknown) => console.warn('[replica] could not store the last sync time', err));
    }
  }

  private fail(c: SyncCollection, err: unknown): void {
    const network = !(err instanceof HttpError) || (UNREACHABLE.has(err.status) && err.code === undefined);
    const message = err instanceof Error ? err.message : String(err);
    this.patchHealth(c, { failure: { kind: network ? 'network' : 'server', message, at: Date.now() } });
  }

  private async headers(): Promise<Record<string, string>> {
    return { authorization: `Bearer ${await this.config.accessToken()}` };
  }

  private base(): string {
    return `${this.config.syncUrl.replace(/\/+$/, '')}${SYNC_PATH_PREFIX}`;
  }

  private url(c: SyncCollection, verb: 'pull' | 'push', query = ''): string {
    return `${this.base()}/${c}/${verb}${query}`;
  }

  private async request<T>(c: SyncCollection, url: string, init: RequestInit = {}): Promise<T> {
    const doFetch = this.config.fetchImpl ?? fetch.bind(globalThis);
    try {
      const res = await doFetch(url, {
        ...init,
        cache: 'no-store',
        headers: { ...(await this.headers()), ...(init.headers as Record<string, string> | undefined) },
      });
      if (res.status === 401) this.config.onUnauthorized?.();
      if (!res.ok) {
        let detail = '';
        let code: string | undefined;
        try {
          const body = (await res.json()) as { detail?: string; title?: string; code?: unknown };
          detail = body.detail ?? body.title ?? '';
          if (typeof body.code === 'string') code = body.code;
        } catch {
          /* not problem+json */
        }
        throw new HttpError(res.status, `${c}: HTTP ${res.status}${detail ? ` — ${detail}` : ''}`, code);
      }
      const body = (await res.json()) as T;
      this.ok(c);
      return body;
    } catch (err) {
      this.fail(c, err);
      throw err;
    }
  }

  /**
   * One page of the server's pull. `floor`: this replica's copy of the collection began from nothing there (the
   * answer to its pull from checkpoint 0): the server leaves out older deletions. Notes the history horizon.
   */
  private async pull(c: SyncCollection, seq: number, limit: number, floor?: number): Promise<PullResponse<Record<string, unknown>>> {
    const query = `?checkpoint=${seq}&limit=${limit}${floor !== undefined && floor > seq ? `&floor=${floor}` : ''}`;
    const res = await this.request<PullResponse<Record<string, unknown>>>(c, this.url(c, 'pull', query));
    if (typeof res.historyDays === 'number') this.noteHistoryDays(res.historyDays);
    return res;
  }

  private historyDays: number | undefined;
  private noteHistoryDays(days: number): void {
    if (days === this.historyDays) return;
    this.historyDays = days;
    this.db.meta
      .upsert({ id: HISTORY_DAYS_KEY, value: days })
      .catch((err: unknown) => console.warn('[replica] could not store the history horizon', err));
  }

  /**
   * A collection never synced here and empty is first filled by bootstrap (resumed if it was cut off), retried
   * with backoff while the server cannot be reached; RxDB's replication then starts where it ended.
   */
  private async bootstrap(
    c: SyncCollection,
    collection: RxCollection<Record<string, unknown>>,
    identifier: string,
  ): Promise<BootstrapState | undefined> {
    let state = (await readBootstrap(this.db, c)) ?? (await newBootstrap(this.db, collection));
    if (!state) return undefined;
    this.bootstrapped.add(c);
    for (let attempt = 0; !state.done && !this.disposed; attempt++) {
      this.patchHealth(c, { active: true });
      const reSyncsBefore = this.reSyncs;
      try {
        state = await bootstrapCollection({
          from: state,
          db: this.db,
          collection,
          replicationIdentifier: identifier,
          pageSize: SYNC_LIMITS.maxPullLimit,
          fetchPage: (seq, limit, floor) => this.pull(c, seq, limit, floor),
          cancelled: () => this.disposed,
        });
      } catch (err) {
        if (attempt === 0) console.warn(`[replica] ${c}: first sync interrupted, retrying`, err);
        state = (await readBootstrap(this.db, c)) ?? state;
        if (this.reSyncs !== reSyncsBefore) continue; // the operator asked for a retry while this attempt ran
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            this.bootstrapWaits.delete(wake);
            resolve();
          };
          const timer = setTimeout(
            wake,
            backoffDelay(attempt + 1, {
              initialMs: this.config.retryMs ?? 5_000,
              maxMs: 30_000,
              maxExponent: 20,
              jitter: PLUS_MINUS_20_PERCENT,
            }),
          );
          this.bootstrapWaits.add(wake);
        });
      }
    }
    return state;
  }

  private async replicate(c: SyncCollection): Promise<void> {
    const collection = this.db.collections[c] as RxCollection<Record<string, unknown>> | undefined;
    if (!collection) return;
    const identifier = `fleetdesk-sync-v1-${c}-${this.config.syncUrl}`;
    const boot = await this.bootstrap(c, collection, identifier);
    if (this.disposed) return;
    const stream$ = new Subject<StreamEvent>();
    this.subjects.set(c, stream$);
    const seen = (seq: number) => this.lastSeq.set(c, Math.max(this.lastSeq.get(c) ?? 0, seq));
    const state = replicateRxCollection<Record<string, unknown>, SyncCheckpoint>({
      collection,
      replicationIdentifier: identifier,
      live: true,
      retryTime: this.config.retryMs ?? 5_000,
      waitForLeadership: false,
      pull: {
        // the largest page the server serves: the initial sync of a big collection is bound by round trips
        batchSize: SYNC_LIMITS.maxPullLimit,
        ...(boot ? { initialCheckpoint: { seq: boot.seq } } : {}),
        handler: async (checkpoint, batchSize) => {
          const seq = checkpoint?.seq ?? 0;
          seen(seq);
          // (a collection filled by bootstrap: its floor, so a pull below it is not sent deletions it never held)
          const res = await this.pull(c, seq, batchSize, boot?.floor);
          seen(res.checkpoint.seq);
          return { documents: res.documents as never, checkpoint: res.checkpoint };
        },
        stream$: stream$.asObservable() as never,
      },
      // Read-only collections that were never bootstrapped get no push: RxDB then keeps no per-document replication
      // meta for them (half the IndexedDB writes of an initial sync by replication). A bootstrapped one gets a push
      // that never sends anything, only for its initial checkpoint: RxDB's upstream looks at every local document
      // after its checkpoint, even without a push (50,000 bootstrapped documents: minutes of reads), and RxDB takes
      // the upstream's initial checkpoint only from a push config. (Its later downstream writes then keep meta.)
      ...(readOnly(c)
        ? boot
          ? {
              push: {
                batchSize: 1_000,
                initialCheckpoint: boot.fork,
                handler: async (rows: PushRowOut[]) => {
                  if (rows.length > 0) console.warn(`[replica] ${c} is read-only: ${rows.length} local changes not pushed`);
                  return [];
                },
              },
            }
          : {}
        : {
            push: {
              batchSize: 100,
              ...(boot ? { initialCheckpoint: boot.fork } : {}),
              handler: async (rows: PushRowOut[]) => {
                const send = await this.withAssumedMasters(c, rows);
                if (send.length === 0) return [];
                return this.request<never[]>(c, this.url(c, 'push'), {
                  method: 'POST',
                  headers: { 'content-type': 'application/json' },
                  body: JSON.stringify(send),
                });
              },
            },
          }),
    });
    this.states.set(c, state as never);
    const subs = [
      state.active$.subscribe((active) => this.patchHealth(c, { active })),
      state.sent$.subscribe((sent) => void this.clearOutbox(c, sent as Record<string, unknown>)),
    ];
    // The collection joins the stream from the checkpoint its initial pull reached (RxDB resumes pulls from
    // its stored one after a restart, so this is quick then).
    state.awaitInitialReplication().then(
      () => {
        this.patchHealth(c, { initialDone: true });
        if (this.disposed || state.isStopped()) return;
        this.live.add(c);
        this.scheduleStream();
      },
      () => undefined,
    );
    this.disposers.push(() => {
      for (const s of subs) s.unsubscribe();
      stream$.complete();
    });
  }

  /** (Re)opens the one stream with every live collection, a moment after the set grew (gathering joins). */
  private scheduleStream(): void {
    if (this.streamTimer || this.disposed) return;
    this.streamTimer = setTimeout(() => {
      this.streamTimer = undefined;
      this.openStream();
    }, this.config.streamGatherMs ?? 150);
  }

  private openStream(): void {
    const collections = this.collections.filter((c) => this.live.has(c));
    const key = collections.join(',');
    if (this.disposed || key === '' || key === this.streamSet) return;
    this.stream?.close();
    this.streamSet = key;
    this.stream = openSseStream({
      url: () =>
        `${this.base()}${MULTI_STREAM_PATH}?collections=${key}&checkpoints=${collections.map((c) => this.lastSeq.get(c) ?? 0).join(',')}`,
      headers: () => this.headers(),
      ...(this.config.onUnauthorized ? { onUnauthorized: this.config.onUnauthorized, onReauthenticate: this.config.onUnauthorized } : {}),
      ...(this.config.fetchImpl ? { fetchImpl: this.config.fetchImpl } : {}),
      onOpen: () => {
        for (const c of collections) {
          this.patchHealth(c, { streamOpen: true });
          this.ok(c);
          // Whatever happened while we were disconnected: pull from our checkpoint.
          this.subjects.get(c)?.next('RESYNC');
        }
      },
      onEvent: (e) => {
        const c = e.event as SyncCollection;
        const subject = collections.includes(c) ? this.subjects.get(c) : undefined;
        if (!subject) {
          console.warn(`[replica] dropped a stream event for ${e.event.slice(0, 40)}`);
          return;
        }
        let msg: unknown;
        try {
          msg = JSON.parse(e.data);
        } catch {
          console.warn(`[replica] ${c}: dropped a malformed stream message`);
          return;
        }
        if (msg === 'RESYNC') subject.next('RESYNC');
        else if (
          msg &&
          typeof msg === 'object' &&
          Array.isArray((msg as PullResponse<unknown>).documents) &&
          typeof (msg as PullResponse<unknown>).checkpoint?.seq === 'number'
        ) {
          const m = msg as PullResponse<Record<string, unknown>>;
          this.lastSeq.set(c, Math.max(this.lastSeq.get(c) ?? 0, m.checkpoint.seq));
          this.ok(c);
          const newest = m.documents.reduce((n, d) => (typeof d.updatedAt === 'number' && d.updatedAt > n ? d.updatedAt : n), 0);
          if (newest > 0) this.patchHealth(c, { lagMs: Math.max(0, Date.now() - newest) });
          subject.next({ documents: m.documents, checkpoint: m.checkpoint });
        } else console.warn(`[replica] ${c}: dropped an unexpected stream message`);
      },
      onError: (err) => {
        for (const c of collections) {
          this.patchHealth(c, { streamOpen: false });
          this.fail(c, err);
        }
      },
    });
  }

  /**
   * RxDB keeps no assumed master state for a bootstrapped document it has not written itself: the first local change
   * of one is pushed against the state the operator changed (its outbox entry's `base`). A row without either is
   * not a local change (the outbox is written before every local write, actions.ts): it is not sent.
   */
  private async withAssumedMasters(c: SyncCollection, rows: PushRowOut[]): Promise<PushRowOut[]> {
    if (!this.bootstrapped.has(c) || rows.every((r) => r.assumedMasterState)) return rows;
    const ids = rows.filter((r) => !r.assumedMasterState).map((r) => `${c}/${String(r.newDocumentState.id)}`);
    const entries = await this.db.outbox.findByIds(ids).exec();
    const out: PushRowOut[] = [];
    for (const r of rows) {
      if (r.assumedMasterState) {
        out.push(r);
        continue;
      }
      const entry = entries.get(`${c}/${String(r.newDocumentState.id)}`);
      if (!entry) {
        this.droppedPushRows++;
        console.warn(`[replica] ${c}/${String(r.newDocumentState.id)}: not pushed (no local change recorded)`);
        continue;
      }
      const base = entry.toJSON().base;
      out.push(base ? { ...r, assumedMasterState: { ...base } } : r);
    }
    return out;
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
