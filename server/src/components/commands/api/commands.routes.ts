/**
 * Staff routes of the command lifecycle (registered under /ops/v1). The actor comes from
 * platform/http/actor.ts (headers until staff authentication lands). Errors are problem+json.
 */
import { TypeBoxValidatorCompiler, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { commandForRole } from '../../../../../src/shared/permissions.js';
import { requestActor } from '../../../platform/http/actor.js';
import type { CommandService } from '../domain/command-service.js';
import {
  CancelCommandBody,
  CommandListResponse,
  CommandParamsSchema,
  CommandSchema,
  CommandWithTransitionsSchema,
  IssueCommandBody,
  IssueCommandResponse,
  ListQuery,
  VehicleParams,
} from './commands.schema.js';
import { staffCan } from '../../../platform/http/route-config.js';

export function commandRoutes(service: CommandService, prefix: string): FastifyPluginAsyncTypebox {
  return async (app) => {
    // Strict bodies (this plugin's scope only): Fastify's default Ajv coerces types (3 → "3", "true" → true)
    // and silently strips unknown fields; a command must be exactly what staff sent, or refused.
    app.setValidatorCompiler(TypeBoxValidatorCompiler);

    app.post(
      '/vehicles/:vehicleId/commands',
      {
        config: { auth: staffCan('vehicle.command') },
        schema: { params: VehicleParams, body: IssueCommandBody, response: { 202: IssueCommandResponse } },
      },
      async (request, reply) => {
        const actor = requestActor(request);
        const { command } = await service.issue({ vehicleId: request.params.vehicleId, ...request.body, actor });
        return reply
          .code(202)
          .header('location', `${prefix}/commands/${command.commandId}`)
          .send({ commandId: command.commandId, status: command.status, expiresAt: command.expiresAt });
      },
    );

    app.get(
      '/commands/:commandId',
      {
        config: { auth: staffCan('fleet.read') },
        schema: { params: CommandParamsSchema, response: { 200: CommandWithTransitionsSchema } },
      },
      // a command issued for a customer names them: not to roles without customer data (permissions.ts)
      async (request) => commandForRole(await service.get(request.params.commandId), requestActor(request).role),
    );

    app.get(
      '/vehicles/:vehicleId/commands',
      {
        config: { auth: staffCan('fleet.read') },
        schema: { params: VehicleParams, querystring: ListQuery, response: { 200: CommandListResponse } },
      },
      async (request) => {
        const role = requestActor(request).role;
        const commands = await service.listForVehicle(request.params.vehicleId, request.query.limit ?? 50);
        return { commands: commands.map((c) => commandForRole(c, role)) };
      },
    );

    app.post(
      '/commands/:commandId/cancel',
      {
        config: { auth: staffCan('vehicle.command') },
        schema: { params: CommandParamsSchema, body: CancelCommandBody, response: { 200: CommandSchema } },
      },
      async (request) => service.cancel(request.params.commandId, request.body.reason, requestActor(request)),
    );
  };
}
