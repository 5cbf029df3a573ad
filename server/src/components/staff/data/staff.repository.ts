/** SQL for staff accounts (`staff_accounts`). Emails are unique case-insensitively. */
import type { Queryable } from '../../../platform/db/index.js';
import type { StaffAccount, StaffAccountRole } from '../model.js';

export interface StaffAccountWithHash extends StaffAccount {
  passwordHash: string;
}

interface StaffRow {
  id: string;
  email: string;
  name: string;
  role: StaffAccountRole;
  active: boolean;
  created_at: Date | string;
  password_hash: string;
}

const COLUMNS = 'id, email, name, role, active, created_at, password_hash';

function toAccount(row: StaffRow): StaffAccountWithHash {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    active: row.active,
    createdAt: new Date(row.created_at).toISOString(),
    passwordHash: row.password_hash,
  };
}

export function withoutHash({ passwordHash: _hash, ...account }: StaffAccountWithHash): StaffAccount {
  return account;
}

export async function findStaffByEmail(db: Queryable, email: string): Promise<StaffAccountWithHash | null> {
  const { rows } = await db.query<StaffRow>(`select ${COLUMNS} from staff_accounts where lower(email) = lower($1)`, [email.trim()]);
  return rows[0] ? toAccount(rows[0]) : null;
}

export async function findStaffById(db: Queryable, id: string, forUpdate = false): Promise<StaffAccountWithHash | null> {
  const { rows } = await db.query<StaffRow>(`select ${COLUMNS} from staff_accounts where id = $1${forUpdate ? ' for update' : ''}`, [id]);
  return rows[0] ? toAccount(rows[0]) : null;
}

export async function listStaff(db: Queryable): Promise<StaffAccount[]> {
  const { rows } = await db.query<StaffRow>(`select ${COLUMNS} from staff_accounts order by lower(email)`);
  return rows.map((r) => withoutHash(toAccount(r)));
}

/** false when the id or the email is taken. */
export async function insertStaff(
  db: Queryable,
  account: { id: string; email: string; name: string; role: StaffAccountRole; passwordHash: string; active?: boolean },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `insert into staff_accounts (id, email, name, role, password_hash, active) values ($1, $2, $3, $4, $5, $6) on conflict do nothing`,
    [account.id, account.email.trim(), account.name, account.role, account.passwordHash, account.active ?? true],
  );
  return rowCount === 1;
}

export async function updateStaff(
  db: Queryable,
  id: string,
  patch: { name?: string; role?: StaffAccountRole; active?: boolean; passwordHash?: string },
): Promise<void> {
  await db.query(
    `update staff_accounts set name = coalesce($2, name), role = coalesce($3, role), active = coalesce($4, active),
            password_hash = coalesce($5, password_hash), updated_at = now()
      where id = $1`,
    [id, patch.name ?? null, patch.role ?? null, patch.active ?? null, patch.passwordHash ?? null],
  );
}

export async function staffEmailExists(db: Queryable, email: string): Promise<boolean> {
  const { rows } = await db.query('select 1 from staff_accounts where lower(email) = lower($1)', [email.trim()]);
  return rows.length > 0;
}

/**
 * Locks every active admin account (in id order, so two transactions never wait on each other in a cycle) and
 * returns their ids: taken before removing an admin (role change, deactivation), so that two admins removing each
 * other at once cannot leave no admin at all.
 */
export async function lockActiveAdmins(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(`select id from staff_accounts where role = 'admin' and active order by id for update`);
  return rows.map((r) => r.id);
}
