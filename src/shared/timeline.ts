/**
 * The evidence timeline of one vehicle (`GET /ops/v1/vehicles/{id}/timeline`) and the integrations' health
 * (`GET /ops/v1/health/integrations`): the wire shapes, declared once for the server's route schemas and the desk.
 */
import { Type, type Static } from '@sinclair/typebox';
import { nullable, stringEnum } from './rx-collection-schema.js';

/**
 * What an entry is about. Telemetry milestones: `connectivity` (offline / back online), `trip` (ignition on → off),
 * `energy` (low fuel/battery and recovered), `zone` (left / back in the operating zone); then `device_event`,
 * `command` (each transition), `rental` (reservations, bookings, rentals), `alert`, `task`, `note`, `payment`
 * (hold, capture, void, refund) and `staff` (other audited staff actions on the car).
 */
export const TIMELINE_KINDS = [
  'connectivity',
  'trip',
  'energy',
  'zone',
  'device_event',
  'command',
  'rental',
  'alert',
  'task',
  'note',
  'payment',
  'staff',
] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];
export const isTimelineKind = (x: string): x is TimelineKind => (TIMELINE_KINDS as readonly string[]).includes(x);

export const TIMELINE_ACTOR_TYPES = ['device', 'customer', 'staff', 'system'] as const;
export type TimelineActorType = (typeof TIMELINE_ACTOR_TYPES)[number];

export const TimelineActorSchema = Type.Object({
  type: stringEnum(TIMELINE_ACTOR_TYPES),
  /** staff id or vehicle id; a customer's id only for roles that may see customer data */
  id: nullable(Type.String()),
  /** staff member's or customer's name (customers: support/admin only) */
  name: nullable(Type.String()),
});
export type TimelineActor = Static<typeof TimelineActorSchema>;

/** What the entry names; the desk links each to its view. `customerId` only for support/admin. */
export const TimelineRefsSchema = Type.Object({
  commandId: Type.Optional(Type.String()),
  alertId: Type.Optional(Type.String()),
  rentalId: Type.Optional(Type.String()),
  bookingId: Type.Optional(Type.String()),
  reservationId: Type.Optional(Type.String()),
  taskId: Type.Optional(Type.String()),
  noteId: Type.Optional(Type.String()),
  paymentId: Type.Optional(Type.String()),
  customerId: Type.Optional(Type.String()),
});
export type TimelineRefs = Static<typeof TimelineRefsSchema>;

export const TimelineEntrySchema = Type.Object({
  /** stable over reads: `<source>:<key>` */
  id: Type.String(),
  /** epoch ms, server clock */
  at: Type.Integer(),
  kind: stringEnum(TIMELINE_KINDS),
  /** what happened, one line */
  title: Type.String(),
  /** why: a reason, a blocker, a result reason, the numbers */
  detail: nullable(Type.String()),
  actor: TimelineActorSchema,
  refs: TimelineRefsSchema,
});
export type TimelineEntry = Static<typeof TimelineEntrySchema>;

export const TimelinePageSchema = Type.Object({
  vehicleId: Type.String(),
  /** newest first */
  entries: Type.Array(TimelineEntrySchema),
  /** pass as `before` for the next (older) page; null at the end */
  nextCursor: nullable(Type.String()),
});
export type TimelinePage = Static<typeof TimelinePageSchema>;

export const INTEGRATION_NAMES = ['broker', 'database', 'payment_provider', 'licence_provider', 'availability_index'] as const;
export type IntegrationName = (typeof INTEGRATION_NAMES)[number];
export const INTEGRATION_STATES = ['up', 'degraded', 'down'] as const;
export type IntegrationState = (typeof INTEGRATION_STATES)[number];

export const IntegrationHealthSchema = Type.Object({
  name: stringEnum(INTEGRATION_NAMES),
  state: stringEnum(INTEGRATION_STATES),
  /** epoch ms: since when it is in this state, as this server instance saw it */
  since: Type.Integer(),
  lastError: nullable(Type.String()),
  detail: nullable(Type.String()),
});
export type IntegrationHealth = Static<typeof IntegrationHealthSchema>;

/** One state change of an integration, kept by the server instance (newest first in the answer). */
export const IntegrationChangeSchema = Type.Object({
  name: stringEnum(INTEGRATION_NAMES),
  from: Type.Union([stringEnum(INTEGRATION_STATES), Type.Null()]),
  to: stringEnum(INTEGRATION_STATES),
  at: Type.Integer(),
  error: nullable(Type.String()),
});
export type IntegrationChange = Static<typeof IntegrationChangeSchema>;

export const IntegrationsHealthSchema = Type.Object({
  /** epoch ms of this answer */
  checkedAt: Type.Integer(),
  integrations: Type.Array(IntegrationHealthSchema),
  /** the integration log: state changes, newest first (bounded) */
  changes: Type.Array(IntegrationChangeSchema),
});
export type IntegrationsHealth = Static<typeof IntegrationsHealthSchema>;
