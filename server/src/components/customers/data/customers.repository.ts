/**
 * SQL for customers (replicated to support desktops: every write takes a new server_seq, under the replication
 * lock the caller took first) and their password credentials (a separate table: never replicated, never logged).
 */
import type { Queryable } from '../../../platform/db/index.js';
import type { CustomerRecord, CustomerStatus, StoredLicenceStatus } from '../model.js';

interface CustomerRow {
  id: string;
  email: string;
  name: string;
  phone: string;
  status: CustomerStatus;
  blocked_reason: string | null;
  licence_status: StoredLicenceStatus;
  licence_number: string | null;
  licence_country: string | null;
  licence_expires_on: string | null;
  licence_reason: string | null;
  licence_checked_at: Date | string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

// Dates as text: drivers turn `date` into a local-midnight Date, which shifts the day in some time zones.
const COLUMNS = `c.id, c.email, c.name, c.phone, c.status, c.blocked_reason, c.licence_status, c.licence_number, c.licence_country,
  to_char(c.licence_expires_on, 'YYYY-MM-DD') as licence_expires_on, c.licence_reason, c.licence_checked_at, c.created_at, c.updated_at`;

const iso = (v: Date | string) => new Date(v).toISOString();

function toRecord(row: CustomerRow): CustomerRecord {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    phone: row.phone,
    status: row.status,
    blockedReason: row.blocked_reason,
    licence: {
      status: row.licence_status,
      number: row.licence_number,
      country: row.licence_country,
      expiresOn: row.licence_expires_on,
      reason: row.licence_reason,
      checkedAt: row.licence_checked_at === null ? null : iso(row.licence_checked_at),
    },
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/** false when the email is taken (case-insensitively). */
export async function insertCustomer(
  tx: Queryable,
  customer: { id: string; email: string; name: string; phone: string; passwordHash: string },
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `insert into customers (id, email, name, phone, server_seq) values ($1, $2, $3, $4, fleetdesk_next_seq()) on conflict do nothing`,
    [customer.id, customer.email, customer.name, customer.phone],
  );
  if (rowCount !== 1) return false;
  await tx.query('insert into customer_credentials (customer_id, password_hash) values ($1, $2)', [customer.id, customer.passwordHash]);
  return true;
}

export async function findCustomerCredentials(db: Queryable, email: string): Promise<{ id: string; passwordHash: string } | null> {
  const { rows } = await db.query<{ id: string; password_hash: string }>(
    `select c.id, k.password_hash from customers c join customer_credentials k on k.customer_id = c.id where lower(c.email) = lower($1)`,
    [email.trim()],
  );
  return rows[0] ? { id: rows[0].id, passwordHash: rows[0].password_hash } : null;
}

export async function getCustomer(db: Queryable, id: string, forUpdate = false): Promise<CustomerRecord | null> {
  const { rows } = await db.query<CustomerRow>(`select ${COLUMNS} from customers c where c.id = $1${forUpdate ? ' for update' : ''}`, [id]);
  return rows[0] ? toRecord(rows[0]) : null;
}

export async function customerExists(db: Queryable, id: string): Promise<boolean> {
  const { rows } = await db.query('select 1 from customers where id = $1', [id]);
  return rows.length > 0;
}

/**
 * Case-insensitive substring search over name, email, phone (digits only, so "+49 30 123" finds "+4930123…")
 * and licence number; newest first. An empty query lists the newest customers.
 */
export async function searchCustomers(db: Queryable, query: string, limit: number): Promise<CustomerRecord[]> {
  const q = query.trim().toLowerCase();
  const pattern = `%${escapeLike(q)}%`;
  const digits = q.replace(/[^0-9]/g, '');
  const { rows } = await db.query<CustomerRow>(
    `select ${COLUMNS} from customers c
      where $1 = ''
         or lower(c.name) like $2 escape '\\' or lower(c.email) like $2 escape '\\'
         or lower(coalesce(c.licence_number, '')) like $2 escape '\\'
         or ($3 <> '' and regexp_replace(c.phone, '[^0-9]', '', 'g') like '%' || $3 || '%')
      order by c.created_at desc, c.id
      limit $4`,
    [q, pattern, digits.length >= 3 ? digits : '', limit],
  );
  return rows.map(toRecord);
}

export async function setCustomerStatus(tx: Queryable, id: string, status: CustomerStatus, reason: string | null): Promise<void> {
  await tx.query(
    `update customers set status = $2, blocked_reason = $3, updated_at = now(), server_seq = fleetdesk_next_seq() where id = $1`,
    [id, status, reason],
  );
}

export async function setLicence(
  tx: Queryable,
  id: string,
  licence: { number: string; country: string; expiresOn: string; status: StoredLicenceStatus; reason: string | null; checked: boolean },
): Promise<void> {
  await tx.query(
    `update customers set licence_number = $2, licence_country = $3, licence_expires_on = $4::date, licence_status = $5, licence_reason = $6,
            licence_checked_at = case when $7::boolean then now() else null end, updated_at = now(), server_seq = fleetdesk_next_seq()
      where id = $1`,
    [id, licence.number, licence.country, licence.expiresOn, licence.status, licence.reason, licence.checked],
  );
}

/** The outcome of a check for the licence the customer currently has on file. */
export async function setLicenceOutcome(tx: Queryable, id: string, status: StoredLicenceStatus, reason: string | null): Promise<void> {
  await tx.query(
    `update customers set licence_status = $2, licence_reason = $3, licence_checked_at = now(), updated_at = now(), server_seq = fleetdesk_next_seq() where id = $1`,
    [id, status, reason],
  );
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}
