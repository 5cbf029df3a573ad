/**
 * `GET /ops/v1/health/integrations` against a real server (PGlite, and PostgreSQL when DATABASE_URL is set) and a
 * payment sandbox running as its own HTTP service: every integration is reported; stopping the sandbox turns the
 * payment provider down (with the error, since when, and a logged change), starting it again on the same port
 * turns it back up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IntegrationsHealth } from '../../../../src/shared/timeline.js';
import { startServer, type ServerHandle } from '../../app.js';
import { startPaymentSandbox, type PaymentSandbox } from '../../sandbox/payment-provider/index.js';
import { signUpCustomer, staffHeaders } from '../../testing/auth.js';
import { dbBackends } from '../../testing/backends.js';
import { call, expectProblem } from '../../testing/bookings.js';
import { waitFor } from '../../testing/devices.js';
import { QUIET_PAYMENTS } from '../../testing/payments.js';

const API_KEY = 'sk_sandbox_health_test';
const SECRET = 'whsec_health_test_0123456789abcdef';

describe.each(dbBackends())('integration health on $name', (backend) => {
  let server: ServerHandle;
  let sandbox: PaymentSandbox;
  let cleanup: () => Promise<void>;
  let staff: Record<string, string>;

  const health = async () => {
    const res = await call<IntegrationsHealth>(server, 'GET', '/ops/v1/health/integrations', { headers: staff });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };
  const stateOf = async (name: string) => {
    const body = await health();
    return { body, entry: body.integrations.find((i) => i.name === name)! };
  };

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    sandbox = await startPaymentSandbox({ apiKey: API_KEY, settings: { latencyMs: 0 } });
    server = await startServer({
      ...QUIET_PAYMENTS,
      ...created.overrides,
      mqttUrl: undefined,
      paymentProviderUrl: sandbox.url,
      paymentProviderApiKey: API_KEY,
      paymentWebhookSecret: SECRET,
    });
    staff = await staffHeaders(server, 'dispatcher');
  });

  afterAll(async () => {
    await server?.stop();
    await sandbox?.close();
    await cleanup?.();
  });

  it('reports every integration, each with a state, since when, and a detail', async () => {
    const body = await waitFor(
      async () => {
        const b = await health();
        return b.integrations.every((i) => i.state === 'up') ? b : undefined;
      },
      { timeoutMs: 15_000, what: 'every integration up' },
    );
    expect(body.integrations.map((i) => i.name)).toEqual([
      'broker',
      'database',
      'payment_provider',
      'licence_provider',
      'availability_index',
    ]);
    for (const i of body.integrations) {
      expect(i.since).toBeLessThanOrEqual(body.checkedAt);
      expect(i.detail).toBeTruthy();
    }
    expect(body.integrations.find((i) => i.name === 'database')!.detail).toContain(server.db.backend);
  });

  it('reports a stopped payment sandbox as down, and up again once it is back', async () => {
    await waitFor(async () => (await stateOf('payment_provider')).entry.state === 'up', { timeoutMs: 15_000, what: 'provider up' });
    const port = Number(new URL(sandbox.url).port);
    const stoppedAt = Date.now();
    await sandbox.close();

    const down = await waitFor(
      async () => {
        const s = await stateOf('payment_provider');
        return s.entry.state === 'down' ? s : undefined;
      },
      { timeoutMs: 20_000, what: 'the payment provider down' },
    );
    expect(down.entry.lastError).toBeTruthy();
    expect(down.entry.since).toBeGreaterThanOrEqual(stoppedAt);
    expect(down.body.changes[0]).toMatchObject({ name: 'payment_provider', from: 'up', to: 'down', at: down.entry.since });
    // the rest of the platform does not go down with it
    expect(down.body.integrations.filter((i) => i.state === 'down').map((i) => i.name)).toEqual(['payment_provider']);

    sandbox = await startPaymentSandbox({ apiKey: API_KEY, port, settings: { latencyMs: 0 } });
    const up = await waitFor(
      async () => {
        const s = await stateOf('payment_provider');
        return s.entry.state === 'up' ? s : undefined;
      },
      { timeoutMs: 20_000, what: 'the payment provider back up' },
    );
    expect(up.entry.since).toBeGreaterThan(down.entry.since);
    // the log keeps the outage: down at …, up at …, with the error
    const log = up.body.changes.filter((c) => c.name === 'payment_provider');
    expect(log.slice(0, 2)).toMatchObject([
      { from: 'down', to: 'up', at: up.entry.since },
      { from: 'up', to: 'down', at: down.entry.since, error: expect.any(String) },
    ]);
  });

  it('answers staff only', async () => {
    expectProblem(await call(server, 'GET', '/ops/v1/health/integrations'), 401);
    const customer = await signUpCustomer(server);
    expectProblem(await call(server, 'GET', '/ops/v1/health/integrations', { headers: customer.headers }), 401);
    for (const role of ['support', 'admin'] as const) {
      const res = await call(server, 'GET', '/ops/v1/health/integrations', { headers: await staffHeaders(server, role) });
      expect(res.status).toBe(200);
    }
  });
});
