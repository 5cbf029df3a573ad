/**
 * The HTTP platform: Fastify with the TypeBox type provider (one schema per route gives validation, types and
 * the OpenAPI document), problem+json errors, request metrics, and the operational endpoints
 * /health (liveness), /ready (readiness) and /metrics (Prometheus).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from '../log.js';
import type { PlatformMetrics } from '../metrics.js';
import { hostForUrl } from '../net.js';
import { DOCS_PATH, OPENAPI_PATH, registerOpenApi, type OpenApiOptions } from './openapi.js';
import { AppError } from '../../../../src/shared/errors.js';
import { problem, sendProblem, toProblem } from './problem.js';

export type HttpApp = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

/**
 * A readiness check resolves when its dependency is usable and rejects with the reason otherwise. A dependency the
 * instance can serve requests without (the broker: bookings, support and search go on from the last-known state)
 * resolves `{ degraded }` instead: /ready stays 200 and says so in its body.
 */
export type ReadinessCheck = () => Promise<void | { degraded: string }>;

export interface HttpServerOptions {
  log: Logger;
  metrics: PlatformMetrics;
  readiness: Record<string, ReadinessCheck>;
  /** the OpenAPI document's servers/version (GET /openapi.json, /docs) */
  openApi?: OpenApiOptions;
  /** TRUST_PROXY: empty = the socket's address is the client; `true`, a hop count, or proxy addresses/CIDRs */
  trustProxy?: string;
  /**
   * Who may read /metrics, /docs and /openapi.json: with `token` (OPS_TOKEN), only `Authorization: Bearer <token>`;
   * without one, anyone in development and nobody in production (404).
   */
  opsEndpoints?: { production: boolean; token?: string };
}

/** The operational documents that tell an outsider how the server is built and how busy it is. */
export function isOpsEndpoint(path: string): boolean {
  return path === '/metrics' || path === OPENAPI_PATH || path === DOCS_PATH || path.startsWith(`${DOCS_PATH}/`);
}

function installOpsEndpointGuard(app: HttpApp, rule: { production: boolean; token?: string }): void {
  const expected = rule.token === undefined ? undefined : createHash('sha256').update(`Bearer ${rule.token}`).digest();
  app.addHook('onRequest', async (request, reply) => {
    if (!isOpsEndpoint(request.url.split('?')[0]!)) return;
    if (expected === undefined) {
      if (rule.production)
        return sendProblem(reply, problem(404, 'not_found', `No route for ${request.method} ${request.url}`, request.url));
      return;
    }
    // compared as digests in constant time: the answer's timing tells nothing about the token
    const given = createHash('sha256')
      .update(request.headers.authorization ?? '')
      .digest();
    if (!timingSafeEqual(given, expected)) {
      void reply.header('www-authenticate', 'Bearer realm="fleetdesk-ops"');
      return sendProblem(
        reply,
        problem(401, 'unauthorized', 'This endpoint needs the operations token (Authorization: Bearer …)', request.url),
      );
    }
  });
}

/** TRUST_PROXY's text → Fastify's `trustProxy` (request.ip then comes from X-Forwarded-For through those proxies). */
export function fastifyTrustProxy(value: string | undefined): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (!value) return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    return (_address, hop) => hop < hops;
  }
  return value.split(',').map((part) => part.trim());
}

export function createHttpServer(options: HttpServerOptions): HttpApp {
  const { log, metrics } = options;
  const app = Fastify({
    loggerInstance: log.pino as FastifyBaseLogger,
    // one debug line per request from onResponse instead of Fastify's two info lines
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    trustProxy: fastifyTrustProxy(options.trustProxy),
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setErrorHandler((err, request, reply) => {
    if (err instanceof AppError && err.retryAfterS !== undefined) void reply.header('retry-after', String(err.retryAfterS));
    return sendProblem(reply, toProblem(err, request, log));
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, problem(404, 'not_found', `No route for ${request.method} ${request.url}`, request.url)),
  );

  app.addHook('onResponse', async (request, reply) => {
    // The route template, not the URL: label cardinality must not grow with ids in paths.
    const route = request.routeOptions.url ?? 'unmatched';
    const labels = { method: request.method, route, status_code: String(reply.statusCode) };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
    log.debug('request', {
      reqId: request.id,
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
    });
  });

  // Before any route: its onRoute hook documents every route registered afterwards. The operational routes go in
  // a plugin so they queue behind it.
  if (options.opsEndpoints) installOpsEndpointGuard(app, options.opsEndpoints);
  registerOpenApi(app, options.openApi);
  void app.register(async (instance) => registerOperationalRoutes(instance, options));
  return app;
}

const CheckResults = Type.Record(Type.String(), Type.String(), {
  description: 'per dependency: `ok`, `degraded: <why>` (serving without it) or the reason it is not usable',
});
const DEGRADED = 'degraded: ';

function registerOperationalRoutes(app: HttpApp, { metrics, readiness }: HttpServerOptions): void {
  app.get('/health', { schema: { response: { 200: Type.Object({ status: Type.Literal('ok') }) } } }, async () => ({
    status: 'ok' as const,
  }));

  app.get(
    '/ready',
    {
      schema: {
        response: {
          200: Type.Object({
            status: Type.Union([Type.Literal('ready'), Type.Literal('degraded')], {
              description: '`degraded`: serving, with a dependency down (its check says `degraded: …`)',
            }),
            checks: CheckResults,
          }),
          503: Type.Object({ status: Type.Literal('not_ready'), checks: CheckResults }),
        },
      },
    },
    async (_request, reply) => {
      const checks = await runChecks(readiness);
      const results = Object.values(checks);
      if (!results.every((c) => c === 'ok' || c.startsWith(DEGRADED)))
        return reply.code(503).header('retry-after', '5').send({ status: 'not_ready', checks });
      return reply.code(200).send({ status: results.every((c) => c === 'ok') ? 'ready' : 'degraded', checks });
    },
  );

  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
}

async function runChecks(checks: Record<string, ReadinessCheck>): Promise<Record<string, string>> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        const result = await check();
        return [name, result ? `${DEGRADED}${result.degraded}` : 'ok'] as const;
      } catch (err) {
        return [name, err instanceof Error ? err.message : String(err)] as const;
      }
    }),
  );
  return Object.fromEntries(entries);
}

/** Starts listening; returns the base URL (http://127.0.0.1:port when bound to a wildcard address). */
export async function listenHttp(app: HttpApp, host: string, port: number): Promise<string> {
  await app.listen({ host, port });
  const address = app.server.address() as AddressInfo;
  return `http://${hostForUrl(host)}:${address.port}`;
}
