/**
 * Staff use cases on customers ("customer 360" for support agents): search, detail with rentals (from the
 * bookings component through a port) and notes (from the ops component through a port), block and unblock —
 * each audited in the same transaction as the change, with a new server_seq (customers replicate to desktops).
 */
import { AppError } from '../../../../../src/shared/errors.js';
import type { Db } from '../../../platform/db/index.js';
import type { Actor } from '../../../platform/http/actor.js';
import { errorFields, type Logger } from '../../../platform/log.js';
import { getCustomer, searchCustomers, setCustomerStatus } from '../data/customers.repository.js';
import type { CustomerRecord } from '../model.js';
import { effectiveLicenceStatus, todayUtc, type LicenceStatus } from './customer-accounts.js';
import type { RecordAudit } from '../../audit/index.js';

/** Rentals of a customer, newest first (bookings component; wired lazily by app.ts). */
export interface CustomerRentalsPort {
  listForCustomer(customerId: string, limit: number): Promise<unknown[]>;
}

/** Notes about a target (ops component). */
export interface CustomerNotesPort {
  listNotes(targetType: 'customer', targetId: string, limit: number): Promise<unknown[]>;
}

export type StaffCustomerView = Omit<CustomerRecord, 'id' | 'licence'> & {
  customerId: string;
  licence: CustomerRecord['licence'] & { status: LicenceStatus };
};

export interface CustomerDetail extends StaffCustomerView {
  rentals: unknown[];
  /** false when the rentals could not be read (bookings unavailable): `rentals` is then empty, not "none" */
  rentalsAvailable: boolean;
  notes: unknown[];
}

const DETAIL_RENTALS = 20;
const DETAIL_NOTES = 50;

export class CustomerSupport {
  constructor(
    private readonly db: Db,
    private readonly audit: RecordAudit,
    private readonly ports: { rentals?: CustomerRentalsPort; notes?: CustomerNotesPort },
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  async search(query: string, limit: number): Promise<StaffCustomerView[]> {
    const today = todayUtc(this.now());
    return (await searchCustomers(this.db, query, limit)).map((c) => view(c, today));
  }

  async detail(customerId: string): Promise<CustomerDetail> {
    const customer = await getCustomer(this.db, customerId);
    if (!customer) throw notFound(customerId);
    const [rentals, notes] = await Promise.all([
      this.rentalsOf(customerId),
      this.ports.notes ? this.ports.notes.listNotes('customer', customerId, DETAIL_NOTES) : Promise.resolve([]),
    ]);
    return { ...view(customer, todayUtc(this.now())), rentals: rentals ?? [], rentalsAvailable: rentals !== null, notes };
  }

  block(customerId: string, reason: string, actor: Actor): Promise<StaffCustomerView> {
    return this.setStatus(customerId, 'blocked', reason, actor);
  }

  unblock(customerId: string, reason: string, actor: Actor): Promise<StaffCustomerView> {
    return this.setStatus(customerId, 'active', reason, actor);
  }

  /** Already in that state → returned unchanged (no write, no audit), so a desktop replaying its outbox is harmless. */
  private async setStatus(customerId: string, status: 'active' | 'blocked', reason: string, actor: Actor): Promise<StaffCustomerView> {
    const trimmed = reason.trim();
    if (trimmed === '') throw new AppError('reason_required', 'a reason is required', { status: 400 });
    const today = todayUtc(this.now());
    return this.db.transaction(async (tx) => {
      const before = await getCustomer(tx, customerId, true);
      if (!before) throw notFound(customerId);
      if (before.status === status) return view(before, today);
      await setCustomerStatus(tx, customerId, status, status === 'blocked' ? trimmed : null);
      const after = (await getCustomer(tx, customerId))!;
      await this.audit(tx, {
        actor: actor.id,
        role: actor.role,
        action: status === 'blocked' ? 'customer.blocked' : 'customer.unblocked',
        targetType: 'customer',
        targetId: customerId,
        reason: trimmed,
        before: { status: before.status, blockedReason: before.blockedReason },
        after: { status: after.status, blockedReason: after.blockedReason },
      });
      return view(after, today);
    });
  }

  private async rentalsOf(customerId: string): Promise<unknown[] | null> {
    if (!this.ports.rentals) return [];
    try {
      return await this.ports.rentals.listForCustomer(customerId, DETAIL_RENTALS);
    } catch (err) {
      // The detail is still useful without rentals (bookings trouble must not hide the customer from support).
      this.log.warn('customer detail: rentals unavailable', { customerId, ...errorFields(err) });
      return null;
    }
  }
}

function view({ id, licence, ...rest }: CustomerRecord, today: string): StaffCustomerView {
  return { customerId: id, ...rest, licence: { ...licence, status: effectiveLicenceStatus(licence, today) } };
}

function notFound(id: string): AppError {
  return new AppError('customer_not_found', `No customer ${id}`, { status: 404 });
}
