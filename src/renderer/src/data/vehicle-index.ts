/**
 * The replica's vehicles (registry + service state) by id, for the parts of the UI that render outside React
 * (the grid's value getters): plate when the live registry lacks it, "maintenance" on the State column.
 *
 * Kept per changed document (`apply`, fed by followCollection); listeners hear once per task however many
 * documents changed in it.
 */
import type { VehicleDoc } from '../../../shared/sync-protocol.js';

const byId = new Map<string, VehicleDoc>();
const listeners = new Set<() => void>();
let notifyQueued = false;

function notify(): void {
  if (notifyQueued) return;
  notifyQueued = true;
  queueMicrotask(() => {
    notifyQueued = false;
    for (const l of [...listeners]) l();
  });
}

export const replicaVehicles = {
  get: (id: string): VehicleDoc | undefined => byId.get(id),
  all: (): IterableIterator<VehicleDoc> => byId.values(),
  /** Changed documents, in order; a deleted one (`_deleted`) leaves. */
  apply(docs: readonly VehicleDoc[]): void {
    if (docs.length === 0) return;
    for (const d of docs) {
      if (d._deleted) byId.delete(d.id);
      else byId.set(d.id, d);
    }
    notify();
  },
  clear(): void {
    byId.clear();
    notify();
  },
  subscribe(cb: () => void): () => void {
    listeners.add(cb);
    return () => listeners.delete(cb);
  },
};
