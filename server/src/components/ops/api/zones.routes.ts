/**
 * Staff routes for zones (/ops/v1/zones): the current zones and a zone's history (fleet.read); create, edit and
 * retire (zone.manage). Outlines are checked by the use case (src/shared/zones.ts), whose answer names the problem.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ZONE_KINDS } from '../../../../../src/shared/zones.js';
import { requestActor } from '../../../platform/http/actor.js';
import { staffCan } from '../../../platform/http/route-config.js';
import type { ZonesAdmin } from '../domain/zones-admin.js';

const Id = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.:-]+$' });
const Kind = Type.Unsafe<(typeof ZONE_KINDS)[number]>({ type: 'string', enum: [...ZONE_KINDS] });
// the outline's shape and geometry are the use case's to judge, so that every problem gets its own plain answer
const Polygon = Type.Array(Type.Unknown(), { maxItems: 5000 });
const Name = Type.String({ maxLength: 200 });

const CreateBody = Type.Object({ id: Type.Optional(Id), name: Name, kind: Kind, polygon: Polygon }, { additionalProperties: false });
const PatchBody = Type.Object(
  {
    name: Type.Optional(Name),
    kind: Type.Optional(Kind),
    polygon: Type.Optional(Polygon),
    expectedVersion: Type.Optional(Type.Integer({ minimum: 1 })),
    reason: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false, minProperties: 1 },
);
const RetireBody = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 2000 }) }, { additionalProperties: false });
const Params = Type.Object({ id: Id });

export function zonesRoutes(zones: ZonesAdmin, prefix: string, changed: () => Promise<void>): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/zones', { config: { auth: staffCan('fleet.read') } }, async () => ({ zones: await zones.list() }));
    app.get('/zones/:id/versions', { config: { auth: staffCan('fleet.read') }, schema: { params: Params } }, async (request) => ({
      versions: await zones.history(request.params.id),
    }));
    app.post('/zones', { config: { auth: staffCan('zone.manage') }, schema: { body: CreateBody } }, async (request, reply) => {
      const zone = await zones.create(request.body, requestActor(request));
      await changed();
      return reply
        .code(201)
        .header('location', `${prefix}/zones/${encodeURIComponent(zone.id)}`)
        .send(zone);
    });
    app.patch('/zones/:id', { config: { auth: staffCan('zone.manage') }, schema: { params: Params, body: PatchBody } }, async (request) => {
      const zone = await zones.update(request.params.id, request.body, requestActor(request));
      await changed();
      return zone;
    });
    app.post(
      '/zones/:id/retire',
      { config: { auth: staffCan('zone.manage') }, schema: { params: Params, body: RetireBody } },
      async (request) => {
        const retired = await zones.retire(request.params.id, request.body.reason, requestActor(request));
        await changed();
        return retired;
      },
    );
  };
}
