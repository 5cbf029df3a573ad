/**
 * Staff alert routes (/ops/v1/alerts). The actor comes from platform/http/actor.ts (headers until staff auth
 * lands); illegal transitions answer 409 problem+json (`illegal_transition`), unknown ids 404.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requestActor } from '../../../platform/http/actor.js';
import type { AlertLifecycle } from '../domain/alert-lifecycle.js';
import { AlertIdParams, AlertListQuery, AlertListResponse, AlertSchema, AssignBody, ResolveBody } from './alerts.schema.js';
import { staffCan } from '../../../platform/http/route-config.js';

export function alertRoutes(lifecycle: AlertLifecycle): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/alerts',
      {
        config: { auth: staffCan('alert.read') },
        schema: { querystring: AlertListQuery, response: { 200: AlertListResponse } },
      },
      async (request) => ({
        alerts: await lifecycle.list(request.query),
      }),
    );
    app.get(
      '/alerts/:id',
      {
        config: { auth: staffCan('alert.read') },
        schema: { params: AlertIdParams, response: { 200: AlertSchema } },
      },
      async (request) => lifecycle.get(request.params.id),
    );
    app.post(
      '/alerts/:id/acknowledge',
      { config: { auth: staffCan('alert.work') }, schema: { params: AlertIdParams, response: { 200: AlertSchema } } },
      async (request) => lifecycle.acknowledge(request.params.id, requestActor(request)),
    );
    app.post(
      '/alerts/:id/assign',
      {
        config: { auth: staffCan('alert.work') },
        schema: { params: AlertIdParams, body: AssignBody, response: { 200: AlertSchema } },
      },
      async (request) => lifecycle.assign(request.params.id, requestActor(request), request.body.assignee),
    );
    app.post(
      '/alerts/:id/resolve',
      {
        config: { auth: staffCan('alert.work') },
        schema: { params: AlertIdParams, body: ResolveBody, response: { 200: AlertSchema } },
      },
      async (request) => lifecycle.resolve(request.params.id, requestActor(request), request.body.note),
    );
  };
}
