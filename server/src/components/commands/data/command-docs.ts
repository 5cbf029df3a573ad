/** The `commands` table as the replica's read-only `commands` collection (read by the sync component's pull). */
import type { CommandDoc } from '../../../../../src/shared/sync-protocol.js';
import { ms, msOrNull, str, type ReplicatedTable } from '../../../platform/db/replicated-rows.js';

export const commandDocs: ReplicatedTable<CommandDoc> = {
  table: 'commands',
  idColumn: 'command_id',
  toDoc: (r) => ({
    id: str(r.command_id),
    updatedAt: ms(r.updated_at),
    vehicleId: str(r.vehicle_id),
    type: str(r.type),
    status: str(r.status),
    reason: str(r.reason),
    issuedBy: str(r.issued_by),
    createdAt: ms(r.created_at),
    expiresAt: ms(r.expires_at),
    finishedAt: msOrNull(r.finished_at),
    lastResultReason: r.last_result_reason === null || r.last_result_reason === undefined ? null : str(r.last_result_reason).slice(0, 500),
  }),
};
