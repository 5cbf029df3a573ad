/**
 * Staff routes for provisioning many devices at once (`device.credentials`: admins): the devices' credential
 * status, issuing credentials for a list of vehicles in one step (the secrets are in this one response — JSON, or
 * the installer's CSV file with `?format=csv` — and nowhere else: `Cache-Control: no-store`, hashes only in the
 * database), and revoking with a reason (the device's open session ends).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AppError } from '../../../../../src/shared/errors.js';
import { comparePlates, installerCsv, MAX_IMPORT_ROWS, type InstallerCredential } from '../../../../../src/shared/vehicle-registry.js';
import { requestActorWith } from '../../../platform/http/actor.js';
import { staffCan } from '../../../platform/http/route-config.js';
import type { CredentialProvisioning } from '../domain/provisioning.js';

/** What the routes need to know of the registry (the fleet component, through the composition root). */
export interface DeviceVehiclesPort {
  registeredVehicles(ids: readonly string[]): Promise<Array<{ id: string; plate: string; retiredAt: number | null }>>;
}

const VehicleIds = Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: MAX_IMPORT_ROWS, uniqueItems: true });

const InstallerCredentialSchema = Type.Object({
  vehicleId: Type.String(),
  plate: Type.String(),
  username: Type.String(),
  password: Type.String({ description: 'shown once' }),
  brokerUrl: Type.String(),
  rotated: Type.Boolean({ description: 'the device had credentials; the previous secret no longer works' }),
});

const DeviceStatusSchema = Type.Object({
  vehicleId: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('revoked')]),
  issuedAt: Type.Integer(),
  rotatedAt: Type.Union([Type.Integer(), Type.Null()]),
  revokedAt: Type.Union([Type.Integer(), Type.Null()]),
});

export function devicesAdminRoutes(deps: {
  provisioning: CredentialProvisioning;
  vehicles: DeviceVehiclesPort;
  brokerUrl: () => string;
}): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/devices',
      {
        config: { auth: staffCan('device.credentials') },
        schema: {
          summary: "Devices' MQTT credentials: issued, rotated, revoked (never a secret)",
          response: { 200: Type.Object({ devices: Type.Array(DeviceStatusSchema) }) },
        },
      },
      async () => ({ devices: await deps.provisioning.listDevices() }),
    );

    app.post(
      '/devices/credentials',
      {
        config: { auth: staffCan('device.credentials') },
        schema: {
          summary: 'Issue (or rotate) devices’ credentials for these vehicles in one step; the secrets are in this answer only',
          querystring: Type.Object({ format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')])) }),
          body: Type.Object({ vehicleIds: VehicleIds }, { additionalProperties: false }),
          response: { 201: Type.Object({ devices: Type.Array(InstallerCredentialSchema) }) },
        },
      },
      async (request, reply) => {
        const actor = requestActorWith(request, 'device.credentials');
        const ids = request.body.vehicleIds;
        const found = new Map((await deps.vehicles.registeredVehicles(ids)).map((v) => [v.id, v]));
        const unknown = ids.filter((id) => !found.has(id));
        if (unknown.length > 0)
          throw new AppError(
            'vehicle_not_found',
            `not in the registry: ${unknown.slice(0, 10).join(', ')}${unknown.length > 10 ? ', …' : ''}`,
            {
              status: 404,
            },
          );
        const retired = ids.filter((id) => found.get(id)!.retiredAt !== null);
        if (retired.length > 0)
          throw new AppError(
            'vehicle_retired',
            `retired vehicles get no credentials: ${retired
              .slice(0, 10)
              .map((id) => found.get(id)!.plate)
              .join(', ')}`,
            {
              status: 409,
            },
          );
        const issued = await deps.provisioning.provisionDevices(ids, actor);
        const brokerUrl = deps.brokerUrl();
        const devices = issued
          .map((c) => ({
            vehicleId: c.username,
            plate: found.get(c.username)!.plate,
            username: c.username,
            password: c.password,
            brokerUrl,
            rotated: c.rotated,
          }))
          .sort((a, b) => comparePlates(a.plate, b.plate));
        void reply.code(201).header('cache-control', 'no-store');
        if (request.query.format === 'csv')
          return reply
            .type('text/csv; charset=utf-8')
            .header('content-disposition', 'attachment; filename="device-credentials.csv"')
            .send(installerCsv(devices.map(({ rotated: _r, ...d }): InstallerCredential => d)) as never);
        return reply.send({ devices });
      },
    );

    app.post(
      '/devices/revoke',
      {
        config: { auth: staffCan('device.credentials') },
        schema: {
          summary: 'Revoke devices’ credentials (with a reason); their open MQTT sessions end',
          body: Type.Object(
            { vehicleIds: VehicleIds, reason: Type.String({ minLength: 1, maxLength: 1000 }) },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ revoked: Type.Array(Type.String()) }) },
        },
      },
      async (request) => {
        const actor = requestActorWith(request, 'device.credentials');
        const reason = request.body.reason.trim();
        if (reason === '') throw new AppError('reason_required', 'revoking needs a reason', { status: 400 });
        const active = new Set((await deps.provisioning.listDevices()).filter((d) => d.status === 'active').map((d) => d.vehicleId));
        const missing = request.body.vehicleIds.filter((id) => !active.has(id));
        if (missing.length > 0)
          throw new AppError('credentials_not_found', `no active credentials for ${missing.slice(0, 10).join(', ')}`, { status: 404 });
        for (const id of request.body.vehicleIds) await deps.provisioning.revoke(id, actor, 'device', reason);
        return { revoked: request.body.vehicleIds };
      },
    );
  };
}
