/**
 * The vehicle timeline at the desk in real Chromium: a server (PGlite on a temp dir, embedded broker, seeded demo
 * staff), a simulated car over MQTT (a trip, a crash event, a `locate` command it answers), a task and a note by
 * a dispatcher; the support agent signs in, opens the car and its timeline: the open alert and task on top, the
 * entries newest first with who and why, a kind filter, an entry opening what it names. Then the server stops:
 * the timeline says so and shows what the replica holds. Screenshots (1280×800) go to test-results/.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../server/src/app.js';
import { DEMO_STAFF } from '../../server/src/components/staff/index.js';
import { staffHeaders } from '../../server/src/testing/auth.js';
import { connectCommandDevice } from '../../server/src/testing/command-device.js';
import { connectDevice, waitFor } from '../../server/src/testing/devices.js';
import { SimulatedCar } from '../../server/src/testing/simulated-car.js';
import { QUIET } from '../../server/src/testing/bookings.js';
import { type DeskPage, openSignedInDesk } from '../support/desk.js';

const shots = join(process.cwd(), 'test-results');
const SUPPORT = DEMO_STAFF.find((s) => s.role === 'support')!;

describe('vehicle timeline at the desk in Chromium', () => {
  let dataDir: string;
  let server: ServerHandle;
  let deskPage: DeskPage;
  let page: Page;
  let car: SimulatedCar;
  let plate: string;
  let addNote: (text: string) => Promise<unknown>;

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'fleetdesk-e2e-timeline-'));
    server = await startServer({ ...QUIET, databaseUrl: undefined, dataDir, seedVehicles: 3 });
    const vehicleId = (await server.db.query<{ id: string }>('select id from vehicles order by id limit 1')).rows[0]!.id;
    plate = (await server.db.query<{ plate: string }>('select plate from vehicles where id = $1', [vehicleId])).rows[0]!.plate;
    const dispatcher = await staffHeaders(server, 'dispatcher', 'e2e-dispatcher');
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${server.httpUrl}${path}`, {
        method: 'POST',
        headers: { ...dispatcher, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status, await res.clone().text()).toBeLessThan(300);
      return (await res.json()) as Record<string, unknown>;
    };
    car = new SimulatedCar(
      vehicleId,
      await connectDevice(server.mqttUrl, vehicleId),
      await connectCommandDevice(server.mqttUrl, vehicleId, { behaviour: 'succeed' }),
    );
    // a trip with a crash event in it
    await car.report();
    await car.report({ ignition: true, locked: false });
    for (let i = 1; i <= 3; i++) await car.report({ speedKph: 35, lon: car.state.lon + 0.001, odometerKm: car.state.odometerKm + 1.2 });
    await car.event('crash_detected', { peakG: 3.8 });
    await car.report({ speedKph: 0, ignition: false });
    await car.settled(server, dispatcher);
    // a command the car answers, a task and a note
    const command = await post(`/ops/v1/vehicles/${vehicleId}/commands`, {
      type: 'locate',
      reason: 'customer reports the car elsewhere',
      ttlSeconds: 120,
    });
    await waitFor(
      async () => {
        const res = await fetch(`${server.httpUrl}/ops/v1/commands/${String(command.commandId)}`, { headers: dispatcher });
        return ((await res.json()) as { status: string }).status === 'succeeded';
      },
      { timeoutMs: 15_000, what: 'the locate command succeeded' },
    );
    await post('/ops/v1/tasks', { vehicleId, kind: 'inspection', note: 'check the bumper after the crash event' });
    addNote = (text) => post('/ops/v1/notes', { targetType: 'vehicle', targetId: vehicleId, text });
    await addNote('driver called: hit a kerb');
    await server.flushAlerts();

    deskPage = await openSignedInDesk(server, SUPPORT);
    page = deskPage.page;
  }, 120_000);

  afterAll(async () => {
    await deskPage?.close();
    await car?.close();
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const entryTitles = () => page.locator('[data-testid="timeline-entries"] .timeline-title').allInnerTexts();

  it('shows the open alert and task on top and every entry newest first, filters by kind, opens what an entry names', async () => {
    await page.getByTestId('vehicle-search').fill(plate);
    await page.getByTestId('vehicle-search').press('Enter');
    await page.getByTestId('selected-vehicle').waitFor({ timeout: 20_000 });
    await page.getByTestId('open-timeline').click();
    await page.getByTestId('vehicle-timeline').waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="timeline-mode"]')?.textContent === 'live', undefined, {
      timeout: 20_000,
    });
    await waitFor(async () => (await entryTitles()).includes('Command locate succeeded'), {
      timeoutMs: 20_000,
      what: 'the command in the timeline',
    });
    const titles = await entryTitles();
    for (const t of [
      'Trip started (ignition on)',
      'Trip ended (ignition off)',
      'Device event: crash detected',
      'Command locate issued',
      'Note',
    ])
      expect(titles).toContain(t);
    expect(titles.some((t) => t.startsWith('Alert raised: Crash'))).toBe(true);
    expect(titles.some((t) => t.startsWith('Task created'))).toBe(true);
    // newest first: the note came after the trip ended
    expect(titles.indexOf('Note')).toBeLessThan(titles.indexOf('Trip ended (ignition off)'));
    // the open crash alert and the task, from the replica, on top
    await waitFor(
      async () =>
        (
          (await page
            .getByTestId('timeline-open-items')
            .innerText()
            .catch(() => '')) || ''
        ).includes('inspection'),
      {
        timeoutMs: 20_000,
        what: 'the open task on top',
      },
    );
    expect(await page.getByTestId('timeline-open-items').innerText()).toMatch(/crash/);
    await page.screenshot({ path: join(shots, 'e2e-timeline-1-all.png') });

    await page.getByTestId('timeline-kind-command').click();
    await waitFor(
      async () => {
        const kinds = await page
          .locator('[data-testid="timeline-entries"] li[data-kind]')
          .evaluateAll((els) => els.map((e) => e.getAttribute('data-kind')));
        return kinds.length >= 4 && kinds.every((k) => k === 'command');
      },
      { timeoutMs: 10_000, what: 'only commands' },
    );
    await page.locator('[data-testid="timeline-entries"] .timeline-entry-main', { hasText: 'Command locate succeeded' }).click();
    const links = await page.getByTestId('timeline-links').innerText();
    expect(links).toMatch(/locate/);
    expect(links).toMatch(/succeeded/);
    await page.screenshot({ path: join(shots, 'e2e-timeline-2-commands.png') });
    await page.getByTestId('timeline-kind-command').click();
  });

  it('shows new entries while open and loads older pages as the list scrolls', async () => {
    for (let i = 1; i <= 60; i++) await addNote(`walk-around photo ${i}`);
    const count = () => page.locator('[data-testid="timeline-entries"] li[data-kind]').count();
    // live: the newest page arrives without reopening (one page of 50)
    await waitFor(
      async () =>
        (await entryTitles()).length > 0 && (await page.getByTestId('timeline-entries').innerText()).includes('walk-around photo 60'),
      {
        timeoutMs: 20_000,
        what: 'the new notes while open',
      },
    );
    await page.getByTestId('timeline-more').waitFor({ timeout: 10_000 });
    await page.getByTestId('timeline-entries').evaluate((el) => (el.scrollTop = el.scrollHeight));
    await waitFor(async () => (await entryTitles()).includes('Trip started (ignition on)'), { timeoutMs: 20_000, what: 'the older page' });
    expect(await count()).toBeGreaterThan(60);
    const text = await page.getByTestId('timeline-entries').innerText();
    expect(text.indexOf('walk-around photo 60')).toBeLessThan(text.indexOf('walk-around photo 1\n'));
  });

  it('offline: says so, and shows what the replica holds', async () => {
    await server.stop();
    await page.getByTestId('timeline-offline').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('timeline-offline').innerText()).toMatch(/Not available offline: trips/);
    const titles = await entryTitles();
    expect(titles).toContain('Command locate issued — now succeeded');
    expect(titles.some((t) => t.startsWith('Task created: inspection'))).toBe(true);
    expect(titles).not.toContain('Trip started (ignition on)');
    await page.screenshot({ path: join(shots, 'e2e-timeline-3-offline.png') });
    expect(deskPage.pageErrors).toEqual([]);
  });
});
