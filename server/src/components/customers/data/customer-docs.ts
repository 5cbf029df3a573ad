/** The `customers` table as the replica's read-only `customers` collection (support and admin only; read by the sync component's pull). */
import type { CustomerDoc } from '../../../../../src/shared/sync-protocol.js';
import { ms, msOrNull, str, strOrNull, type ReplicatedRow, type ReplicatedTable } from '../../../platform/db/replicated-rows.js';

const LICENCE_STATUSES = new Set(['none', 'pending', 'verified', 'rejected', 'expired']);

/** Read defensively (licence and block columns may be absent). */
function customerDoc(r: ReplicatedRow): CustomerDoc {
  const licenceStatus = typeof r.licence_status === 'string' && LICENCE_STATUSES.has(r.licence_status) ? r.licence_status : 'none';
  const expires = r.licence_expires_on;
  return {
    id: str(r.id),
    updatedAt: ms(r.updated_at),
    email: str(r.email),
    name: str(r.name),
    phone: str(r.phone),
    status: r.status === 'blocked' ? 'blocked' : 'active',
    blockedReason: strOrNull(r.blocked_reason),
    blockedAt: msOrNull(r.blocked_at),
    licenceStatus: licenceStatus as CustomerDoc['licenceStatus'],
    licenceNumber: strOrNull(r.licence_number),
    licenceCountry: strOrNull(r.licence_country),
    licenceExpiresOn:
      expires === null || expires === undefined
        ? null
        : expires instanceof Date
          ? expires.toISOString().slice(0, 10)
          : String(expires).slice(0, 10),
    createdAt: ms(r.created_at),
  };
}

export const customerDocs: ReplicatedTable<CustomerDoc> = { table: 'customers', idColumn: 'id', toDoc: customerDoc };
