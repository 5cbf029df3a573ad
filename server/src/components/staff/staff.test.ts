/**
 * Staff identity through the whole server (PGlite always, PostgreSQL when DATABASE_URL is set): the seeded demo
 * accounts, login/refresh/logout, GET /ops/v1/me, admin account management (audited; deactivation and role
 * changes end sessions), rate limits, the signing secret shared through the database, SEED_DEMO_STAFF=false.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../app.js';
import { signUpCustomer, staffHeaders } from '../../testing/auth.js';
import { dbBackends } from '../../testing/backends.js';
import { DEMO_STAFF } from './index.js';

const quiet = { port: 0, mqttPort: 0, mqttUrl: undefined, mqttAuth: 'off' as const, logLevel: 'silent' as const, seedVehicles: 0 };

async function call<T = Record<string, unknown>>(
  server: ServerHandle,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${server.httpUrl}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    headers: res.headers,
    body: (text === '' ? null : JSON.parse(text)) as T,
  };
}

interface StaffLogin {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  tokenType: string;
  staff: { id: string; name: string; role: string };
}

describe.each(dbBackends())('staff identity on $name', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({ ...quiet, ...created.overrides });
  });
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it('seeds the documented demo accounts; each logs in (email case-insensitive) and reads /ops/v1/me', async () => {
    expect(DEMO_STAFF.map((d) => [d.email, d.password, d.role])).toEqual([
      ['dispatcher@fleetdesk.local', 'demo-dispatcher-pass', 'dispatcher'],
      ['support@fleetdesk.local', 'demo-support-pass', 'support'],
      ['admin@fleetdesk.local', 'demo-admin-pass', 'admin'],
    ]);
    for (const demo of DEMO_STAFF) {
      const login = await call<StaffLogin>(server, 'POST', '/ops/v1/auth/login', {
        email: demo.email.toUpperCase(),
        password: demo.password,
      });
      expect(login.status).toBe(200);
      expect(login.body).toEqual({
        accessToken: expect.any(String),
        refreshToken: expect.any(String),
        expiresIn: 900,
        tokenType: 'Bearer',
        staff: { id: demo.id, name: demo.name, role: demo.role },
      });
      const me = await call(server, 'GET', '/ops/v1/me', undefined, bearer(login.body.accessToken));
      expect(me.body).toMatchObject({ id: demo.id, email: demo.email, role: demo.role, active: true });
    }
    // exactly the three (two instances seeding at once: see the PostgreSQL test below)
    const { rows } = await server.db.query<{ n: number }>(
      `select count(*)::int as n from staff_accounts where email like '%@fleetdesk.local'`,
    );
    expect(rows[0]!.n).toBe(3);
  });

  it('refuses wrong passwords and unknown emails alike (401) and rate-limits per email (429 + Retry-After)', async () => {
    const wrong = await call(server, 'POST', '/ops/v1/auth/login', { email: 'support@fleetdesk.local', password: 'guess-guess' });
    const unknown = await call(server, 'POST', '/ops/v1/auth/login', { email: 'ghost@fleetdesk.local', password: 'guess-guess' });
    for (const res of [wrong, unknown]) expect(res).toMatchObject({ status: 401, body: { code: 'invalid_credentials' } });
    for (let i = 0; i < 4; i++)
      await call(server, 'POST', '/ops/v1/auth/login', { email: 'support@fleetdesk.local', password: `guess-${i}` });
    const limited = await call(server, 'POST', '/ops/v1/auth/login', { email: 'support@fleetdesk.local', password: 'demo-support-pass' });
    expect(limited).toMatchObject({ status: 429, body: { code: 'too_many_attempts' } });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // staff and customer counters are separate scopes
    const { rows } = await server.db.query<{ key: string }>(`select key from login_throttle where key like 'staff:email:%'`);
    expect(rows.map((r) => r.key)).toContain('staff:email:support@fleetdesk.local');
    await server.db.query('delete from login_throttle');
  });

  it('refresh rotates; reuse of a rotated token revokes the family; logout ends the session', async () => {
    const login = await call<StaffLogin>(server, 'POST', '/ops/v1/auth/login', {
      email: 'dispatcher@fleetdesk.local',
      password: 'demo-dispatcher-pass',
    });
    const next = await call<StaffLogin>(server, 'POST', '/ops/v1/auth/refresh', { refreshToken: login.body.refreshToken });
    expect(next.status).toBe(200);
    expect((await call(server, 'GET', '/ops/v1/me', undefined, bearer(next.body.accessToken))).body).toMatchObject({
      id: 'demo-dispatcher',
    });
    expect((await call(server, 'POST', '/ops/v1/auth/refresh', { refreshToken: login.body.refreshToken })).status).toBe(401);
    expect((await call(server, 'POST', '/ops/v1/auth/refresh', { refreshToken: next.body.refreshToken })).status).toBe(401);
    const again = await call<StaffLogin>(server, 'POST', '/ops/v1/auth/login', {
      email: 'dispatcher@fleetdesk.local',
      password: 'demo-dispatcher-pass',
    });
    expect((await call(server, 'POST', '/ops/v1/auth/logout', { refreshToken: again.body.refreshToken })).status).toBe(204);
    expect((await call(server, 'POST', '/ops/v1/auth/refresh', { refreshToken: again.body.refreshToken })).status).toBe(401);
    // a staff refresh token does not work on the customer API
    const third = await call<StaffLogin>(server, 'POST', '/ops/v1/auth/login', {
      email: 'dispatcher@fleetdesk.local',
      password: 'demo-dispatcher-pass',
    });
    expect((await call(server, 'POST', '/v1/auth/refresh', { refreshToken: third.body.refreshToken })).status).toBe(401);
  });

  it('admins create accounts (audited, 409 on a taken email); the new member logs in; others may not create', async () => {
    const admin = await staffHeaders(server, 'admin', 'ada');
    const created = await call(
      server,
      'POST',
      '/ops/v1/staff',
      { email: 'Ben@Fleetdesk.Example', name: 'Ben', role: 'support', password: 'bens-long-password' },
      admin,
    );
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^staff-/),
      email: 'Ben@Fleetdesk.Example',
      name: 'Ben',
      role: 'support',
      active: true,
      createdAt: expect.any(String),
    });
    expect(JSON.stringify(created.body)).not.toMatch(/argon|password/i);
    const dup = await call(
      server,
      'POST',
      '/ops/v1/staff',
      { email: 'ben@fleetdesk.example', name: 'Ben 2', role: 'admin', password: 'bens-long-password' },
      admin,
    );
    expect(dup).toMatchObject({ status: 409, body: { code: 'email_taken' } });
    const audit = await server.db.query<{ actor: string; role: string; action: string; after: Record<string, unknown> }>(
      `select actor, role, action, after from audit_log where target_type = 'staff' and target_id = $1`,
      [created.body.id],
    );
    expect(audit.rows).toEqual([
      {
        actor: 'ada',
        role: 'admin',
        action: 'staff.created',
        after: expect.objectContaining({ email: 'Ben@Fleetdesk.Example', role: 'support' }),
      },
    ]);
    expect(JSON.stringify(audit.rows)).not.toMatch(/argon2/);

    const ben = await call<StaffLogin>(server, 'POST', '/ops/v1/auth/login', {
      email: 'ben@fleetdesk.example',
      password: 'bens-long-password',
    });
    expect(ben.body.staff).toEqual({ id: created.body.id, name: 'Ben', role: 'support' });
    for (const role of ['dispatcher', 'support'] as const) {
      expect(
        (
          await call(
            server,
            'POST',
            '/ops/v1/staff',
            { email: `x-${role}@x.example`, name: 'X', role: 'admin', password: 'long-enough-pw' },
            await staffHeaders(server, role),
          )
        ).status,
      ).toBe(403);
    }
    const list = await call<{ staff: Array<{ id: string }> }>(server, 'GET', '/ops/v1/staff', undefined, admin);
    expect(list.body.staff.map((s) => s.id)).toContain(created.body.id);
  });

  it('a role change takes effect at the next login and ends refresh; deactivation refuses login and refresh', async () => {
    const admin = await staffHeaders(server, 'admin', 'ada');
    const created = await call<{ id: string }>(
      server,
      'POST',
      '/ops/v1/staff',
      { email: 'cleo@fleetdesk.example', name: 'Cleo', role: 'dispatcher', password: 'cleos-long-password' },
      admin,
    );
    const login = await call<StaffLogin>(server, 'POST', '/ops/v1/auth/login', {
      email: 'cleo@fleetdesk.example',
      password: 'cleos-long-password',
    });
    expect((await call(server, 'GET', '/ops/v1/customers', undefined, bearer(login.body.accessToken))).status).toBe(403);

    const promoted = await call(server, 'PATCH', `/ops/v1/staff/${created.body.id}`, { role: 'support' }, admin);
    expect(promoted).toMatchObject({ status: 200, body: { role: 'support' } });
    expect((await call(server, 'POST', '/ops/v1/auth/refresh', { refreshToken: login.body.refreshToken })).status).toBe(401);
    const relogin = await call<StaffLogin>(server, 'POST', '/ops/v1/auth/login', {
      email: 'cleo@fleetdesk.example',
      password: 'cleos-long-password',
    });
    expect(relogin.body.staff.role).toBe('support');
    expect((await call(server, 'GET', '/ops/v1/customers', undefined, bearer(relogin.body.accessToken))).status).toBe(200);

    expect((await call(server, 'PATCH', `/ops/v1/staff/${created.body.id}`, { active: false }, admin)).status).toBe(200);
    expect((await call(server, 'POST', '/ops/v1/auth/refresh', { refreshToken: relogin.body.refreshToken })).status).toBe(401);
    expect(
      (await call(server, 'POST', '/ops/v1/auth/login', { email: 'cleo@fleetdesk.example', password: 'cleos-long-password' })).status,
    ).toBe(401);
    // admins cannot lock themselves out
    expect((await call(server, 'PATCH', '/ops/v1/staff/ada', { active: false }, admin)).status).toBe(409);
    expect((await call(server, 'PATCH', '/ops/v1/staff/nobody', { name: 'x' }, admin)).status).toBe(404);
    const audit = await server.db.query<{ action: string }>(
      `select action from audit_log where target_type = 'staff' and target_id = $1 order by id`,
      [created.body.id],
    );
    expect(audit.rows.map((r) => r.action)).toEqual(['staff.created', 'staff.updated', 'staff.updated']);
  });

  it('every role reads the directory of colleagues: id, name, role and active only, deactivated ones marked', async () => {
    const admin = await staffHeaders(server, 'admin', 'ada');
    const gone = await call<{ id: string }>(
      server,
      'POST',
      '/ops/v1/staff',
      { email: 'gone@fleetdesk.example', name: 'Gone Away', role: 'dispatcher', password: 'gone-long-password' },
      admin,
    );
    expect((await call(server, 'PATCH', `/ops/v1/staff/${gone.body.id}`, { active: false }, admin)).status).toBe(200);
    for (const role of ['dispatcher', 'support', 'admin'] as const) {
      const res = await call<{ staff: Array<Record<string, unknown>> }>(
        server,
        'GET',
        '/ops/v1/staff/directory',
        undefined,
        await staffHeaders(server, role, `dir-${role}`),
      );
      expect(res.status, role).toBe(200);
      expect(res.body.staff.find((s) => s.id === 'ada')).toMatchObject({ name: expect.any(String), active: true });
      // a colleague who left keeps a name on what they did, marked inactive (the desk offers only active assignees)
      expect(res.body.staff.find((s) => s.id === gone.body.id)).toEqual({
        id: gone.body.id,
        name: 'Gone Away',
        role: 'dispatcher',
        active: false,
      });
      for (const s of res.body.staff) expect(Object.keys(s).sort()).toEqual(['active', 'id', 'name', 'role']);
      const names = res.body.staff.map((s) => String(s.name));
      expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b)));
    }
    expect((await call(server, 'GET', '/ops/v1/staff/directory')).status).toBe(401);
  });

  it('refuses expired and foreign-signed tokens; the generated secret lives in the database', async () => {
    const { rows } = await server.db.query<{ secret: string }>(`select secret from auth_secrets where name = 'access_token_hs256'`);
    expect(rows).toHaveLength(1);
    const key = Buffer.from(rows[0]!.secret, 'base64');
    expect(key.length).toBe(32);
    const now = Math.floor(Date.now() / 1000);
    const token = (k: Uint8Array, exp: number) =>
      new SignJWT({ role: 'admin' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('fleetdesk')
        .setAudience('fleetdesk:staff')
        .setSubject('demo-admin')
        .setIssuedAt(now - 60)
        .setExpirationTime(exp)
        .sign(k);
    expect((await call(server, 'GET', '/ops/v1/me', undefined, bearer(await token(key, now + 60)))).status).toBe(200);
    expect((await call(server, 'GET', '/ops/v1/me', undefined, bearer(await token(key, now - 1)))).status).toBe(401);
    expect((await call(server, 'GET', '/ops/v1/me', undefined, bearer(await token(Buffer.alloc(32, 7), now + 60)))).status).toBe(401);
    // and customers' tokens are not staff tokens
    expect((await call(server, 'GET', '/ops/v1/me', undefined, (await signUpCustomer(server)).headers)).status).toBe(401);
  });

  it('an admin resets a colleague’s password: a new one shown once, the old one and the sessions end, audited without it', async () => {
    const admin = await staffHeaders(server, 'admin', 'ada');
    const dora = await call<{ id: string }>(
      server,
      'POST',
      '/ops/v1/staff',
      { email: 'dora@fleetdesk.example', name: 'Dora', role: 'support', password: 'doras-long-password' },
      admin,
    );
    const session = await call<StaffLogin>(server, 'POST', '/ops/v1/auth/login', {
      email: 'dora@fleetdesk.example',
      password: 'doras-long-password',
    });
    expect(session.status).toBe(200);

    const reset = await call<{ account: { id: string; active: boolean }; temporaryPassword: string }>(
      server,
      'POST',
      `/ops/v1/staff/${dora.body.id}/password-reset`,
      undefined,
      admin,
    );
    expect(reset.status).toBe(200);
    expect(reset.headers.get('cache-control')).toBe('no-store');
    expect(reset.body.account).toMatchObject({ id: dora.body.id, active: true });
    expect(reset.body.temporaryPassword).toMatch(/^[A-Za-z2-9]{5}(-[A-Za-z2-9]{5}){3}$/);

    const login = (password: string) => call(server, 'POST', '/ops/v1/auth/login', { email: 'dora@fleetdesk.example', password });
    expect((await login('doras-long-password')).status).toBe(401);
    expect((await login(reset.body.temporaryPassword)).status).toBe(200);
    expect((await call(server, 'POST', '/ops/v1/auth/refresh', { refreshToken: session.body.refreshToken })).status).toBe(401);

    const audit = await server.db.query<{ actor: string; action: string; after: unknown }>(
      `select actor, action, after from audit_log where target_type = 'staff' and target_id = $1 order by id`,
      [dora.body.id],
    );
    expect(audit.rows.map((r) => [r.actor, r.action])).toEqual([
      ['ada', 'staff.created'],
      ['ada', 'staff.password_reset'],
    ]);
    expect(JSON.stringify(audit.rows)).not.toContain(reset.body.temporaryPassword);

    // two resets: two different passwords; only the last one works
    const again = await call<{ temporaryPassword: string }>(
      server,
      'POST',
      `/ops/v1/staff/${dora.body.id}/password-reset`,
      undefined,
      admin,
    );
    expect(again.body.temporaryPassword).not.toBe(reset.body.temporaryPassword);
    expect((await login(reset.body.temporaryPassword)).status).toBe(401);

    expect(await call(server, 'POST', '/ops/v1/staff/ada/password-reset', undefined, admin)).toMatchObject({
      status: 409,
      body: { code: 'cannot_reset_own_password' },
    });
    expect((await call(server, 'POST', '/ops/v1/staff/nobody/password-reset', undefined, admin)).status).toBe(404);
    for (const role of ['dispatcher', 'support'] as const) {
      const refused = await call(
        server,
        'POST',
        `/ops/v1/staff/${dora.body.id}/password-reset`,
        undefined,
        await staffHeaders(server, role),
      );
      expect(refused.status, role).toBe(403);
    }
  });

  it('answers bad input with 4xx problem+json', async () => {
    const admin = await staffHeaders(server, 'admin', 'ada');
    const cases: Array<[string, string, unknown, Record<string, string>?]> = [
      ['POST', '/ops/v1/auth/login', {}],
      ['POST', '/ops/v1/auth/login', { email: 1, password: 2 }],
      ['POST', '/ops/v1/auth/login', { email: 'a@b', password: 'x'.repeat(201) }],
      ['POST', '/ops/v1/auth/refresh', { refreshToken: '' }],
      ['POST', '/ops/v1/staff', { email: 'z@z.example', name: 'Z', role: 'root', password: 'long-enough-pw' }, admin],
      ['POST', '/ops/v1/staff', { email: 'z@z.example', name: 'Z', role: 'support', password: 'short' }, admin],
      ['POST', '/ops/v1/staff', { id: 'bad id!', email: 'z@z.example', name: 'Z', role: 'support', password: 'long-enough-pw' }, admin],
      ['PATCH', '/ops/v1/staff/ada', {}, admin],
      ['PATCH', '/ops/v1/staff/ada', { active: 'no' }, admin],
      ['POST', '/ops/v1/staff/bad%20id!/password-reset', undefined, admin],
    ];
    for (const [method, path, body, headers] of cases) {
      const res = await call(server, method, path, body, headers);
      expect(res.status, `${method} ${path} ${JSON.stringify(body)}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${method} ${path} ${JSON.stringify(body)}`).toBeLessThan(500);
      expect(res.type).toMatch(/^application\/problem\+json/);
    }
  });
});

describe.each(dbBackends())('the last admin on $name', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({ ...quiet, ...created.overrides, seedDemoStaff: false });
  });
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  /** Exactly these two admins are active (signed in with tokens that stay valid after a change: the stale-token case). */
  async function twoAdmins(round: number) {
    const [x, y] = [`admin-x${round}`, `admin-y${round}`];
    const headers = { x: await staffHeaders(server, 'admin', x), y: await staffHeaders(server, 'admin', y) };
    await server.db.query(`update staff_accounts set active = (id = any($1::text[])) where role = 'admin'`, [[x, y]]);
    return { x, y, headers };
  }
  const activeAdmins = async () =>
    (await server.db.query<{ id: string }>(`select id from staff_accounts where role = 'admin' and active order by id`)).rows.map(
      (r) => r.id,
    );

  it('refuses to deactivate or demote the last active admin (409 last_admin), also with a token older than the change', async () => {
    const { x, y, headers } = await twoAdmins(1);
    expect((await call(server, 'PATCH', `/ops/v1/staff/${y}`, { active: false }, headers.x)).status).toBe(200);
    // y's token still says admin: y tries to remove x, the only admin left
    for (const patch of [{ active: false }, { role: 'support' }]) {
      const refused = await call(server, 'PATCH', `/ops/v1/staff/${x}`, patch, headers.y);
      expect(refused, JSON.stringify(patch)).toMatchObject({
        status: 409,
        type: expect.stringMatching(/^application\/problem\+json/),
        body: { code: 'last_admin' },
      });
    }
    expect(await activeAdmins()).toEqual([x]);
    // renaming is no removal
    expect((await call(server, 'PATCH', `/ops/v1/staff/${x}`, { name: 'Still Admin' }, headers.y)).status).toBe(200);
  });

  it('two admins removing each other at once: one wins, the other is refused, one admin remains', async () => {
    const { x, y, headers } = await twoAdmins(2);
    const [a, b] = await Promise.all([
      call(server, 'PATCH', `/ops/v1/staff/${y}`, { active: false }, headers.x),
      call(server, 'PATCH', `/ops/v1/staff/${x}`, { role: 'dispatcher' }, headers.y),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    expect([a, b].find((r) => r.status === 409)?.body).toMatchObject({ code: 'last_admin' });
    expect(await activeAdmins()).toHaveLength(1);
  });
});

describe('SEED_DEMO_STAFF=false', () => {
  it('seeds no demo account', async () => {
    const server = await startServer({ ...quiet, dataDir: 'memory://', databaseUrl: undefined, seedDemoStaff: false });
    try {
      const { rows } = await server.db.query('select id from staff_accounts');
      expect(rows).toEqual([]);
      expect(
        (await call(server, 'POST', '/ops/v1/auth/login', { email: 'admin@fleetdesk.local', password: 'demo-admin-pass' })).status,
      ).toBe(401);
    } finally {
      await server.stop();
    }
  });
});

describe.runIf(process.env.DATABASE_URL)('two instances on one PostgreSQL', () => {
  it('share the generated signing secret and the login counters: a token from one works on the other', async () => {
    const [pg] = dbBackends().filter((b) => b.name === 'postgres');
    const { overrides, cleanup } = await pg!.create();
    const a = await startServer({ ...quiet, ...overrides });
    const b = await startServer({ ...quiet, ...overrides });
    try {
      const login = await call<StaffLogin>(a, 'POST', '/ops/v1/auth/login', {
        email: 'admin@fleetdesk.local',
        password: 'demo-admin-pass',
      });
      expect((await call(b, 'GET', '/ops/v1/me', undefined, { authorization: `Bearer ${login.body.accessToken}` })).body).toMatchObject({
        id: 'demo-admin',
      });
      expect((await call(b, 'POST', '/ops/v1/auth/refresh', { refreshToken: login.body.refreshToken })).status).toBe(200);
      for (let i = 0; i < 3; i++) await call(a, 'POST', '/ops/v1/auth/login', { email: 'support@fleetdesk.local', password: `nope-${i}` });
      for (let i = 0; i < 2; i++) await call(b, 'POST', '/ops/v1/auth/login', { email: 'support@fleetdesk.local', password: `nope-${i}` });
      expect(
        (await call(a, 'POST', '/ops/v1/auth/login', { email: 'support@fleetdesk.local', password: 'demo-support-pass' })).status,
      ).toBe(429);
      const { rows } = await a.db.query<{ n: number }>('select count(*)::int as n from staff_accounts');
      expect(rows[0]!.n).toBe(3);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await cleanup();
    }
  }, 90_000);
});
