/**
 * The OpenAPI document of the whole server (every component's routes) and the docs page.
 *
 * No OpenAPI validator is installed, so the structure is checked here against the OpenAPI 3.1 rules that a
 * generated document can get wrong: version, info, servers, path templates vs path parameters, responses with a
 * description, unique parameters and operationIds, security requirements naming declared schemes, every `$ref`
 * resolving inside the document. The customer API contract paths must be present (the test lists what is missing).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../app.js';
import { dbBackends } from '../../testing/backends.js';

type Json = Record<string, unknown>;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** The customer API contract of issue 5 (method + path as OpenAPI writes it). */
const CONTRACT: Array<[string, string]> = [
  ['post', '/v1/auth/signup'],
  ['post', '/v1/auth/login'],
  ['post', '/v1/auth/refresh'],
  ['get', '/v1/me'],
  ['put', '/v1/me/driver-licence'],
  ['post', '/v1/me/payment-methods'],
  ['get', '/v1/vehicles/available'],
  ['post', '/v1/reservations'],
  ['delete', '/v1/reservations/{id}'],
  ['post', '/v1/bookings'],
  ['delete', '/v1/bookings/{id}'],
  ['post', '/v1/rentals'],
  ['get', '/v1/rentals'],
  ['get', '/v1/rentals/{id}'],
  ['post', '/v1/rentals/{id}/end'],
  ['post', '/v1/rentals/{id}/damage-reports'],
];

/** POSTs that create a booking, a rental or money movement: must declare `config.idempotent`. */
const IDEMPOTENT: Array<[string, string]> = [
  ['post', '/v1/reservations'],
  ['post', '/v1/bookings'],
  ['post', '/v1/rentals'],
  ['post', '/ops/v1/rentals/{id}/refunds'],
];

/** Resolves a local JSON pointer (`#/components/schemas/Problem`). */
function resolvePointer(doc: Json, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !(key in (node as Json))) return undefined;
    node = (node as Json)[key];
  }
  return node;
}

function deref<T>(doc: Json, node: unknown): T {
  let current = node;
  for (let i = 0; i < 10 && current && typeof current === 'object' && typeof (current as Json).$ref === 'string'; i++)
    current = resolvePointer(doc, (current as Json).$ref as string);
  return current as T;
}

/** Every problem found, as readable strings (empty = structurally valid). */
function structuralProblems(doc: Json): string[] {
  const problems: string[] = [];
  const fail = (where: string, what: string) => problems.push(`${where}: ${what}`);
  if (doc.openapi !== '3.1.0') fail('openapi', `is ${String(doc.openapi)}`);
  const info = doc.info as Json | undefined;
  if (typeof info?.title !== 'string' || info.title === '' || typeof info.version !== 'string' || info.version === '')
    fail('info', 'title and version are required strings');
  const servers = doc.servers as Json[] | undefined;
  if (!Array.isArray(servers) || servers.length === 0 || servers.some((s) => typeof s.url !== 'string'))
    fail('servers', 'need at least one {url}');
  const components = (doc.components ?? {}) as Json;
  const schemes = (components.securitySchemes ?? {}) as Json;
  const paths = doc.paths as Record<string, Json> | undefined;
  if (!paths || typeof paths !== 'object') return [...problems, 'paths: missing'];

  const operationIds = new Set<string>();
  for (const [path, item] of Object.entries(paths)) {
    if (!path.startsWith('/')) fail(path, 'path must start with /');
    if (/\/:/.test(path)) fail(path, 'Fastify-style :param left in the path');
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    for (const method of METHODS) {
      const op = item[method] as Json | undefined;
      if (!op) continue;
      const where = `${method.toUpperCase()} ${path}`;
      const params = [...((item.parameters as unknown[]) ?? []), ...((op.parameters as unknown[]) ?? [])].map((p) => deref<Json>(doc, p));
      const seen = new Set<string>();
      for (const p of params) {
        if (!p || typeof p.name !== 'string' || !['query', 'header', 'path', 'cookie'].includes(p.in as string)) {
          fail(where, `bad parameter ${JSON.stringify(p)}`);
          continue;
        }
        const key = `${String(p.in)}:${p.in === 'header' ? p.name.toLowerCase() : p.name}`;
        if (seen.has(key)) fail(where, `duplicate parameter ${key}`);
        seen.add(key);
        if (!p.schema && !p.content) fail(where, `parameter ${p.name} has neither schema nor content`);
        if (p.in === 'path' && p.required !== true) fail(where, `path parameter ${p.name} must be required`);
        if (p.in === 'path' && !templated.includes(p.name)) fail(where, `path parameter ${p.name} is not in the template`);
      }
      for (const name of templated) if (!seen.has(`path:${name}`)) fail(where, `template {${name}} has no path parameter`);
      if (op.requestBody) {
        const body = deref<Json>(doc, op.requestBody);
        if (!body?.content || Object.keys(body.content as Json).length === 0) fail(where, 'requestBody without content');
      }
      const responses = op.responses as Json | undefined;
      if (!responses || Object.keys(responses).length === 0) fail(where, 'no responses');
      for (const [status, response] of Object.entries(responses ?? {})) {
        if (!/^([1-5]\d\d|[1-5]XX|default)$/.test(status)) fail(where, `bad response key ${status}`);
        const r = deref<Json>(doc, response);
        if (typeof r?.description !== 'string') fail(where, `response ${status} has no description`);
      }
      if (!('4XX' in (responses ?? {})) || !('5XX' in (responses ?? {}))) fail(where, 'no shared problem responses (4XX/5XX)');
      if (typeof op.operationId === 'string') {
        if (operationIds.has(op.operationId)) fail(where, `duplicate operationId ${op.operationId}`);
        operationIds.add(op.operationId);
      }
      for (const requirement of (op.security as Json[] | undefined) ?? []) {
        for (const scheme of Object.keys(requirement)) if (!(scheme in schemes)) fail(where, `security scheme ${scheme} is not declared`);
      }
    }
  }
  // every $ref anywhere must resolve inside the document
  const walk = (node: unknown, at: string) => {
    if (Array.isArray(node)) node.forEach((n, i) => walk(n, `${at}/${i}`));
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node as Json)) {
        if (k === '$ref' && typeof v === 'string' && resolvePointer(doc, v) === undefined) fail(at, `unresolved $ref ${v}`);
        else walk(v, `${at}/${k}`);
      }
    }
  };
  walk(doc, '#');
  return problems;
}

describe.each(dbBackends())('OpenAPI document and docs page ($name)', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void> = async () => undefined;
  let doc: Json;

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({
      ...created.overrides,
      port: 0,
      mqttPort: 0,
      mqttUrl: undefined,
      mqttAuth: 'off',
      logLevel: 'silent',
      seedVehicles: 0,
    });
    const res = await fetch(`${server.httpUrl}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    doc = (await res.json()) as Json;
  });

  afterAll(async () => {
    await server?.stop();
    await cleanup();
  });

  it('is structurally valid OpenAPI 3.1', () => {
    expect(structuralProblems(doc)).toEqual([]);
    const components = doc.components as Json;
    expect(Object.keys(components.securitySchemes as Json).sort()).toEqual(['customerBearer', 'staffBearer']);
    expect(components.schemas).toHaveProperty('Problem');
    expect(deref<Json>(doc, (components.responses as Json).Problem)).toMatchObject({
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
    });
    expect((doc.tags as Json[]).map((t) => t.name)).toEqual(expect.arrayContaining(['gbfs', 'rentals', 'staff']));
  });

  it('catches what it claims to catch (the checker on broken documents)', () => {
    const broken = structuredClone(doc);
    (broken.paths as Json)['/v1/broken/{id}'] = { get: { parameters: [{ $ref: '#/components/parameters/Nope' }], responses: { 200: {} } } };
    broken.openapi = '3.0.3';
    const problems = structuralProblems(broken);
    expect(problems).toEqual(
      expect.arrayContaining([
        'openapi: is 3.0.3',
        expect.stringContaining('GET /v1/broken/{id}: template {id} has no path parameter'),
        expect.stringContaining('GET /v1/broken/{id}: response 200 has no description'),
        expect.stringContaining('unresolved $ref #/components/parameters/Nope'),
      ]),
    );
  });

  /** The operation at `path`, whatever its path parameters are called (`{id}` matches `{rentalId}`). */
  const operation = (method: string, path: string): Json | undefined => {
    const shape = (p: string) => p.replace(/\{[^}]+\}/g, '{}');
    const found = Object.entries(doc.paths as Record<string, Json>).find(([p, item]) => shape(p) === shape(path) && item[method]);
    return found?.[1][method] as Json | undefined;
  };

  it('documents every path of the customer API contract', () => {
    const missing = CONTRACT.filter(([method, path]) => !operation(method, path)).map(([m, p]) => `${m.toUpperCase()} ${p}`);
    expect(missing).toEqual([]);
  });

  it('documents auth and Idempotency-Key from the route declarations', () => {
    const paths = doc.paths as Record<string, Json>;
    const op = operation;
    expect(op('post', '/v1/auth/login')?.security).toEqual([]);
    expect(op('get', '/v1/me')?.security).toEqual([{ customerBearer: [] }]);
    const notIdempotent = IDEMPOTENT.filter(
      ([m, p]) => !((op(m, p)?.parameters as Json[] | undefined) ?? []).some((x) => x.$ref === '#/components/parameters/IdempotencyKey'),
    ).map(([m, p]) => `${m.toUpperCase()} ${p}`);
    expect(notIdempotent).toEqual([]);
    // the public feed and the operational endpoints are there too
    expect(op('get', '/gbfs/v3/gbfs.json')?.security).toEqual([]);
    expect(op('get', '/health')).toBeDefined();
    // the documentation's own routes are not
    expect(Object.keys(paths).filter((p) => p.startsWith('/docs') || p === '/openapi.json')).toEqual([]);
  });

  it('serves the docs page and its assets from this server only (works offline)', async () => {
    const page = await fetch(`${server.httpUrl}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await page.text();
    expect(html).toContain('swagger-ui');
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThan(3);
    expect(assets.filter((a) => /^(https?:)?\/\//.test(a))).toEqual([]);
    for (const asset of assets) {
      const res = await fetch(new URL(asset, `${server.httpUrl}/docs`));
      expect(res.status, asset).toBe(200);
      await res.arrayBuffer();
    }
    const initializer = await (await fetch(`${server.httpUrl}/docs/static/swagger-initializer.js`)).text();
    expect(initializer).toContain("resolveUrl('./json')");
    expect(initializer).not.toMatch(/https?:\/\/(?!stackoverflow)/);
    const uiDoc = await (await fetch(`${server.httpUrl}/docs/json`)).json();
    expect(uiDoc).toEqual(doc);
  });
});
