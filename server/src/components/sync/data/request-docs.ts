/** The sync component's own `sync_requests` table as the replica's `requests` collection. */
import type { RequestDoc } from '../../../../../src/shared/sync-protocol.js';
import { json, ms, str, type ReplicatedTable } from '../../../platform/db/replicated-rows.js';

export const requestDocs: ReplicatedTable<RequestDoc> = {
  table: 'sync_requests',
  idColumn: 'id',
  toDoc: (r) => ({
    id: str(r.id),
    updatedAt: ms(r.updated_at),
    kind: r.kind as 'vehicle_command',
    payload: json<Record<string, unknown>>(r.payload),
    createdBy: str(r.created_by),
    createdAt: ms(r.created_at),
    expiresAt: ms(r.expires_at),
    status: r.status as RequestDoc['status'],
    result: r.result === null || r.result === undefined ? null : json<Record<string, unknown>>(r.result),
  }),
};
