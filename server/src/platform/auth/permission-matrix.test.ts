/**
 * Permissions through the whole server: every staff route × every kind of caller (nobody, a customer,
 * dispatcher, support, admin), and the customer identity routes. Allowed callers must get past authorization
 * (any answer but 401/403, never 5xx — mutations use unknown ids or invalid bodies so nothing changes); everyone
 * else gets 401 (no or wrong kind of token) or 403 (wrong role). Then a sweep over every operation in the
 * OpenAPI document: no route under /v1, /ops/v1 or /sync/v1 serves an anonymous caller unless it is public.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../app.js';
import { signUpCustomer, staffHeaders } from '../../testing/auth.js';
import { dbBackends } from '../../testing/backends.js';

type Caller = 'anonymous' | 'customer' | 'dispatcher' | 'support' | 'admin';
const CALLERS: readonly Caller[] = ['anonymous', 'customer', 'dispatcher', 'support', 'admin'];
const ANY: readonly Caller[] = ['dispatcher', 'support', 'admin'];
const DISPATCH: readonly Caller[] = ['dispatcher', 'admin'];
const SUPPORT: readonly Caller[] = ['support', 'admin'];
const ADMIN: readonly Caller[] = ['admin'];
const CUSTOMER: readonly Caller[] = ['customer'];

const UNKNOWN_UUID = '6f1c2f1e-0000-4000-8000-000000000000';

/** [method, path, body, who may call] — bodies of mutations are invalid or target unknown ids: no side effects. */
const MATRIX: ReadonlyArray<[string, string, unknown, readonly Caller[]]> = [
  // fleet
  ['GET', '/ops/v1/vehicles', undefined, ANY],
  ['GET', '/ops/v1/fleet/live', undefined, ANY],
  // commands
  ['POST', '/ops/v1/vehicles/no-such-car/commands', { type: 'lock', reason: 'matrix', ttlSeconds: 60 }, DISPATCH],
  ['GET', '/ops/v1/commands/no-such-command', undefined, ANY],
  ['GET', '/ops/v1/vehicles/no-such-car/commands', undefined, ANY],
  ['POST', '/ops/v1/commands/no-such-command/cancel', { reason: 'matrix' }, DISPATCH],
  // audit
  ['GET', '/ops/v1/audit?limit=1', undefined, SUPPORT],
  // alerts
  ['GET', '/ops/v1/alerts?limit=1', undefined, ANY],
  ['GET', `/ops/v1/alerts/${UNKNOWN_UUID}`, undefined, ANY],
  ['POST', `/ops/v1/alerts/${UNKNOWN_UUID}/acknowledge`, undefined, DISPATCH],
  ['POST', `/ops/v1/alerts/${UNKNOWN_UUID}/assign`, { assignee: 'x' }, DISPATCH],
  ['POST', `/ops/v1/alerts/${UNKNOWN_UUID}/resolve`, { note: 'matrix' }, DISPATCH],
  // device identity (MQTT credentials)
  ['POST', '/ops/v1/vehicles/no-such-car/device-credentials', undefined, ADMIN],
  ['DELETE', '/ops/v1/vehicles/no-such-car/device-credentials', undefined, ADMIN],
  ['POST', '/ops/v1/mqtt-accounts', { role: 'nobody' }, ADMIN],
  ['DELETE', '/ops/v1/mqtt-accounts/desktop.no-such-account', undefined, ADMIN],
  // ops: tasks and notes
  ['GET', '/ops/v1/tasks?limit=1', undefined, ANY],
  ['GET', '/ops/v1/tasks/no-such-task', undefined, ANY],
  ['POST', '/ops/v1/tasks', { vehicleId: 'no-such-car', kind: 'cleaning' }, DISPATCH],
  ['PATCH', '/ops/v1/tasks/no-such-task', { note: 'matrix' }, DISPATCH],
  ['POST', '/ops/v1/notes', { targetType: 'vehicle', targetId: 'x', text: '' }, ANY],
  ['GET', '/ops/v1/notes?targetType=vehicle&targetId=x', undefined, ANY],
  // staff identity
  ['GET', '/ops/v1/me', undefined, ANY],
  ['GET', '/ops/v1/staff', undefined, ADMIN],
  ['POST', '/ops/v1/staff', { email: 'not-valid' }, ADMIN],
  ['PATCH', '/ops/v1/staff/no-such-staff', { name: 'matrix' }, ADMIN],
  // customers (support tools): no personal data for dispatchers
  ['GET', '/ops/v1/customers?q=x', undefined, SUPPORT],
  ['GET', '/ops/v1/customers/no-such-customer', undefined, SUPPORT],
  ['POST', '/ops/v1/customers/no-such-customer/block', { reason: 'matrix' }, SUPPORT],
  ['POST', '/ops/v1/customers/no-such-customer/unblock', { reason: 'matrix' }, SUPPORT],
  // sync (collection-level rules come after: SYNC_ACCESS)
  ['GET', '/sync/v1/tasks/pull?limit=1', undefined, ANY],
  ['POST', '/sync/v1/tasks/push', { not: 'an array' }, ANY],
  ['GET', '/sync/v1/rockets/stream', undefined, ANY],
  // the customer's own account
  ['GET', '/v1/me', undefined, CUSTOMER],
  ['PUT', '/v1/me/driver-licence', { number: 'x' }, CUSTOMER],
];

/** Open to everyone (they are how one gets a token). */
const PUBLIC = new Set([
  'POST /v1/auth/signup',
  'POST /v1/auth/login',
  'POST /v1/auth/refresh',
  'POST /v1/auth/logout',
  'POST /ops/v1/auth/login',
  'POST /ops/v1/auth/refresh',
  'POST /ops/v1/auth/logout',
]);

describe.each(dbBackends())('permission matrix on $name', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void>;
  const headers = {} as Record<Caller, Record<string, string>>;
  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({
      port: 0,
      mqttPort: 0,
      mqttUrl: undefined,
      mqttAuth: 'off',
      logLevel: 'silent',
      seedVehicles: 1,
      seedDemoStaff: false,
      ...created.overrides,
    });
    headers.anonymous = {};
    headers.customer = (await signUpCustomer(server)).headers;
    for (const role of ['dispatcher', 'support', 'admin'] as const) headers[role] = await staffHeaders(server, role);
  });
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  async function call(
    caller: Caller,
    method: string,
    path: string,
    body: unknown,
  ): Promise<{ status: number; type: string | null; code: unknown }> {
    const res = await fetch(`${server.httpUrl}${path}`, {
      method,
      headers: { ...headers[caller], ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let code: unknown;
    try {
      code = (JSON.parse(text) as { code?: unknown }).code;
    } catch {
      code = undefined;
    }
    return { status: res.status, type: res.headers.get('content-type'), code };
  }

  it('each role × each staff route: allowed callers pass, others get 401 or 403 problems', async () => {
    const failures: string[] = [];
    for (const [method, path, body, allowed] of MATRIX) {
      for (const caller of CALLERS) {
        const res = await call(caller, method, path, body);
        const label = `${caller} ${method} ${path} → ${res.status} ${String(res.code)}`;
        if (allowed.includes(caller)) {
          if (res.status === 401 || res.status === 403 || res.status >= 500) failures.push(`${label} (should be allowed)`);
          continue;
        }
        // a wrong kind of token (customer on staff routes, staff on customer routes) or none is 401; a staff role outside the list 403
        const staffRoute = !allowed.includes('customer');
        const expected = caller === 'anonymous' || (caller === 'customer') === staffRoute ? 401 : 403;
        if (res.status !== expected || !res.type?.startsWith('application/problem+json')) failures.push(`${label} (expected ${expected})`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('sync collections keep their own rules with the token role (SYNC_ACCESS): support may not push tasks', async () => {
    const task = {
      id: 'matrix-task',
      vehicleId: 'veh-00001',
      kind: 'cleaning',
      status: 'open',
      assignee: null,
      note: '',
      alertId: null,
      createdBy: 'x',
      createdAt: 1,
      dueAt: null,
      completedAt: null,
      updatedAt: 1,
    };
    const push = async (caller: Caller) =>
      fetch(`${server.httpUrl}/sync/v1/tasks/push`, {
        method: 'POST',
        headers: { ...headers[caller], 'content-type': 'application/json' },
        body: JSON.stringify([{ newDocumentState: task }]),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as Array<Record<string, unknown>> }));
    const refused = await push('support');
    expect(refused.status).toBe(200);
    expect(refused.body).toHaveLength(1);
    expect(JSON.stringify(refused.body[0])).toContain('forbidden_role');
    const { rows } = await server.db.query('select 1 from tasks where id = $1', ['matrix-task']);
    expect(rows).toHaveLength(0);
    expect((await push('dispatcher')).body).toEqual([]);
    expect((await server.db.query('select created_by from tasks where id = $1', ['matrix-task'])).rows).toEqual([
      { created_by: 'test-dispatcher' },
    ]);
  });

  it('no operation in the OpenAPI document under /v1, /ops/v1 or /sync/v1 serves an anonymous caller unless declared public', async () => {
    const doc = (await (await fetch(`${server.httpUrl}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    };
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([m]) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
        .map(([m, op]) => ({ method: m.toUpperCase(), template: path, isPublic: Array.isArray(op.security) && op.security.length === 0 })),
    );
    const protectedOps = operations.filter(({ template }) => /^\/(v1|ops\/v1|sync\/v1)\//.test(template));
    expect(protectedOps.length).toBeGreaterThan(MATRIX.length);
    // the only public staff/sync routes are the staff login ones
    const publicStaff = protectedOps.filter((o) => o.isPublic && !o.template.startsWith('/v1/')).map((o) => `${o.method} ${o.template}`);
    expect(publicStaff.filter((o) => !PUBLIC.has(o))).toEqual([]);
    const served: string[] = [];
    for (const { method, template, isPublic } of protectedOps) {
      if (isPublic) continue;
      // fill path parameters with a harmless value; no body: an anonymous caller must be refused before validation
      const path = template.replace(/\{[^}]+\}/g, 'x');
      const res = await call('anonymous', method, path, undefined);
      if (res.status !== 401 && !(res.status === 403 && res.code === 'route_not_permitted'))
        served.push(`${method} ${template} → ${res.status}`);
    }
    expect(served).toEqual([]);
  });
});
