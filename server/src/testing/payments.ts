/** Shared set-up of the payments tests (server unit tests and test/integration): a quiet server, customers with payment methods, the provider's ledger. */
import { randomUUID } from 'node:crypto';
import type { ServerHandle } from '../app.js';
import type { PaymentProvider, ProviderHold } from '../components/payments/index.js';
import type { ServerConfig } from '../platform/config.js';
import { signUpCustomer } from './auth.js';

/** Short provider timeouts (a sandbox timeout lasts until the client gives up; 1 s leaves room for a loaded machine), fast retries, no periodic jobs. */
export const QUIET_PAYMENTS: Partial<ServerConfig> = {
  port: 0,
  mqttPort: 0,
  seedVehicles: 0,
  logLevel: 'silent',
  mqttAuth: 'off',
  paymentCallTimeoutMs: 1_000,
  paymentRetryBaseMs: 20,
  paymentMaxAttempts: 40,
  paymentSandboxLatencyMs: 0,
  paymentReconcileIntervalS: 0,
};

export interface TestCustomer {
  customerId: string;
  headers: Record<string, string>;
  paymentMethodId: string;
}

/**
 * A signed-up customer with a payment method for `token`. With an embedded sandbox, its flakiness is paused while
 * the method is added (this set-up step is not what the tests are about).
 */
export async function customerWithMethod(server: ServerHandle, token: string): Promise<TestCustomer> {
  const sandbox = server.payments.sandbox;
  const flakyRate = sandbox?.settings().flakyRate;
  sandbox?.updateSettings({ flakyRate: 0 });
  try {
    const customer = await signUpCustomer(server, { paymentToken: token });
    const method = await server.payments.defaultPaymentMethod(customer.customerId);
    if (!method) throw new Error('payment method missing after sign-up');
    return { customerId: customer.customerId, headers: customer.headers, paymentMethodId: method.paymentMethodId };
  } finally {
    if (flakyRate !== undefined) sandbox?.updateSettings({ flakyRate });
  }
}

export function holdRequest(customer: TestCustomer, amountCents = 5_000, rentalId = `rental-${randomUUID()}`) {
  return {
    rentalId,
    customerId: customer.customerId,
    paymentMethodId: customer.paymentMethodId,
    amountCents,
    currency: 'EUR',
    idempotencyKey: `start-${rentalId}`,
  };
}

/** The provider's whole ledger, through the contract (not the sandbox's internals). */
export async function providerLedger(provider: PaymentProvider): Promise<ProviderHold[]> {
  const holds: ProviderHold[] = [];
  let cursor: string | null = null;
  do {
    const page = await provider.listLedger(cursor, 500);
    holds.push(...page.holds);
    cursor = page.nextCursor;
  } while (cursor);
  return holds;
}

export async function paymentIdOf(server: ServerHandle, rentalId: string): Promise<string> {
  const { paymentId } = await server.payments.rentalPayments(rentalId);
  if (!paymentId) throw new Error(`no payment for ${rentalId}`);
  return paymentId;
}

/** Runs `fn` over `items` with at most `limit` at once. */
export async function inBatches<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!, i);
      }
    }),
  );
  return results;
}

export async function json(res: Response): Promise<{ status: number; type: string | null; body: Record<string, unknown> }> {
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
  };
}
