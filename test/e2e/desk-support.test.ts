/**
 * The desk end to end in real Chromium, signed in through its own sign-in screen (no auto sign-in): the server
 * (PGlite on a temp dir, seeded demo staff), the browser console (holding the staff session) and the built
 * renderer.
 * - sign-in: a wrong password shows the server's answer; the support agent signs in and the header shows who
 *   and which role;
 * - ONE multiplexed stream: after the initial sync the page holds a single /sync/v1/stream for every collection,
 *   and changes in alerts, tasks, notes, customers, rentals and requests appear without any pull;
 * - the support flow: find a customer by phone digits, see their rentals with the receipt, block them with a
 *   reason (a `request` run by the server through the staff route: the outcome and the new status show), refund
 *   part of a captured rental (the ledger read live caps the amount; the refund runs through the payments route);
 *   the vehicle card shows the car's current rental and next booking;
 * - bookings: the support agent extends a booking (done; the staff API reads the new end), tries to extend it into
 *   the car's next booking (refused with the domain's reason) and cancels that next booking (done; cancelled);
 * - a dispatcher (after signing out) gets no Customers tab and no customer data in the replica.
 * Screenshots go to test-results/.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page, Request } from 'playwright-core';
import { startDeskServer } from '../support/desk.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerHandle } from '../../server/src/app.js';
import { DEMO_STAFF } from '../../server/src/components/staff/index.js';
import { signUpCustomer, staffHeaders } from '../../server/src/testing/auth.js';
import { startBrowserConsole, type BrowserConsole } from '../../src/main/browser-host/host.js';
import { silentLogger } from '../../src/main/log.js';
import { launchChromium } from '../support/chromium.js';
import { waitAttr } from './page-wait.js';

const SEEDED = 12;
const shots = join(process.cwd(), 'test-results');
const SUPPORT = DEMO_STAFF.find((s) => s.role === 'support')!;
const DISPATCHER = DEMO_STAFF.find((s) => s.role === 'dispatcher')!;

describe('support desk in Chromium: sign-in, one multiplexed stream, the support flow, a dispatcher without customers', () => {
  let dataDir: string;
  let server: ServerHandle;
  let desk: BrowserConsole;
  let browser: Browser;
  let page: Page;
  let vehicleIds: string[];
  let greta: string;
  const requests: string[] = [];
  const pageErrors: string[] = [];

  async function staff(method: string, path: string, body?: unknown, role: 'dispatcher' | 'support' = 'dispatcher'): Promise<number> {
    const res = await fetch(`${server.httpUrl}${path}`, {
      method,
      headers: {
        ...(await staffHeaders(server, role, `e2e-${role}`)),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    await res.arrayBuffer();
    return res.status;
  }

  async function allocation(row: Record<string, unknown>): Promise<void> {
    const cols = Object.keys(row);
    await server.db.transaction(async (tx) => {
      await tx.query(
        `insert into allocations (${cols.join(', ')}, server_seq) values (${cols.map((c, i) => (c === 'period' ? `$${i + 1}::tstzrange` : c === 'price' ? `$${i + 1}::jsonb` : `$${i + 1}`)).join(', ')}, fleetdesk_next_seq())`,
        cols.map((c) => (c === 'price' ? JSON.stringify(row[c]) : row[c])),
      );
    });
  }

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    ({ server, dataDir } = await startDeskServer('support', {
      seedVehicles: SEEDED,
    }));
    vehicleIds = (await server.db.query<{ id: string }>('select id from vehicles order by id')).rows.map((r) => r.id);
    greta = (await signUpCustomer(server, { name: 'Greta Lindqvist', phone: '+49 30 5550 1234', paymentToken: 'tok_sandbox_ok' }))
      .customerId;
    await signUpCustomer(server, { name: 'Jonas Becker', phone: '+49 40 777 0000' });
    const started = new Date(Date.now() - 25 * 60_000).toISOString();
    // an active rental that must be back before the car's next booking (made during the test)
    await allocation({
      id: 'e2e-rental-active',
      kind: 'rental',
      vehicle_id: vehicleIds[0],
      customer_id: greta,
      status: 'active',
      period: `[${started},2031-06-01 09:45:00+00)`,
      started_at: started,
      return_by: '2031-06-01T09:45:00Z',
    });
    await allocation({
      id: 'e2e-rental-ended',
      kind: 'rental',
      vehicle_id: vehicleIds[1],
      customer_id: greta,
      status: 'ended',
      period: '[2030-03-01 08:00:00+00,2030-03-01 08:42:00+00)',
      started_at: '2030-03-01T08:00:00Z',
      ended_at: '2030-03-01T08:42:00Z',
      total_cents: 1468,
      currency: 'EUR',
      price: {
        currency: 'EUR',
        lines: [
          { code: 'driving', description: 'Driving', quantity: 35, unit: 'minute', unitCents: 29, amountCents: 1015 },
          { code: 'parked', description: 'Parked', quantity: 7, unit: 'minute', unitCents: 19, amountCents: 133 },
          { code: 'distance', description: 'Beyond 50 km included', quantity: 4, unit: 'km', unitCents: 80, amountCents: 320 },
        ],
        subtotalCents: 1468,
        totalCents: 1468,
      },
    });
    // the ended rental's money, through the payments component's contract: a hold, then the price captured
    const method = (await server.payments.defaultPaymentMethod(greta))!;
    const hold = await server.payments.authorizeHold(
      {
        rentalId: 'e2e-rental-ended',
        customerId: greta,
        paymentMethodId: method.paymentMethodId,
        amountCents: 3000,
        currency: 'EUR',
        idempotencyKey: 'e2e-hold-1',
      },
      20_000,
    );
    if (hold.status !== 'authorized') throw new Error(`hold: ${JSON.stringify(hold)}`);
    await server.db.transaction((tx) =>
      server.payments.enqueueCapture(tx, { rentalId: 'e2e-rental-ended', paymentId: hold.paymentId, amountCents: 1468, currency: 'EUR' }),
    );
    await server.payments.drainOutbox();
    // history past the replica's horizon (SYNC_HISTORY_DAYS, 30): a rental closed 40 days ago, in no desk's replica
    const closed40d = Date.now() - 40 * 86_400_000;
    await allocation({
      id: 'e2e-rental-40d',
      kind: 'rental',
      vehicle_id: vehicleIds[1],
      customer_id: greta,
      status: 'ended',
      period: `[${new Date(closed40d - 1_800_000).toISOString()},${new Date(closed40d).toISOString()})`,
      started_at: new Date(closed40d - 1_800_000).toISOString(),
      ended_at: new Date(closed40d).toISOString(),
      updated_at: new Date(closed40d).toISOString(),
      total_cents: 990,
      currency: 'EUR',
    });
    if ((await server.sync.retireHistory()) < 1) throw new Error('the 40-day-old rental did not leave the replica');
    // no auto sign-in: the page signs in
    desk = await startBrowserConsole({
      config: { mqttUrl: server.mqttUrl, serverUrl: server.httpUrl, tileUrl: '', logger: silentLogger() },
      port: 0,
      rendererDir: 'out/renderer',
      logger: silentLogger(),
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('request', (r: Request) => requests.push(`${r.method()} ${new URL(r.url()).pathname}${new URL(r.url()).search}`));
    if (process.env['E2E_DEBUG']) page.on('console', (m) => console.log(`[page] ${m.type()} ${m.text().slice(0, 300)}`));
    await page.goto(desk.url);
  });

  afterAll(async () => {
    await browser?.close();
    await desk?.stop();
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows the sign-in screen; a wrong password is refused with the reason; the support agent signs in and is shown in the header', async () => {
    await page.getByTestId('sign-in-screen').waitFor({ timeout: 30_000 });
    await page.getByTestId('sign-in-email').fill(SUPPORT.email);
    await page.getByTestId('sign-in-password').fill('not-the-password');
    await page.getByTestId('sign-in-submit').click();
    await page.getByTestId('sign-in-error').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('sign-in-error').innerText()).toMatch(/wrong e-mail address or password/i);
    await page.screenshot({ path: join(shots, 'e2e-support-1-sign-in-refused.png') });

    await page.getByTestId('sign-in-password').fill(SUPPORT.password);
    await page.getByTestId('sign-in-submit').click();
    await page.getByTestId('operator-chip').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('operator-name').innerText()).toBe(SUPPORT.name);
    expect(await page.getByTestId('operator-role').innerText()).toMatch(/support/i);
    // the page never saw a refresh token or the password again: sign-in goes through the host, not HTTP
    expect(requests.filter((r) => r.includes('/auth/'))).toEqual([]);
    await waitAttr(page, 'sync-indicator', 'data-status', 'synced');
  });

  it('keeps every collection live over ONE multiplexed stream: changes arrive without a pull', async () => {
    const streams = () => requests.filter((r) => r.startsWith('GET /sync/v1/stream?'));
    await expect.poll(() => streams().length, { timeout: 20_000 }).toBeGreaterThan(0);
    const last = new URLSearchParams(streams().at(-1)!.split('?')[1]);
    expect(last.get('collections')!.split(',').sort()).toEqual([
      'alerts',
      'commands',
      'customers',
      'notes',
      'rentals',
      'requests',
      'tasks',
      'vehicles',
      'zones',
    ]);
    expect(requests.filter((r) => /^GET \/sync\/v1\/[a-z]+\/stream/.test(r))).toEqual([]); // no per-collection streams
    const before = requests.length;

    // changes in several collections, from other staff members
    server.events.emit('vehicle.event', {
      vehicleId: vehicleIds[2]!,
      event: { v: 1, seq: 1, ts: Date.now(), type: 'crash_detected', data: { peakG: 5 } },
      receivedAt: Date.now(),
    });
    await server.flushAlerts();
    expect(
      await staff('POST', '/ops/v1/tasks', { id: 'e2e-live-task', vehicleId: vehicleIds[2], kind: 'repair', note: 'live over the stream' }),
    ).toBe(201);
    expect(
      await staff('POST', '/ops/v1/notes', { targetType: 'customer', targetId: greta, text: 'called about a parking ticket' }, 'support'),
    ).toBe(201);
    await signUpCustomer(server, { name: 'Live Stream Customer', phone: '+49 89 123 4567' });
    await allocation({
      id: 'e2e-booking-live',
      kind: 'booking',
      vehicle_id: vehicleIds[0],
      customer_id: greta,
      status: 'confirmed',
      period: '[2031-06-01 09:45:00+00,2031-06-01 12:00:00+00)',
      starts_at: '2031-06-01T10:00:00Z',
      ends_at: '2031-06-01T12:00:00Z',
    });

    await page.getByTestId('tab-alerts').click();
    await page.waitForFunction(
      () => !!document.querySelector('[data-testid="alerts-panel"] tr[data-alert-id][data-kind="crash"]'),
      undefined,
      { timeout: 20_000 },
    );
    await page.getByTestId('tab-tasks').click();
    await page.waitForFunction(() => document.body.textContent!.includes('live over the stream'), undefined, { timeout: 20_000 });
    await page.getByTestId('tab-customers').click();
    await page.getByTestId('customer-search').fill('Live Stream');
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid="customer-results"]')?.getAttribute('data-count')) === 1,
      undefined,
      { timeout: 20_000 },
    );
    // none of it was pulled: it all came over the one stream
    expect(requests.slice(before).filter((r) => r.includes('/pull'))).toEqual([]);
    expect(requests.slice(before).filter((r) => r.startsWith('GET /sync/v1/stream'))).toEqual([]);
  });

  it('support flow: find the customer by phone, rentals with the receipt, block with a reason, a partial refund (and one too large refused)', async () => {
    await page.getByTestId('customer-search').fill('5550 1234');
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid="customer-results"]')?.getAttribute('data-count')) === 1,
      undefined,
      { timeout: 10_000 },
    );
    await page.locator(`[data-testid="customer-results"] [data-customer-id="${greta}"]`).click();
    const detail = page.getByTestId('customer-detail');
    await detail.waitFor();
    expect(await detail.getAttribute('data-status')).toBe('active');
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="customer-rentals"] [data-testid="rental-card"]').length >= 3,
      undefined,
      { timeout: 20_000 },
    );
    expect(await page.locator('[data-rental-id="e2e-rental-active"]').getAttribute('data-status')).toBe('active');
    const receipt = page.locator('[data-rental-id="e2e-rental-ended"] [data-testid="receipt"]');
    expect(await receipt.innerText()).toMatch(/Driving[\s\S]*Parked[\s\S]*Total/);
    expect(await page.getByTestId('customer-notes').innerText()).toContain('called about a parking ticket');
    // rentals closed past the server's history horizon are not held on this desk: it says so, and reads them online
    expect(await page.getByTestId('history-horizon-note').innerText()).toContain(
      'Rentals closed more than 30 days ago are not held on this desk',
    );
    expect(await page.locator('[data-testid="customer-rentals"] [data-rental-id="e2e-rental-40d"]').count()).toBe(0);
    await page.getByTestId('older-history-load').click();
    const older = page.locator('[data-testid="older-history-list"] [data-rental-id="e2e-rental-40d"]');
    await older.waitFor({ timeout: 10_000 });
    expect(await older.innerText()).toMatch(/^rental · ended · .*9[.,]90/);

    // block with a reason: a request, executed by the server through the staff route
    await page.getByTestId('block-reason').fill('chargeback fraud suspected');
    await page.getByTestId('block-submit').click();
    // blocking asks first, naming who and what happens
    const confirmBlock = page.getByTestId('confirm-dialog');
    expect(await confirmBlock.innerText()).toMatch(/Block Greta Lindqvist\?[\s\S]*can no longer reserve, book or start a rental/);
    await confirmBlock.getByTestId('confirm-accept').click();
    await waitAttr(page, 'customer-detail', 'data-status', 'blocked', 30_000);
    await page.waitForFunction(
      () =>
        document
          .querySelector('[data-testid="customer-requests"] [data-request-kind="block_customer"]')
          ?.getAttribute('data-request-status') === 'done',
      undefined,
      { timeout: 30_000 },
    );
    expect(await page.getByTestId('customer-detail').innerText()).toContain('chargeback fraud suspected');
    const audited = await server.db.query<{ actor: string }>(
      `select actor from audit_log where action = 'customer.blocked' and target_id = $1`,
      [greta],
    );
    expect(audited.rows.map((r) => r.actor)).toEqual([SUPPORT.id]);

    // a partial refund: the payments ledger (read live) shows what was captured; the refund is a request run
    // through the payments route, and its outcome shows on the card
    const ended = page.locator('[data-rental-id="e2e-rental-ended"]');
    await page.waitForFunction(
      () =>
        /captured €14\.68/.test(
          document.querySelector('[data-rental-id="e2e-rental-ended"] [data-testid="rental-money"]')?.textContent ?? '',
        ),
      undefined,
      { timeout: 20_000 },
    );
    await ended.getByTestId('refund-rental').click();
    await ended.getByTestId('refund-amount').fill('20');
    await ended.getByTestId('action-reason').fill('goodwill');
    await ended.getByTestId('action-submit').click();
    // refused before it is sent, under the amount field
    expect(await ended.getByTestId('field-error').innerText()).toMatch(/At most €14\.68 can still be refunded/);
    await ended.getByTestId('refund-amount').fill('5.00');
    await ended.getByTestId('action-reason').fill('car was not clean');
    await ended.getByTestId('action-submit').click();
    const confirmRefund = page.getByTestId('confirm-dialog');
    expect(await confirmRefund.innerText()).toMatch(/Refund €5\.00\?[\s\S]*cannot be taken back/);
    await page.screenshot({ path: join(shots, 'e2e-support-confirm-refund.png') });
    await confirmRefund.getByTestId('confirm-accept').click();
    try {
      await page.waitForFunction(
        () =>
          document
            .querySelector('[data-rental-id="e2e-rental-ended"] [data-request-kind="refund"]')
            ?.getAttribute('data-request-status') === 'done',
        undefined,
        { timeout: 30_000 },
      );
    } catch (err) {
      const rows = await server.db.query(`select kind, status, result from sync_requests where kind = 'refund'`);
      throw new Error(`refund request not done; on the server: ${JSON.stringify(rows.rows)}`, { cause: err });
    }
    expect(await ended.locator('[data-request-kind="refund"]').innerText()).toMatch(/Refund €5\.00 done/);
    await server.payments.drainOutbox();
    const money = await server.payments.rentalPayments('e2e-rental-ended');
    expect(money).toMatchObject({ captured: 1468, refunded: 500 });
    await page.screenshot({ path: join(shots, 'e2e-support-2-customer-detail.png') });
  });

  it('the vehicle card shows the car’s current rental and its next booking', async () => {
    await page.getByTestId('tab-vehicles').click();
    const plate = (await server.db.query<{ plate: string }>('select plate from vehicles where id = $1', [vehicleIds[0]])).rows[0]!.plate;
    await page.getByTestId('vehicle-search').fill(plate);
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid="vehicle-grid"]')?.getAttribute('data-row-count')) === 1,
      undefined,
      { timeout: 20_000 },
    );
    await page.getByTestId('vehicle-search').press('Enter');
    await page.getByTestId('vehicle-rentals').waitFor({ timeout: 10_000 });
    await waitAttr(page, 'vehicle-rentals', 'data-current', 'e2e-rental-active', 20_000);
    expect(await page.getByTestId('current-rental').innerText()).toContain('Greta Lindqvist');
    expect(await page.getByTestId('vehicle-rentals').getAttribute('data-upcoming')).toBe('1');
    await page.screenshot({ path: join(shots, 'e2e-support-3-vehicle-rental.png') });
  });

  it('bookings: extend one (done), an extension into the next booking refused, cancel the next one (done); the staff API agrees', async () => {
    // two bookings of Greta's on one car, back to back (the second's period starts 15 min early: the buffer)
    await allocation({
      id: 'e2e-booking-extend',
      kind: 'booking',
      vehicle_id: vehicleIds[3],
      customer_id: greta,
      status: 'confirmed',
      period: '[2031-07-01 09:45:00+00,2031-07-01 12:00:00+00)',
      starts_at: '2031-07-01T10:00:00Z',
      ends_at: '2031-07-01T12:00:00Z',
    });
    await allocation({
      id: 'e2e-booking-cancel',
      kind: 'booking',
      vehicle_id: vehicleIds[3],
      customer_id: greta,
      status: 'confirmed',
      period: '[2031-07-01 13:45:00+00,2031-07-01 16:00:00+00)',
      starts_at: '2031-07-01T14:00:00Z',
      ends_at: '2031-07-01T16:00:00Z',
    });
    const booking = async (id: string) => {
      const res = await fetch(`${server.httpUrl}/ops/v1/bookings/${id}`, { headers: await staffHeaders(server, 'support', 'e2e-support') });
      expect(res.status).toBe(200);
      return (await res.json()) as { status: string; endsAt: string; cancelReason: string | null; cancelledBy: string | null };
    };
    // the datetime-local input takes the operator's local time: ask the page how it writes an instant
    const localInput = (iso: string) =>
      page.evaluate((ms) => {
        const d = new Date(ms);
        const p = (n: number) => String(n).padStart(2, '0');
        return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
      }, Date.parse(iso));
    const outcome = (bookingId: string, kind: string, status: string) =>
      page.waitForFunction(
        ([b, k, s]) => !!document.querySelector(`[data-rental-id="${b}"] [data-request-kind="${k}"][data-request-status="${s}"]`),
        [bookingId, kind, status],
        { timeout: 30_000 },
      );

    await page.getByTestId('tab-customers').click();
    await page.getByTestId('customer-search').fill('5550 1234');
    await page.locator(`[data-testid="customer-results"] [data-customer-id="${greta}"]`).click();
    const extendCard = page.locator('[data-rental-id="e2e-booking-extend"]');
    const cancelCard = page.locator('[data-rental-id="e2e-booking-cancel"]');
    await cancelCard.waitFor({ timeout: 20_000 });
    expect(await extendCard.getAttribute('data-status')).toBe('confirmed');

    // extend to 13:00 UTC: a request run through the staff route; done on the card, the new end in the staff API
    await extendCard.getByTestId('extend-booking').click();
    await extendCard.getByTestId('extend-ends-at').fill(await localInput('2031-07-01T13:00:00Z'));
    await extendCard.getByTestId('action-reason').fill('customer running late');
    await extendCard.getByTestId('action-submit').click();
    await outcome('e2e-booking-extend', 'extend_booking', 'done');
    expect(await extendCard.locator('[data-request-kind="extend_booking"]').innerText()).toMatch(/Extend booking to .* done/);
    expect(await booking('e2e-booking-extend')).toMatchObject({ status: 'confirmed', endsAt: '2031-07-01T13:00:00.000Z' });

    // into the next booking (15:00 UTC): refused with the domain's reason, shown on the card
    await extendCard.getByTestId('extend-booking').click();
    await extendCard.getByTestId('extend-ends-at').fill(await localInput('2031-07-01T15:00:00Z'));
    await extendCard.getByTestId('action-reason').fill('wants the afternoon too');
    await extendCard.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(shots, 'e2e-support-booking-form.png') });
    await extendCard.getByTestId('action-submit').click();
    await outcome('e2e-booking-extend', 'extend_booking', 'rejected');
    expect(await extendCard.locator('[data-request-kind="extend_booking"][data-request-status="rejected"]').innerText()).toMatch(
      /refused — .*taken/,
    );
    expect((await booking('e2e-booking-extend')).endsAt).toBe('2031-07-01T13:00:00.000Z');

    // cancel the next booking with a reason: done; the card turns cancelled and offers no more actions
    await cancelCard.getByTestId('cancel-booking').click();
    await cancelCard.getByTestId('action-reason').fill('customer called to cancel');
    await cancelCard.getByTestId('action-submit').click();
    const confirmCancel = page.getByTestId('confirm-dialog');
    expect(await confirmCancel.innerText()).toMatch(/Cancel this booking of [\s\S]*free for others/);
    await confirmCancel.getByTestId('confirm-accept').click();
    await outcome('e2e-booking-cancel', 'cancel_booking', 'done');
    await page.waitForFunction(
      () => document.querySelector('[data-rental-id="e2e-booking-cancel"]')?.getAttribute('data-status') === 'cancelled',
      undefined,
      { timeout: 20_000 },
    );
    expect(await cancelCard.getByTestId('cancel-booking').count()).toBe(0);
    expect(await cancelCard.innerText()).toContain('customer called to cancel');
    expect(await booking('e2e-booking-cancel')).toMatchObject({
      status: 'cancelled',
      cancelReason: 'customer called to cancel',
      cancelledBy: SUPPORT.id,
    });
    const audited = await server.db.query<{ action: string; actor: string; reason: string }>(
      `select action, actor, reason from audit_log where target_id in ('e2e-booking-extend', 'e2e-booking-cancel') and action like 'booking.%' order by id`,
    );
    expect(audited.rows).toEqual([
      { action: 'booking.extended', actor: SUPPORT.id, reason: 'customer running late' },
      { action: 'booking.cancelled', actor: SUPPORT.id, reason: 'customer called to cancel' },
    ]);
    await extendCard.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(shots, 'e2e-support-booking.png') });
  });

  it('a dispatcher gets no Customers tab and no customer data', async () => {
    await page.getByTestId('sign-out').click();
    await page.getByTestId('sign-in-screen').waitFor({ timeout: 20_000 });
    const signedInAt = requests.length;
    await page.getByTestId('sign-in-email').fill(DISPATCHER.email);
    await page.getByTestId('sign-in-password').fill(DISPATCHER.password);
    await page.getByTestId('sign-in-submit').click();
    await page.getByTestId('operator-chip').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('operator-role').innerText()).toMatch(/dispatcher/i);
    await waitAttr(page, 'sync-indicator', 'data-status', 'synced');
    expect(await page.getByTestId('tab-customers').count()).toBe(0);
    const lastStream = requests.filter((r) => r.startsWith('GET /sync/v1/stream?')).at(-1)!;
    expect(new URLSearchParams(lastStream.split('?')[1]).get('collections')!.split(',')).not.toContain('customers');
    // the dispatcher's replica never asks for customers (the server would answer 403)
    expect(requests.slice(signedInAt).filter((r) => r.includes('/sync/v1/customers'))).toEqual([]);
    expect(requests.slice(signedInAt).filter((r) => r.includes('/pull')).length).toBeGreaterThan(0);
    // the vehicle card names no customer for a dispatcher
    const plate = (await server.db.query<{ plate: string }>('select plate from vehicles where id = $1', [vehicleIds[0]])).rows[0]!.plate;
    await page.getByTestId('vehicle-search').fill(plate);
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid="vehicle-grid"]')?.getAttribute('data-row-count')) === 1,
      undefined,
      { timeout: 20_000 },
    );
    await page.getByTestId('vehicle-search').press('Enter');
    await waitAttr(page, 'vehicle-rentals', 'data-current', 'e2e-rental-active', 20_000);
    expect(await page.getByTestId('current-rental').innerText()).not.toContain('Greta');
    await page.screenshot({ path: join(shots, 'e2e-support-4-dispatcher.png') });
    expect(pageErrors).toEqual([]);
  });
});
