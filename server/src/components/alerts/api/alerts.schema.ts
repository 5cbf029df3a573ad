/** HTTP schemas of the alert routes; the compile-time check below keeps AlertSchema equal to the domain type. */
import { Type, type Static } from '@fastify/type-provider-typebox';
import { ALERT_KINDS, ALERT_SEVERITIES, ALERT_STATUSES, type Alert } from '../model.js';

/** A string enum (typed as the union of its values). */
const oneOf = <T extends string>(values: readonly T[]) => Type.Unsafe<T>({ type: 'string', enum: [...values] });
const EpochMs = Type.Integer({ description: 'epoch ms, server clock' });
const Nullable = <T extends ReturnType<typeof Type.String> | typeof EpochMs>(t: T) => Type.Union([t, Type.Null()]);

export const AlertKindSchema = oneOf(ALERT_KINDS);
export const AlertStatusSchema = oneOf(ALERT_STATUSES);

export const AlertSchema = Type.Object({
  id: Type.String({ description: 'uuid' }),
  vehicleId: Type.String(),
  kind: AlertKindSchema,
  severity: oneOf(ALERT_SEVERITIES),
  status: AlertStatusSchema,
  details: Type.Record(Type.String(), Type.Unknown()),
  occurrences: Type.Integer({ minimum: 1, description: 'how many times the condition started while the alert was open' }),
  firstSeenAt: EpochMs,
  lastSeenAt: EpochMs,
  assignee: Nullable(Type.String()),
  acknowledgedBy: Nullable(Type.String()),
  acknowledgedAt: Nullable(EpochMs),
  resolvedBy: Nullable(Type.String({ description: '`system` when resolved automatically' })),
  resolvedAt: Nullable(EpochMs),
  resolution: Nullable(Type.String({ description: '`auto: <reason>` or the staff note' })),
  serverSeq: Type.Integer({ description: 'replication checkpoint of the last change' }),
  updatedAt: EpochMs,
});

const VEHICLE_ID = '^[A-Za-z0-9_.-]{1,64}$';
const UUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

export const AlertListQuery = Type.Object(
  {
    status: Type.Optional(AlertStatusSchema),
    vehicleId: Type.Optional(Type.String({ pattern: VEHICLE_ID })),
    kind: Type.Optional(AlertKindSchema),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  },
  { additionalProperties: false },
);
export const AlertIdParams = Type.Object({ id: Type.String({ pattern: UUID }) });
export const AssignBody = Type.Object(
  { assignee: Type.Union([Type.String({ minLength: 1, maxLength: 100 }), Type.Null()], { description: 'staff id, or null to unassign' }) },
  { additionalProperties: false },
);
export const ResolveBody = Type.Object({ note: Type.String({ minLength: 1, maxLength: 1000 }) }, { additionalProperties: false });

export const AlertListResponse = Type.Object({ alerts: Type.Array(AlertSchema) });

// Both directions: the schema neither drops nor invents a field of the domain type.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameAlert: Same<Static<typeof AlertSchema>, Alert> = true;
void sameAlert;
