/** The `alerts` table as the replica's `alerts` collection (read by the sync component's pull). */
import type { AlertDoc } from '../../../../../src/shared/sync-protocol.js';
import { ms, msOrNull, str, strOrNull, type ReplicatedTable } from '../../../platform/db/replicated-rows.js';

export const alertDocs: ReplicatedTable<AlertDoc> = {
  table: 'alerts',
  idColumn: 'id',
  toDoc: (r) => ({
    id: str(r.id),
    updatedAt: ms(r.updated_at),
    vehicleId: str(r.vehicle_id),
    kind: str(r.kind),
    severity: r.severity as 'info' | 'warning' | 'critical',
    status: r.status as 'open' | 'acknowledged' | 'resolved',
    assignee: strOrNull(r.assignee),
    resolution: strOrNull(r.resolution),
    openedAt: ms(r.first_seen_at),
    lastSeenAt: ms(r.last_seen_at),
    occurrences: Number(r.occurrences ?? 0),
    acknowledgedBy: strOrNull(r.acknowledged_by),
    acknowledgedAt: msOrNull(r.acknowledged_at),
    resolvedBy: strOrNull(r.resolved_by),
    resolvedAt: msOrNull(r.resolved_at),
  }),
};
