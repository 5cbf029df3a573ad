/**
 * Sync protocol v1: the desktop's offline replica (RxDB in the renderer) ⇄ the server's `sync` component.
 * RxDB's replication protocol over HTTP + Server-Sent Events. Declared once here: collection names, the
 * document types with their RxDB JSON schemas, which fields an operator may change, and the wire shapes.
 * Prose: docs/sync-protocol.md.
 *
 * - Checkpoints are server sequence numbers (`replication_seq`, taken inside the writing transaction), never
 *   timestamps: a client can never skip a row that committed late.
 * - Deleted documents travel as tombstones (`_deleted: true`), kept on the server for `SYNC_TOMBSTONE_DAYS`.
 * - Conflicts are detected on business fields only (`BUSINESS_FIELDS`); server-managed fields (`updatedAt`,
 *   telemetry-derived position, …) never cause a conflict.
 * - A push the server refuses (schema, role, domain rule) is answered like a conflict: the current master state,
 *   with `syncRejection` set (not stored) so the desktop can tell the operator why. (RxDB reserves top-level
 *   fields starting with `_` other than its own, hence the name.)
 */

export const SYNC_PROTOCOL_VERSION = 1;
export const SYNC_PATH_PREFIX = '/sync/v1';

export const SYNC_COLLECTIONS = ['vehicles', 'alerts', 'commands', 'tasks', 'notes', 'zones', 'requests', 'rentals', 'customers'] as const;
export type SyncCollection = (typeof SYNC_COLLECTIONS)[number];
export const isSyncCollection = (x: unknown): x is SyncCollection => typeof x === 'string' && (SYNC_COLLECTIONS as readonly string[]).includes(x);

/** Checkpoint: the highest server sequence number the client has (0 = nothing yet). */
export interface SyncCheckpoint {
  seq: number;
}

/** Present on a master state the server returns for a refused push (never stored). */
export interface SyncRejection {
  code: string;
  message: string;
}

interface SyncFields {
  id: string;
  /** server time of the last change, epoch ms (server-managed) */
  updatedAt: number;
  _deleted?: boolean;
  syncRejection?: SyncRejection;
}

export type ServiceState = 'available' | 'maintenance';

export interface VehicleDoc extends SyncFields {
  plate: string;
  make: string;
  model: string;
  energyType: 'fuel' | 'electric';
  homeZone: string;
  /** operator-editable: available ↔ maintenance */
  serviceState: ServiceState;
  /** coarse last-known state (server-managed; at most every 30 s or on a state change) */
  lat: number | null;
  lon: number | null;
  online: boolean;
  energyPct: number | null;
  lastSeenAt: number | null;
}

export type AlertStatus = 'open' | 'acknowledged' | 'resolved';
export interface AlertDoc extends SyncFields {
  vehicleId: string;
  kind: string;
  severity: 'info' | 'warning' | 'critical';
  /** operator-editable: open → acknowledged → resolved */
  status: AlertStatus;
  /** operator-editable */
  assignee: string | null;
  /** operator-editable when resolving */
  resolution: string | null;
  openedAt: number;
  lastSeenAt: number;
  occurrences: number;
  acknowledgedBy: string | null;
  acknowledgedAt: number | null;
  resolvedBy: string | null;
  resolvedAt: number | null;
}

/** Read-only in the replica: commands are requested through `requests`. */
export interface CommandDoc extends SyncFields {
  vehicleId: string;
  type: string;
  status: string;
  reason: string;
  issuedBy: string;
  createdAt: number;
  expiresAt: number;
  finishedAt: number | null;
  lastResultReason: string | null;
}

export type TaskKind = 'cleaning' | 'refuel' | 'repair' | 'inspection';
export type TaskStatus = 'open' | 'assigned' | 'done' | 'cancelled';
export interface TaskDoc extends SyncFields {
  vehicleId: string;
  kind: TaskKind;
  status: TaskStatus;
  assignee: string | null;
  note: string;
  /** the alert this task answers, if any */
  alertId: string | null;
  createdBy: string;
  createdAt: number;
  dueAt: number | null;
  completedAt: number | null;
}

export interface NoteDoc extends SyncFields {
  targetType: 'vehicle' | 'alert' | 'customer' | 'rental';
  targetId: string;
  text: string;
  author: string;
  createdAt: number;
}

/** Read-only in the replica (admins edit zones through the staff API). */
export interface ZoneDoc extends SyncFields {
  name: string;
  kind: 'operating' | 'no_parking' | 'service';
  /** closed ring, [lon, lat] pairs (GeoJSON order) */
  polygon: number[][];
}

/**
 * An action with external effects, written offline and executed by the server through the same domain use
 * cases as the staff API: at most once (the id is the idempotency key) and never after `expiresAt`.
 */
export const REQUEST_KINDS = ['vehicle_command', 'refund', 'end_rental', 'block_customer', 'unblock_customer', 'extend_booking', 'cancel_booking'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];
export type RequestStatus = 'pending' | 'done' | 'failed' | 'expired' | 'rejected';

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

/** Who may submit each kind (the server also runs the staff API's own permission checks). */
export const REQUEST_ROLES: { [K in RequestKind]: readonly SyncRole[] } = {
  vehicle_command: ['dispatcher', 'support', 'admin'],
  refund: ['support', 'admin'],
  end_rental: ['support', 'admin'],
  block_customer: ['support', 'admin'],
  unblock_customer: ['support', 'admin'],
  extend_booking: ['support', 'admin'],
  cancel_booking: ['support', 'admin'],
};

export interface RequestDoc extends SyncFields {
  kind: RequestKind;
  /** `RequestPayloads[kind]` */
  payload: Record<string, unknown>;
  createdBy: string;
  createdAt: number;
  expiresAt: number;
  /** server-managed */
  status: RequestStatus;
  /** server-managed: e.g. { commandId } / { refundId, … } on `done`, or { code, message } */
  result: Record<string, unknown> | null;
}

/**
 * Read-only in the replica: reservations, bookings and rentals (one server table, `allocations`; mutations go
 * through the staff API as `requests`: end_rental, refund, extend_booking, cancel_booking). Times epoch ms.
 */
export type RentalKind = 'reservation' | 'booking' | 'rental';
export type RentalStatus = 'held' | 'confirmed' | 'active' | 'ended' | 'converted' | 'cancelled' | 'expired';
/** The price breakdown stored with an ended rental (the pricing domain's PriceBreakdown, as the server sends it). */
export interface RentalPrice {
  currency: string;
  lines: Array<{ code: string; description: string; quantity: number; unit: string; unitCents: number; amountCents: number }>;
  subtotalCents: number;
  totalCents: number;
  [extra: string]: unknown;
}
export interface RentalDoc extends SyncFields {
  kind: RentalKind;
  vehicleId: string;
  customerId: string;
  status: RentalStatus;
  /** the period the allocation holds the car: start … end (null = open-ended: an active rental with nothing booked after it) */
  startsAt: number;
  endsAt: number | null;
  /** the reservation or booking a rental started from */
  sourceId: string | null;
  startedAt: number | null;
  endedAt: number | null;
  /** an active rental must be back by then (the car's next booking) */
  returnBy: number | null;
  startOdometerKm: number | null;
  endOdometerKm: number | null;
  startLat: number | null;
  startLon: number | null;
  endLat: number | null;
  endLon: number | null;
  price: RentalPrice | null;
  totalCents: number | null;
  currency: string | null;
  paymentId: string | null;
  unlockCommandId: string | null;
  lockCommandId: string | null;
  cancelReason: string | null;
  cancelledBy: string | null;
  endedBy: string | null;
  endReason: string | null;
  createdAt: number;
}

export type CustomerStatus = 'active' | 'blocked';
export type LicenceStatus = 'none' | 'pending' | 'verified' | 'rejected' | 'expired';
/** Read-only in the replica; support and admin only (dispatchers get no personal data). Block/unblock: `requests`. */
export interface CustomerDoc extends SyncFields {
  email: string;
  name: string;
  phone: string;
  status: CustomerStatus;
  blockedReason: string | null;
  blockedAt: number | null;
  licenceStatus: LicenceStatus;
  licenceNumber: string | null;
  licenceCountry: string | null;
  /** YYYY-MM-DD */
  licenceExpiresOn: string | null;
  createdAt: number;
}

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

/** Roles allowed to read (pull/stream) and write (push) each collection; deny by default. */
export type SyncRole = 'dispatcher' | 'support' | 'admin';
export const SYNC_ACCESS: { [C in SyncCollection]: { read: readonly SyncRole[]; write: readonly SyncRole[] } } = {
  vehicles: { read: ['dispatcher', 'support', 'admin'], write: ['dispatcher', 'admin'] },
  alerts: { read: ['dispatcher', 'support', 'admin'], write: ['dispatcher', 'admin'] },
  commands: { read: ['dispatcher', 'support', 'admin'], write: [] },
  tasks: { read: ['dispatcher', 'support', 'admin'], write: ['dispatcher', 'admin'] },
  notes: { read: ['dispatcher', 'support', 'admin'], write: ['dispatcher', 'support', 'admin'] },
  zones: { read: ['dispatcher', 'support', 'admin'], write: [] },
  requests: { read: ['dispatcher', 'support', 'admin'], write: ['dispatcher', 'support', 'admin'] },
  rentals: { read: ['dispatcher', 'support', 'admin'], write: [] },
  customers: { read: ['support', 'admin'], write: [] },
};

/**
 * Notes about customers are personal data: a role that may not read `customers` neither receives nor writes
 * notes with `targetType: 'customer'` (the server filters its pulls and streams and refuses such pushes).
 */
export const canSeeCustomerData = (role: SyncRole): boolean => SYNC_ACCESS.customers.read.includes(role);

// ---------------------------------------------------------------------------------------------- wire shapes

/** GET {prefix}/{collection}/pull?checkpoint=<seq>&limit=<n> → */
export interface PullResponse<D> {
  documents: D[];
  checkpoint: SyncCheckpoint;
}

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

const id = { type: 'string', maxLength: 100 } as const;
const ms = { type: 'integer', minimum: 0, maximum: 8_640_000_000_000_000, multipleOf: 1 } as const;
const nullableMs = { type: ['integer', 'null'] } as const;
const str = (maxLength: number) => ({ type: 'string', maxLength }) as const;
const nullableStr = (maxLength: number) => ({ type: ['string', 'null'], maxLength }) as const;
const rejection = { type: 'object', properties: { code: str(100), message: str(1000) } } as const;
const base = { id, updatedAt: ms, syncRejection: rejection } as const;

/** RxDB JSON schemas (version 0 of each collection). Bump `version` and add a migration strategy on change. */
export const RX_SCHEMAS = {
  vehicles: {
    version: 0,
    primaryKey: 'id',
    type: 'object',
    properties: {
      ...base,
      plate: str(20),
      make: str(60),
      model: str(60),
      energyType: { type: 'string', enum: ['fuel', 'electric'] },
      homeZone: str(60),
      serviceState: { type: 'string', enum: ['available', 'maintenance'], maxLength: 20 },
      lat: { type: ['number', 'null'] },
      lon: { type: ['number', 'null'] },
      online: { type: 'boolean' },
      energyPct: { type: ['number', 'null'] },
      lastSeenAt: nullableMs,
    },
    required: ['id', 'updatedAt', 'plate', 'make', 'model', 'energyType', 'homeZone', 'serviceState', 'online'],
    indexes: ['plate', 'serviceState'],
  },
  alerts: {
    version: 0,
    primaryKey: 'id',
    type: 'object',
    properties: {
      ...base,
      vehicleId: str(100),
      kind: str(40),
      severity: { type: 'string', enum: ['info', 'warning', 'critical'] },
      status: { type: 'string', enum: ['open', 'acknowledged', 'resolved'], maxLength: 20 },
      assignee: nullableStr(100),
      resolution: nullableStr(1000),
      openedAt: ms,
      lastSeenAt: ms,
      occurrences: { type: 'integer', minimum: 0 },
      acknowledgedBy: nullableStr(100),
      acknowledgedAt: nullableMs,
      resolvedBy: nullableStr(100),
      resolvedAt: nullableMs,
    },
    required: ['id', 'updatedAt', 'vehicleId', 'kind', 'severity', 'status', 'openedAt', 'lastSeenAt', 'occurrences'],
    indexes: ['status', 'vehicleId'],
  },
  commands: {
    version: 0,
    primaryKey: 'id',
    type: 'object',
    properties: {
      ...base,
      vehicleId: str(100),
      type: str(30),
      status: str(20),
      reason: str(500),
      issuedBy: str(100),
      createdAt: ms,
      expiresAt: ms,
      finishedAt: nullableMs,
      lastResultReason: nullableStr(500),
    },
    required: ['id', 'updatedAt', 'vehicleId', 'type', 'status', 'reason', 'issuedBy', 'createdAt', 'expiresAt'],
    indexes: ['vehicleId'],
  },
  tasks: {
    version: 0,
    primaryKey: 'id',
    type: 'object',
    properties: {
      ...base,
      vehicleId: str(100),
      kind: { type: 'string', enum: ['cleaning', 'refuel', 'repair', 'inspection'] },
      status: { type: 'string', enum: ['open', 'assigned', 'done', 'cancelled'], maxLength: 20 },
      assignee: nullableStr(100),
      note: str(2000),
      alertId: nullableStr(100),
      createdBy: str(100),
      createdAt: ms,
      dueAt: nullableMs,
      completedAt: nullableMs,
    },
    required: ['id', 'updatedAt', 'vehicleId', 'kind', 'status', 'note', 'createdBy', 'createdAt'],
    indexes: ['status', 'vehicleId'],
  },
  notes: {
    version: 0,
    primaryKey: 'id',
    type: 'object',
    properties: {
      ...base,
      targetType: { type: 'string', enum: ['vehicle', 'alert', 'customer', 'rental'], maxLength: 20 },
      targetId: str(100),
      text: str(4000),
      author: str(100),
      createdAt: ms,
    },
    required: ['id', 'updatedAt', 'targetType', 'targetId', 'text', 'author', 'createdAt'],
    indexes: [['targetType', 'targetId']],
  },
  zones: {
    version: 0,
    primaryKey: 'id',
    type: 'object',
    properties: {
      ...base,
      name: str(100),
      kind: { type: 'string', enum: ['operating', 'no_parking', 'service'] },
      polygon: { type: 'array', items: { type: 'array', items: { type: 'number' } } },
    },
    required: ['id', 'updatedAt', 'name', 'kind', 'polygon'],
  },
  requests: {
    // v1: refund, end_rental, block/unblock_customer; v2: extend_booking, cancel_booking (identity migrations)
    version: 2,
    primaryKey: 'id',
    type: 'object',
    properties: {
      ...base,
      kind: { type: 'string', enum: [...REQUEST_KINDS] },
      payload: { type: 'object' },
      createdBy: str(100),
      createdAt: ms,
      expiresAt: ms,
      status: { type: 'string', enum: ['pending', 'done', 'failed', 'expired', 'rejected'], maxLength: 20 },
      result: { type: ['object', 'null'] },
    },
    required: ['id', 'updatedAt', 'kind', 'payload', 'createdBy', 'createdAt', 'expiresAt', 'status'],
    indexes: ['status'],
  },
  rentals: {
    version: 0,
    primaryKey: 'id',
    type: 'object',
    properties: {
      ...base,
      kind: { type: 'string', enum: ['reservation', 'booking', 'rental'], maxLength: 20 },
      vehicleId: str(100),
      customerId: str(100),
      status: { type: 'string', enum: ['held', 'confirmed', 'active', 'ended', 'converted', 'cancelled', 'expired'], maxLength: 20 },
      startsAt: ms,
      endsAt: nullableMs,
      sourceId: nullableStr(100),
      startedAt: nullableMs,
      endedAt: nullableMs,
      returnBy: nullableMs,
      startOdometerKm: { type: ['number', 'null'] },
      endOdometerKm: { type: ['number', 'null'] },
      startLat: { type: ['number', 'null'] },
      startLon: { type: ['number', 'null'] },
      endLat: { type: ['number', 'null'] },
      endLon: { type: ['number', 'null'] },
      price: { type: ['object', 'null'] },
      totalCents: { type: ['integer', 'null'] },
      currency: nullableStr(3),
      paymentId: nullableStr(200),
      unlockCommandId: nullableStr(100),
      lockCommandId: nullableStr(100),
      cancelReason: nullableStr(2000),
      cancelledBy: nullableStr(100),
      endedBy: nullableStr(100),
      endReason: nullableStr(2000),
      createdAt: ms,
    },
    required: ['id', 'updatedAt', 'kind', 'vehicleId', 'customerId', 'status', 'startsAt', 'createdAt'],
    indexes: ['vehicleId', 'customerId', 'status'],
  },
  customers: {
    version: 0,
    primaryKey: 'id',
    type: 'object',
    properties: {
      ...base,
      email: str(320),
      name: str(200),
      phone: str(50),
      status: { type: 'string', enum: ['active', 'blocked'], maxLength: 20 },
      blockedReason: nullableStr(2000),
      blockedAt: nullableMs,
      licenceStatus: { type: 'string', enum: ['none', 'pending', 'verified', 'rejected', 'expired'] },
      licenceNumber: nullableStr(100),
      licenceCountry: nullableStr(10),
      licenceExpiresOn: nullableStr(10),
      createdAt: ms,
    },
    required: ['id', 'updatedAt', 'email', 'name', 'phone', 'status', 'licenceStatus', 'createdAt'],
    indexes: ['status', 'name'],
  },
} as const satisfies { [C in SyncCollection]: { version: number; primaryKey: string; type: 'object'; properties: object; required: readonly string[]; indexes?: ReadonlyArray<string | readonly string[]> } };
