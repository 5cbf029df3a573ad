/**
 * Fleet routes for staff clients (the desktop seeds its view with these before live MQTT arrives).
 * Staff authentication arrives with the ops component; until then these /ops/v1 routes are unauthenticated
 * and the server binds to 127.0.0.1 by default.
 *
 * `GET /vehicles` is conditional: it carries an `ETag` that changes exactly when the list does, and a request with
 * `If-None-Match` holding that tag is answered 304 with no body (the desks re-read the registry every 30 s; at
 * 20,000 cars the list is 2.3 MB of JSON to build, send and parse, and it rarely changes).
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FleetQueries } from '../domain/fleet-queries.js';
import { FleetLiveResponse, VehicleListResponse } from './fleet.schema.js';
import { staffCan } from '../../../platform/http/route-config.js';
import { entityTag, noneMatchHits } from '../../../platform/http/conditional.js';

export function fleetRoutes(queries: FleetQueries): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/vehicles',
      {
        config: { auth: staffCan('fleet.read') },
        schema: {
          response: { 200: VehicleListResponse, 304: Type.Null({ description: 'unchanged since the tag sent in If-None-Match' }) },
        },
      },
      async (req, reply) => {
        // The tag is read before the list: a change between the two leaves the client an older tag than its list
        // (one full read more next time), never a newer one (which would hide the change behind 304s).
        const tag = entityTag(await queries.vehicleListTag());
        void reply.header('etag', tag).header('cache-control', 'no-cache');
        if (noneMatchHits(req.headers['if-none-match'], tag)) return reply.code(304).send(null);
        return { vehicles: await queries.listVehicles() };
      },
    );
    app.get('/fleet/live', { config: { auth: staffCan('fleet.read') }, schema: { response: { 200: FleetLiveResponse } } }, async () => ({
      vehicles: await queries.liveFleet(),
    }));
  };
}
