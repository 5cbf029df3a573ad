/**
 * The back office end to end in real Chromium at 1280×800 (server on PGlite in a temp dir with its embedded
 * sandbox payment provider, the browser console, the built renderer), signed in through the desk's sign-in screen:
 * - support: a capture failed while the sandbox provider answered every call with an error; retried while it still
 *   fails, the row goes queued → failed again, live; healed and retried, it settles — one capture at the provider;
 * - support: the audit filtered by colleague and by the payment actions shows the retries with who and why, and
 *   the CSV export downloads exactly those entries;
 * - admin: reconciliation finds the hold someone released at the provider behind our back, with both sides as money;
 * - admin: creates a staff account, resets its password (shown once), changes its role, deactivates it (each
 *   confirmed); the colleague's sign-in works before and not after.
 * Screenshots go to test-results/ (e2e-back-office-*.png).
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerHandle } from '../../server/src/app.js';
import { DEMO_STAFF } from '../../server/src/components/staff/index.js';
import { signUpCustomer } from '../../server/src/testing/auth.js';
import { openSignedInDesk, startDeskServer, type DeskPage } from '../support/desk.js';

const shots = join(process.cwd(), 'test-results');
const SUPPORT = DEMO_STAFF.find((s) => s.role === 'support')!;
const ADMIN = DEMO_STAFF.find((s) => s.role === 'admin')!;

describe('the back office in Chromium: payments needing attention, the audit, reconciliation, staff accounts', () => {
  let dataDir: string;
  let server: ServerHandle;
  let desk: DeskPage | undefined;
  let customerId: string;
  let paymentMethodId: string;
  let failedOperationId: string;

  /** An authorized hold of `cents` for a new rental of the test customer. */
  async function hold(cents: number): Promise<{ rentalId: string; paymentId: string }> {
    const rentalId = `rental-${randomUUID()}`;
    const outcome = await server.payments.authorizeHold(
      { rentalId, customerId, paymentMethodId, amountCents: cents, currency: 'EUR', idempotencyKey: `start-${rentalId}` },
      10_000,
    );
    expect(outcome.status).toBe('authorized');
    return { rentalId, paymentId: outcome.paymentId };
  }

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    ({ server, dataDir } = await startDeskServer('back-office', {
      seedVehicles: 4,
      paymentCallTimeoutMs: 1_000,
      paymentRetryBaseMs: 50,
      paymentMaxAttempts: 3,
      paymentReconcileIntervalS: 0,
    }));
    const customer = await signUpCustomer(server, { name: 'Greta Lindqvist', paymentToken: 'tok_sandbox_ok' });
    customerId = customer.customerId;
    paymentMethodId = (await server.payments.defaultPaymentMethod(customerId))!.paymentMethodId;

    // the rental ends while the provider fails every call: the capture is given up after its attempts
    const { rentalId, paymentId } = await hold(4_000);
    server.payments.sandbox!.updateSettings({ errorRate: 1 });
    await server.db.transaction((tx) => server.payments.enqueueCapture(tx, { rentalId, paymentId, amountCents: 2_350, currency: 'EUR' }));
    await server.payments.drainOutbox();
    const failed = (await server.payments.rentalPayments(rentalId)).operations.find((o) => o.kind === 'capture')!;
    expect(failed.status).toBe('failed');
    failedOperationId = failed.operationId;
  });
  afterAll(async () => {
    await desk?.close();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const row = (id: string) => `[data-testid="payments-attention"] tr[data-operation-id="${id}"]`;
  const rowStatus = (page: DeskPage['page'], id: string, status: string) =>
    page.waitForSelector(`${row(id)}[data-status="${status}"]`, { timeout: 30_000 });

  async function retry(page: DeskPage['page'], id: string, reason: string): Promise<void> {
    await page.locator(row(id)).getByTestId('retry-one').click();
    await page.getByTestId('retry-reason').fill(reason);
    await page.getByTestId('retry-confirm').click();
  }

  it('support retries a failed capture: failing again while the provider is down, settled once it is healed', async () => {
    desk = await openSignedInDesk(server, SUPPORT);
    const { page } = desk;
    await page.getByTestId('view-back-office').click();
    await page.getByTestId('back-office-payments').click();
    await rowStatus(page, failedOperationId, 'failed');
    const failedRow = page.locator(row(failedOperationId));
    await expect.poll(() => failedRow.textContent()).toContain('Greta Lindqvist');
    expect(await failedRow.textContent()).toMatch(/23[.,]50/);
    expect(await failedRow.getByTestId('operation-error').textContent()).toMatch(
      /did not answer properly after 3 tries \(it reported a problem on its side \(error 503\)\)/,
    );
    await page.screenshot({ path: join(shots, 'e2e-back-office-1-payments-failed.png') });

    // a retry needs a reason
    await failedRow.getByTestId('retry-one').click();
    await page.getByTestId('retry-confirm').click();
    await page.getByTestId('field-error').waitFor();
    await page.screenshot({ path: join(shots, 'e2e-back-office-2-retry-form.png') });
    await page.getByTestId('retry-reason').fill('first try: the provider may be back');
    await page.getByTestId('retry-confirm').click();
    // still failing at the provider: queued, then failed again — live. Both at once: the row still says "failed"
    // before the retry's answer (the old state) and "retried 1×" while it runs; healing the provider before it
    // failed again would let this retry settle, and the second retry below would have no row to retry.
    await expect
      .poll(async () => `${await failedRow.getAttribute('data-status')} ${await failedRow.textContent()}`, { timeout: 30_000 })
      .toMatch(/^failed .*retried 1×/);

    server.payments.sandbox!.updateSettings({ errorRate: 0 });
    await retry(page, failedOperationId, 'provider healed (status page)');
    await rowStatus(page, failedOperationId, 'succeeded');
    expect(await failedRow.getByTestId('operation-status').textContent()).toBe('Settled');
    expect(await failedRow.textContent()).toContain('retried 2×');
    await page.screenshot({ path: join(shots, 'e2e-back-office-3-payments-settled.png') });
    const op = await server.payments.rentalPayments(
      (
        await server.db.query<{ rental_id: string }>(
          'select p.rental_id from payments p join payment_operations o on o.payment_id = p.id where o.id = $1',
          [failedOperationId],
        )
      ).rows[0]!.rental_id,
    );
    expect(op).toMatchObject({ status: 'captured', captured: 2_350 });
    const holds = await server.payments.provider.findHoldsByReference(op.paymentId!);
    expect(holds.map((h) => h.captures.length)).toEqual([1]);
    expect(desk.pageErrors).toEqual([]);
  });

  it('support filters the audit by colleague and payment actions and exports exactly those entries as CSV', async () => {
    const { page } = desk!;
    await page.getByTestId('back-office-audit').click();
    await page.getByTestId('audit-entries').waitFor();
    await page.getByTestId('audit-actor').selectOption(SUPPORT.id);
    await page.getByTestId('audit-action').selectOption('payment.*');
    await page.getByTestId('audit-apply').click();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="audit-entries"]')?.getAttribute('data-count') === '2',
      undefined,
      { timeout: 20_000 },
    );
    const text = await page.getByTestId('audit-entries').textContent();
    expect(text).toContain('Payment: operation retried');
    expect(text).toContain('provider healed (status page)');
    expect(text).toContain('Demo Support');
    await page.screenshot({ path: join(shots, 'e2e-back-office-4-audit-filtered.png') });

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('audit-export').click()]);
    const file = join(dataDir, 'audit.csv');
    await download.saveAs(file);
    expect(download.suggestedFilename()).toMatch(/^fleetdesk-audit-.*\.csv$/);
    const rows = parse(readFileSync(file, 'utf8'), { columns: true }) as Array<Record<string, string>>;
    expect(rows.map((r) => [r.actor, r.role, r.action, r.reason])).toEqual([
      ['demo-support', 'support', 'payment.operation_retried', 'provider healed (status page)'],
      ['demo-support', 'support', 'payment.operation_retried', 'first try: the provider may be back'],
    ]);
    expect(JSON.parse(rows[1]!.before!)).toMatchObject({ operationId: failedOperationId, status: 'failed', attempts: 3 });
    expect(desk!.pageErrors).toEqual([]);
    await desk!.close();
    desk = undefined;
  });

  it('admin runs reconciliation and sees the hold released behind our back, both sides as money', async () => {
    const { paymentId } = await hold(1_990);
    const holdId = (await server.payments.provider.findHoldsByReference(paymentId))[0]!.id;
    await server.payments.provider.void(holdId, `manual-${randomUUID()}`);

    desk = await openSignedInDesk(server, ADMIN);
    const { page } = desk;
    await page.getByTestId('view-back-office').click();
    await page.getByTestId('back-office-reconciliation').click();
    await page.getByTestId('run-reconciliation').click();
    await page.getByTestId('reconciliation-summary').waitFor({ timeout: 30_000 });
    const mismatch = page.locator(`[data-testid="mismatches"] tr[data-payment-id="${paymentId}"]`);
    await mismatch.waitFor();
    expect(await mismatch.getAttribute('data-problem')).toBe('status_mismatch');
    expect(await mismatch.getByTestId('ours').textContent()).toMatch(/held.*19[.,]90/);
    expect(await mismatch.getByTestId('theirs').textContent()).toMatch(/voided/);
    await page.screenshot({ path: join(shots, 'e2e-back-office-5-reconciliation.png') });
    expect(desk.pageErrors).toEqual([]);
  });

  it('admin creates a staff account, changes its role and deactivates it; the colleague signs in before and not after', async () => {
    const { page } = desk!;
    await page.getByTestId('back-office-staff').click();
    await page.getByTestId('staff-table').waitFor();
    await page.getByTestId('staff-new').click();
    await page.getByTestId('staff-name').fill('Noor Haddad');
    await page.getByTestId('staff-email').fill('noor@fleetdesk.example');
    await page.getByTestId('staff-role').selectOption('support');
    await page.getByTestId('staff-password').fill('short');
    await page.getByTestId('staff-create').click();
    await page.getByTestId('field-error').waitFor();
    expect(await page.getByTestId('field-error').textContent()).toContain('At least 10 characters');
    await page.screenshot({ path: join(shots, 'e2e-back-office-6-staff-create.png') });
    await page.getByTestId('staff-password').fill('noors-long-password');
    await page.getByTestId('staff-create').click();
    const noor = page.locator('[data-testid="staff-table"] tr[data-email="noor@fleetdesk.example"]');
    await noor.waitFor();
    expect(await noor.getAttribute('data-role')).toBe('support');
    const login = (password: string) =>
      fetch(`${server.httpUrl}/ops/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'noor@fleetdesk.example', password }),
      }).then((r) => r.status);
    expect(await login('noors-long-password')).toBe(200);

    // a password reset: a new one shown once; the old one stops working, the new one works
    await noor.getByTestId('staff-reset').click();
    await page.getByTestId('confirm-accept').click();
    const temporary = (await page.getByTestId('staff-one-time-password').textContent())!;
    expect(temporary).toMatch(/^[A-Za-z2-9]{5}(-[A-Za-z2-9]{5}){3}$/);
    await page.screenshot({ path: join(shots, 'e2e-back-office-7-staff-password-reset.png') });
    expect(await login('noors-long-password')).toBe(401);
    expect(await login(temporary)).toBe(200);

    await noor.getByTestId('staff-row-role').selectOption('dispatcher');
    await page.getByTestId('confirm-dialog').waitFor();
    expect(await page.getByTestId('confirm-dialog').textContent()).toContain('Make Noor Haddad dispatcher?');
    await page.getByTestId('confirm-accept').click();
    await page.waitForSelector('[data-testid="staff-table"] tr[data-email="noor@fleetdesk.example"][data-role="dispatcher"]');

    await noor.getByTestId('staff-deactivate').click();
    await page.getByTestId('confirm-dialog').waitFor();
    await page.screenshot({ path: join(shots, 'e2e-back-office-8-staff-deactivate-confirm.png') });
    await page.getByTestId('confirm-accept').click();
    await page.waitForSelector('[data-testid="staff-table"] tr[data-email="noor@fleetdesk.example"][data-active="false"]');
    expect(await noor.getByTestId('staff-status').textContent()).toBe('deactivated');
    expect(await login(temporary)).toBe(401);
    // one's own row offers no deactivation
    const me = page.locator(`[data-testid="staff-table"] tr[data-staff-id="${ADMIN.id}"]`);
    expect(await me.getByTestId('staff-deactivate').count()).toBe(0);
    await page.screenshot({ path: join(shots, 'e2e-back-office-9-staff-deactivated.png') });

    const audit = await server.db.query<{ action: string; actor: string }>(
      `select action, actor from audit_log where target_type = 'staff' and target_id = (select id from staff_accounts where email = 'noor@fleetdesk.example') order by id`,
    );
    expect(audit.rows).toEqual([
      { action: 'staff.created', actor: ADMIN.id },
      { action: 'staff.password_reset', actor: ADMIN.id },
      { action: 'staff.updated', actor: ADMIN.id },
      { action: 'staff.updated', actor: ADMIN.id },
    ]);
    expect(desk!.pageErrors).toEqual([]);
  });
});
