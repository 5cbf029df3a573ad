/** React access to the replica: the open replica (context), live queries, the sync view. */
import { createContext, useContext, useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import type { MangoQuery, RxCollection } from 'rxdb';
import type { MetaDoc } from './database';
import type { OpenReplica } from './open';
import { HISTORY_DAYS_KEY } from './replication';
import type { SyncView } from './sync-status';

export const ReplicaContext = createContext<OpenReplica | undefined>(undefined);

export function useReplica(): OpenReplica | undefined {
  return useContext(ReplicaContext);
}

const NO_VIEW: SyncView = {
  status: 'connecting',
  lastSyncAt: undefined,
  pending: 0,
  progress: 0,
  detail: 'opening the local replica…',
  conflicts: 0,
  collections: [],
};

/** `openError`: the replica could not be opened (no replica): shown as a sync error with its reason. */
export function useSyncView(r: OpenReplica | undefined, openError?: string): SyncView {
  const view = useSyncExternalStore(
    (cb) => (r ? r.replica.subscribe(cb) : () => undefined),
    () => (r ? r.replica.view() : NO_VIEW),
  );
  return useMemo(
    () => (!r && openError ? { ...NO_VIEW, status: 'error', progress: undefined, detail: openError } : view),
    [r, openError, view],
  );
}

/** Live result of a query on a replica collection (plain JSON docs); `key` must change when the query does. */
export function useLiveQuery<T>(collection: RxCollection<T> | undefined, query: MangoQuery<T>, key: string): T[] {
  const [docs, setDocs] = useState<T[]>([]);
  useEffect(() => {
    if (!collection) {
      setDocs([]);
      return;
    }
    const sub = collection.find(query).$.subscribe((res) => setDocs(res.map((d) => d.toJSON() as T)));
    return () => sub.unsubscribe();
    // the query is described by `key`
  }, [collection, key]);
  return docs;
}

/**
 * The server's history horizon (SYNC_HISTORY_DAYS) as this replica last heard it: closed rentals and tasks untouched
 * for longer are not held on this desk (undefined: not told yet, or a server without one).
 */
export function useHistoryDays(r: OpenReplica | undefined): number | undefined {
  const [doc] = useLiveQuery<MetaDoc>(r?.db.meta, { selector: { id: HISTORY_DAYS_KEY } }, HISTORY_DAYS_KEY);
  return doc?.value;
}
