/** Opens the replica of an operator (signed in, or the remembered one while signed out: offline mode). */
import { useEffect, useState } from 'react';
import type { TokenSource } from './access-token';
import { ReplicaInUseError } from './memory-mapped-storage';
import { openReplica, replicaDbName, type OpenReplica, type ReplicaIdentity } from './open';
import { replicaCustomers } from './customer-index';
import { followCollection } from './replica-follow';
import { replicaVehicles } from './vehicle-index';

export interface ReplicaOpening {
  replica: OpenReplica | undefined;
  /** why the replica could not be opened, in the operator's words (the desk then works without it) */
  error: string | undefined;
}

/** What an operator reads when the replica cannot be opened. */
export function replicaOpenError(err: unknown): string {
  if (err instanceof ReplicaInUseError)
    return 'The local replica is open in another window of this desk: alerts, tasks and rentals are shown there. Close the other window and reload this one.';
  return `The local replica could not be opened: ${err instanceof Error ? err.message : String(err)}`;
}

export function useOpenReplica(identity: ReplicaIdentity | undefined, tokens: TokenSource): ReplicaOpening {
  const [open, setOpen] = useState<OpenReplica | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
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
        setError(undefined);
      },
      (err: unknown) => {
        console.error('[replica] could not open the local replica', err);
        if (!cancelled) setError(replicaOpenError(err));
      },
    );
    return () => {
      cancelled = true;
      unsubscribe?.();
      replicaCustomers.replace([]);
      replicaVehicles.clear();
      setOpen(undefined);
      setError(undefined);
      void opened?.close();
    };
    // `key` identifies the identity
  }, [key, tokens]);
  return { replica: open, error };
}
