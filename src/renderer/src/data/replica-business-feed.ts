/**
 * Replica → business-state index: the `vehicles`, `rentals` and `alerts` collections, read once and then per changed
 * document (RxDB change events), never by re-reading whole collections.
 */
import type { RxCollection } from 'rxdb';
import type { AlertDoc, RentalDoc, VehicleDoc } from '../../../shared/sync-protocol.js';
import type { BusinessStateIndex } from './business-state-index';
import type { ReplicaDatabase } from './database';

export function feedBusinessState(db: ReplicaDatabase, index: BusinessStateIndex): () => void {
  const subs = [
    follow<VehicleDoc>(db.vehicles, (docs) => index.applyVehicles(docs)),
    follow<RentalDoc>(db.rentals, (docs) => index.applyRentals(docs)),
    follow<AlertDoc>(db.alerts, (docs) => index.applyAlerts(docs)),
  ];
  return () => {
    for (const unsubscribe of subs) unsubscribe();
    index.clearReplica();
  };
}

/**
 * Events are subscribed to before the initial read and replayed after it, in order, so a change that lands in
 * between is neither lost nor applied out of order (the index keeps the last document per id).
 */
function follow<T>(collection: RxCollection<T> | undefined, apply: (docs: T[]) => void): () => void {
  if (!collection) return () => undefined;
  let buffered: T[] | undefined = [];
  let closed = false;
  const sub = collection.$.subscribe((e) => {
    const doc = { ...(e.documentData as T), _deleted: e.operation === 'DELETE' || (e.documentData as { _deleted?: boolean })._deleted };
    if (buffered) buffered.push(doc);
    else apply([doc]);
  });
  collection
    .find()
    .exec()
    .then(
      (docs) => {
        if (closed) return;
        apply(docs.map((d) => d.toJSON() as T));
        const later = buffered ?? [];
        buffered = undefined;
        apply(later);
      },
      (err: unknown) => console.error('[business-state] could not read the replica', err),
    );
  return () => {
    closed = true;
    sub.unsubscribe();
  };
}
