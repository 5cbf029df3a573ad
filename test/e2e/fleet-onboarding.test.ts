/**
 * An admin brings a real fleet in, end to end in real Chromium at 1280×800 (server on PGlite in a temp dir, MQTT
 * credentials enforced by the embedded broker, no demo cars): Back office → Vehicles → import a CSV of 500 cars
 * with one bad row (nothing is written, the line is named), then the fixed file (all 500 registered); Devices →
 * provision all 500 in one step, the passwords shown once and downloaded as the installer's file; every car's
 * device then connects with the credentials from that file and reports through the device protocol, and all 500
 * appear in the desk's vehicle grid and on its map; finally one device is revoked with a reason.
 * Screenshots: test-results/e2e-onboarding-*.png.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic, statusPayload } from '../../src/shared/device-protocol.js';
import { DEFAULT_SERVICE_AREA } from '../../src/shared/service-area.js';
import { startServer, type ServerHandle } from '../../server/src/app.js';
import { DEMO_STAFF } from '../../server/src/components/staff/index.js';
import { staffHeaders } from '../../server/src/testing/auth.js';
import { telemetry } from '../../server/src/testing/devices.js';
import { connectAs, type TestClient } from '../../server/src/testing/mqtt-clients.js';
import { testFleetCsv } from '../../server/src/testing/vehicle-csv.js';
import { openSignedInDesk, type DeskPage } from '../support/desk.js';

const shots = join(process.cwd(), 'test-results');
const ADMIN = DEMO_STAFF.find((s) => s.role === 'admin')!;
const FLEET = 500;

describe('an admin onboards a fleet of 500 cars from the desk', () => {
  let dir: string;
  let server: ServerHandle;
  let desk: DeskPage;
  const devices: TestClient[] = [];
  const reporters: NodeJS.Timeout[] = [];

  const count = async (sql: string) => Number((await server.db.query<{ n: number }>(`select count(*)::float8 as n ${sql}`)).rows[0]!.n);
  const shot = (name: string) => desk.page.screenshot({ path: join(shots, `e2e-onboarding-${name}.png`) });

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'fleetdesk-e2e-onboarding-'));
    server = await startServer({
      port: 0,
      mqttPort: 0,
      mqttUrl: undefined,
      databaseUrl: undefined,
      dataDir: dir,
      seedVehicles: 0,
      logLevel: 'warn',
    });
    // the desk's own broker account (the embedded broker enforces credentials)
    const res = await fetch(`${server.httpUrl}/ops/v1/mqtt-accounts`, {
      method: 'POST',
      headers: { ...(await staffHeaders(server, 'admin', 'e2e-onboarding')), 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'desktop', name: 'e2e-onboarding' }),
    });
    const account = (await res.json()) as { username: string; password: string };
    desk = await openSignedInDesk(server, ADMIN, {
      config: { tileUrl: '', mqttUsername: account.username, mqttPassword: account.password },
    });
  });

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') await desk?.page.screenshot({ path: join(shots, 'e2e-onboarding-failed.png') });
  });

  afterAll(async () => {
    for (const t of reporters) clearInterval(t);
    await Promise.all(devices.map((d) => d.close()));
    await desk?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('imports 500 vehicles: a bad row names its line and writes nothing, the fixed file registers all 500', async () => {
    const { page } = desk;
    await page.getByTestId('view-back-office').click();
    await page.getByTestId('back-office-vehicles').click();
    await page.getByText('No vehicles registered yet').waitFor();
    await page.getByTestId('vehicles-import').click();

    const bad = testFleetCsv(FLEET, { badLine: 377, tag: 'E2EB' });
    await page.getByTestId('import-file').setInputFiles({ name: 'fleet.csv', mimeType: 'text/csv', buffer: Buffer.from(bad.csv) });
    const errorRow = page.locator('[data-testid="import-error"]');
    await errorRow.first().waitFor();
    expect(await errorRow.count()).toBe(1);
    expect(await errorRow.first().getAttribute('data-line')).toBe('377');
    expect(await errorRow.first().innerText()).toContain('VIN may not contain the letters I, O or Q');
    await expect.poll(() => page.getByTestId('import-errors').innerText()).toContain('Nothing was imported: 1 problem on 1 line');
    expect(await page.getByTestId('import-submit').count()).toBe(0);
    expect(await count('from vehicles')).toBe(0);
    await shot('1-bad-row');

    const fixed = testFleetCsv(FLEET, { tag: 'E2EB' });
    await page.getByTestId('import-file').setInputFiles({ name: 'fleet-fixed.csv', mimeType: 'text/csv', buffer: Buffer.from(fixed.csv) });
    await page.getByTestId('import-ready').waitFor();
    expect(await page.getByTestId('import-ready').innerText()).toContain('500 vehicles ready to import');
    expect(await count('from vehicles')).toBe(0); // the dry run wrote nothing
    await shot('2-ready');
    await page.getByTestId('import-submit').click();
    await page.getByTestId('vehicles-message').waitFor();
    expect(await page.getByTestId('vehicles-message').innerText()).toBe('Imported 500 vehicles from fleet-fixed.csv.');
    expect(await page.getByTestId('vehicles-count').innerText()).toBe('500 vehicles in the fleet');
    expect(await count('from vehicles')).toBe(FLEET);
    await page.getByTestId('vehicles-search').fill(fixed.plates[376]!);
    await expect.poll(() => page.locator('[data-testid="vehicle-row"]').count()).toBe(1);
    await shot('3-imported');
    await page.getByTestId('vehicles-search').fill('');
  });

  it('provisions all 500 devices in one step and downloads the passwords for the installer', async () => {
    const { page } = desk;
    await page.getByTestId('back-office-devices').click();
    await expect.poll(() => page.getByTestId('devices-filter').locator('option').first().innerText()).toBe('Without credentials (500)');
    await page.getByTestId('devices-select-all').check();
    expect(await page.getByTestId('devices-selected').innerText()).toBe('500 vehicles selected');
    await shot('4-devices');
    await page.getByTestId('devices-provision').click();
    const dialog = page.getByTestId('secrets-dialog');
    await dialog.waitFor();
    expect(await dialog.innerText()).toContain('These passwords are shown only now');
    expect(await page.locator('[data-testid="secret-row"]').count()).toBe(100);
    await shot('5-secrets');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('secrets-download').click()]);
    const file = readFileSync((await download.path())!, 'utf8')
      .trim()
      .split('\r\n');
    expect(file[0]).toBe('vehicleId,plate,username,password,brokerUrl');
    expect(file).toHaveLength(FLEET + 1);
    await page.getByTestId('secrets-close').click();
    await dialog.waitFor({ state: 'detached' });
    expect(await count("from mqtt_credentials where role = 'device' and disabled_at is null")).toBe(FLEET);
    await expect.poll(() => page.getByText('Every vehicle in the fleet has device credentials.').count()).toBe(1);

    // every device connects with its line of the installer's file and reports
    const { center } = DEFAULT_SERVICE_AREA;
    const rows = file.slice(1).map((line) => line.split(','));
    for (let i = 0; i < rows.length; i += 25) {
      const batch = await Promise.all(
        rows.slice(i, i + 25).map(async ([vehicleId, , username, password, brokerUrl], j) => {
          const d = await connectAs(
            brokerUrl!,
            { username: username!, password: password! },
            { clientId: username!, connectTimeout: 30_000 },
          );
          const k = i + j;
          const lat = center.lat + ((k % 25) - 12) * 0.002;
          const lon = center.lon + (Math.floor(k / 25) - 10) * 0.003;
          await d.client.publishAsync(deviceTopic(vehicleId!, 'status'), statusPayload('online', Date.now()), { qos: 1, retain: true });
          const report = (seq: number) =>
            d.client.publishAsync(
              deviceTopic(vehicleId!, 'telemetry'),
              JSON.stringify(telemetry(seq, { ts: Date.now(), lat, lon, speedKph: 0, ignition: false, locked: true })),
              { qos: 0 },
            );
          await report(1);
          // parked cars report every few seconds, as the simulator's do (their heartbeat)
          let seq = 1;
          reporters.push(setInterval(() => void (d.client.connected ? report(++seq) : undefined), 5_000));
          return d;
        }),
      );
      devices.push(...batch);
    }
  });

  it('shows all 500 reporting cars in the vehicle grid and on the map', async () => {
    const { page } = desk;
    await page.getByTestId('view-operations').click();
    await page.waitForFunction(
      (n) => Number(document.querySelector('[data-testid="vehicle-grid"]')?.getAttribute('data-row-count')) === n,
      FLEET,
      { timeout: 60_000 },
    );
    await expect.poll(() => page.locator('.status-bar').innerText(), { timeout: 30_000 }).toMatch(/500 of 500 on screen/);
    // every car reports: all available, none offline
    await expect.poll(() => page.getByTestId('count-available').getAttribute('data-value'), { timeout: 30_000 }).toBe(String(FLEET));
    expect(await page.getByTestId('count-offline').getAttribute('data-value')).toBe('0');
    await shot('6-fleet-live');
    // the server took them in too: every car is offered (availability index, GBFS)
    await expect
      .poll(
        async () => {
          await server.flushIngestion();
          await server.bookings.refreshAvailability();
          return server.bookings.availableVehicles().length;
        },
        { timeout: 30_000 },
      )
      .toBe(FLEET);
  });

  it('registers one car through the form (each field checked at the field) and retires it with a reason and a confirmation', async () => {
    const { page } = desk;
    await page.getByTestId('view-back-office').click();
    await page.getByTestId('back-office-vehicles').click();
    await page.getByTestId('vehicles-register').click();
    await page.getByTestId('vehicle-plate').fill('b-fd  77');
    await page.getByTestId('vehicle-vin').fill('WVWZZZ1JZXW00000O');
    await page.getByTestId('vehicle-submit').click();
    const errors = page.getByTestId('vehicle-form').getByTestId('field-error');
    await expect
      .poll(() => errors.allInnerTexts())
      .toEqual(['VIN may not contain the letters I, O or Q', 'make is empty', 'model is empty']);
    await page.getByTestId('vehicle-vin').fill('WVWZZZ1JZXW000077');
    await page.getByTestId('vehicle-make').fill('Fiat');
    await page.getByTestId('vehicle-model').fill('500');
    await page.getByTestId('vehicle-energy').selectOption('fuel');
    await shot('9-register');
    await page.getByTestId('vehicle-submit').click();
    await expect.poll(() => page.getByTestId('vehicles-message').innerText()).toBe('Registered B-FD 77.');
    // the operations desk lists the new car (registered, never heard from: offline) …
    const deskRows = async () => {
      await page.getByTestId('view-operations').click();
      return Number(await page.getByTestId('vehicle-grid').getAttribute('data-row-count'));
    };
    await expect.poll(deskRows, { timeout: 30_000 }).toBe(FLEET + 1);
    await expect.poll(() => page.getByTestId('count-offline').getAttribute('data-value')).toBe('1');
    await page.getByTestId('view-back-office').click();
    await page.getByTestId('back-office-vehicles').click();
    await page.getByTestId('vehicles-search').fill('B-FD 77');
    const row = page.locator('[data-testid="vehicle-row"]');
    await expect.poll(() => row.count()).toBe(1);
    await row.getByTestId('vehicle-retire').click();
    await row.getByTestId('retire-reason').fill('registered by mistake');
    await row.getByTestId('retire-submit').click();
    await page.getByTestId('confirm-dialog').waitFor();
    await shot('10-retire-confirm');
    await page.getByTestId('confirm-accept').click();
    await expect.poll(() => page.getByTestId('vehicles-message').innerText()).toBe('Retired B-FD 77.');
    await expect.poll(() => row.count()).toBe(0); // retired cars are listed only with "Show retired"
    expect(await page.getByTestId('vehicles-count').innerText()).toBe('500 vehicles in the fleet');
    // … and drops it once retired, without a reload (the replica and the desk's registry both say it left)
    await expect.poll(deskRows, { timeout: 45_000 }).toBe(FLEET);
    await expect.poll(() => page.getByTestId('count-offline').getAttribute('data-value')).toBe('0');
  });

  it('revokes one device with a reason: its session ends', async () => {
    const { page } = desk;
    await page.getByTestId('view-back-office').click();
    await page.getByTestId('back-office-devices').click();
    await page.getByTestId('devices-filter').selectOption('all');
    const row = page.locator('[data-testid="device-row"][data-status="active"]').first();
    const vehicleId = (await row.getAttribute('data-vehicle-id'))!;
    await row.getByTestId('device-revoke').click();
    await row.getByTestId('revoke-submit').click();
    expect(await row.getByTestId('field-error').innerText()).toBe('Give a reason: it is recorded with the action.');
    await row.getByTestId('revoke-reason').fill('telematics unit removed');
    await row.getByTestId('revoke-submit').click();
    await page.getByTestId('confirm-dialog').waitFor();
    await shot('7-revoke-confirm');
    await page.getByTestId('confirm-accept').click();
    await expect
      .poll(() => page.locator(`[data-testid="device-row"][data-vehicle-id="${vehicleId}"]`).getAttribute('data-status'))
      .toBe('revoked');
    const device = devices.find((d) => d.client.options.username === vehicleId)!;
    await expect.poll(() => device.client.connected, { timeout: 5_000 }).toBe(false);
    await shot('8-revoked');
    expect([...new Set(desk.pageErrors)]).toEqual([]);
  });
});
