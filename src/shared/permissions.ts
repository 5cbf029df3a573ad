/**
 * The role table: what each staff role may do, declared once. The server's staff API (every `/ops/v1` route
 * declares a capability, platform/http/route-config.ts), the sync paths (`SYNC_ACCESS`, `REQUEST_CAPABILITY`,
 * the role projection of documents in sync-protocol.ts) and the desk (which controls it renders) all read this
 * table, so they cannot drift. Deny by default: a role not listed for a capability may not use it.
 */
import { OPERATOR_ROLES, type OperatorRole } from './operator-role.js';

const ALL: readonly OperatorRole[] = OPERATOR_ROLES;
const DISPATCH: readonly OperatorRole[] = ['dispatcher', 'admin'];
const SUPPORT: readonly OperatorRole[] = ['support', 'admin'];
const ADMIN: readonly OperatorRole[] = ['admin'];

export const CAPABILITIES = {
  /** see the fleet: vehicles, live positions, commands, zones; one's own account (`/me`) and the sync endpoints */
  'fleet.read': ALL,
  /** send commands to a car (lock, unlock, immobilize, …) and cancel them */
  'vehicle.command': DISPATCH,
  /** put a car into maintenance and back */
  'vehicle.maintenance': DISPATCH,
  /** a car's evidence timeline (customer names in it only with customer.read) */
  'vehicle.timeline': ALL,
  /** a car's track from its telemetry history (replay) */
  'vehicle.track': ALL,
  /** every integration's health (broker, database, payment and licence providers, availability index) */
  'integration.health': ALL,
  'alert.read': ALL,
  /** acknowledge, assign, resolve alerts */
  'alert.work': DISPATCH,
  'task.read': ALL,
  /** create and change tasks */
  'task.work': DISPATCH,
  /** read and write notes about vehicles, alerts and rentals */
  'note.vehicle': ALL,
  /** read and write notes about customers (personal data) */
  'note.customer': SUPPORT,
  /** customers' personal data: names, contact, licence, who rented what, free text about them */
  'customer.read': SUPPORT,
  'customer.block': SUPPORT,
  /** a car's bookings and reservations (customer names only with customer.read) */
  'booking.read': ALL,
  /** extend or cancel a booking on the customer's behalf */
  'booking.change': SUPPORT,
  /** rentals with their customer (staff API) */
  'rental.read': SUPPORT,
  /** end a rental on the customer's behalf */
  'rental.end': SUPPORT,
  'payment.read': SUPPORT,
  'payment.refund': SUPPORT,
  /** put a failed capture/void/refund back into the outbox (same idempotency key: never a second charge) */
  'payment.retry': SUPPORT,
  /** the payment provider's health as the server sees it */
  'payment.health': ALL,
  'payment.reconcile': ADMIN,
  'audit.read': SUPPORT,
  /** the names and roles of active colleagues (assign an alert or a task to someone by name) */
  'staff.directory': ALL,
  'staff.manage': ADMIN,
  /** register, import, change and retire vehicles in the registry */
  'vehicle.manage': ADMIN,
  /** issue and revoke devices' MQTT credentials */
  'device.credentials': ADMIN,
  /** add and withdraw tariff versions (reading them is fleet.read) */
  'tariff.manage': ADMIN,
  /** draw, edit and retire operating / no-parking / service zones */
  'zone.manage': ADMIN,
} as const satisfies Record<string, readonly OperatorRole[]>;

export type Capability = keyof typeof CAPABILITIES;
export const CAPABILITY_NAMES = Object.keys(CAPABILITIES) as Capability[];

export const isCapability = (x: unknown): x is Capability => typeof x === 'string' && Object.hasOwn(CAPABILITIES, x);

/** May `role` use `capability`? Unknown roles (a customer, `system`, a stale token's role) may use nothing. */
export function can(role: string | null | undefined, capability: Capability): boolean {
  return (CAPABILITIES[capability] as readonly string[]).includes(role ?? '');
}

/** The roles that have `capability`. */
export function rolesWith(capability: Capability): readonly OperatorRole[] {
  return CAPABILITIES[capability];
}

/** Customer data (names, contact, notes and free text about customers) — the rule every path applies. */
export const canSeeCustomerData = (role: string | null | undefined): boolean => can(role, 'customer.read');

/** `issuedBy` of a command the server issued on a customer's behalf (rentals: unlock at start, lock at end). */
export const CUSTOMER_ACTOR_PREFIX = 'customer:';

/**
 * A command as a role without customer data sees it (sync `commands` documents and the staff API's command routes
 * alike): one the server issued for a customer says `issuedBy: 'customer'`, and the customer's id is cut from its
 * reason. Anything else, and any command for a role with customer data, unchanged.
 */
export function commandForRole<C extends { issuedBy: string; reason: string }>(command: C, role: string | null | undefined): C {
  if (canSeeCustomerData(role) || !command.issuedBy?.startsWith(CUSTOMER_ACTOR_PREFIX)) return command;
  const customerId = command.issuedBy.slice(CUSTOMER_ACTOR_PREFIX.length);
  const reason = customerId
    ? command.reason.split(`customer ${customerId}`).join('a customer').split(customerId).join('a customer')
    : command.reason;
  return { ...command, issuedBy: 'customer', reason };
}

/** The capability a note needs, by what it is about. */
export const noteCapability = (targetType: string): Capability => (targetType === 'customer' ? 'note.customer' : 'note.vehicle');
