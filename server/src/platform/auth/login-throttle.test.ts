/**
 * The login throttle (issue 13 §5) on the real engines (PGlite, and PostgreSQL when DATABASE_URL is set) with the
 * real argon2 hasher: attempts are counted before hashing, delays grow instead of locking the owner out, a client
 * may run only a few password checks at once, and TRUST_PROXY decides whose address is the client's.
 */
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dbBackends } from '../../testing/backends.js';
import type { Db } from '../db/index.js';
import { openDatabase } from '../db/index.js';
import { fastifyTrustProxy } from '../http/server.js';
import { createLogger } from '../log.js';
import { AuthService, MAX_WAITING_PER_CLIENT, TooManyAttemptsError } from './auth-service.js';

const log = createLogger({ level: 'silent' });
const PASSWORD = 'the-right-password';
const limits = {
  maxFailuresPerEmail: 5,
  maxFailuresPerIp: 1_000,
  windowS: 900,
  firstDelayS: 2,
  maxDelayS: 120,
  maxConcurrentPerClient: 1_000,
};

for (const backend of dbBackends()) {
  describe(`login throttle on ${backend.name}`, () => {
    let db: Db;
    let cleanup: () => Promise<void>;
    let hash: string;
    let auth: AuthService;
    beforeAll(async () => {
      const created = await backend.create();
      cleanup = created.cleanup;
      db = await openDatabase(created.overrides, log);
      auth = await AuthService.create(db, { accessTokenTtlS: 900, refreshTokenTtlDays: 30, ...limits });
      hash = await auth.passwords.hash(PASSWORD);
    });
    afterAll(async () => {
      await auth?.close();
      await db?.close();
      await cleanup?.();
    });

    const account = () => Promise.resolve({ passwordHash: hash, active: true });
    const login = (service: AuthService, email: string, password: string, ip: string) =>
      service.passwordLogin('customer', email, password, ip, account).then(
        () => 'ok' as const,
        (err: unknown) => (err instanceof TooManyAttemptsError ? err : (err as { code?: string }).code),
      );

    it('counts each attempt before hashing: of 200 wrong guesses sent at once, only the free ones reach a hash', async () => {
      // a first delay longer than the burst takes to arrive on a busy machine
      const patient = await AuthService.create(db, { accessTokenTtlS: 900, refreshTokenTtlDays: 30, ...limits, firstDelayS: 600 });
      const verify = vi.spyOn(patient.passwords, 'verify');
      try {
        // 200 addresses, one account: neither the per-client cap nor the IP counter is what stops them
        const outcomes = await Promise.all(
          Array.from({ length: 200 }, (_, i) => login(patient, 'burst@example.test', `guess-${i}`, `10.0.${i >> 8}.${i & 255}`)),
        );
        expect(outcomes.filter((o) => o === 'invalid_credentials')).toHaveLength(limits.maxFailuresPerEmail);
        expect(outcomes.filter((o) => o instanceof TooManyAttemptsError)).toHaveLength(200 - limits.maxFailuresPerEmail);
        expect(verify).toHaveBeenCalledTimes(limits.maxFailuresPerEmail);
      } finally {
        await patient.close();
      }
    });

    it('slows guessing down with growing delays, never locking the owner out: the right password passes once the delay is over', async () => {
      const email = 'owner@example.test';
      for (let i = 0; i < limits.maxFailuresPerEmail; i++)
        expect(await login(auth, email, `wrong-${i}`, '192.0.2.1')).toBe('invalid_credentials');
      // the right password waits like any other attempt …
      const first = await login(auth, email, PASSWORD, '192.0.2.2');
      expect(first).toBeInstanceOf(TooManyAttemptsError);
      expect((first as TooManyAttemptsError).retryAfterS).toBe(2);
      // … and passes after it (from another address too: the delay is the account's)
      await vi.waitFor(async () => expect(await login(auth, email, PASSWORD, '192.0.2.2')).toBe('ok'), { timeout: 10_000, interval: 250 });
      // a success starts the account over: five free failures again, then the delays start again at 2 s
      for (let i = 0; i < limits.maxFailuresPerEmail; i++)
        expect(await login(auth, email, `wrong-${i}`, '192.0.2.1')).toBe('invalid_credentials');
      expect(((await login(auth, email, 'wrong', '192.0.2.1')) as TooManyAttemptsError).retryAfterS).toBe(2);
      // each further failure doubles the delay (moved back here instead of waiting), up to LOGIN_MAX_DELAY_S
      const delays: number[] = [];
      for (let i = 0; i < 8; i++) {
        await db.query(`update login_throttle set next_attempt_at = now() where key = 'customer:email:owner@example.test'`);
        expect(await login(auth, email, `wrong-again-${i}`, '192.0.2.1')).toBe('invalid_credentials');
        delays.push(((await login(auth, email, PASSWORD, '192.0.2.1')) as TooManyAttemptsError).retryAfterS);
      }
      expect(delays).toEqual([4, 8, 16, 32, 64, 120, 120, 120]);
      await db.query(`update login_throttle set next_attempt_at = now() where key = 'customer:email:owner@example.test'`);
      expect(await login(auth, email, PASSWORD, '192.0.2.1')).toBe('ok');
    });

    it('lets one client run only LOGIN_MAX_CONCURRENT_PER_CLIENT password checks at once; the next wait, beyond them 429 at once', async () => {
      const capped = await AuthService.create(db, { accessTokenTtlS: 900, refreshTokenTtlDays: 30, ...limits, maxConcurrentPerClient: 2 });
      let running = 0;
      let most = 0;
      const verify = capped.passwords.verify.bind(capped.passwords);
      vi.spyOn(capped.passwords, 'verify').mockImplementation(async (h, p) => {
        most = Math.max(most, ++running);
        try {
          return await verify(h, p);
        } finally {
          running--;
        }
      });
      try {
        // two run, sixteen wait their turn and are checked, the rest are turned away before any hash
        const outcomes = await Promise.all(
          Array.from({ length: 2 + MAX_WAITING_PER_CLIENT + 6 }, (_, i) =>
            login(capped, `spray-${i}@example.test`, 'wrong', '198.51.100.7'),
          ),
        );
        expect(
          outcomes.filter((o) => o === 'invalid_credentials'),
          String(outcomes),
        ).toHaveLength(2 + MAX_WAITING_PER_CLIENT);
        expect(outcomes.filter((o) => o instanceof TooManyAttemptsError && /at once/.test(o.message))).toHaveLength(6);
        expect(most).toBe(2);
        // another client is not held up by this one
        expect(await login(capped, 'spray-0@example.test', PASSWORD, '198.51.100.8')).toBe('ok');
      } finally {
        await capped.close();
      }
    });
  });
}

describe('TRUST_PROXY', () => {
  const clientIp = async (trustProxy: string, remoteAddress: string) => {
    const app = Fastify({ trustProxy: fastifyTrustProxy(trustProxy) });
    app.get('/ip', async (request) => request.ip);
    const res = await app.inject({ url: '/ip', remoteAddress, headers: { 'x-forwarded-for': '203.0.113.9, 10.0.0.2' } });
    await app.close();
    return res.body;
  };

  it("takes the client's address from X-Forwarded-For only through the proxies it names", async () => {
    expect(await clientIp('', '10.0.0.1')).toBe('10.0.0.1');
    expect(await clientIp('true', '10.0.0.1')).toBe('203.0.113.9');
    expect(await clientIp('1', '10.0.0.1')).toBe('10.0.0.2');
    expect(await clientIp('10.0.0.0/8', '10.0.0.1')).toBe('203.0.113.9');
    // a client that is not one of the named proxies cannot choose its own address
    expect(await clientIp('10.0.0.0/8', '192.0.2.50')).toBe('192.0.2.50');
  });
});
