/**
 * Sync protocol v1: the desktop's offline replica (RxDB in the renderer) ⇄ the server's `sync` component.
 * RxDB's replication protocol over HTTP + Server-Sent Events. Declared once here: collection names, the
 * document types with their RxDB JSON schemas, which fields an operator may change, and the wire shapes.
 * Prose: docs/sync-protocol.md.
 *
 * - Checkpoints are server sequence numbers (`fleetdesk_next_seq()`: the writing transaction's id and a counter; a pull
 *   reads only below the oldest open transaction's seqs), never timestamps: a client can never skip a row that committed late.
 * - Deleted documents travel as tombstones (`_deleted: true`), kept on the server for `SYNC_TOMBSTONE_DAYS`.
 * - Conflicts are detected on business fields only (`BUSINESS_FIELDS`); server-managed fields (`updatedAt`,
 *   telemetry-derived position, …) never cause a conflict.
 * - A push the server refuses (schema, role, domain rule) is answered like a conflict: the current master state,
 *   with `syncRejection` set (not stored) so the desktop can tell the operator why. (RxDB reserves top-level
 *   fields starting with `_` other than its own, hence the name.)
 */

import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { OperatorRole } from './operator-role.js';
import { can, canSeeCustomerData, commandForRole, rolesWith, type Capability } from './permissions.js';
import { looseObject, nullable, opaqueObject, rxCollectionSchema, stringEnum, type RxCollectionSchema } from './rx-collection-schema.js';

export const SYNC_PROTOCOL_VERSION = 1;
export const SYNC_PATH_PREFIX = '/sync/v1';

export const SYNC_COLLECTIONS = ['vehicles', 'alerts', 'commands', 'tasks', 'notes', 'zones', 'requests', 'rentals', 'customers'] as const;
export type SyncCollection = (typeof SYNC_COLLECTIONS)[number];
export const isSyncCollection = (x: unknown): x is SyncCollection =>
  typeof x === 'string' && (SYNC_COLLECTIONS as readonly string[]).includes(x);

/** Checkpoint: the highest server sequence number the client has (0 = nothing yet). */
export interface SyncCheckpoint {
  seq: number;
}

// ---------------------------------------------------------------------------------------------- documents
// One TypeBox object per document: its TS type (`Static`) and, with rxCollectionSchema, its RxDB JSON schema.

const str = (maxLength: number) => Type.String({ maxLength });
/** epoch ms */
const ms = Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000, multipleOf: 1 });
const nullableMs = nullable(Type.Integer());
const nullableNumber = nullable(Type.Number());

const rejectionFields = Type.Object({ code: str(100), message: str(1000) });
/** Present on a master state the server returns for a refused push (never stored). */
export type SyncRejection = Static<typeof rejectionFields>;

const syncFields = {
  id: str(100),
  /** server time of the last change, epoch ms (server-managed) */
  updatedAt: ms,
  syncRejection: Type.Optional(looseObject(rejectionFields)),
};
/** A document as RxDB hands it over: `_deleted` is RxDB's own field, not in the schema. */
type SyncDoc<S extends TSchema> = Static<S> & { _deleted?: boolean };

const serviceState = stringEnum(['available', 'maintenance'], { maxLength: 20 });
export type ServiceState = Static<typeof serviceState>;

export const VehicleDocSchema = Type.Object({
  ...syncFields,
  plate: str(20),
  make: str(60),
  model: str(60),
  energyType: stringEnum(['fuel', 'electric']),
  homeZone: str(60),
  /** operator-editable: available ↔ maintenance */
  serviceState,
  /** coarse last-known state (server-managed; at most every 30 s or on a state change) */
  lat: nullableNumber,
  lon: nullableNumber,
  online: Type.Boolean(),
  energyPct: nullableNumber,
  lastSeenAt: nullableMs,
});
export type VehicleDoc = SyncDoc<typeof VehicleDocSchema>;

const alertStatus = stringEnum(['open', 'acknowledged', 'resolved'], { maxLength: 20 });
export type AlertStatus = Static<typeof alertStatus>;
export const AlertDocSchema = Type.Object({
  ...syncFields,
  vehicleId: str(100),
  kind: str(40),
  severity: stringEnum(['info', 'warning', 'critical']),
  /** operator-editable: open → acknowledged → resolved */
  status: alertStatus,
  /** operator-editable */
  assignee: nullable(str(100)),
  /** operator-editable when resolving */
  resolution: nullable(str(1000)),
  openedAt: ms,
  lastSeenAt: ms,
  occurrences: Type.Integer({ minimum: 0 }),
  acknowledgedBy: nullable(str(100)),
  acknowledgedAt: nullableMs,
  resolvedBy: nullable(str(100)),
  resolvedAt: nullableMs,
});
export type AlertDoc = SyncDoc<typeof AlertDocSchema>;

/**
 * One step of a command's lifecycle (the server's `command_transitions` row): `to` a status, when, why (`detail`:
 * the device's result, the expiry, a cancellation's reason) and, for a cancellation, by whom (the staff name).
 */
const commandTransition = Type.Object({ to: str(20), at: ms, detail: nullable(str(500)), by: nullable(str(200)) });
export type CommandTransition = Static<typeof commandTransition>;
/** At most this many transitions travel with a command (a command has 2–4; the cap bounds a stored document). */
export const MAX_COMMAND_TRANSITIONS = 20;

/**
 * Read-only in the replica: commands are requested through `requests` (and cancelled through the staff API).
 * v1: `issuedByName` (the issuing staff member's name; null for the system and customers) and `transitions`, so
 * the desk follows a command live and offline without asking the server (absent on documents pulled before v1).
 */
export const CommandDocSchema = Type.Object({
  ...syncFields,
  vehicleId: str(100),
  type: str(30),
  status: str(20),
  reason: str(500),
  issuedBy: str(100),
  issuedByName: Type.Optional(nullable(str(200))),
  createdAt: ms,
  expiresAt: ms,
  finishedAt: nullableMs,
  lastResultReason: nullable(str(500)),
  transitions: Type.Optional(Type.Array(looseObject(commandTransition), { maxItems: MAX_COMMAND_TRANSITIONS })),
});
export type CommandDoc = SyncDoc<typeof CommandDocSchema>;

export const TASK_KINDS = ['cleaning', 'refuel', 'repair', 'inspection'] as const;
const taskKind = stringEnum(TASK_KINDS);
const taskStatus = stringEnum(['open', 'assigned', 'done', 'cancelled'], { maxLength: 20 });
export type TaskKind = Static<typeof taskKind>;
export type TaskStatus = Static<typeof taskStatus>;
export const TaskDocSchema = Type.Object({
  ...syncFields,
  vehicleId: str(100),
  kind: taskKind,
  status: taskStatus,
  assignee: nullable(str(100)),
  note: str(2000),
  /** the alert this task answers, if any */
  alertId: nullable(str(100)),
  createdBy: str(100),
  createdAt: ms,
  dueAt: nullableMs,
  completedAt: nullableMs,
});
export type TaskDoc = SyncDoc<typeof TaskDocSchema>;

export const NoteDocSchema = Type.Object({
  ...syncFields,
  targetType: stringEnum(['vehicle', 'alert', 'customer', 'rental'], { maxLength: 20 }),
  targetId: str(100),
  text: str(4000),
  author: str(100),
  createdAt: ms,
});
export type NoteDoc = SyncDoc<typeof NoteDocSchema>;

/** Read-only in the replica (admins edit zones through the staff API). */
export const ZoneDocSchema = Type.Object({
  ...syncFields,
  name: str(100),
  kind: stringEnum(['operating', 'no_parking', 'service']),
  /** closed ring, [lon, lat] pairs (GeoJSON order) */
  polygon: Type.Array(Type.Array(Type.Number())),
});
export type ZoneDoc = SyncDoc<typeof ZoneDocSchema>;

/**
 * An action with external effects, written offline and executed by the server through the same domain use
 * cases as the staff API: at most once (the id is the idempotency key) and never after `expiresAt`.
 */
export const REQUEST_KINDS = [
  'vehicle_command',
  'refund',
  'end_rental',
  'block_customer',
  'unblock_customer',
  'extend_booking',
  'cancel_booking',
] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];
const requestStatus = stringEnum(['pending', 'done', 'failed', 'expired', 'rejected'], { maxLength: 20 });
export type RequestStatus = Static<typeof requestStatus>;

/** Payload of each request kind (checked by the server; a bad one ends `rejected` with `invalid_payload`). */
export interface RequestPayloads {
  vehicle_command: { vehicleId: string; type: string; reason: string; ttlSeconds: number };
  /** a full or partial refund of a rental's captured amount (never above captured − refunded) */
  refund: { rentalId: string; amountCents: number; currency: string; reason: string };
  /** end an active rental on the customer's behalf (the car is locked, the price captured); `overrideBlockers`: even outside the zone, doors open, … (audited) */
  end_rental: { rentalId: string; reason: string; overrideBlockers?: boolean };
  block_customer: { customerId: string; reason: string };
  unblock_customer: { customerId: string; reason: string };
  /** move a confirmed booking's end later; `endsAt` ISO-8601 with a zone (`Z` or `±hh:mm`); refused when the car is taken then */
  extend_booking: { bookingId: string; endsAt: string; reason: string };
  /** cancel a confirmed booking on the customer's behalf */
  cancel_booking: { bookingId: string; reason: string };
}

/**
 * The capability each kind needs (permissions.ts), checked when the request is pushed and again, against the
 * creator's account as it is then, when it runs (a creator deactivated or moved to another role is refused).
 */
export const REQUEST_CAPABILITY: { [K in RequestKind]: Capability } = {
  vehicle_command: 'vehicle.command',
  refund: 'payment.refund',
  end_rental: 'rental.end',
  block_customer: 'customer.block',
  unblock_customer: 'customer.block',
  extend_booking: 'booking.change',
  cancel_booking: 'booking.change',
};
export const canRequest = (role: string | null | undefined, kind: RequestKind): boolean => can(role, REQUEST_CAPABILITY[kind]);
/**
 * A request may be written at most this long before it must have run (`expiresAt` − now); the server refuses a
 * later `expiresAt` (allowing REQUEST_CLOCK_SKEW_MS for a desktop clock that runs ahead).
 */
export const REQUEST_MAX_LIFETIME_MS = 8 * 3_600_000;
export const REQUEST_CLOCK_SKEW_MS = 5 * 60_000;

export const RequestDocSchema = Type.Object({
  ...syncFields,
  kind: stringEnum(REQUEST_KINDS),
  /** `RequestPayloads[kind]` */
  payload: opaqueObject<Record<string, unknown>>(),
  createdBy: str(100),
  createdAt: ms,
  expiresAt: ms,
  /** server-managed */
  status: requestStatus,
  /** server-managed: e.g. { commandId } / { refundId, … } on `done`, or { code, message } */
  result: nullable(opaqueObject<Record<string, unknown>>()),
});
export type RequestDoc = SyncDoc<typeof RequestDocSchema>;

/**
 * Read-only in the replica: reservations, bookings and rentals (one server table, `allocations`; mutations go
 * through the staff API as `requests`: end_rental, refund, extend_booking, cancel_booking). Times epoch ms.
 */
const rentalKind = stringEnum(['reservation', 'booking', 'rental'], { maxLength: 20 });
const rentalStatus = stringEnum(['held', 'confirmed', 'active', 'ended', 'converted', 'cancelled', 'expired'], { maxLength: 20 });
export type RentalKind = Static<typeof rentalKind>;
export type RentalStatus = Static<typeof rentalStatus>;
/** The price breakdown stored with an ended rental (the pricing domain's PriceBreakdown, as the server sends it). */
export interface RentalPrice {
  currency: string;
  lines: Array<{ code: string; description: string; quantity: number; unit: string; unitCents: number; amountCents: number }>;
  subtotalCents: number;
  totalCents: number;
  [extra: string]: unknown;
}
export const RentalDocSchema = Type.Object({
  ...syncFields,
  kind: rentalKind,
  vehicleId: str(100),
  customerId: str(100),
  status: rentalStatus,
  /** the period the allocation holds the car: start … end (null = open-ended: an active rental with nothing booked after it) */
  startsAt: ms,
  endsAt: nullableMs,
  /** the reservation or booking a rental started from */
  sourceId: nullable(str(100)),
  startedAt: nullableMs,
  endedAt: nullableMs,
  /** an active rental must be back by then (the car's next booking) */
  returnBy: nullableMs,
  startOdometerKm: nullableNumber,
  endOdometerKm: nullableNumber,
  startLat: nullableNumber,
  startLon: nullableNumber,
  endLat: nullableNumber,
  endLon: nullableNumber,
  price: nullable(opaqueObject<RentalPrice>()),
  totalCents: nullable(Type.Integer()),
  currency: nullable(str(3)),
  paymentId: nullable(str(200)),
  unlockCommandId: nullable(str(100)),
  lockCommandId: nullable(str(100)),
  cancelReason: nullable(str(2000)),
  cancelledBy: nullable(str(100)),
  endedBy: nullable(str(100)),
  endReason: nullable(str(2000)),
  createdAt: ms,
});
export type RentalDoc = SyncDoc<typeof RentalDocSchema>;

const customerStatus = stringEnum(['active', 'blocked'], { maxLength: 20 });
const licenceStatus = stringEnum(['none', 'pending', 'verified', 'rejected', 'expired']);
export type CustomerStatus = Static<typeof customerStatus>;
export type LicenceStatus = Static<typeof licenceStatus>;
/** Read-only in the replica; support and admin only (dispatchers get no personal data). Block/unblock: `requests`. */
export const CustomerDocSchema = Type.Object({
  ...syncFields,
  email: str(320),
  name: str(200),
  phone: str(50),
  status: customerStatus,
  blockedReason: nullable(str(2000)),
  blockedAt: nullableMs,
  licenceStatus,
  licenceNumber: nullable(str(100)),
  licenceCountry: nullable(str(10)),
  /** YYYY-MM-DD */
  licenceExpiresOn: nullable(str(10)),
  createdAt: ms,
});
export type CustomerDoc = SyncDoc<typeof CustomerDocSchema>;

export interface SyncDocMap {
  vehicles: VehicleDoc;
  alerts: AlertDoc;
  commands: CommandDoc;
  tasks: TaskDoc;
  notes: NoteDoc;
  zones: ZoneDoc;
  requests: RequestDoc;
  rentals: RentalDoc;
  customers: CustomerDoc;
}

/**
 * Fields an operator may change per collection (anything else in a push must equal the master state, or the
 * push is refused); conflicts are judged on these. Empty = read-only. `create` = documents may be created.
 */
export const EDITABLE: { [C in SyncCollection]: { create: boolean; fields: ReadonlyArray<keyof SyncDocMap[C]> } } = {
  vehicles: { create: false, fields: ['serviceState'] },
  alerts: { create: false, fields: ['status', 'assignee', 'resolution'] },
  commands: { create: false, fields: [] },
  tasks: { create: true, fields: ['vehicleId', 'kind', 'status', 'assignee', 'note', 'alertId', 'dueAt'] },
  notes: { create: true, fields: [] },
  zones: { create: false, fields: [] },
  requests: { create: true, fields: [] },
  rentals: { create: false, fields: [] },
  customers: { create: false, fields: [] },
};

/**
 * The capability to read (pull/stream) and to write (push) each collection (permissions.ts; `null`: nobody
 * writes). `requests` are written by whoever may request at least one kind; each kind is checked on its own.
 */
export const SYNC_CAPABILITY: { [C in SyncCollection]: { read: Capability; write: Capability | readonly Capability[] | null } } = {
  vehicles: { read: 'fleet.read', write: 'vehicle.maintenance' },
  alerts: { read: 'alert.read', write: 'alert.work' },
  commands: { read: 'fleet.read', write: null },
  tasks: { read: 'task.read', write: 'task.work' },
  notes: { read: 'note.vehicle', write: 'note.vehicle' },
  zones: { read: 'fleet.read', write: null },
  requests: { read: 'fleet.read', write: [...new Set(Object.values(REQUEST_CAPABILITY))] },
  rentals: { read: 'fleet.read', write: null },
  customers: { read: 'customer.read', write: null },
};

const rolesOf = (caps: Capability | readonly Capability[] | null): readonly OperatorRole[] =>
  caps === null ? [] : [...new Set((typeof caps === 'string' ? [caps] : caps).flatMap((c) => rolesWith(c)))];

/** Roles allowed to read and write each collection, from SYNC_CAPABILITY; deny by default. */
export const SYNC_ACCESS: { [C in SyncCollection]: { read: readonly OperatorRole[]; write: readonly OperatorRole[] } } = Object.fromEntries(
  SYNC_COLLECTIONS.map((c) => [c, { read: rolesOf(SYNC_CAPABILITY[c].read), write: rolesOf(SYNC_CAPABILITY[c].write) }]),
) as { [C in SyncCollection]: { read: readonly OperatorRole[]; write: readonly OperatorRole[] } };

/**
 * Notes about customers are personal data: a role that may not read customer data neither receives nor writes
 * notes with `targetType: 'customer'` (the server filters its pulls and streams and refuses such pushes).
 */
export { canSeeCustomerData };

/**
 * What a role without customer data (`customer.read`) receives of each document, applied by the server to every
 * pull, stream and push answer (docs/sync-protocol.md "What each role receives"):
 * - `rentals`: no `customerId` (`''`: the field is indexed, so it stays a string), no cancel/end reasons, no
 *   `cancelledBy`/`endedBy` (a customer's id when they did it themselves);
 * - `commands` issued for a customer (`issuedBy: customer:<id>`): `issuedBy: 'customer'`, the id cut from the reason;
 * - `requests` of a kind the role may not request itself (refunds, blocks, …): not sent at all (see
 *   `requestKindsVisibleTo`); notes about customers: not sent at all.
 * Other collections and roles with customer data: the document unchanged.
 */
export function projectForRole<C extends SyncCollection>(collection: C, doc: SyncDocMap[C], role: string): SyncDocMap[C] {
  if (canSeeCustomerData(role)) return doc;
  if (collection === 'rentals') {
    const r = doc as RentalDoc;
    return { ...r, customerId: '', cancelReason: null, endReason: null, cancelledBy: null, endedBy: null } as SyncDocMap[C];
  }
  if (collection === 'commands') return commandForRole(doc as CommandDoc, role) as SyncDocMap[C];
  return doc;
}
/** Does `role` receive this document at all? (notes about customers, requests of kinds it may not make: see projectForRole) */
export function visibleToRole<C extends SyncCollection>(collection: C, doc: SyncDocMap[C], role: string): boolean {
  if (canSeeCustomerData(role)) return true;
  if (collection === 'notes') return (doc as NoteDoc).targetType !== 'customer';
  if (collection === 'requests') return requestKindsVisibleTo(role).includes((doc as RequestDoc).kind);
  return true;
}

/** The request kinds whose documents a role receives: all with customer data, else only those it may request. */
export const requestKindsVisibleTo = (role: string): readonly RequestKind[] =>
  canSeeCustomerData(role) ? REQUEST_KINDS : REQUEST_KINDS.filter((k) => canRequest(role, k));

// ---------------------------------------------------------------------------------------------- wire shapes

/** GET {prefix}/{collection}/pull?checkpoint=<seq>&limit=<n>[&floor=<seq>] → */
export interface PullResponse<D> {
  documents: D[];
  checkpoint: SyncCheckpoint;
  /**
   * (the answer to checkpoint 0) every tombstone at or below this seq is of a document deleted before that pull:
   * a client that started from nothing sends it as `floor` on its later pulls and is never sent those
   */
  floor?: number;
  /**
   * (collections with a history horizon: `HISTORY_HORIZON`) closed documents untouched for this many days are not
   * in the replica (SYNC_HISTORY_DAYS on the server): read them from the staff API
   */
  historyDays?: number;
}

/**
 * The collections whose closed documents leave the replica once untouched for SYNC_HISTORY_DAYS (a deletion on
 * every desk that held one; a later change brings it back): ended/converted/cancelled/expired allocations, done and
 * cancelled tasks. Everything open stays, however old.
 */
export const HISTORY_HORIZON = {
  rentals: { closedStatuses: ['ended', 'converted', 'cancelled', 'expired'] as readonly RentalStatus[] },
  tasks: { closedStatuses: ['done', 'cancelled'] as readonly TaskStatus[] },
} as const satisfies Partial<Record<SyncCollection, { closedStatuses: readonly string[] }>>;

export const hasHistoryHorizon = (c: SyncCollection): c is keyof typeof HISTORY_HORIZON => c in HISTORY_HORIZON;

/** POST {prefix}/{collection}/push body: RxDB's rows */
export interface PushRow<D> {
  assumedMasterState?: D | null;
  newDocumentState: D;
}
/** → the master state of every row that conflicted or was refused ([] when none) */
export type PushResponse<D> = D[];

/** GET {prefix}/{collection}/stream → text/event-stream; each `data:` line is one of these */
export type StreamMessage<D> = PullResponse<D> | 'RESYNC';

/**
 * GET {prefix}/stream?collections=a,b[&checkpoints=12,40] → ONE text/event-stream for several collections (a
 * browser has 6 HTTP/1.1 connections per origin): every event is named after its collection (`event: a`) and
 * carries a `StreamMessage` of that collection. `checkpoints`, one per collection in the same order, or none
 * (= from now). A `"RESYNC"` of one collection closes the stream (reopen it after resyncing that collection).
 */
export const MULTI_STREAM_PATH = '/stream';

export const SYNC_LIMITS = {
  maxPullLimit: 1000,
  defaultPullLimit: 200,
  maxPushRows: 500,
  maxPushBytes: 1_000_000,
} as const;

// ---------------------------------------------------------------------------------------------- RxDB schemas

/** RxDB JSON schemas of the documents above. Bump `version` and add a migration strategy (MIGRATIONS) on change. */
export const RX_SCHEMAS: { [C in SyncCollection]: RxCollectionSchema } = {
  vehicles: rxCollectionSchema(VehicleDocSchema, { version: 0, indexes: ['plate', 'serviceState'] }),
  alerts: rxCollectionSchema(AlertDocSchema, { version: 0, indexes: ['status', 'vehicleId'] }),
  commands: rxCollectionSchema(CommandDocSchema, { version: 1, indexes: ['vehicleId', 'status'] }),
  tasks: rxCollectionSchema(TaskDocSchema, { version: 0, indexes: ['status', 'vehicleId'] }),
  notes: rxCollectionSchema(NoteDocSchema, { version: 0, indexes: [['targetType', 'targetId']] }),
  zones: rxCollectionSchema(ZoneDocSchema, { version: 0 }),
  // v1: refund, end_rental, block/unblock_customer; v2: extend_booking, cancel_booking (identity migrations)
  requests: rxCollectionSchema(RequestDocSchema, { version: 2, indexes: ['status'] }),
  rentals: rxCollectionSchema(RentalDocSchema, { version: 0, indexes: ['vehicleId', 'customerId', 'status'] }),
  customers: rxCollectionSchema(CustomerDocSchema, { version: 0, indexes: ['status', 'name'] }),
};
