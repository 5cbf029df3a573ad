/**
 * The OpenAPI 3.1 document, generated from the route schemas (TypeBox) by @fastify/swagger, served at
 * `GET /openapi.json`, with Swagger UI at `/docs` (its assets come from the installed package: nothing is
 * loaded from a CDN, so the page works offline and under a same-origin CSP).
 *
 * Route declarations feed the document too, so nothing is written twice:
 * - `config.auth` → the operation's `security` (customer or staff bearer token; `[]` for public routes), plus
 *   the staff roles as `x-staff-roles` with the capability they come from as `x-capability`, and 401/403 problem responses;
 * - `config.idempotent` → the `Idempotency-Key` header parameter and its 400/409/422 problem responses;
 * - `config.abuseLimit` → `x-rate-limit` (the limit's name) and a 429 problem response with `Retry-After`;
 * - every error is `application/problem+json`, described once (`components.schemas.Problem`,
 *   `components.responses.Problem`) and referenced by every operation (`4XX`, `5XX`).
 * Routes without `schema.tags` are tagged by their prefix.
 *
 * Must be registered before any route (createHttpServer does it), so its onRoute hook sees them all.
 */
import swagger, { type SwaggerOptions } from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { RouteOptions } from 'fastify';
import { rolesWith } from '../../../../src/shared/permissions.js';
import type { RouteAuth } from './route-config.js';
import type { HttpApp } from './server.js';

export interface OpenApiOptions {
  /** public base URL of the API (servers[0]); default: relative to wherever the document was fetched from */
  publicUrl?: string;
  /** the API's version in `info.version` */
  version?: string;
}

export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

export const PROBLEM_SCHEMA = {
  type: 'object' as const,
  description: 'RFC 9457 problem details. Branch on `type` (or `code`), never on `title`/`detail`.',
  required: ['type', 'title', 'status', 'code'],
  properties: {
    type: {
      type: 'string',
      description: 'stable URN of the error: `urn:fleetdesk:problem:<code>`',
      examples: ['urn:fleetdesk:problem:validation'],
    },
    title: { type: 'string', description: 'the HTTP status text' },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    detail: { type: 'string', description: 'human-readable explanation of this occurrence' },
    instance: { type: 'string', description: 'the request path' },
    code: { type: 'string', description: 'the error code (last segment of `type`)', examples: ['validation'] },
  },
};

/** The few OpenAPI shapes this file builds or walks (the document itself is @fastify/swagger's). */
type Json = Record<string, unknown>;
interface Operation extends Json {
  parameters?: unknown[];
  requestBody?: unknown;
  security?: unknown[];
  responses?: Record<string, unknown>;
}
interface OpenApiDocument extends Json {
  paths?: Record<string, Record<string, unknown> | undefined>;
}

const TAGS = [
  { name: 'auth', description: 'Customer sign-up, login and token refresh' },
  { name: 'me', description: "The signed-in customer's profile, driver licence and payment methods" },
  { name: 'vehicles', description: 'Finding available cars' },
  { name: 'reservations', description: 'Free holds on a car (expire by themselves)' },
  { name: 'bookings', description: 'Time-window bookings' },
  { name: 'rentals', description: 'Starting, ending and reviewing rentals; damage reports' },
  { name: 'staff', description: 'Staff API (/ops/v1) for the desktop and scripts' },
  { name: 'sync', description: "The desktop replica's sync API (/sync/v1)" },
  { name: 'gbfs', description: 'GBFS 3.0 public feed (/gbfs/v3), no authentication' },
  { name: 'operations', description: 'Health, readiness, metrics' },
];

const ROLES_EXTENSION = 'x-staff-roles';
/** the capability of the role table (src/shared/permissions.ts) the roles come from */
const CAPABILITY_EXTENSION = 'x-capability';
const IDEMPOTENT_EXTENSION = 'x-idempotent';
/** the abuse limit the operation counts against (platform/http/abuse-limits.ts) */
const RATE_LIMIT_EXTENSION = 'x-rate-limit';

const problemRef = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

export function registerOpenApi(app: HttpApp, options: OpenApiOptions = {}): void {
  // Built as plain JSON and cast once: openapi-types' literal unions add nothing over the runtime test of the document.
  const swaggerOptions = {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Fleetdesk companion server API',
        version: options.version ?? '1.0.0',
        description:
          'Customer API (`/v1`), staff API (`/ops/v1`), GBFS 3.0 feed (`/gbfs/v3`). JSON; errors are `application/problem+json` (RFC 9457) with a stable `type`. POSTs that create a booking, a rental or money movement accept an `Idempotency-Key` header (Stripe semantics).',
      },
      servers: [
        { url: options.publicUrl ?? '/', description: options.publicUrl ? 'this deployment' : 'the server that served this document' },
      ],
      tags: TAGS,
      components: {
        securitySchemes: {
          customerBearer: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: 'Customer access token from `POST /v1/auth/login` (short-lived; renew with `POST /v1/auth/refresh`).',
          },
          staffBearer: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: 'Staff access token from `POST /ops/v1/auth/login`; the operation lists the roles it admits in `x-staff-roles`.',
          },
        },
        schemas: { Problem: PROBLEM_SCHEMA },
        parameters: {
          IdempotencyKey: {
            name: 'Idempotency-Key',
            in: 'header',
            required: false,
            description:
              'Optional. Same key + same request → the first response is replayed (with `Idempotent-Replayed: true`); same key + different request → 422; while the first is still running → 409. Keys live 24 h, per caller and route. 1–255 printable ASCII characters (a UUID v4 is a good choice).',
            schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x20-\\x7e]+$' },
          },
        },
        responses: {
          Problem: problemRef('Error (problem details)'),
          BadRequest: problemRef('Invalid input (`validation`, `idempotency_key_invalid`, …)'),
          Unauthorized: problemRef('Missing or invalid access token'),
          Forbidden: problemRef('Signed in, but not allowed (role, blocked customer)'),
          IdempotencyInFlight: problemRef(
            '`idempotency_request_in_flight`: a request with this Idempotency-Key is still running (see Retry-After), or another conflict',
          ),
          IdempotencyKeyReuse: problemRef('`idempotency_key_reuse`: the Idempotency-Key was used with a different request'),
          RateLimited: {
            ...problemRef('`rate_limited`: too many requests from this client IP or for this account; wait `Retry-After` seconds'),
            headers: {
              'Retry-After': { description: 'seconds until the limit lets the next request through', schema: { type: 'integer' } },
            },
          },
        },
      },
    },
    transform: ({ schema, url, route }: { schema: unknown; url: string; route: RouteOptions }) => ({
      schema: describeRoute(schema as Json | undefined, url, route),
      url,
    }),
    transformObject: ({ openapiObject }: { openapiObject: OpenApiDocument }) => addSharedParts(openapiObject),
  };
  void app.register(swagger, swaggerOptions as unknown as SwaggerOptions);
  void app.register(swaggerUi, {
    routePrefix: DOCS_PATH,
    // no "valid" badge fetched from validator.swagger.io
    validatorUrl: false,
    uiConfig: { deepLinking: true, docExpansion: 'list', defaultModelsExpandDepth: 1 },
    // Same-origin only: the page must never need the network beyond this server.
    staticCSP:
      "default-src 'self'; base-uri 'self'; connect-src 'self'; font-src 'self' data:; frame-ancestors 'self'; img-src 'self' data:; object-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'",
  });
  void app.register(async (instance) => {
    instance.get(OPENAPI_PATH, { schema: { hide: true } }, async () => instance.swagger());
  });
}

/** Route declarations → security, roles, idempotency marker, default tag (document only; routing unchanged). */
function describeRoute(schema: Json | undefined, url: string, route: RouteOptions): Json {
  const described: Json = { ...(schema ?? {}) };
  if (!Array.isArray(described.tags) || described.tags.length === 0) described.tags = [defaultTag(url)];
  const auth = route.config?.auth as RouteAuth | undefined;
  if (auth === 'public') described.security = [];
  else if (auth === 'customer') described.security = [{ customerBearer: [] }];
  else if (auth && typeof auth === 'object') {
    described.security = [{ staffBearer: [] }];
    described[ROLES_EXTENSION] = [...rolesWith(auth.capability)];
    described[CAPABILITY_EXTENSION] = auth.capability;
  }
  if (route.config?.idempotent === true) described[IDEMPOTENT_EXTENSION] = true;
  if (route.config?.abuseLimit !== undefined) described[RATE_LIMIT_EXTENSION] = route.config.abuseLimit;
  return described;
}

function defaultTag(url: string): string {
  if (url.startsWith('/ops/')) return 'staff';
  if (url.startsWith('/sync/')) return 'sync';
  if (url.startsWith('/gbfs/')) return 'gbfs';
  const customer = /^\/v1\/([a-z-]+)/.exec(url);
  if (customer) return customer[1] === 'vehicles' ? 'vehicles' : customer[1]!;
  return 'operations';
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

function addSharedParts(doc: OpenApiDocument): OpenApiDocument {
  for (const pathItem of Object.values(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = pathItem?.[method] as Operation | undefined;
      if (!op) continue;
      const responses = (op.responses ??= {});
      const add = (status: string, ref: string) => {
        if (!(status in responses)) responses[status] = { $ref: `#/components/responses/${ref}` };
      };
      if (op.requestBody || (op.parameters?.length ?? 0) > 0) add('400', 'BadRequest');
      if (Array.isArray(op.security) && op.security.length > 0) {
        add('401', 'Unauthorized');
        add('403', 'Forbidden');
      }
      if (op[IDEMPOTENT_EXTENSION] === true) {
        op.parameters = [...(op.parameters ?? []), { $ref: '#/components/parameters/IdempotencyKey' }];
        add('400', 'BadRequest');
        add('409', 'IdempotencyInFlight');
        add('422', 'IdempotencyKeyReuse');
      }
      if (op[RATE_LIMIT_EXTENSION] !== undefined) add('429', 'RateLimited');
      add('4XX', 'Problem');
      add('5XX', 'Problem');
    }
  }
  return doc;
}
