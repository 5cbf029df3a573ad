/**
 * Test support: the real RxDB client (memory storage, schema-validated with ajv) replicating the sync
 * collections of src/shared/sync-protocol.ts with a Fleetdesk server over HTTP + Server-Sent Events, the way the
 * desktop's renderer does (SSE over fetch, RESYNC on every (re)connect; a staff bearer token on every request;
 * one stream per collection, or — `multiplexed` — one stream for all, as the app does). Adds what tests need:
 * a switchable base URL (restart a server, change instance), an "offline" switch that fails every request and
 * drops the stream, and a record of every conflict RxDB handed to the conflict handler.
 */
import { createRxDatabase, type RxCollection, type RxConflictHandler, type RxConflictHandlerInput, type RxDatabase } from 'rxdb';
import { replicateRxCollection, type RxReplicationState } from 'rxdb/plugins/replication';
import { getRxStorageMemory } from 'rxdb/plugins/storage-memory';
import { wrappedValidateAjvStorage } from 'rxdb/plugins/validate-ajv';
import { Subject } from 'rxjs';
import type { OperatorRole } from '../../src/shared/operator-role.js';
import { openSseStream } from '../../src/shared/sse.js';
import {
  MULTI_STREAM_PATH,
  RX_SCHEMAS,
  SYNC_PATH_PREFIX,
  type PullResponse,
  type PushRow,
  type StreamMessage,
  type SyncCheckpoint,
  type SyncCollection,
  type SyncDocMap,
} from '../../src/shared/sync-protocol.js';

type AnyDoc = SyncDocMap[SyncCollection];

export interface RecordedConflict {
  collection: SyncCollection;
  input: RxConflictHandlerInput<AnyDoc>;
}

export interface SyncClientOptions {
  /** server base URL; a function so a test can point the client at a restarted server or another instance */
  baseUrl: () => string;
  /** a signed-in staff member's headers (testing/auth.ts staffHeaders), asked per request: may change after a restart */
  headers: () => Promise<Record<string, string>> | Record<string, string>;
  role: OperatorRole;
  /** one SSE stream for every collection (`/sync/v1/stream?collections=…`) instead of one per collection */
  multiplexed?: boolean;
  collections: readonly SyncCollection[];
  /** RxDB retry delay after a failed pull/push (default 200 ms, tests want it short) */
  retryMs?: number;
  pullBatchSize?: number;
  pushBatchSize?: number;
}

export interface SyncClient {
  db: RxDatabase;
  collection<C extends SyncCollection>(c: C): RxCollection<SyncDocMap[C]>;
  replication(c: SyncCollection): RxReplicationState<AnyDoc, SyncCheckpoint>;
  conflicts: RecordedConflict[];
  errors: unknown[];
  /** counts of HTTP calls by kind, for assertions that something really went over the wire */
  calls: { pull: number; push: number; streamOpen: number };
  /**
   * Test hook around every push request: receives `send` (does the real request) and returns its response or
   * throws (e.g. to lose the answer, or to stop the server while the request is in flight).
   */
  interceptPush: ((send: () => Promise<Response>) => Promise<Response>) | null;
  /** offline: every request fails as a network error and the streams are closed; online again: RESYNC */
  setOnline(online: boolean): void;
  /** waits until every collection has pushed its local writes and pulled (RxDB awaitInSync) */
  awaitInSync(): Promise<void>;
  stop(): Promise<void>;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** A document without RxDB's bookkeeping and the never-stored `syncRejection`, keys sorted. */
function canonical(d: object): Record<string, unknown> {
  const r = d as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(r).sort()) {
    if (k === '_meta' || k === '_rev' || k === '_attachments' || k === 'syncRejection') continue;
    if (k === '_deleted' && !r[k]) continue;
    out[k] = r[k];
  }
  return out;
}

/**
 * The server judges conflicts (on business fields) and answers with the master state; here equality is on the
 * whole document, as in the app (a business-field-only isEqual would make RxDB skip server-managed updates such
 * as `acknowledgedBy`), the master always wins, and every call is recorded, so a test can see a conflict end in
 * the handler with the master state.
 */
function recordingConflictHandler(collection: SyncCollection, record: (c: RecordedConflict) => void): RxConflictHandler<AnyDoc> {
  return {
    isEqual: (a, b) => same(canonical(a), canonical(b)),
    async resolve(input) {
      record({ collection, input: input as RxConflictHandlerInput<AnyDoc> });
      const master = { ...(input.realMasterState as unknown as Record<string, unknown>) };
      delete master['syncRejection'];
      return master as never;
    },
  };
}

/** Drops client-only fields before a document goes to the server (none today; here for symmetry with the app). */
function toWire<D>(d: D): D {
  return d;
}

export async function startSyncClient(opts: SyncClientOptions): Promise<SyncClient> {
  const conflicts: RecordedConflict[] = [];
  const errors: unknown[] = [];
  const calls = { pull: 0, push: 0, streamOpen: 0 };
  let online = true;
  const headers = async (): Promise<Record<string, string>> => ({ ...(await opts.headers()) });

  const db = await createRxDatabase({
    name: `sync-test-${Math.random().toString(36).slice(2)}`,
    storage: wrappedValidateAjvStorage({ storage: getRxStorageMemory() }),
    multiInstance: false,
  });
  const creators: Record<string, object> = {};
  for (const c of opts.collections)
    creators[c] = { schema: RX_SCHEMAS[c], conflictHandler: recordingConflictHandler(c, (x) => conflicts.push(x)) };
  await db.addCollections(creators as never);

  const replications = new Map<SyncCollection, RxReplicationState<AnyDoc, SyncCheckpoint>>();
  const streams = new Map<SyncCollection, { close(): void }>();
  const subjects = new Map<SyncCollection, Subject<StreamMessage<AnyDoc>>>();

  const offlineError = (): Error => new TypeError('fetch failed (test client is offline)');
  const url = (c: SyncCollection, verb: string, query = ''): string => `${opts.baseUrl()}${SYNC_PATH_PREFIX}/${c}/${verb}${query}`;

  // The highest checkpoint seen per collection (pull or stream): where a (re)opened stream starts.
  const lastSeq = new Map<SyncCollection, number>();
  const seen = (c: SyncCollection, seq: number | undefined): void => {
    if (typeof seq === 'number' && seq > (lastSeq.get(c) ?? 0)) lastSeq.set(c, seq);
  };

  const deliver = (c: SyncCollection, data: string): void => {
    try {
      const message = JSON.parse(data) as StreamMessage<AnyDoc>;
      if (message !== 'RESYNC') seen(c, message.checkpoint?.seq);
      subjects.get(c)!.next(message);
    } catch (err) {
      errors.push(err);
    }
  };
  const openStream = (c: SyncCollection): void => {
    const subject = subjects.get(c)!;
    streams.set(
      c,
      openSseStream({
        url: () => url(c, 'stream', `?checkpoint=${lastSeq.get(c) ?? 0}`),
        headers,
        retryMs: 100,
        maxRetryMs: 500,
        onOpen: () => {
          calls.streamOpen += 1;
          // Whatever happened while disconnected is fetched by a normal pull.
          subject.next('RESYNC');
        },
        onEvent: (e) => deliver(c, e.data),
        onError: () => undefined, // it retries
      }),
    );
  };
  /** The multiplexed stream: one connection, events named after their collection. */
  const openMultiplexed = (): void => {
    const list = [...opts.collections];
    streams.set(
      list[0]!,
      openSseStream({
        url: () =>
          `${opts.baseUrl()}${SYNC_PATH_PREFIX}${MULTI_STREAM_PATH}?collections=${list.join(',')}&checkpoints=${list.map((c) => lastSeq.get(c) ?? 0).join(',')}`,
        headers,
        retryMs: 100,
        maxRetryMs: 500,
        onOpen: () => {
          calls.streamOpen += 1;
          for (const c of list) subjects.get(c)!.next('RESYNC');
        },
        onEvent: ({ event, data }) => {
          if (!(list as string[]).includes(event)) return void errors.push(new Error(`stream event for an unknown collection: ${event}`));
          deliver(event as SyncCollection, data);
        },
        onError: () => undefined, // it retries
      }),
    );
  };
  const openStreams = (): void => {
    if (opts.multiplexed) openMultiplexed();
    else for (const c of opts.collections) openStream(c);
  };

  for (const c of opts.collections) {
    const subject = new Subject<StreamMessage<AnyDoc>>();
    subjects.set(c, subject);
    const replication = replicateRxCollection<AnyDoc, SyncCheckpoint>({
      replicationIdentifier: `fleetdesk-sync-${c}`,
      collection: db[c] as RxCollection<AnyDoc>,
      live: true,
      retryTime: opts.retryMs ?? 200,
      waitForLeadership: false,
      pull: {
        batchSize: opts.pullBatchSize ?? 200,
        async handler(checkpoint, batchSize) {
          if (!online) throw offlineError();
          calls.pull += 1;
          const res = await fetch(url(c, 'pull', `?checkpoint=${checkpoint?.seq ?? 0}&limit=${batchSize}`), {
            headers: { ...(await headers()), accept: 'application/json' },
          });
          if (!res.ok) throw new Error(`pull ${c}: HTTP ${res.status} ${await res.text()}`);
          const body = (await res.json()) as PullResponse<AnyDoc>;
          seen(c, body.checkpoint?.seq);
          return { documents: body.documents as never, checkpoint: body.checkpoint };
        },
        stream$: subject.asObservable() as never,
      },
      push: {
        batchSize: opts.pushBatchSize ?? 50,
        async handler(rows) {
          if (!online) throw offlineError();
          calls.push += 1;
          const body: PushRow<AnyDoc>[] = rows.map((r) => ({
            ...(r.assumedMasterState ? { assumedMasterState: toWire(r.assumedMasterState as AnyDoc) } : {}),
            newDocumentState: toWire(r.newDocumentState as AnyDoc),
          }));
          const auth = await headers();
          const send = (): Promise<Response> =>
            fetch(url(c, 'push'), {
              method: 'POST',
              headers: { ...auth, 'content-type': 'application/json', accept: 'application/json' },
              body: JSON.stringify(body),
            });
          const res = await (client.interceptPush ? client.interceptPush(send) : send());
          if (!res.ok) throw new Error(`push ${c}: HTTP ${res.status} ${await res.text()}`);
          return (await res.json()) as never;
        },
      },
    });
    replication.error$.subscribe((err) => errors.push(err));
    replications.set(c, replication);
  }
  openStreams();

  let stopped = false;
  const client: SyncClient = {
    interceptPush: null,
    db,
    collection: <C extends SyncCollection>(c: C) => db[c] as RxCollection<SyncDocMap[C]>,
    replication: (c) => replications.get(c)!,
    conflicts,
    errors,
    calls,
    setOnline(value) {
      if (value === online) return;
      online = value;
      if (!value) {
        for (const s of streams.values()) s.close();
        streams.clear();
      } else {
        openStreams();
        for (const r of replications.values()) r.reSync();
      }
    },
    async awaitInSync() {
      await Promise.all([...replications.values()].map((r) => r.awaitInSync()));
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const s of streams.values()) s.close();
      streams.clear();
      await Promise.all([...replications.values()].map((r) => r.cancel()));
      for (const s of subjects.values()) s.complete();
      await db.remove();
    },
  };
  return client;
}

/** Polls until `predicate` holds (RxDB queries are async). */
export async function eventually(predicate: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
