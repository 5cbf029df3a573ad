/** Opens the replica of an operator (signed in, or the remembered one while signed out: offline mode). */
import { useEffect, useState } from 'react';
import type { TokenSource } from './access-token';
import { openReplica, replicaDbName, type OpenReplica, type ReplicaIdentity } from './open';
import { replicaCustomers } from './customer-index';
import { followCollection } from './replica-follow';
import { replicaVehicles } from './vehicle-index';

export function useOpenReplica(identity: ReplicaIdentity | undefined, tokens: TokenSource): OpenReplica | undefined {
  const [open, setOpen] = useState<OpenReplica | undefined>(undefined);
  const key = identity ? `${replicaDbName(identity)}|${identity.syncUrl}` : '';
  useEffect(() => {
    if (!identity) return;
    let cancelled = false;
    let opened: OpenReplica | undefined;
    let unsubscribe: (() => void) | undefined;
    openReplica(identity, tokens).then(
      (o) => {
        if (cancelled) return void o.close();
        opened = o;
        // vehicles per changed document (hundreds of coarse snapshots a second at fleet scale); customers (support
        // and admin only, rarely changing) as one query
        const unfollowVehicles = followCollection(o.db.vehicles, (docs) => replicaVehicles.apply(docs));
        const customers = o.db.customers?.find().$.subscribe((docs) => replicaCustomers.replace(docs.map((d) => d.toJSON() as never)));
        unsubscribe = () => {
          unfollowVehicles();
          customers?.unsubscribe();
        };
        setOpen(o);
      },
      (err: unknown) => console.error('[replica] could not open the local replica', err),
    );
    return () => {
      cancelled = true;
      unsubscribe?.();
      replicaCustomers.replace([]);
      replicaVehicles.clear();
      setOpen(undefined);
      void opened?.close();
    };
    // `key` identifies the identity
  }, [key, tokens]);
  return open;
}
