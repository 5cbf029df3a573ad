/**
 * Staff routes for MQTT credentials (admin role only). The secret is in the 201 response and nowhere else:
 * responses carry `Cache-Control: no-store`, and request logging records no bodies.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../../../../src/shared/errors.js';
import { VEHICLE_ID_PATTERN } from '../../../../../src/shared/device-protocol.js';
import { requestActor, type Actor } from '../../../platform/http/actor.js';
import type { CredentialProvisioning } from '../domain/provisioning.js';
import { staffCan } from '../../../platform/http/route-config.js';

const IssuedCredential = Type.Object({
  username: Type.String(),
  password: Type.String({ description: 'shown once; store it in the device or desktop now' }),
  role: Type.Union([Type.Literal('device'), Type.Literal('desktop'), Type.Literal('service')]),
  rotated: Type.Boolean({ description: 'the account existed; its previous secret no longer works' }),
});

const VehicleParams = Type.Object({ vehicleId: Type.String({ pattern: VEHICLE_ID_PATTERN }) });
const AccountParams = Type.Object({ username: Type.String({ pattern: '^(desktop|service)\\.[a-z0-9-]{1,48}$' }) });
const NewAccount = Type.Object(
  {
    role: Type.Union([Type.Literal('desktop'), Type.Literal('service')]),
    name: Type.Optional(Type.String({ pattern: '^[a-z0-9-]{1,40}$', description: 'username becomes <role>.<name>; random if absent' })),
  },
  { additionalProperties: false },
);

function adminActor(request: FastifyRequest): Actor {
  const actor = requestActor(request);
  if (actor.role !== 'admin') throw new AppError('forbidden', 'managing MQTT credentials needs the admin role', { status: 403 });
  return actor;
}

export function deviceIdentityRoutes(provisioning: CredentialProvisioning): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/vehicles/:vehicleId/device-credentials',
      { config: { auth: staffCan('device.credentials') }, schema: { params: VehicleParams, response: { 201: IssuedCredential } } },
      async (request, reply) => {
        const actor = adminActor(request);
        const issued = await provisioning.provisionDevice(request.params.vehicleId, actor);
        return reply.code(201).header('cache-control', 'no-store').send(issued);
      },
    );

    app.delete(
      '/vehicles/:vehicleId/device-credentials',
      { config: { auth: staffCan('device.credentials') }, schema: { params: VehicleParams } },
      async (request, reply) => {
        const actor = adminActor(request);
        await provisioning.revoke(request.params.vehicleId, actor, 'device');
        return reply.code(204).send();
      },
    );

    app.post(
      '/mqtt-accounts',
      { config: { auth: staffCan('device.credentials') }, schema: { body: NewAccount, response: { 201: IssuedCredential } } },
      async (request, reply) => {
        const actor = adminActor(request);
        const issued = await provisioning.createAccount(request.body.role, request.body.name, actor);
        return reply.code(201).header('cache-control', 'no-store').send(issued);
      },
    );

    app.delete(
      '/mqtt-accounts/:username',
      { config: { auth: staffCan('device.credentials') }, schema: { params: AccountParams } },
      async (request, reply) => {
        const actor = adminActor(request);
        await provisioning.revoke(request.params.username, actor);
        return reply.code(204).send();
      },
    );
  };
}
