/** `GET /ops/v1/health/integrations` (any staff): every integration's state, since when, the last error, and the change log. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { IntegrationsHealthSchema } from '../../../../../src/shared/timeline.js';
import type { IntegrationMonitor } from '../domain/integration-monitor.js';
import { staffCan } from '../../../platform/http/route-config.js';

export function integrationHealthRoutes(monitor: IntegrationMonitor): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/health/integrations',
      {
        config: { auth: staffCan('integration.health') },
        schema: {
          tags: ['health'],
          summary: 'Broker, database, payment provider, licence provider and availability index: state, since, last error; the change log',
          response: { 200: IntegrationsHealthSchema },
        },
      },
      async () => monitor.read(),
    );
  };
}
