/**
 * Replica → business-state index: the `vehicles`, `rentals` and `alerts` collections, read once and then per changed
 * document (RxDB change events), never by re-reading whole collections.
 */
import type { AlertDoc, RentalDoc, VehicleDoc } from '../../../shared/sync-protocol.js';
import type { BusinessStateIndex } from './business-state-index';
import type { ReplicaDatabase } from './database';
import { followCollection as follow } from './replica-follow';

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
