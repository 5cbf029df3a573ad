/**
 * POST /webhooks/payments: the provider's signed webhooks. Public (the signature is the authentication); the
 * body is read raw because the signature covers the exact bytes sent, not a re-serialisation.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Db } from '../../../platform/db/index.js';
import type { Logger } from '../../../platform/log.js';
import { handleWebhook } from '../domain/webhook-handler.js';
import { WEBHOOK_SIGNATURE_HEADER } from '../domain/webhook-signature.js';
import { WebhookAck } from './payments.schema.js';

const MAX_WEBHOOK_BYTES = 256 * 1024;

export function webhookRoutes(deps: {
  db: Db;
  secret: string;
  log: Logger;
  now: () => number;
  received: (outcome: string) => void;
}): FastifyPluginAsync {
  return async (app) => {
    // This plugin's scope only: JSON stays a string here.
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: MAX_WEBHOOK_BYTES }, (_req, body, done) =>
      done(null, body),
    );

    app.post(
      '/payments',
      {
        config: { auth: 'public' },
        schema: { tags: ['webhooks'], summary: 'Payment provider webhooks (Provider-Signature: t=…,v1=…)', response: { 200: WebhookAck } },
      },
      async (request) => {
        const raw = typeof request.body === 'string' ? request.body : '';
        const signature = request.headers[WEBHOOK_SIGNATURE_HEADER];
        try {
          const { eventId, outcome } = await handleWebhook(
            deps.db,
            deps.secret,
            raw,
            typeof signature === 'string' ? signature : undefined,
            deps.now(),
          );
          deps.received(outcome);
          return { received: true, eventId, outcome };
        } catch (err) {
          deps.received('rejected');
          throw err;
        }
      },
    );
  };
}
