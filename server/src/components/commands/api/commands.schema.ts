/** HTTP schemas of the command routes (TypeBox: validation, static types and the OpenAPI document). */
import { Type } from '@fastify/type-provider-typebox';
import { COMMAND_ID_PATTERN, COMMAND_TYPES, VEHICLE_ID_PATTERN } from '../../../../../src/shared/device-protocol.js';
import { COMMAND_STATUSES } from '../model.js';
import { MAX_PARAMS, MAX_REASON_LENGTH, MAX_TTL_SECONDS, MIN_TTL_SECONDS } from '../domain/command-service.js';

const CommandTypeSchema = Type.Enum(COMMAND_TYPES);
const CommandStatusSchema = Type.Enum(COMMAND_STATUSES);
const EpochMs = Type.Integer({ description: 'epoch ms' });
const NullableEpochMs = Type.Union([EpochMs, Type.Null()]);
/** the same value rules as DeviceCommandSchema.params: what is accepted here can always be sent */
const ParamsSchema = Type.Record(
  Type.String({ minLength: 1, maxLength: 64 }),
  Type.Union([Type.String({ maxLength: 200 }), Type.Number(), Type.Boolean()]),
  {
    maxProperties: MAX_PARAMS,
  },
);
const Reason = Type.String({ minLength: 1, maxLength: MAX_REASON_LENGTH, pattern: '\\S' });

export const VehicleParams = Type.Object({ vehicleId: Type.String({ pattern: VEHICLE_ID_PATTERN }) });
export const CommandParamsSchema = Type.Object({ commandId: Type.String({ pattern: COMMAND_ID_PATTERN }) });

export const IssueCommandBody = Type.Object(
  {
    type: CommandTypeSchema,
    reason: Reason,
    ttlSeconds: Type.Integer({ minimum: MIN_TTL_SECONDS, maximum: MAX_TTL_SECONDS }),
    params: Type.Optional(ParamsSchema),
    commandId: Type.Optional(
      Type.String({
        pattern: COMMAND_ID_PATTERN,
        description: 'client-chosen id: retries with the same id and body return the same command',
      }),
    ),
  },
  { additionalProperties: false },
);

export const IssueCommandResponse = Type.Object({ commandId: Type.String(), status: CommandStatusSchema, expiresAt: EpochMs });

export const CancelCommandBody = Type.Object({ reason: Reason }, { additionalProperties: false });

const commandFields = {
  commandId: Type.String(),
  vehicleId: Type.String(),
  type: CommandTypeSchema,
  params: ParamsSchema,
  status: CommandStatusSchema,
  reason: Type.String(),
  issuedBy: Type.String(),
  issuedByRole: Type.String(),
  ttlSeconds: Type.Integer(),
  createdAt: EpochMs,
  expiresAt: EpochMs,
  sentAt: NullableEpochMs,
  receivedAt: NullableEpochMs,
  finishedAt: NullableEpochMs,
  lastResultReason: Type.Union([Type.String(), Type.Null()]),
  resultData: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  sendAttempts: Type.Integer(),
};
export const CommandSchema = Type.Object(commandFields);

export const TransitionSchema = Type.Object({
  from: Type.Union([CommandStatusSchema, Type.Null()]),
  to: CommandStatusSchema,
  at: EpochMs,
  detail: Type.Union([Type.String(), Type.Null()]),
});

export const CommandWithTransitionsSchema = Type.Object({ ...commandFields, transitions: Type.Array(TransitionSchema) });
export const CommandListResponse = Type.Object({ commands: Type.Array(CommandSchema) });
export const ListQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, description: 'default 50' })) },
  { additionalProperties: false },
);
