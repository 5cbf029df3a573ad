/**
 * Test helpers for signed-in callers (framework-free: server unit tests, test/integration and test/e2e use them).
 *
 * - `staffHeaders(server, role, id?)` → `{ authorization: 'Bearer …' }` of a staff member of that role, signed in
 *   through the real login route (the account is upserted into the server's database first, so any id works and
 *   shows up as the actor in audit entries).
 * - `signUpCustomer(server, opts?)` → a new customer signed up through the public API (sign-up, the confirmation code
 *   from the sandbox mailbox, verify-email: signed in).
 */
import { randomBytes } from 'node:crypto';
import { argon2id } from 'hash-wasm';
import type { ServerHandle } from '../app.js';
import { ARGON2_PARAMS } from '../platform/auth/password.js';
import { confirmationToken, type SandboxMail } from '../../../src/shared/sandbox-mailbox.js';

export type TestStaffRole = 'dispatcher' | 'support' | 'admin';

const STAFF_TEST_PASSWORD = 'test-staff-password';
let staffPasswordHash: Promise<string> | undefined;
/** per server handle (a fresh database each): role|id → headers */
const signedIn = new WeakMap<object, Map<string, Promise<Record<string, string>>>>();

/** Headers for a signed-in staff member (`id` defaults to `test-<role>`); add content-type yourself for bodies. */
export function staffHeaders(
  server: Pick<ServerHandle, 'httpUrl' | 'db'>,
  role: TestStaffRole,
  id: string = `test-${role}`,
): Promise<Record<string, string>> {
  let cache = signedIn.get(server);
  if (!cache) signedIn.set(server, (cache = new Map()));
  const key = `${role}|${id}`;
  let headers = cache.get(key);
  if (!headers) {
    headers = signInStaff(server, role, id);
    cache.set(key, headers);
    headers.catch(() => cache.delete(key));
  }
  return headers;
}

/** Upserts the account (this role, active, the test password) and logs in through POST /ops/v1/auth/login. */
export async function signInStaff(
  server: Pick<ServerHandle, 'httpUrl' | 'db'>,
  role: TestStaffRole,
  id: string,
): Promise<Record<string, string>> {
  staffPasswordHash ??= argon2id({ ...ARGON2_PARAMS, password: STAFF_TEST_PASSWORD, salt: randomBytes(16), outputType: 'encoded' });
  const email = `${id.toLowerCase().replace(/@/g, '.')}@staff.test`;
  await server.db.query(
    `insert into staff_accounts (id, email, name, role, password_hash, active) values ($1, $2, $3, $4, $5, true)
     on conflict (id) do update set role = excluded.role, active = true, password_hash = excluded.password_hash`,
    [id, email, `Test ${role} ${id}`, role, await staffPasswordHash],
  );
  const login = await postJson(server.httpUrl, '/ops/v1/auth/login', { email, password: STAFF_TEST_PASSWORD });
  if (login.status !== 200) throw new Error(`staff login failed: ${login.status} ${JSON.stringify(login.body)}`);
  return { authorization: `Bearer ${(login.body as { accessToken: string }).accessToken}` };
}

export interface SignUpOptions {
  email?: string;
  password?: string;
  name?: string;
  phone?: string;
  /** submit a driver licence and wait until the (sandbox) provider has verified it */
  verifiedLicence?: boolean;
  /** add a payment method with this sandbox token (e.g. `tok_sandbox_ok`) through POST /v1/me/payment-methods */
  paymentToken?: string;
  /** sent with the sign-up and its confirmation (e.g. X-Forwarded-For: a client address of its own) */
  clientHeaders?: Record<string, string>;
}

export interface SignedUpCustomer {
  customerId: string;
  email: string;
  password: string;
  /** `{ authorization: 'Bearer …' }` */
  headers: Record<string, string>;
  accessToken: string;
  refreshToken: string;
}

const LICENCE_WAIT_MS = 15_000;

/** A customer who may reserve and book: a verified licence and a payment method, through the real customer API. */
export const READY_TO_BOOK: SignUpOptions = Object.freeze({ verifiedLicence: true, paymentToken: 'tok_sandbox_ok' });

export async function signUpCustomer(
  server: Pick<ServerHandle, 'httpUrl' | 'customers'>,
  opts: SignUpOptions = {},
): Promise<SignedUpCustomer> {
  const suffix = randomBytes(6).toString('hex');
  const email = opts.email ?? `customer-${suffix}@example.test`;
  const password = opts.password ?? `pw-${suffix}-long-enough`;
  const client = opts.clientHeaders ?? {};
  const signup = await postJson(
    server.httpUrl,
    '/v1/auth/signup',
    {
      email,
      password,
      name: opts.name ?? `Test Customer ${suffix}`,
      phone: opts.phone ?? `+4930${parseInt(suffix.slice(0, 7), 16) % 10_000_000}`,
    },
    client,
  );
  if (signup.status !== 202) throw new Error(`signup failed: ${signup.status} ${JSON.stringify(signup.body)}`);
  // the confirmation code, read from the sandbox mailbox as the customer would read their mail
  await server.customers.deliverMail();
  const mail = server.customers
    .sandboxMails(email)
    .filter((m) => m.kind === 'verify_email')
    .at(-1);
  const token = mail && confirmationToken(mail.body);
  if (!token) throw new Error(`no confirmation mail for ${email}`);
  const login = await postJson(server.httpUrl, '/v1/auth/verify-email', { email, token }, client);
  if (login.status !== 200) throw new Error(`confirming the address failed: ${login.status} ${JSON.stringify(login.body)}`);
  const { accessToken, refreshToken } = login.body as { accessToken: string; refreshToken: string };
  const headers = { authorization: `Bearer ${accessToken}` };
  const me = await fetch(`${server.httpUrl}/v1/me`, { headers });
  const customerId = ((await me.json()) as { customerId: string }).customerId;

  if (opts.verifiedLicence) {
    const expiresOn = new Date(Date.now() + 3 * 365 * 86_400_000).toISOString().slice(0, 10);
    const put = await fetch(`${server.httpUrl}/v1/me/driver-licence`, {
      method: 'PUT',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ number: `B${suffix.toUpperCase()}`, country: 'DE', expiresOn }),
    });
    if (put.status !== 202) throw new Error(`licence submission failed: ${put.status} ${await put.text()}`);
    await waitForLicence(server.httpUrl, headers, 'verified');
  }
  if (opts.paymentToken !== undefined) {
    const pm = await postJson(server.httpUrl, '/v1/me/payment-methods', { token: opts.paymentToken }, headers);
    if (pm.status !== 201) throw new Error(`adding payment method failed: ${pm.status} ${JSON.stringify(pm.body)}`);
  }
  return { customerId, email, password, headers, accessToken, refreshToken };
}

/** Polls GET /v1/me until the licence has `status` (throws on another final status or after a while). */
export async function waitForLicence(
  httpUrl: string,
  headers: Record<string, string>,
  status: string,
  timeoutMs = LICENCE_WAIT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'none';
  while (Date.now() < deadline) {
    const res = await fetch(`${httpUrl}/v1/me`, { headers });
    if (res.status !== 200) throw new Error(`GET /v1/me failed: ${res.status} ${await res.text()}`);
    const me = (await res.json()) as { licence: { status: string } | null };
    last = me.licence?.status ?? 'none';
    if (last === status) return;
    if (last !== 'pending') throw new Error(`licence ended ${last}, expected ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`licence still ${last} after ${timeoutMs} ms`);
}

async function postJson(
  httpUrl: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${httpUrl}${path}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : (JSON.parse(text) as unknown) };
}

/**
 * The mails a server in this process sent to an address (its in-memory sandbox mailbox, the outbox delivered
 * first): what the demo's customer driver reads its sign-up codes from in tests and benches.
 */
export function serverMailbox(server: Pick<ServerHandle, 'customers'>): (address: string) => Promise<SandboxMail[]> {
  return async (address) => {
    await server.customers.deliverMail();
    return server.customers.sandboxMails(address);
  };
}
