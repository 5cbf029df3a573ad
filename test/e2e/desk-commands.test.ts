/**
 * Commands you can follow, at the desk in real Chromium (1280×800): a server (PGlite on a temp dir, embedded broker,
 * seeded demo staff), one simulated car online over MQTT, another that never connects. A dispatcher signs in, sends
 * a command from the vehicle card and watches it go queued → sent → received live, then succeeded when the car
 * answers — each step with its time, the issuer by name, the same command in the car's timeline. A command for the
 * offline car stays queued and is cancelled with a reason from the card. A failing one says why in plain words.
 * The fleet-wide Commands view lists failed first, filters, and selects the car of a row. Screenshots in test-results/.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../server/src/app.js';
import { DEMO_STAFF } from '../../server/src/components/staff/index.js';
import { staffHeaders } from '../../server/src/testing/auth.js';
import { QUIET } from '../../server/src/testing/bookings.js';
import { connectCommandDevice } from '../../server/src/testing/command-device.js';
import { connectDevice, waitFor } from '../../server/src/testing/devices.js';
import { SimulatedCar } from '../../server/src/testing/simulated-car.js';
import { type DeskPage, openSignedInDesk } from '../support/desk.js';

const shots = join(process.cwd(), 'test-results');
const DISPATCHER = DEMO_STAFF.find((s) => s.role === 'dispatcher')!;

describe('commands at the desk in Chromium', () => {
  let dataDir: string;
  let server: ServerHandle;
  let deskPage: DeskPage;
  let page: Page;
  let car: SimulatedCar;
  let onlinePlate: string;
  let offlinePlate: string;

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'fleetdesk-e2e-commands-'));
    server = await startServer({ ...QUIET, databaseUrl: undefined, dataDir, seedVehicles: 3 });
    const rows = (await server.db.query<{ id: string; plate: string }>('select id, plate from vehicles order by id limit 2')).rows;
    const [online, offline] = [rows[0]!, rows[1]!];
    onlinePlate = online.plate;
    offlinePlate = offline.plate;
    // the car acknowledges commands and waits: the test answers for it, so the desk shows each step as it comes
    car = new SimulatedCar(
      online.id,
      await connectDevice(server.mqttUrl, online.id),
      await connectCommandDevice(server.mqttUrl, online.id, { behaviour: 'ack-only' }),
    );
    await car.report();
    await car.settled(server, await staffHeaders(server, 'dispatcher', 'e2e-observer'));

    deskPage = await openSignedInDesk(server, DISPATCHER);
    page = deskPage.page;
  }, 120_000);

  afterAll(async () => {
    await deskPage?.close();
    await car?.close();
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function selectCar(plate: string): Promise<void> {
    await page.getByTestId('vehicle-search').fill(plate);
    await page.getByTestId('vehicle-search').press('Enter');
    await page.getByTestId('selected-vehicle').waitFor({ timeout: 20_000 });
    await waitFor(async () => (await page.getByTestId('selected-vehicle').innerText()).includes(plate), { what: `${plate} selected` });
  }

  async function sendCommand(type: string, reason: string): Promise<string> {
    const form = page.getByTestId('command-form');
    await form.getByLabel('Command', { exact: true }).selectOption(type);
    await form.getByLabel('Command reason').fill(reason);
    await form.getByRole('button', { name: 'Send' }).click();
    // the request reaches the server, which answers with the command's id as it replicates back
    return waitFor(
      async () =>
        (await page
          .locator('[data-testid="vehicle-commands"] li[data-command-id]', { hasText: reason })
          .first()
          .getAttribute('data-command-id', { timeout: 500 })
          .catch(() => null)) ?? undefined,
      { timeoutMs: 20_000, what: `the ${type} command in the card` },
    );
  }

  const row = (commandId: string) => page.locator(`[data-testid="vehicle-commands"] li[data-command-id="${commandId}"]`);
  const statusOf = (commandId: string) => row(commandId).getAttribute('data-status');
  const stepsOf = (commandId: string) =>
    row(commandId)
      .locator('[data-step]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-step')));
  const until = (commandId: string, status: string) =>
    waitFor(async () => (await statusOf(commandId)) === status, { timeoutMs: 20_000, what: `${commandId} ${status} at the desk` });

  it('a command sent from the card shows queued → sent → received live, then succeeded, with who and why', async () => {
    await selectCar(onlinePlate);
    const commandId = await sendCommand('locate', 'customer says the car is not where the app shows it');
    await until(commandId, 'received');
    expect(await stepsOf(commandId)).toEqual(['queued', 'sent', 'received']);
    expect(await row(commandId).getByTestId('command-outcome').innerText()).toBe('locate acknowledged by the car');
    expect(await row(commandId).getByTestId('command-issuer').innerText()).toBe(DISPATCHER.name);
    await page.screenshot({ path: join(shots, 'e2e-commands-1-received.png') });

    await car.device.answer(commandId, 'succeeded', undefined, { lat: 52.5, lon: 13.4 });
    await until(commandId, 'succeeded');
    expect(await stepsOf(commandId)).toEqual(['queued', 'sent', 'received', 'succeeded']);
    expect(await row(commandId).getByTestId('command-outcome').innerText()).toBe('locate succeeded');
    // every step with its time
    expect(await row(commandId).getByTestId('command-steps').innerText()).toMatch(/\d\d:\d\d:\d\d.*queued[\s\S]*\d\d:\d\d:\d\d.*succeeded/);

    // the same command in the car's timeline
    await page.getByTestId('open-timeline').click();
    await waitFor(
      async () =>
        (await page.locator('[data-testid="timeline-entries"] .timeline-title').allInnerTexts()).includes('Command locate succeeded'),
      { timeoutMs: 20_000, what: 'the command in the timeline' },
    );
    await page.screenshot({ path: join(shots, 'e2e-commands-2-succeeded-timeline.png') });
    await page.getByTestId('open-timeline').click();
  });

  it('a failing command says why in plain words', async () => {
    // left unlocked, ignition off: the desk lets the lock go out (it refuses one that cannot work now); a door
    // opened meanwhile and the car refuses it
    await car.report({ locked: false, ignition: false, doorsClosed: true });
    await car.settled(server, await staffHeaders(server, 'dispatcher', 'e2e-observer'));
    const commandId = await sendCommand('lock', 'customer forgot to lock');
    await until(commandId, 'received');
    await car.device.answer(commandId, 'failed', 'door_open');
    await until(commandId, 'failed');
    expect(await row(commandId).getByTestId('command-outcome').innerText()).toBe('lock failed: door open');
  });

  it('a queued command of an offline car is cancelled from the card with a reason', async () => {
    await selectCar(offlinePlate);
    const commandId = await sendCommand('unlock', 'cleaner at the car');
    await until(commandId, 'queued');
    await row(commandId).getByTestId('cancel-command').click();
    const form = row(commandId).getByTestId('cancel-command-form');
    // a reason is required
    await form.getByRole('button', { name: 'Cancel command' }).click();
    expect(await form.innerText()).toMatch(/a reason is required/);
    await form.getByLabel('Cancel reason').fill('cleaner has a key after all');
    await page.screenshot({ path: join(shots, 'e2e-commands-3-cancel.png') });
    await form.getByRole('button', { name: 'Cancel command' }).click();
    await until(commandId, 'cancelled');
    expect(await stepsOf(commandId)).toEqual(['queued', 'cancelled']);
    expect(await row(commandId).getByTestId('command-outcome').innerText()).toBe('unlock cancelled: cleaner has a key after all');
    expect(await row(commandId).getByTestId('command-steps').innerText()).toContain(
      `cancelled by ${DISPATCHER.name}: cleaner has a key after all`,
    );
    // nothing left to cancel
    expect(await row(commandId).getByTestId('cancel-command').count()).toBe(0);
    await page.screenshot({ path: join(shots, 'e2e-commands-4-cancelled.png') });
  });

  it('the Commands view lists failed first, filters by status, type, plate and issuer, and selects the car of a row', async () => {
    await page.getByTestId('tab-commands').click();
    const panel = page.getByTestId('commands-panel');
    await waitFor(async () => (await panel.getAttribute('data-count')) === '3', { timeoutMs: 10_000, what: 'three commands listed' });
    const statuses = () => panel.locator('tbody tr').evaluateAll((els) => els.map((e) => e.getAttribute('data-status')));
    // failed first, then newest first
    expect(await statuses()).toEqual(['failed', 'cancelled', 'succeeded']);
    expect(await panel.locator('tbody tr').first().innerText()).toContain('lock failed: door open');
    await page.screenshot({ path: join(shots, 'e2e-commands-5-view.png') });

    await page.getByTestId('commands-status').selectOption('cancelled');
    await waitFor(async () => JSON.stringify(await statuses()) === '["cancelled"]', { what: 'status filter' });
    await page.getByTestId('commands-status').selectOption('');
    await page.getByTestId('commands-type').selectOption('locate');
    await waitFor(async () => JSON.stringify(await statuses()) === '["succeeded"]', { what: 'type filter' });
    await page.getByTestId('commands-type').selectOption('');
    await page.getByTestId('commands-vehicle').fill(offlinePlate);
    await waitFor(async () => JSON.stringify(await statuses()) === '["cancelled"]', { what: 'plate filter' });
    await page.getByTestId('commands-vehicle').fill('');
    await page.getByTestId('commands-issuer').selectOption(DISPATCHER.name);
    await waitFor(async () => (await statuses()).length === 3, { what: 'issuer filter' });

    // a row selects its car
    await selectCar(onlinePlate);
    await page.getByTestId('tab-commands').click();
    await panel.locator(`tbody tr[data-status="cancelled"]`).click();
    await waitFor(async () => (await page.getByTestId('selected-vehicle').innerText()).includes(offlinePlate), {
      what: 'the offline car selected from its row',
    });
    expect(deskPage.pageErrors).toEqual([]);
  });
});
