/**
 * The staff component: staff accounts (dispatcher, support, admin), their login/refresh/logout under /ops/v1/auth,
 * `GET /ops/v1/me`, and account management by admins. Demo accounts are seeded at start when `seedDemoStaff`
 * (SEED_DEMO_STAFF) is on. Other components reach it only through this file.
 */
import type { AuthService } from '../../platform/auth/index.js';
import type { Db } from '../../platform/db/index.js';
import type { HttpApp } from '../../platform/http/index.js';
import type { Logger } from '../../platform/log.js';
import { recordAudit } from '../audit/index.js';
import { staffRoutes } from './api/staff.routes.js';
import { StaffAccounts } from './domain/staff-accounts.js';

export { DEMO_STAFF } from './domain/staff-accounts.js';
export type { StaffAccount, StaffAccountRole } from './model.js';

export interface StaffComponent {
  accounts: StaffAccounts;
  registerRoutes(app: HttpApp, prefix: string): Promise<void>;
}

export interface StaffOptions {
  db: Db;
  log: Logger;
  auth: AuthService;
  seedDemoStaff: boolean;
  /** production mode: refuse to start while a demo account is still active with its published password */
  production?: boolean;
}

export async function startStaffComponent(options: StaffOptions): Promise<StaffComponent> {
  const log = options.log.child({ component: 'staff' });
  const accounts = new StaffAccounts(options.db, options.auth, recordAudit, log);
  if (options.seedDemoStaff) await accounts.seedDemoAccounts();
  if (options.production) {
    const open = await accounts.demoAccountsStillOpen();
    if (open.length > 0)
      throw new Error(
        `production mode refuses to start: demo staff accounts are active with their published passwords (${open.join(', ')}); deactivate them or change their passwords`,
      );
  }
  return {
    accounts,
    registerRoutes: async (app, prefix) => {
      await app.register(staffRoutes(accounts), { prefix });
    },
  };
}
