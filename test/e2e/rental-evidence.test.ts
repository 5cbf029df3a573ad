/**
 * A rental's evidence and the end on the customer's behalf at the desk in real Chromium (1280×800): a server
 * (PGlite on a temp dir, embedded broker, sandbox payments, seeded demo staff) and two simulated cars over MQTT
 * that answer their commands. A customer rents the first car through the public API — reserve, start (the car
 * acknowledges the unlock), drive, report damage with a photo, end (the car acknowledges the lock) — and starts a
 * rental of the second car, which is then left outside the zone with a door open.
 *
 * The support agent finds the customer, opens the ended rental's evidence: the unlock and lock commands with their
 * steps, the track, the price lines, the damage photo (thumbnail and full view, read through the staff route); then
 * opens the blocked rental by its id from the top bar's search, sees its blockers, ends it anyway with a reason and
 * sees the override in the rental's own timeline, by name and with the reason; the car's timeline opens the same
 * evidence. With the server down, the replica's part shows, and says so. Screenshots go to test-results/ (the customer 360 with the refused first start, the evidence, the photo, the blocked rental).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../server/src/app.js';
import { DEMO_STAFF } from '../../server/src/components/staff/index.js';
import { READY_TO_BOOK, signUpCustomer, staffHeaders, type SignedUpCustomer } from '../../server/src/testing/auth.js';
import { QUIET } from '../../server/src/testing/bookings.js';
import { connectCommandDevice } from '../../server/src/testing/command-device.js';
import { connectDevice, waitFor } from '../../server/src/testing/devices.js';
import { SimulatedCar } from '../../server/src/testing/simulated-car.js';
import { DEFAULT_SERVICE_AREA } from '../../src/shared/service-area.js';
import { type DeskPage, openSignedInDesk } from '../support/desk.js';
import { openVehicleCard } from './page-wait.js';

const shots = join(process.cwd(), 'test-results');
const SUPPORT = DEMO_STAFF.find((s) => s.role === 'support')!;
const CENTER = DEFAULT_SERVICE_AREA.center;

describe('rental evidence and the end on the customer’s behalf at the desk in Chromium', () => {
  let dataDir: string;
  let server: ServerHandle;
  let deskPage: DeskPage;
  let page: Page;
  let cars: SimulatedCar[] = [];
  let customer: SignedUpCustomer;
  let endedRentalId: string;
  let blockedRentalId: string;
  let support: Record<string, string>;
  const plates = new Map<string, string>();
  const plateOf = (vehicleId: string) => plates.get(vehicleId)!;

  async function post<T>(path: string, body: unknown, headers: Record<string, string>): Promise<T> {
    const res = await fetch(`${server.httpUrl}${path}`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    expect(res.status, `${path}: ${text}`).toBeLessThan(300);
    return JSON.parse(text) as T;
  }

  /**
   * Reserve (once the car is in the availability index) and start: the car acknowledges the unlock. With
   * `refusedFirst` the car refuses the first unlock ("door jammed": 502, the reservation kept) and the customer tries
   * again.
   */
  async function rent(car: SimulatedCar, refusedFirst = false): Promise<string> {
    const reservationId = await waitFor(
      async () => {
        const res = await fetch(`${server.httpUrl}/v1/reservations`, {
          method: 'POST',
          headers: { ...customer.headers, 'content-type': 'application/json' },
          body: JSON.stringify({ vehicleId: car.vehicleId }),
        });
        const body = (await res.json()) as { reservationId?: string };
        return res.status === 201 ? body.reservationId : undefined;
      },
      { timeoutMs: 15_000, what: `a reservation of ${car.vehicleId}` },
    );
    if (refusedFirst) {
      car.device.behaviour = 'fail';
      const refused = await fetch(`${server.httpUrl}/v1/rentals`, {
        method: 'POST',
        headers: { ...customer.headers, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: JSON.stringify({ reservationId }),
      });
      expect(refused.status, await refused.text()).toBe(502);
      car.device.behaviour = 'succeed';
    }
    const started = await post<{ rentalId: string; unlock: { status: string } }>('/v1/rentals', { reservationId }, customer.headers);
    expect(started.unlock.status).toBe('succeeded');
    return started.rentalId;
  }

  async function drive(car: SimulatedCar, legs: number): Promise<void> {
    await car.report({ locked: false, ignition: true });
    for (let i = 1; i <= legs; i++)
      await car.report({ speedKph: 38, lat: car.state.lat + 0.0012, lon: car.state.lon + 0.002, odometerKm: car.state.odometerKm + 1.8 });
  }

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'fleetdesk-e2e-evidence-'));
    server = await startServer({
      ...QUIET,
      databaseUrl: undefined,
      dataDir,
      seedVehicles: 2,
      rentalUnlockTimeoutMs: 5_000,
      rentalLockTimeoutMs: 5_000,
    });
    const vehicles = (await server.db.query<{ id: string; plate: string }>('select id, plate from vehicles order by id')).rows;
    for (const v of vehicles) plates.set(v.id, v.plate);
    const vehicleIds = vehicles.map((v) => v.id);
    support = await staffHeaders(server, 'support', 'e2e-support-api');
    for (const [i, vehicleId] of vehicleIds.entries()) {
      const car = new SimulatedCar(
        vehicleId,
        await connectDevice(server.mqttUrl, vehicleId),
        await connectCommandDevice(server.mqttUrl, vehicleId, { behaviour: 'succeed' }),
      );
      await car.report({ lat: CENTER.lat + i * 0.001, lon: CENTER.lon });
      await car.settled(server, support);
      cars.push(car);
    }
    customer = await signUpCustomer(server, { ...READY_TO_BOOK, name: 'Greta Lindqvist', phone: '+49 30 5550 1234' });

    // the first rental, start to end, with a damage report
    const [first, second] = cars as [SimulatedCar, SimulatedCar];
    endedRentalId = await rent(first, true);
    await drive(first, 4);
    await first.report({ speedKph: 0, ignition: false, doorsClosed: true });
    await first.settled(server, support);
    deskPage = await openSignedInDesk(server, SUPPORT);
    page = deskPage.page;
    // the customer's photo of the damage: a picture drawn in the browser
    const painter = await deskPage.browser.newPage({ viewport: { width: 320, height: 240 } });
    await painter.setContent(
      `<body style="margin:0"><div style="width:320px;height:240px;background:linear-gradient(160deg,#9fb3c8,#3b4d61);position:relative">
         <div style="position:absolute;left:70px;top:120px;width:180px;height:6px;background:#b91c1c;transform:rotate(-12deg)"></div>
         <div style="position:absolute;left:12px;bottom:10px;color:#fff;font:14px sans-serif">rear bumper, left</div></div></body>`,
    );
    const photo = await painter.screenshot({ type: 'png' });
    await painter.close();
    const form = new FormData();
    form.append('text', 'Long scratch on the rear bumper');
    form.append('photos', new Blob([new Uint8Array(photo)], { type: 'image/png' }), 'bumper.png');
    const reported = await fetch(`${server.httpUrl}/v1/rentals/${endedRentalId}/damage-reports`, {
      method: 'POST',
      headers: customer.headers,
      body: form,
    });
    expect(reported.status, await reported.clone().text()).toBe(201);
    const ended = await post<{ lock: { acknowledged: boolean } }>(`/v1/rentals/${endedRentalId}/end`, {}, customer.headers);
    expect(ended.lock.acknowledged).toBe(true);
    await server.payments.drainOutbox();

    // the second rental: started, then left outside the zone with a door open
    blockedRentalId = await rent(second);
    await drive(second, 2);
    await second.report({ speedKph: 0, ignition: false, lat: 52.62, lon: 13.55, doorsClosed: false });
    await second.settled(server, support);
    // the customer tries to end it there: refused, and kept as the rental's evidence
    const refused = await fetch(`${server.httpUrl}/v1/rentals/${blockedRentalId}/end`, { method: 'POST', headers: customer.headers });
    expect(refused.status).toBe(409);
    await refused.arrayBuffer();
  });

  afterAll(async () => {
    await deskPage?.close();
    for (const car of cars) await car.close();
    cars = [];
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('support finds the customer and opens the ended rental: unlock and lock with their steps, the track, price lines, the damage photo', async () => {
    // a colleague refunds part of it (run by the payments outbox: pending, then refunded)
    await post(`/ops/v1/rentals/${endedRentalId}/refunds`, { amountCents: 10, reason: 'scratch was there before' }, support);

    await page.getByTestId('tab-customers').click();
    await page.getByTestId('customer-search').fill('Lindqvist');
    await page.locator(`[data-testid="customer-results"] [data-customer-id="${customer.customerId}"]`).click({ timeout: 20_000 });
    const card = page.locator(`[data-testid="rental-card"][data-rental-id="${endedRentalId}"]`);
    await card.waitFor({ timeout: 20_000 });
    // the start the car refused before this rental began: in the customer 360, in words
    const failedStart = page.locator('[data-testid="customer-failed-starts"] [data-testid="failed-start"]');
    await failedStart.first().waitFor({ timeout: 20_000 });
    expect(await failedStart.count()).toBe(1);
    expect(await failedStart.getAttribute('data-failure')).toBe('unlock_failed');
    expect(await failedStart.innerText()).toMatch(
      /the car refused the unlock: door jammed[\s\S]*reservation of .* kept, payment hold released/,
    );
    await page.screenshot({ path: join(shots, 'e2e-evidence-0-customer-failed-start.png') });
    await card.getByTestId('open-evidence').click();

    const evidence = page.getByTestId('rental-evidence');
    await evidence.waitFor();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="rental-evidence"]')?.getAttribute('data-mode') === 'live',
      undefined,
      {
        timeout: 20_000,
      },
    );
    const entries = evidence.getByTestId('evidence-entry');
    await waitFor(async () => (await entries.count()) >= 8, { timeoutMs: 20_000, what: 'the evidence entries' });
    const kinds = await entries.evaluateAll((els) => els.map((e) => e.getAttribute('data-kind')));
    // in order: where it came from, the hold, the unlock, the start and trip, the end, the lock
    expect(kinds[0]).toBe('source');
    // the refused first try, before the start that worked
    expect(kinds[1]).toBe('start-failed');
    expect(await evidence.locator('[data-kind="start-failed"]').innerText()).toMatch(
      /Start failed: the car refused the unlock: door jammed/,
    );
    expect(kinds.indexOf('payment')).toBeLessThan(kinds.indexOf('command'));
    expect(kinds.indexOf('command')).toBeLessThan(kinds.indexOf('start'));
    expect(kinds.indexOf('start')).toBeLessThan(kinds.indexOf('end'));
    expect(kinds.lastIndexOf('command')).toBeGreaterThan(kinds.indexOf('end'));
    expect(kinds).toContain('damage');
    expect(kinds).toContain('end');

    const commands = evidence.locator('[data-testid="evidence-entry"][data-kind="command"]');
    expect(await commands.count()).toBe(2);
    const unlock = await commands.nth(0).innerText();
    const lock = await commands.nth(1).innerText();
    expect(unlock).toMatch(/Unlock command — unlock succeeded/);
    expect(lock).toMatch(/Lock command — lock succeeded/);
    for (const c of [0, 1]) {
      const steps = await commands
        .nth(c)
        .locator('[data-step]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-step')));
      expect(steps[0]).toBe('queued');
      expect(steps).toContain('sent');
      expect(steps.at(-1)).toBe('succeeded');
    }

    const payments = await evidence.locator('[data-kind="payment"]').allInnerTexts();
    expect(payments.some((t) => /Payment hold €[\d.]+ — held/.test(t))).toBe(true);
    expect(payments.some((t) => /Capture €[\d.]+ — captured/.test(t))).toBe(true);
    expect(await evidence.locator('[data-kind="end"] [data-testid="receipt"]').innerText()).toMatch(/Driving[\s\S]*Total/);
    await server.payments.drainOutbox();
    await waitFor(
      async () =>
        /Refund €0\.10 — refunded[\s\S]*why: scratch was there before/.test(
          (await evidence.locator('[data-kind="payment"]').allInnerTexts()).join('\n'),
        ),
      {
        timeoutMs: 20_000,
        what: 'the refund, refunded, in the evidence',
      },
    );

    // the track of the trip on the small map
    await evidence.getByTestId('evidence-map').waitFor({ timeout: 20_000 });
    expect(Number(await evidence.getByTestId('evidence-map').getAttribute('data-points'))).toBeGreaterThanOrEqual(5);
    expect(await evidence.locator('.evidence-map path.track-path').count()).toBeGreaterThan(0);

    // the damage photo: read through the staff route with the desk's token, shown as a thumbnail
    const thumb = evidence.getByTestId('damage-thumb');
    await page.waitForFunction(
      () => document.querySelector('[data-testid="damage-thumb"]')?.getAttribute('data-loaded') === 'true',
      undefined,
      {
        timeout: 20_000,
      },
    );
    const src = await thumb.locator('img').getAttribute('src');
    expect(src).toMatch(/^blob:/);
    expect(await thumb.locator('img').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(320);
    expect(await evidence.locator('[data-kind="damage"]').innerText()).toContain('Long scratch on the rear bumper');
    await page.screenshot({ path: join(shots, 'e2e-evidence-1-ended-rental.png') });

    await thumb.click();
    await page.getByTestId('damage-full').waitFor();
    await page.screenshot({ path: join(shots, 'e2e-evidence-2-damage-photo.png') });
    await page.keyboard.press('Escape');
    await page.getByTestId('damage-full').waitFor({ state: 'detached' });
    expect(await evidence.isVisible()).toBe(true);
    await page.keyboard.press('Escape');
    await evidence.waitFor({ state: 'detached' });
    expect(deskPage.pageErrors).toEqual([]);
  });

  it('opens the blocked rental by its id from the search, ends it anyway with a reason and sees the override in its timeline', async () => {
    // the customer 360's card offers the same end, with the blockers
    const card = page.locator(`[data-testid="rental-card"][data-rental-id="${blockedRentalId}"]`);
    await card.getByTestId('end-rental').click();
    await page.waitForFunction(
      (id) => document.querySelector(`[data-rental-id="${id}"] [data-testid="end-rental-panel"]`)?.getAttribute('data-state') === 'blocked',
      blockedRentalId,
      { timeout: 20_000 },
    );
    expect(await card.getByTestId('end-check').innerText()).toMatch(/outside the operating zone[\s\S]*a door open/);
    expect(await card.getByTestId('end-anyway').isVisible()).toBe(true);
    await page.screenshot({ path: join(shots, 'e2e-evidence-0-customer-card-blockers.png') });
    await card.getByTestId('end-rental').click();

    await page.getByTestId('vehicle-search').fill(blockedRentalId);
    await page.getByTestId('vehicle-search').press('Enter');
    const evidence = page.getByTestId('rental-evidence');
    await evidence.waitFor({ timeout: 20_000 });
    expect(await evidence.getAttribute('data-rental-id')).toBe(blockedRentalId);
    await page.waitForFunction(
      () => document.querySelector('[data-testid="end-rental-panel"]')?.getAttribute('data-state') === 'blocked',
      undefined,
      { timeout: 20_000 },
    );
    // the customer's refused end is in the rental's timeline
    await waitFor(async () => (await evidence.locator('[data-kind="end-refused"]').count()) === 1, {
      timeoutMs: 20_000,
      what: 'the refused end in the evidence',
    });
    expect(await evidence.locator('[data-kind="end-refused"]').innerText()).toMatch(
      /End refused: outside the operating zone, a door open — customer/,
    );
    const blockers = await evidence
      .locator('[data-testid="end-blockers"] li')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-code')));
    expect(blockers).toEqual(['outside_operating_zone', 'doors_open']);
    expect(await evidence.getByTestId('end-check').innerText()).toMatch(/outside the operating zone[\s\S]*a door open/);

    // a reason is required
    await evidence.getByTestId('end-anyway').click();
    expect(await evidence.getByTestId('field-error').innerText()).toMatch(/Give a reason/);
    await evidence.getByTestId('end-reason').fill('Customer locked out in a courtyard, car towed back tomorrow');
    await evidence.getByTestId('end-anyway').click();
    const confirm = page.getByTestId('confirm-dialog');
    expect(await confirm.innerText()).toMatch(
      /End this rental of .+ anyway\?[\s\S]*outside the operating zone, a door open[\s\S]*recorded with your name/,
    );
    await page.screenshot({ path: join(shots, 'e2e-evidence-3-end-anyway.png') });
    await confirm.getByTestId('confirm-accept').click();

    await page.waitForFunction(
      () => document.querySelector('[data-testid="end-rental-panel"]')?.getAttribute('data-state') === 'ended',
      undefined,
      { timeout: 30_000 },
    );
    // the override in the rental's own timeline: who (by name) and why, and the blockers it overrode
    const override = evidence.locator('[data-testid="evidence-entry"][data-action="rental.ended_override"]');
    await override.waitFor({ timeout: 20_000 });
    const text = await override.innerText();
    expect(text).toContain(SUPPORT.name);
    expect(text).toContain('Customer locked out in a courtyard, car towed back tomorrow');
    await page.waitForFunction(
      () => document.querySelector('[data-testid="rental-evidence"]')?.getAttribute('data-status') === 'ended',
      undefined,
      {
        timeout: 20_000,
      },
    );
    expect(await evidence.getByTestId('evidence-overridden').innerText()).toMatch(/outside the operating zone, a door open/);
    await page.screenshot({ path: join(shots, 'e2e-evidence-4-override-audited.png') });

    const audited = await server.db.query<{ actor: string; reason: string; after: { overriddenBlockers: string[] } }>(
      `select actor, reason, after from audit_log where action = 'rental.ended_override' and target_id = $1`,
      [blockedRentalId],
    );
    expect(audited.rows).toEqual([
      expect.objectContaining({
        actor: SUPPORT.id,
        after: expect.objectContaining({ overriddenBlockers: ['outside_operating_zone', 'doors_open'] }),
      }),
    ]);

    // the vehicle timeline's rental entries open the same evidence
    await page.keyboard.press('Escape');
    await evidence.waitFor({ state: 'detached' });
    await openVehicleCard(page, plateOf(cars[1]!.vehicleId));
    await page.getByTestId('open-timeline').click();
    await page.getByTestId('timeline-kind-rental').click();
    const rentalEntry = page.locator('[data-testid="vehicle-timeline"] li[data-kind="rental"]').first();
    await rentalEntry.waitFor({ timeout: 20_000 });
    await rentalEntry.locator('.timeline-entry-main').click();
    await rentalEntry.getByTestId('timeline-open-rental').click();
    await evidence.waitFor();
    expect(await evidence.getAttribute('data-rental-id')).toBe(blockedRentalId);
    expect(deskPage.pageErrors).toEqual([]);
  });

  it('with the server down, shows what the replica holds and says so', async () => {
    await page.keyboard.press('Escape');
    await page.getByTestId('rental-evidence').waitFor({ state: 'detached' });
    await server.stop();
    await page.getByTestId('tab-customers').click();
    await page.getByTestId('customer-search').fill('Lindqvist');
    await page.locator(`[data-testid="customer-results"] [data-customer-id="${customer.customerId}"]`).click({ timeout: 20_000 });
    const card = page.locator(`[data-testid="rental-card"][data-rental-id="${endedRentalId}"]`);
    await card.getByTestId('open-evidence').click();
    const evidence = page.getByTestId('rental-evidence');
    await page.waitForFunction(
      () => document.querySelector('[data-testid="rental-evidence"]')?.getAttribute('data-mode') === 'offline',
      undefined,
      {
        timeout: 30_000,
      },
    );
    expect(await evidence.getByTestId('evidence-offline').innerText()).toMatch(/Offline — showing what this computer holds/);
    // the replica's part: the rental, its unlock and lock with their steps, the price lines
    const commands = evidence.locator('[data-testid="evidence-entry"][data-kind="command"]');
    await waitFor(async () => (await commands.count()) === 2, { timeoutMs: 10_000, what: 'the replica’s commands' });
    expect(
      await commands
        .nth(1)
        .locator('[data-step]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-step'))),
    ).toContain('succeeded');
    expect(await evidence.locator('[data-kind="end"] [data-testid="receipt"]').innerText()).toMatch(/Total/);
    await page.screenshot({ path: join(shots, 'e2e-evidence-5-offline.png') });
    expect(deskPage.pageErrors, deskPage.pageErrors.join('\n')).toEqual([]);
  });
});
