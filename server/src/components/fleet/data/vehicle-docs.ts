/** The `vehicles` table as the replica's `vehicles` collection (read by the sync component's pull). */
import type { VehicleDoc } from '../../../../../src/shared/sync-protocol.js';
import { ms, msOrNull, num, str, type ReplicatedTable } from '../../../platform/db/replicated-rows.js';

export const vehicleDocs: ReplicatedTable<VehicleDoc> = {
  table: 'vehicles',
  idColumn: 'id',
  toDoc: (r) => ({
    id: str(r.id),
    updatedAt: ms(r.updated_at),
    plate: str(r.plate),
    make: str(r.make),
    model: str(r.model),
    energyType: r.energy_type as 'fuel' | 'electric',
    homeZone: str(r.home_zone),
    serviceState: (r.service_state ?? 'available') as 'available' | 'maintenance',
    lat: num(r.lat),
    lon: num(r.lon),
    online: r.online === true,
    energyPct: num(r.energy_pct),
    lastSeenAt: msOrNull(r.last_seen_at),
    // a retired car leaves every desk's active fleet: its document goes as deleted (the row and its history stay)
    ...(r.retired_at === null || r.retired_at === undefined ? {} : { _deleted: true }),
  }),
};
