/**
 * The replica's vehicles (registry + service state) by id, for the parts of the UI that render outside React
 * (the grid's value getters): plate when the live registry lacks it, "maintenance" on the State column.
 *
 * Kept per changed document (`apply`, fed by followCollection); listeners hear once per task however many
 * documents changed in it. `orderVersion` counts the changes to what the grid sorts and filters by (plate, home
 * zone, service state, a car coming or going): most changes are coarse positions and last-seen times, which need
 * no re-sort and no re-filter of 20,000 rows.
 */
import type { VehicleDoc } from '../../../shared/sync-protocol.js';

const byId = new Map<string, VehicleDoc>();
const listeners = new Set<() => void>();
let notifyQueued = false;
let orderVersion = 0;

function sameOrderFields(a: VehicleDoc, b: VehicleDoc): boolean {
  return a.plate === b.plate && a.homeZone === b.homeZone && a.serviceState === b.serviceState;
}

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
    let orderChanged = false;
    for (const d of docs) {
      const before = byId.get(d.id);
      if (d._deleted) {
        if (before) orderChanged = true;
        byId.delete(d.id);
      } else {
        if (!before || !sameOrderFields(before, d)) orderChanged = true;
        byId.set(d.id, d);
      }
    }
    if (orderChanged) orderVersion++;
    notify();
  },
  clear(): void {
    if (byId.size > 0) orderVersion++;
    byId.clear();
    notify();
  },
  /** Increases whenever a plate, home zone or service state changed, or a car came or went (see above). */
  orderVersion: (): number => orderVersion,
  subscribe(cb: () => void): () => void {
    listeners.add(cb);
    return () => listeners.delete(cb);
  },
};
