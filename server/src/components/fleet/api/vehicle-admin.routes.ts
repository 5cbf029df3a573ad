/**
 * Staff routes of the registry's administration (`vehicle.manage`: admins): register one vehicle, change or retire
 * one, import a CSV file of them. A refused input answers 422 `invalid_vehicles` with `errors: [{ line, field,
 * message }]` (line = the file's line number, header = 1; a single vehicle's fields are line 1).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AppError } from '../../../../../src/shared/errors.js';
import { MAX_IMPORT_BYTES } from '../../../../../src/shared/vehicle-registry.js';
import { requestActorWith } from '../../../platform/http/actor.js';
import { problem, sendProblem } from '../../../platform/http/problem.js';
import { staffCan } from '../../../platform/http/route-config.js';
import { InvalidVehiclesError, type VehicleAdmin } from '../domain/vehicle-admin.js';

const energyType = Type.Union([Type.Literal('fuel'), Type.Literal('electric')]);
const text = (maxLength: number) => Type.String({ maxLength });

export const RegisteredVehicleSchema = Type.Object({
  id: Type.String(),
  plate: Type.String(),
  vin: Type.Union([Type.String(), Type.Null()]),
  make: Type.String(),
  model: Type.String(),
  energyType,
  homeZone: Type.String(),
  retiredAt: Type.Union([Type.Integer(), Type.Null()], { description: 'epoch ms; null while in the fleet' }),
  createdAt: Type.Integer(),
});

const NewVehicle = Type.Object(
  {
    plate: text(40),
    vin: text(40),
    make: text(200),
    model: text(200),
    energyType: Type.String({ maxLength: 40, description: 'fuel or electric' }),
    homeZone: Type.Optional(text(100)),
  },
  { additionalProperties: false },
);

const VehiclePatch = Type.Object(
  {
    plate: Type.Optional(text(40)),
    vin: Type.Optional(text(40)),
    make: Type.Optional(text(200)),
    model: Type.Optional(text(200)),
    energyType: Type.Optional(Type.String({ maxLength: 40, description: 'fuel or electric' })),
    homeZone: Type.Optional(text(100)),
    retired: Type.Optional(Type.Boolean({ description: 'true retires the vehicle (a reason is required), false reinstates it' })),
    reason: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false, minProperties: 1 },
);

const RowErrorSchema = Type.Object({ line: Type.Integer(), field: Type.String(), message: Type.String() });
const InvalidVehiclesProblem = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  code: Type.String(),
  detail: Type.Optional(Type.String()),
  instance: Type.Optional(Type.String()),
  errors: Type.Array(RowErrorSchema),
});

export function vehicleAdminRoutes(admin: VehicleAdmin): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: MAX_IMPORT_BYTES }, (_req, body, done) => done(null, body));
    app.setErrorHandler((err, request, reply) => {
      if (err instanceof InvalidVehiclesError)
        return sendProblem(reply, { ...problem(422, err.code, err.message, request.url), errors: err.errors } as ReturnType<
          typeof problem
        >);
      throw err;
    });

    app.get(
      '/vehicle-registry',
      {
        config: { auth: staffCan('vehicle.manage') },
        schema: {
          summary: 'The registry with VINs (retired vehicles too with includeRetired=true)',
          querystring: Type.Object({ includeRetired: Type.Optional(Type.Boolean()) }),
          response: { 200: Type.Object({ vehicles: Type.Array(RegisteredVehicleSchema) }) },
        },
      },
      async (request) => ({ vehicles: await admin.list(request.query.includeRetired ?? false) }),
    );

    app.post(
      '/vehicles',
      {
        config: { auth: staffCan('vehicle.manage') },
        schema: {
          summary: 'Register a vehicle',
          body: NewVehicle,
          response: { 201: RegisteredVehicleSchema, 422: InvalidVehiclesProblem },
        },
      },
      async (request, reply) => {
        const actor = requestActorWith(request, 'vehicle.manage');
        const created = await admin.register(request.body, actor);
        return reply.code(201).send(created);
      },
    );

    app.patch(
      '/vehicles/:id',
      {
        config: { auth: staffCan('vehicle.manage') },
        schema: {
          summary: 'Change a vehicle, retire it (it leaves the active fleet; its history stays) or reinstate it',
          params: Type.Object({ id: Type.String({ maxLength: 100 }) }),
          body: VehiclePatch,
          response: { 200: RegisteredVehicleSchema, 422: InvalidVehiclesProblem },
        },
      },
      async (request) => admin.update(request.params.id, request.body, requestActorWith(request, 'vehicle.manage')),
    );

    app.post(
      '/vehicles/import',
      {
        config: { auth: staffCan('vehicle.manage') },
        schema: {
          summary: 'Import vehicles from a CSV file (text/csv; header plate,vin,make,model,energyType[,homeZone]); all or nothing',
          querystring: Type.Object({ dryRun: Type.Optional(Type.Boolean({ description: 'only check the file' })) }),
          response: {
            200: Type.Object({ dryRun: Type.Literal(true), count: Type.Integer() }),
            201: Type.Object({ count: Type.Integer(), vehicles: Type.Array(RegisteredVehicleSchema) }),
            422: InvalidVehiclesProblem,
          },
        },
      },
      async (request, reply) => {
        const actor = requestActorWith(request, 'vehicle.manage');
        if (typeof request.body !== 'string') throw new AppError('unsupported_media_type', 'send the file as text/csv', { status: 415 });
        const dryRun = request.query.dryRun ?? false;
        const result = await admin.importCsv(request.body, actor, dryRun);
        return dryRun ? reply.code(200).send({ dryRun: true, count: result.count }) : reply.code(201).send(result);
      },
    );
  };
}
