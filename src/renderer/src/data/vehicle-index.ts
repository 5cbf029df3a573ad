/**
 * The replica's vehicles (registry + service state) by id, for the parts of the UI that render outside React
 * (the grid's value getters): plate when the live registry lacks it, "maintenance" on the State column.
 */
import type { VehicleDoc } from '../../../shared/sync-protocol.js';

const byId = new Map<string, VehicleDoc>();
const listeners = new Set<() => void>();

export const replicaVehicles = {
  get: (id: string): VehicleDoc | undefined => byId.get(id),
  all: (): IterableIterator<VehicleDoc> => byId.values(),
  replace(docs: readonly VehicleDoc[]): void {
    byId.clear();
    for (const d of docs) byId.set(d.id, d);
    for (const l of listeners) l();
  },
  subscribe(cb: () => void): () => void {
    listeners.add(cb);
    return () => listeners.delete(cb);
  },
};
