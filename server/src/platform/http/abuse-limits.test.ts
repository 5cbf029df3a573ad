/**
 * Abuse limits (issue 13 §4, §9) through the whole server: sign-up, customer and staff sign-in, reservations and
 * bookings, licence submissions — per client IP and per account, 429 `rate_limited` + Retry-After past the limit.
 * The counters live in the database: on PostgreSQL two server instances on one database share them (the N+1th
 * request on the other instance is refused). Client IPs come from X-Forwarded-For (TRUST_PROXY=true), so each test
 * is a client of its own.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../app.js';
import { signUpCustomer, staffHeaders, type SignedUpCustomer } from '../../testing/auth.js';
import { dbBackends } from '../../testing/backends.js';
import { call, QUIET, type CallResult } from '../../testing/bookings.js';
import { parseLimitRule, resolveConfig, type ServerConfig } from '../config.js';

const HOUR = 3_600_000;
const LIMITS: Partial<ServerConfig> = {
  trustProxy: 'true',
  rateLimitLoopback: 'limited',
  rateLimitSignupPerIp: { max: 3, windowMs: HOUR },
  rateLimitSignupPerEmail: { max: 2, windowMs: HOUR },
  rateLimitLoginPerIp: { max: 50, windowMs: HOUR },
  rateLimitLoginPerEmail: { max: 2, windowMs: HOUR },
  rateLimitClaimsPerIp: { max: 50, windowMs: HOUR },
  rateLimitClaimsPerCustomer: { max: 3, windowMs: HOUR },
  rateLimitLicencePerIp: { max: 50, windowMs: HOUR },
  rateLimitLicencePerCustomer: { max: 2, windowMs: HOUR },
};

let ipCounter = 0;
/** A client address of its own (TEST-NET-3). */
const nextIp = () => `203.0.113.${++ipCounter}`;
const unique = () => randomBytes(5).toString('hex');
const signupBody = (email = `rl-${unique()}@example.test`) => ({
  email,
  password: `pw-${unique()}-long-enough`,
  name: 'Rita Limit',
  phone: '+49301234567',
});

function from(ip: string, headers: Record<string, string> = {}) {
  return { ...headers, 'x-forwarded-for': ip };
}

function expectRateLimited(res: CallResult): void {
  expect(res.status, JSON.stringify(res.body)).toBe(429);
  expect(res.contentType).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ type: 'urn:fleetdesk:problem:rate_limited', code: 'rate_limited', status: 429 });
}

async function retryAfterOf(server: ServerHandle, path: string, body: unknown, headers: Record<string, string>): Promise<number> {
  const res = await fetch(`${server.httpUrl}${path}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(429);
  return Number(res.headers.get('retry-after'));
}

describe('abuse limit settings', () => {
  it('reads <requests>/<window> and refuses anything else, naming the variable', () => {
    expect(parseLimitRule('20/1h')).toEqual({ max: 20, windowMs: HOUR });
    expect(parseLimitRule(' 5 / 15m ')).toEqual({ max: 5, windowMs: 15 * 60_000 });
    expect(parseLimitRule('3/1d')).toEqual({ max: 3, windowMs: 24 * HOUR });
    for (const bad of ['', '20', '20/h', '0/1h', '20/0s', '-1/1h', '20/1w']) expect(parseLimitRule(bad), bad).toBeUndefined();
    expect(() => resolveConfig({ rateLimitSignupPerIp: { max: 0, windowMs: HOUR } })).toThrow(/RATE_LIMIT_SIGNUP_PER_IP/);
  });
});

describe.each(dbBackends())('abuse limits on $name', (backend) => {
  let server: ServerHandle;
  let other: ServerHandle | undefined;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({ ...QUIET, seedVehicles: 1, ...created.overrides, ...LIMITS });
    // a second instance on the same database (PostgreSQL only: PGlite belongs to one process)
    if (created.overrides.databaseUrl) other = await startServer({ ...QUIET, seedVehicles: 0, ...created.overrides, ...LIMITS });
  });
  /** A customer signed up and in from an address of their own (the limits' tests must not share loopback's budget). */
  const newCustomer = () => signUpCustomer(server, { clientHeaders: from(nextIp()) });
  afterAll(async () => {
    await other?.stop();
    await server?.stop();
    await cleanup?.();
  });

  it('sign-up: the 4th from one address within the hour is refused with 429 + Retry-After; another address goes on', async () => {
    const ip = nextIp();
    for (let i = 0; i < 3; i++)
      expect((await call(server, 'POST', '/v1/auth/signup', { headers: from(ip), body: signupBody() })).status).toBe(202);
    const refused = await call(server, 'POST', '/v1/auth/signup', { headers: from(ip), body: signupBody() });
    expectRateLimited(refused);
    expect(String(refused.body.detail)).toContain('sign-ups from this address');
    const retryAfter = await retryAfterOf(server, '/v1/auth/signup', signupBody(), from(ip));
    expect(retryAfter).toBeGreaterThan(3500);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect((await call(server, 'POST', '/v1/auth/signup', { headers: from(nextIp()), body: signupBody() })).status).toBe(202);
  });

  it('sign-up: one e-mail address at most twice, whatever the address it comes from', async () => {
    const email = `rl-${unique()}@example.test`;
    const answers = [];
    for (let i = 0; i < 3; i++)
      answers.push(await call(server, 'POST', '/v1/auth/signup', { headers: from(nextIp()), body: signupBody(email) }));
    expect(answers[0]!.status).toBe(202);
    expect(answers[1]!.status).not.toBe(429);
    expectRateLimited(answers[2]!);
    expect(String(answers[2]!.body.detail)).toContain('this e-mail address');
  });

  it('customer and staff sign-in: attempts on one e-mail are limited, right or wrong, and counted apart', async () => {
    const customer = await newCustomer();
    const login = (path: string, email: string, password: string) =>
      call(server, 'POST', path, { headers: from(nextIp()), body: { email, password } });
    // a wrong guess is the second attempt; the third is refused even with the right password
    expect((await login('/v1/auth/login', customer.email, 'wrong-password-1')).status).toBe(401);
    expectRateLimited(await login('/v1/auth/login', customer.email, customer.password));

    await staffHeaders(server, 'admin', 'rl-admin'); // signs in once (email rl-admin@staff.test)
    expect((await login('/ops/v1/auth/login', 'rl-admin@staff.test', 'wrong-password-1')).status).toBe(401);
    expectRateLimited(await login('/ops/v1/auth/login', 'rl-admin@staff.test', 'test-staff-password'));
  });

  it('reservations and bookings share one budget per customer, counted even when refused; the next customer goes on', async () => {
    // not ready to book: every attempt is refused (403 licence) — and still counts
    const squatter = await newCustomer();
    const ip = nextIp();
    const reserve = (who: SignedUpCustomer) =>
      call(server, 'POST', '/v1/reservations', { headers: from(ip, who.headers), body: { vehicleId: 'veh-00001' } });
    const book = (who: SignedUpCustomer) =>
      call(server, 'POST', '/v1/bookings', {
        headers: from(ip, who.headers),
        body: {
          vehicleId: 'veh-00001',
          startsAt: new Date(Date.now() + 2 * HOUR).toISOString(),
          endsAt: new Date(Date.now() + 3 * HOUR).toISOString(),
        },
      });
    expect((await reserve(squatter)).status).toBe(403);
    expect((await book(squatter)).status).toBe(403);
    expect((await reserve(squatter)).status).toBe(403);
    expectRateLimited(await book(squatter));
    expectRateLimited(await reserve(squatter));
    expect((await reserve(await newCustomer())).status).toBe(403);
  });

  it('licence submissions: at most two per customer', async () => {
    const customer = await newCustomer();
    const submit = () =>
      call(server, 'PUT', '/v1/me/driver-licence', {
        headers: from(nextIp(), customer.headers),
        body: { number: `B${unique().toUpperCase()}`, country: 'DE', expiresOn: '2031-01-01' },
      });
    expect((await submit()).status).toBe(202);
    expect((await submit()).status).not.toBe(429);
    expectRateLimited(await submit());
  });

  it('holds across instances: three sign-ups on one, the fourth on the other is refused (PostgreSQL)', async (context) => {
    if (!other) return context.skip();
    const ip = nextIp();
    for (let i = 0; i < 3; i++)
      expect((await call(server, 'POST', '/v1/auth/signup', { headers: from(ip), body: signupBody() })).status).toBe(202);
    expectRateLimited(await call(other, 'POST', '/v1/auth/signup', { headers: from(ip), body: signupBody() }));
    // and the window is the same one: the other instance's Retry-After counts down from the first sign-up
    const retryAfter = await retryAfterOf(other, '/v1/auth/signup', signupBody(), from(ip));
    expect(retryAfter).toBeLessThanOrEqual(3600);
  });

  it('concurrent requests are counted exactly: 20 sign-ups at once from one address, 3 pass', async () => {
    const ip = nextIp();
    const targets = [server, other ?? server];
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call(targets[i % 2]!, 'POST', '/v1/auth/signup', { headers: from(ip), body: signupBody() })),
    );
    expect(answers.filter((a) => a.status === 202)).toHaveLength(3);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(17);
  });
});

describe('abuse limits and loopback (development mode)', () => {
  let server: ServerHandle;
  beforeAll(async () => {
    server = await startServer({
      ...QUIET,
      seedVehicles: 0,
      databaseUrl: undefined,
      dataDir: 'memory://',
      trustProxy: 'true',
      rateLimitSignupPerIp: { max: 1, windowMs: HOUR },
    });
  });
  afterAll(() => server?.stop());

  it('exempts 127.0.0.1 in development mode (npm start, its simulated customers, the tests)', async () => {
    expect(resolveConfig({}).rateLimitLoopback).toBe('auto');
    for (let i = 0; i < 3; i++) expect((await call(server, 'POST', '/v1/auth/signup', { body: signupBody() })).status).toBe(202);
    // the same server limits any other client
    const ip = nextIp();
    expect((await call(server, 'POST', '/v1/auth/signup', { headers: from(ip), body: signupBody() })).status).toBe(202);
    expectRateLimited(await call(server, 'POST', '/v1/auth/signup', { headers: from(ip), body: signupBody() }));
  });
});
