/**
 * Customer identity through the whole server (PGlite always, PostgreSQL when DATABASE_URL is set): sign-up,
 * login, refresh rotation and reuse detection, logout, /v1/me; login rate limits; driver licences through the
 * sandbox provider (verified, rejected, expired, provider failures retried across a restart); the support tools
 * (search, detail, block/unblock audited); isolation between customers; bad input → 4xx problem+json.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../app.js';
import { CONFIRMATION_TOKEN_LABEL, confirmationToken } from '../../../../src/shared/sandbox-mailbox.js';
import { IN_MEMORY_DATA_DIR } from '../../platform/config.js';
import { SIGN_UP_ACCEPTED } from './domain/customer-accounts.js';
import { signUpCustomer, staffHeaders, waitForLicence } from '../../testing/auth.js';
import { dbBackends } from '../../testing/backends.js';
import { waitFor } from '../../testing/devices.js';
import { metricValue } from '../../testing/metrics.js';

const quiet = {
  port: 0,
  mqttPort: 0,
  mqttUrl: undefined,
  mqttAuth: 'off' as const,
  logLevel: 'silent' as const,
  seedVehicles: 0,
  seedDemoStaff: false,
};
const fast = { licenceSandboxLatencyMs: 20, licenceRetryBaseMs: 50, licenceCheckTimeoutMs: 300 };

interface Res<T = Record<string, unknown>> {
  status: number;
  type: string | null;
  headers: Headers;
  body: T;
}

async function call<T = Record<string, unknown>>(
  server: ServerHandle,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Res<T>> {
  const res = await fetch(`${server.httpUrl}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    headers: res.headers,
    body: (text === '' ? null : JSON.parse(text)) as T,
  };
}

const daysFromToday = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

describe.each(dbBackends())('customer identity on $name', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({ ...quiet, ...created.overrides, ...fast, loginMaxFailuresPerEmail: 5, loginMaxFailuresPerIp: 12 });
  });
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  it('signs up with a mailed confirmation code, logs in, reads /v1/me; a taken address (any case) gets the same answer and its owner a notice', async () => {
    const ada = { email: 'Ada.Lovelace@Example.test', password: 'analytical-engine', name: 'Ada Lovelace', phone: '+44 20 7946 0018' };
    const signup = await call(server, 'POST', '/v1/auth/signup', ada);
    expect(signup.status).toBe(202);
    expect(signup.body).toEqual(SIGN_UP_ACCEPTED);
    // no account before the code comes back: the password does not sign in yet
    expect((await call(server, 'POST', '/v1/auth/login', { email: ada.email, password: ada.password })).status).toBe(401);
    await server.customers.deliverMail();
    const [confirmation] = server.customers.sandboxMails('ada.lovelace@example.test');
    expect(confirmation).toMatchObject({ to: ada.email, kind: 'verify_email' });
    const token = confirmationToken(confirmation!.body)!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // a wrong code, and the right one for another address, are refused alike
    for (const wrong of [
      { email: ada.email, token: 'A'.repeat(43) },
      { email: 'someone.else@example.test', token },
    ]) {
      const refused = await call(server, 'POST', '/v1/auth/verify-email', wrong);
      expect(refused).toMatchObject({ status: 400, body: { code: 'verification_invalid' } });
    }
    const verified = await call<{ accessToken: string }>(server, 'POST', '/v1/auth/verify-email', { email: ada.email, token });
    expect(verified.status).toBe(200);
    expect(verified.body.accessToken).toEqual(expect.any(String));
    // a code works once
    expect((await call(server, 'POST', '/v1/auth/verify-email', { email: ada.email, token })).status).toBe(400);
    const customerId = (
      (await call(server, 'GET', '/v1/me', undefined, { authorization: `Bearer ${verified.body.accessToken}` })).body as {
        customerId: string;
      }
    ).customerId;

    // the same address again, in another case, by someone else: the same answer, no change, a notice to the owner
    const dup = await call(server, 'POST', '/v1/auth/signup', {
      email: 'ada.lovelace@example.TEST',
      password: 'another-password',
      name: 'Imposter',
      phone: '+4930123456',
    });
    expect({ status: dup.status, body: dup.body }).toEqual({ status: signup.status, body: signup.body });
    await server.customers.deliverMail();
    expect(server.customers.sandboxMails(ada.email).map((m) => m.kind)).toEqual(['verify_email', 'signup_notice']);
    expect(server.customers.sandboxMails(ada.email)[1]!.body).not.toContain(CONFIRMATION_TOKEN_LABEL);
    expect((await call(server, 'POST', '/v1/auth/login', { email: ada.email, password: 'another-password' })).status).toBe(401);
    const names = await server.db.query<{ name: string }>('select name from customers where lower(email) = lower($1)', [ada.email]);
    expect(names.rows).toEqual([{ name: 'Ada Lovelace' }]);
    // delivered mails keep no confirmation code in the database
    const kept = await server.db.query<{ body: string }>('select body from mail_outbox where lower(to_address) = lower($1)', [ada.email]);
    expect(kept.rows.map((r) => r.body)).toEqual(['', '']);
    const login = await call<{ accessToken: string; refreshToken: string; expiresIn: number; tokenType: string }>(
      server,
      'POST',
      '/v1/auth/login',
      { email: 'ADA.lovelace@example.test', password: 'analytical-engine' },
    );
    expect(login.status).toBe(200);
    expect(login.body).toEqual({ accessToken: expect.any(String), refreshToken: expect.any(String), expiresIn: 900, tokenType: 'Bearer' });
    expect(login.headers.get('cache-control')).toBe('no-store');
    const me = await call(server, 'GET', '/v1/me', undefined, { authorization: `Bearer ${login.body.accessToken}` });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      customerId,
      email: 'Ada.Lovelace@Example.test',
      name: 'Ada Lovelace',
      phone: '+44 20 7946 0018',
      status: 'active',
      createdAt: expect.any(String),
      licence: { status: 'none', numberLast4: null, country: null, expiresOn: null, checkedAt: null, reason: null },
    });
    // only hashes are stored: argon2id (PHC) for the password, sha256 for the refresh token
    const { rows } = await server.db.query<{ password_hash: string }>(
      'select password_hash from customer_credentials where customer_id = $1',
      [customerId],
    );
    expect(rows[0]!.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    const stored = await server.db.query('select 1 from refresh_tokens where token_hash = $1 or token_hash = $2', [
      login.body.refreshToken,
      login.body.accessToken,
    ]);
    expect(stored.rows).toHaveLength(0);
  });

  it("an unconfirmed sign-up does not keep the address: the owner's own sign-up replaces it, the squatter's code stops working", async () => {
    const email = 'grace.hopper@example.test';
    const attempt = (password: string, name: string) =>
      call(server, 'POST', '/v1/auth/signup', { email, password, name, phone: '+4930123456' });
    expect((await attempt('squatters-password', 'Squatter')).status).toBe(202);
    expect((await attempt('graces-own-password', 'Grace Hopper')).status).toBe(202);
    await server.customers.deliverMail();
    const codes = server.customers.sandboxMails(email).map((m) => confirmationToken(m.body)!);
    expect(codes).toHaveLength(2);
    expect((await call(server, 'POST', '/v1/auth/verify-email', { email, token: codes[0] })).status).toBe(400);
    expect((await call(server, 'POST', '/v1/auth/verify-email', { email, token: codes[1] })).status).toBe(200);
    expect((await call(server, 'POST', '/v1/auth/login', { email, password: 'squatters-password' })).status).toBe(401);
    expect((await call(server, 'POST', '/v1/auth/login', { email, password: 'graces-own-password' })).status).toBe(200);
  });

  it('refresh rotates the token; reusing a rotated one revokes the whole family; logout ends a session', async () => {
    const c = await signUpCustomer(server);
    const first = await call<{ accessToken: string; refreshToken: string }>(server, 'POST', '/v1/auth/refresh', {
      refreshToken: c.refreshToken,
    });
    expect(first.status).toBe(200);
    expect(first.body.refreshToken).not.toBe(c.refreshToken);
    expect((await call(server, 'GET', '/v1/me', undefined, { authorization: `Bearer ${first.body.accessToken}` })).body).toMatchObject({
      customerId: c.customerId,
    });
    const second = await call<{ refreshToken: string }>(server, 'POST', '/v1/auth/refresh', { refreshToken: first.body.refreshToken });
    expect(second.status).toBe(200);

    // the first token again: someone kept a copy → the family (including `second`) is revoked
    const reuse = await call(server, 'POST', '/v1/auth/refresh', { refreshToken: c.refreshToken });
    expect(reuse).toMatchObject({ status: 401, body: { code: 'invalid_refresh_token' } });
    expect((await call(server, 'POST', '/v1/auth/refresh', { refreshToken: second.body.refreshToken })).status).toBe(401);

    // another login is another family; logout ends it; logout of an unknown token reveals nothing
    const again = await call<{ refreshToken: string }>(server, 'POST', '/v1/auth/login', { email: c.email, password: c.password });
    expect(again.status).toBe(200);
    expect((await call(server, 'POST', '/v1/auth/logout', { refreshToken: again.body.refreshToken })).status).toBe(204);
    expect((await call(server, 'POST', '/v1/auth/refresh', { refreshToken: again.body.refreshToken })).status).toBe(401);
    expect((await call(server, 'POST', '/v1/auth/logout', { refreshToken: 'never-issued' })).status).toBe(204);
    // a customer refresh token is not a staff one
    const third = await call<{ refreshToken: string }>(server, 'POST', '/v1/auth/login', { email: c.email, password: c.password });
    expect((await call(server, 'POST', '/ops/v1/auth/refresh', { refreshToken: third.body.refreshToken })).status).toBe(401);
    expect((await call(server, 'POST', '/v1/auth/refresh', { refreshToken: third.body.refreshToken })).status).toBe(200);
  });

  it('answers a wrong password and an unknown email alike: 401 invalid_credentials', async () => {
    const c = await signUpCustomer(server);
    const wrong = await call(server, 'POST', '/v1/auth/login', { email: c.email, password: 'not-the-password' });
    const unknown = await call(server, 'POST', '/v1/auth/login', { email: 'nobody@example.test', password: 'not-the-password' });
    for (const res of [wrong, unknown]) {
      expect(res).toMatchObject({ status: 401, body: { code: 'invalid_credentials', detail: 'The email or the password is wrong' } });
      expect(res.type).toMatch(/^application\/problem\+json/);
    }
  });

  it('rate-limits logins per email: after 5 failures even the right password gets 429 too_many_attempts with Retry-After', async () => {
    const c = await signUpCustomer(server);
    for (let i = 0; i < 5; i++)
      expect((await call(server, 'POST', '/v1/auth/login', { email: c.email, password: `wrong-password-${i}` })).status).toBe(401);
    const blocked = await call(server, 'POST', '/v1/auth/login', { email: c.email.toUpperCase(), password: c.password });
    expect(blocked).toMatchObject({ status: 429, body: { code: 'too_many_attempts' } });
    const retryAfter = Number(blocked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(900);
    // the counter lives in the database (shared by every instance)
    const { rows } = await server.db.query<{ failures: number }>('select failures from login_throttle where key = $1', [
      `customer:email:${c.email.toLowerCase()}`,
    ]);
    expect(rows[0]!.failures).toBe(5);
    // another account is unaffected; the window passing (moved back here) lets the customer in again
    expect(
      (await call(server, 'POST', '/v1/auth/login', { email: (await signUpCustomer(server)).email, password: 'wrong-but-allowed' })).status,
    ).toBe(401);
    await server.db.query(`update login_throttle set window_start_at = now() - interval '16 minutes' where key = $1`, [
      `customer:email:${c.email.toLowerCase()}`,
    ]);
    expect((await call(server, 'POST', '/v1/auth/login', { email: c.email, password: c.password })).status).toBe(200);
  });

  it('rate-limits logins per client IP across emails (LOGIN_MAX_FAILURES_PER_IP)', async () => {
    await server.db.query('delete from login_throttle');
    try {
      const c = await signUpCustomer(server);
      for (let i = 0; i < 12; i++)
        expect((await call(server, 'POST', '/v1/auth/login', { email: `spray-${i}@example.test`, password: 'password123' })).status).toBe(
          401,
        );
      const res = await call(server, 'POST', '/v1/auth/login', { email: c.email, password: c.password });
      expect(res).toMatchObject({ status: 429, body: { code: 'too_many_attempts' } });
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await server.db.query('delete from login_throttle');
    }
  });

  it('driver licence: the sandbox verifies it; GET /v1/me shows it (last 4 digits only)', async () => {
    const c = await signUpCustomer(server);
    const before = await metricValue(server.metrics, 'fleetdesk_licence_checks_total', { outcome: 'verified' });
    const put = await call(
      server,
      'PUT',
      '/v1/me/driver-licence',
      { number: 'b072 rt3 9x41', country: 'de', expiresOn: daysFromToday(700) },
      c.headers,
    );
    expect(put).toMatchObject({ status: 202, body: { status: 'pending' } });
    await waitForLicence(server.httpUrl, c.headers, 'verified');
    const me = await call<{ licence: Record<string, unknown> }>(server, 'GET', '/v1/me', undefined, c.headers);
    expect(me.body.licence).toEqual({
      status: 'verified',
      numberLast4: '9X41',
      country: 'DE',
      expiresOn: daysFromToday(700),
      checkedAt: expect.any(String),
      reason: null,
    });
    expect(await server.customers.eligibility(c.customerId)).toEqual({
      customerId: c.customerId,
      exists: true,
      blocked: false,
      licenceStatus: 'verified',
    });
    expect(await metricValue(server.metrics, 'fleetdesk_licence_checks_total', { outcome: 'verified' })).toBe(before + 1);
    expect(await metricValue(server.metrics, 'fleetdesk_licence_provider_up')).toBe(1);

    // a verified licence whose expiry date has passed reads expired (time moved in the database)
    await server.db.query(`update customers set licence_expires_on = current_date - 1 where id = $1`, [c.customerId]);
    expect((await server.customers.eligibility(c.customerId)).licenceStatus).toBe('expired');
    expect((await call<{ licence: { status: string } }>(server, 'GET', '/v1/me', undefined, c.headers)).body.licence.status).toBe(
      'expired',
    );
  });

  it('driver licence: numbers starting with REJECT are rejected with a reason; a past expiry date is expired without a provider call', async () => {
    const c = await signUpCustomer(server);
    expect(
      (
        await call(
          server,
          'PUT',
          '/v1/me/driver-licence',
          { number: 'REJECT-0042', country: 'FR', expiresOn: daysFromToday(365) },
          c.headers,
        )
      ).status,
    ).toBe(202);
    await waitForLicence(server.httpUrl, c.headers, 'rejected');
    const me = await call<{ licence: { status: string; reason: string } }>(server, 'GET', '/v1/me', undefined, c.headers);
    expect(me.body.licence.reason).toMatch(/REJECT/);
    expect((await server.customers.eligibility(c.customerId)).licenceStatus).toBe('rejected');

    const expiredBefore = await metricValue(server.metrics, 'fleetdesk_licence_checks_total', { outcome: 'expired' });
    const put = await call(
      server,
      'PUT',
      '/v1/me/driver-licence',
      { number: 'OLD12345', country: 'AT', expiresOn: daysFromToday(-1) },
      c.headers,
    );
    expect(put).toMatchObject({ status: 202, body: { status: 'expired' } });
    const { rows } = await server.db.query<{ status: string; attempts: number }>(
      'select status, attempts from licence_checks where customer_id = $1 order by id desc limit 1',
      [c.customerId],
    );
    expect(rows[0]).toEqual({ status: 'expired', attempts: 0 });
    expect((await call<{ licence: { status: string } }>(server, 'GET', '/v1/me', undefined, c.headers)).body.licence.status).toBe(
      'expired',
    );
    expect(await metricValue(server.metrics, 'fleetdesk_licence_checks_total', { outcome: 'expired' })).toBe(expiredBefore + 1);
  });

  it('support finds customers by name, email, phone and licence number; the detail has notes and rentals', async () => {
    const c = await signUpCustomer(server, { name: 'Grace Hopper', phone: '+1 (555) 010-4242', verifiedLicence: true });
    const support = await staffHeaders(server, 'support', 'sam');
    const { rows } = await server.db.query<{ licence_number: string }>('select licence_number from customers where id = $1', [
      c.customerId,
    ]);
    const licence = rows[0]!.licence_number;
    for (const q of ['grace hop', c.email.toUpperCase().slice(0, 14), '555010424', '(555) 010', licence.toLowerCase()]) {
      const res = await call<{ customers: Array<{ customerId: string }> }>(
        server,
        'GET',
        `/ops/v1/customers?q=${encodeURIComponent(q)}`,
        undefined,
        support,
      );
      expect(res.status, q).toBe(200);
      expect(
        res.body.customers.map((x) => x.customerId),
        q,
      ).toContain(c.customerId);
    }
    const none = await call<{ customers: unknown[] }>(
      server,
      'GET',
      `/ops/v1/customers?q=${encodeURIComponent('%_\\')}`,
      undefined,
      support,
    );
    expect(none.body.customers).toEqual([]);

    const note = await call(
      server,
      'POST',
      '/ops/v1/notes',
      { targetType: 'customer', targetId: c.customerId, text: 'called about a scratch' },
      support,
    );
    expect(note.status).toBe(201);
    const detail = await call<Record<string, unknown>>(server, 'GET', `/ops/v1/customers/${c.customerId}`, undefined, support);
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({
      customerId: c.customerId,
      name: 'Grace Hopper',
      status: 'active',
      licence: { status: 'verified', number: licence, country: 'DE' },
      rentals: [],
      rentalsAvailable: true,
      notes: [expect.objectContaining({ text: 'called about a scratch', author: 'sam' })],
    });
    expect((await call(server, 'GET', '/ops/v1/customers/no-such-customer', undefined, support)).status).toBe(404);
  });

  it('block/unblock: audited with reason and before/after, new server_seq; a blocked customer reads /v1/me but cannot create (403 customer_blocked)', async () => {
    const c = await signUpCustomer(server);
    const admin = await staffHeaders(server, 'admin', 'root-ann');
    const seq = async () =>
      (await server.db.query<{ s: string }>('select server_seq::text as s from customers where id = $1', [c.customerId])).rows[0]!.s;
    const seqBefore = await seq();
    const blocked = await call(server, 'POST', `/ops/v1/customers/${c.customerId}/block`, { reason: 'chargeback fraud' }, admin);
    expect(blocked).toMatchObject({ status: 200, body: { status: 'blocked', blockedReason: 'chargeback fraud' } });
    expect(BigInt(await seq())).toBeGreaterThan(BigInt(seqBefore));
    // again: no change, no second audit entry
    expect((await call(server, 'POST', `/ops/v1/customers/${c.customerId}/block`, { reason: 'twice' }, admin)).status).toBe(200);

    expect(await server.customers.eligibility(c.customerId)).toMatchObject({ blocked: true });
    expect((await call(server, 'POST', '/v1/auth/login', { email: c.email, password: c.password })).status).toBe(200);
    expect((await call(server, 'GET', '/v1/me', undefined, c.headers)).body).toMatchObject({ status: 'blocked' });
    const put = await call(
      server,
      'PUT',
      '/v1/me/driver-licence',
      { number: 'B1234567', country: 'DE', expiresOn: daysFromToday(30) },
      c.headers,
    );
    expect(put).toMatchObject({ status: 403, body: { code: 'customer_blocked' } });
    await expect(server.customers.assertActive(c.customerId)).rejects.toMatchObject({ code: 'customer_blocked', status: 403 });

    expect(
      await call(
        server,
        'POST',
        `/ops/v1/customers/${c.customerId}/unblock`,
        { reason: 'bank confirmed' },
        await staffHeaders(server, 'support', 'sam'),
      ),
    ).toMatchObject({ status: 200, body: { status: 'active', blockedReason: null } });
    const audit = await server.db.query<{ actor: string; role: string; action: string; reason: string; before: unknown; after: unknown }>(
      `select actor, role, action, reason, before, after from audit_log where target_type = 'customer' and target_id = $1 order by id`,
      [c.customerId],
    );
    expect(audit.rows).toEqual([
      {
        actor: 'root-ann',
        role: 'admin',
        action: 'customer.blocked',
        reason: 'chargeback fraud',
        before: { status: 'active', blockedReason: null },
        after: { status: 'blocked', blockedReason: 'chargeback fraud' },
      },
      {
        actor: 'sam',
        role: 'support',
        action: 'customer.unblocked',
        reason: 'bank confirmed',
        before: { status: 'blocked', blockedReason: 'chargeback fraud' },
        after: { status: 'active', blockedReason: null },
      },
    ]);
    await expect(server.customers.assertActive(c.customerId)).resolves.toBeUndefined();
  });

  it('keeps customers apart: tokens name the customer; a tampered token, a staff token or no token gets 401; dispatchers get no customer data', async () => {
    const a = await signUpCustomer(server);
    const b = await signUpCustomer(server);
    expect((await call(server, 'GET', '/v1/me', undefined, a.headers)).body).toMatchObject({ customerId: a.customerId });
    expect((await call(server, 'GET', '/v1/me', undefined, b.headers)).body).toMatchObject({ customerId: b.customerId });
    const [h, p, s] = a.accessToken.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: b.customerId })).toString('base64url')}.${s}`;
    expect((await call(server, 'GET', '/v1/me', undefined, { authorization: `Bearer ${forged}` })).status).toBe(401);
    expect((await call(server, 'GET', '/v1/me')).status).toBe(401);
    expect((await call(server, 'GET', '/v1/me', undefined, await staffHeaders(server, 'admin'))).status).toBe(401);
    // customers never reach staff routes; dispatchers are refused personal data
    expect((await call(server, 'GET', `/ops/v1/customers/${b.customerId}`, undefined, a.headers)).status).toBe(401);
    expect((await call(server, 'GET', '/ops/v1/customers?q=a', undefined, await staffHeaders(server, 'dispatcher'))).status).toBe(403);
    expect(
      (await call(server, 'POST', `/ops/v1/customers/${b.customerId}/block`, { reason: 'x' }, await staffHeaders(server, 'dispatcher')))
        .status,
    ).toBe(403);
  });

  it('answers bad input with 4xx problem+json, never 5xx', async () => {
    const c = await signUpCustomer(server);
    const support = await staffHeaders(server, 'support');
    const good = { email: 'x@example.test', password: 'long-enough-pw', name: 'X', phone: '+49301234567' };
    const cases: Array<[string, string, unknown, Record<string, string>?]> = [
      ['POST', '/v1/auth/signup', { ...good, email: 42 }],
      ['POST', '/v1/auth/signup', { ...good, email: 'not-an-email' }],
      ['POST', '/v1/auth/signup', { ...good, password: 'short' }],
      ['POST', '/v1/auth/signup', { ...good, password: 'x'.repeat(201) }],
      ['POST', '/v1/auth/signup', { ...good, name: '' }],
      ['POST', '/v1/auth/signup', { ...good, name: '   ' }],
      ['POST', '/v1/auth/signup', { ...good, phone: 'call me' }],
      ['POST', '/v1/auth/signup', { ...good, password: 12345678901 }],
      ['POST', '/v1/auth/signup', { ...good, admin: true }],
      ['POST', '/v1/auth/signup', { email: 'x@example.test' }],
      ['POST', '/v1/auth/signup', '{"email": '],
      ['POST', '/v1/auth/signup', ['an', 'array']],
      ['POST', '/v1/auth/signup', { ...good, name: 'x'.repeat(2 * 1024 * 1024) }],
      ['POST', '/v1/auth/login', { email: c.email }],
      ['POST', '/v1/auth/login', { email: c.email, password: 12345678901 }],
      ['POST', '/v1/auth/refresh', {}],
      ['POST', '/v1/auth/refresh', { refreshToken: 'garbage' }],
      ['POST', '/v1/auth/refresh', { refreshToken: 'x'.repeat(201) }],
      ['PUT', '/v1/me/driver-licence', { number: 'B1234567', country: 'DE', expiresOn: '2031-02-30' }, c.headers],
      ['PUT', '/v1/me/driver-licence', { number: 'B1234567', country: 'DE', expiresOn: '31.12.2031' }, c.headers],
      ['PUT', '/v1/me/driver-licence', { number: 'B1234567', country: 'DE', expiresOn: 20311231 }, c.headers],
      ['PUT', '/v1/me/driver-licence', { number: 'B1234567', country: 'XX', expiresOn: '2031-12-31' }, c.headers],
      ['PUT', '/v1/me/driver-licence', { number: 'B1234567', country: 'DEU', expiresOn: '2031-12-31' }, c.headers],
      ['PUT', '/v1/me/driver-licence', { number: 'B12;DROP', country: 'DE', expiresOn: '2031-12-31' }, c.headers],
      ['PUT', '/v1/me/driver-licence', { number: 'B1234567', country: 'DE' }, c.headers],
      ['PUT', '/v1/me/driver-licence', { number: 'B1234567', country: 'DE', expiresOn: '2031-12-31' }],
      ['GET', '/ops/v1/customers?limit=0', undefined, support],
      ['GET', '/ops/v1/customers?limit=abc', undefined, support],
      ['GET', `/ops/v1/customers?q=${'x'.repeat(201)}`, undefined, support],
      ['GET', '/ops/v1/customers/unknown-id', undefined, support],
      ['POST', '/ops/v1/customers/unknown-id/block', { reason: 'x' }, support],
      ['POST', `/ops/v1/customers/${c.customerId}/block`, {}, support],
      ['POST', `/ops/v1/customers/${c.customerId}/block`, { reason: '   ' }, support],
      ['POST', `/ops/v1/customers/${c.customerId}/block`, { reason: 7 }, support],
    ];
    for (const [method, path, body, headers] of cases) {
      const res = await call(server, method, path, body, headers);
      const what = `${method} ${path.slice(0, 60)} ${JSON.stringify(body)?.slice(0, 80)}`;
      expect(res.status, what).toBeGreaterThanOrEqual(400);
      expect(res.status, what).toBeLessThan(500);
      expect(res.type, what).toMatch(/^application\/problem\+json/);
    }
    // An id beyond Fastify's maxParamLength (100) is refused by the router itself: 414, not a 5xx. (Its body is
    // Fastify's plain JSON, not problem+json: frameworkErrors is not mapped in platform/http/server.ts — reported.)
    expect((await call(server, 'GET', `/ops/v1/customers/${'x'.repeat(101)}`, undefined, support)).status).toBe(414);
    // nothing of the above changed the customer
    expect((await call(server, 'GET', '/v1/me', undefined, c.headers)).body).toMatchObject({
      status: 'active',
      licence: { status: 'none' },
    });
  });
});

describe.each(dbBackends())('licence provider failures on $name', (backend) => {
  let dataDir: string | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  afterAll(async () => {
    await cleanup?.();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('retries a failing provider with backoff (gauge down, failures counted) and a restarted server finishes the check', async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    // PGlite on disk so the second server sees the first one's queue
    if (created.overrides.dataDir === IN_MEMORY_DATA_DIR && !created.overrides.databaseUrl)
      dataDir = await mkdtemp(join(tmpdir(), 'fleetdesk-licence-'));
    const overrides = { ...quiet, ...created.overrides, ...(dataDir ? { dataDir } : {}), ...fast };

    let customer: Awaited<ReturnType<typeof signUpCustomer>>;
    const down = await startServer({ ...overrides, licenceSandboxFailurePct: 100, licenceCheckTimeoutMs: 150 });
    try {
      customer = await signUpCustomer(down);
      expect(
        (
          await call(
            down,
            'PUT',
            '/v1/me/driver-licence',
            { number: 'D9876543', country: 'NL', expiresOn: daysFromToday(400) },
            customer.headers,
          )
        ).status,
      ).toBe(202);
      await waitFor(async () => (await metricValue(down.metrics, 'fleetdesk_licence_checks_total', { outcome: 'provider_error' })) >= 3, {
        what: 'three failed attempts',
        timeoutMs: 20_000,
      });
      const { rows } = await down.db.query<{ status: string; attempts: number; last_error: string | null }>(
        'select status, attempts, last_error from licence_checks where customer_id = $1',
        [customer.customerId],
      );
      expect(rows[0]!.status).toBe('pending');
      expect(rows[0]!.attempts).toBeGreaterThanOrEqual(3);
      expect(rows[0]!.last_error).toMatch(/sandbox|no answer/);
      expect(await metricValue(down.metrics, 'fleetdesk_licence_provider_up')).toBe(0);
      expect((await call<{ licence: { status: string } }>(down, 'GET', '/v1/me', undefined, customer.headers)).body.licence.status).toBe(
        'pending',
      );
    } finally {
      await down.stop();
    }

    const up = await startServer({ ...overrides, licenceSandboxFailurePct: 0 });
    try {
      // the signing secret is in the database: the token from before the restart still works
      await waitForLicence(up.httpUrl, customer.headers, 'verified', 20_000);
      const { rows } = await up.db.query<{ status: string; attempts: number }>(
        'select status, attempts from licence_checks where customer_id = $1',
        [customer.customerId],
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]!.status).toBe('verified');
      expect(rows[0]!.attempts).toBeGreaterThanOrEqual(4);
      expect(await metricValue(up.metrics, 'fleetdesk_licence_provider_up')).toBe(1);
    } finally {
      await up.stop();
    }
  }, 90_000);
});
