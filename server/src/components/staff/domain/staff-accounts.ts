/**
 * Staff accounts (dispatcher, support, admin): login/refresh/logout through the shared auth mechanics, the
 * signed-in member's profile, and account management by admins (audited). Deactivating an account or changing
 * its role ends its sessions: the next refresh fails, and access tokens already out expire within their TTL.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { AppError } from '../../../../../src/shared/errors.js';
import type { AuthService, Session } from '../../../platform/auth/auth-service.js';
import type { Db } from '../../../platform/db/index.js';
import type { Actor } from '../../../platform/http/actor.js';
import type { Logger } from '../../../platform/log.js';
import {
  findStaffByEmail,
  findStaffById,
  insertStaff,
  listStaff,
  lockActiveAdmins,
  updateStaff,
  withoutHash,
} from '../data/staff.repository.js';
import type { StaffAccount, StaffAccountRole } from '../model.js';
import type { RecordAudit } from '../../audit/index.js';

/** The demo accounts seeded when SEED_DEMO_STAFF is on (documented in README.md; never in production). */
export const DEMO_STAFF: ReadonlyArray<{ id: string; email: string; name: string; role: StaffAccountRole; password: string }> = [
  {
    id: 'demo-dispatcher',
    email: 'dispatcher@fleetdesk.local',
    name: 'Demo Dispatcher',
    role: 'dispatcher',
    password: 'demo-dispatcher-pass',
  },
  { id: 'demo-support', email: 'support@fleetdesk.local', name: 'Demo Support', role: 'support', password: 'demo-support-pass' },
  { id: 'demo-admin', email: 'admin@fleetdesk.local', name: 'Demo Admin', role: 'admin', password: 'demo-admin-pass' },
];

/** Letters and digits that cannot be mistaken for one another when read out or typed (no 0/O, 1/l/I). */
const PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
/** 20 of them: ~114 bits, and above the server's minimum length */
const GENERATED_PASSWORD_LENGTH = 20;

/** A random password in groups of five (`xxxxx-xxxxx-xxxxx-xxxxx`), easy to read out and type. */
export function generatePassword(): string {
  const chars = Array.from({ length: GENERATED_PASSWORD_LENGTH }, () => PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)]);
  return chars.join('').replace(/(.{5})(?=.)/g, '$1-');
}

/** Demo hashes per process: tests start many servers, each with a fresh database (the passwords are public anyway). */
const demoHashes: Record<string, Promise<string>> = {};

export interface StaffSession extends Session {
  staff: { id: string; name: string; role: StaffAccountRole };
}

export interface NewStaffInput {
  id?: string;
  email: string;
  name: string;
  role: StaffAccountRole;
  password: string;
}

export interface StaffPatch {
  name?: string;
  role?: StaffAccountRole;
  active?: boolean;
  password?: string;
}

export class StaffAccounts {
  constructor(
    private readonly db: Db,
    private readonly auth: AuthService,
    private readonly audit: RecordAudit,
    private readonly log: Logger,
  ) {}

  async login(email: string, password: string, ip: string): Promise<StaffSession> {
    const account = await this.auth.passwordLogin('staff', email, password, ip, (e) => findStaffByEmail(this.db, e));
    const session = await this.auth.startSession({ kind: 'staff', staffId: account.id, role: account.role });
    this.log.info('staff signed in', { staffId: account.id, role: account.role });
    return { ...session, staff: { id: account.id, name: account.name, role: account.role } };
  }

  /** The role comes from the account as it is now (a changed role takes effect at the next refresh). */
  refresh(refreshToken: string): Promise<Session> {
    return this.auth.refreshSession('staff', refreshToken, async (tx, staffId) => {
      const account = await findStaffById(tx, staffId);
      return account?.active ? { kind: 'staff', staffId: account.id, role: account.role } : null;
    });
  }

  logout(refreshToken: string): Promise<void> {
    return this.auth.logout('staff', refreshToken);
  }

  async get(id: string): Promise<StaffAccount> {
    const account = await findStaffById(this.db, id);
    if (!account) throw new AppError('staff_not_found', `No staff account ${id}`, { status: 404 });
    return withoutHash(account);
  }

  /** The account as it is now (role, active), or undefined: for checks made later than the sign-in (queued requests). */
  async find(id: string): Promise<StaffAccount | undefined> {
    const account = await findStaffById(this.db, id);
    return account ? withoutHash(account) : undefined;
  }

  list(): Promise<StaffAccount[]> {
    return listStaff(this.db);
  }

  /** Active colleagues by name (what any staff member may know of the others: no e-mail, nobody deactivated). */
  /** Every colleague, deactivated ones too (their past actions keep their names; only active ones are assignable). */
  async directory(): Promise<Array<Pick<StaffAccount, 'id' | 'name' | 'role' | 'active'>>> {
    const all = await listStaff(this.db);
    return all
      .map(({ id, name, role, active }) => ({ id, name, role, active }))
      .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  }

  async create(input: NewStaffInput, actor: Actor): Promise<StaffAccount> {
    const passwordHash = await this.auth.passwords.hash(input.password);
    const id = input.id ?? `staff-${randomUUID()}`;
    return this.db.transaction(async (tx) => {
      // the audit entry is replicated: its lock first, before any row lock (team rule)
      if (await findStaffByEmail(tx, input.email))
        throw new AppError('email_taken', 'A staff account with this email exists', { status: 409 });
      if (!(await insertStaff(tx, { id, email: input.email, name: input.name, role: input.role, passwordHash }))) {
        throw new AppError('staff_exists', `A staff account ${id} (or with this email) exists`, { status: 409 });
      }
      const account = withoutHash((await findStaffById(tx, id))!);
      await this.audit(tx, {
        actor: actor.id,
        role: actor.role,
        action: 'staff.created',
        targetType: 'staff',
        targetId: id,
        after: account,
      });
      return account;
    });
  }

  async update(id: string, patch: StaffPatch, actor: Actor): Promise<StaffAccount> {
    if (id === actor.id && (patch.role !== undefined || patch.active === false)) {
      throw new AppError('cannot_change_own_account', 'Admins cannot change their own role or deactivate themselves', { status: 409 });
    }
    const passwordHash = patch.password === undefined ? undefined : await this.auth.passwords.hash(patch.password);
    return this.db.transaction(async (tx) => {
      // the admins first (before the account's own row): see lockActiveAdmins
      const admins = patch.active === false || (patch.role !== undefined && patch.role !== 'admin') ? await lockActiveAdmins(tx) : null;
      const before = await findStaffById(tx, id, true);
      if (!before) throw new AppError('staff_not_found', `No staff account ${id}`, { status: 404 });
      if (admins && admins.length === 1 && admins[0] === id) {
        throw new AppError('last_admin', 'This is the last active admin: make someone else an admin first.', { status: 409 });
      }
      await updateStaff(tx, id, { name: patch.name, role: patch.role, active: patch.active, passwordHash });
      const after = withoutHash((await findStaffById(tx, id))!);
      // A new role or a deactivation must not survive in long-lived refresh tokens.
      if (after.role !== before.role || !after.active || passwordHash !== undefined) await this.auth.revokeAll(tx, 'staff', id);
      await this.audit(tx, {
        actor: actor.id,
        role: actor.role,
        action: 'staff.updated',
        targetType: 'staff',
        targetId: id,
        before: withoutHash(before),
        after: { ...after, ...(passwordHash === undefined ? {} : { passwordChanged: true }) },
      });
      return after;
    });
  }

  /**
   * A new random password for someone who lost theirs, returned once (to hand over; never stored in clear, never
   * logged); their sessions end. Not for one's own account (one knows it: change it instead).
   */
  async resetPassword(id: string, actor: Actor): Promise<{ account: StaffAccount; temporaryPassword: string }> {
    if (id === actor.id)
      throw new AppError('cannot_reset_own_password', 'Admins cannot reset their own password here: change it instead.', { status: 409 });
    const temporaryPassword = generatePassword();
    const passwordHash = await this.auth.passwords.hash(temporaryPassword);
    const account = await this.db.transaction(async (tx) => {
      const before = await findStaffById(tx, id, true);
      if (!before) throw new AppError('staff_not_found', `No staff account ${id}`, { status: 404 });
      await updateStaff(tx, id, { passwordHash });
      await this.auth.revokeAll(tx, 'staff', id);
      const after = withoutHash(before);
      await this.audit(tx, {
        actor: actor.id,
        role: actor.role,
        action: 'staff.password_reset',
        targetType: 'staff',
        targetId: id,
        after: { id, passwordChanged: true, sessionsEnded: true },
      });
      return after;
    });
    this.log.info('staff password reset', { staffId: id, by: actor.id });
    return { account, temporaryPassword };
  }

  /**
   * Production mode: the demo accounts a development run left in this database, still active with their published
   * password (their emails; empty = none). Start refuses while any is left.
   */
  async demoAccountsStillOpen(): Promise<string[]> {
    const open: string[] = [];
    for (const demo of DEMO_STAFF) {
      const account = await findStaffByEmail(this.db, demo.email);
      if (account?.active && (await this.auth.passwords.verify(account.passwordHash, demo.password))) open.push(demo.email);
    }
    return open;
  }

  /** Inserts the demo accounts that are missing (by id or email); hashes only for those. */
  async seedDemoAccounts(): Promise<number> {
    let created = 0;
    for (const demo of DEMO_STAFF) {
      if ((await findStaffById(this.db, demo.id)) || (await findStaffByEmail(this.db, demo.email))) continue;
      const passwordHash = await (demoHashes[demo.id] ??= this.auth.passwords.hash(demo.password).catch((err: unknown) => {
        delete demoHashes[demo.id];
        throw err;
      }));
      if (await insertStaff(this.db, { id: demo.id, email: demo.email, name: demo.name, role: demo.role, passwordHash })) created++;
    }
    if (created > 0) this.log.warn('demo staff accounts seeded (SEED_DEMO_STAFF=true; turn it off in production)', { created });
    return created;
  }
}
