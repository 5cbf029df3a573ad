/**
 * Fleet routes for staff clients (the desktop seeds its view with these before live MQTT arrives).
 * Staff authentication arrives with the ops component; until then these /ops/v1 routes are unauthenticated
 * and the server binds to 127.0.0.1 by default.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FleetQueries } from '../domain/fleet-queries.js';
import { FleetLiveResponse, VehicleListResponse } from './fleet.schema.js';
import { staffCan } from '../../../platform/http/route-config.js';

export function fleetRoutes(queries: FleetQueries): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/vehicles', { config: { auth: staffCan('fleet.read') }, schema: { response: { 200: VehicleListResponse } } }, async () => ({
      vehicles: await queries.listVehicles(),
    }));
    app.get('/fleet/live', { config: { auth: staffCan('fleet.read') }, schema: { response: { 200: FleetLiveResponse } } }, async () => ({
      vehicles: await queries.liveFleet(),
    }));
  };
}
