/**
 * The GBFS 3.0 feed through HTTP on a whole server (PGlite, and PostgreSQL with DATABASE_URL): every file listed
 * by gbfs.json is fetched by its advertised URL and validated against the official JSON schemas (draft-07, ajv +
 * ajv-formats; a copy in test/fixtures/gbfs-json-schema), and public vehicle ids rotate after a rental ends —
 * the same on every instance sharing the database.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SERVICE_AREA } from '../../../../src/shared/service-area.js';
import { startServer, type ServerHandle } from '../../app.js';
import { DomainEvents } from '../../platform/domain-events.js';
import { dbBackends } from '../../testing/backends.js';
import { waitFor } from '../../testing/devices.js';
import { startFeedsComponent, type FeedsComponent } from './index.js';

const SCHEMA_DIR = fileURLToPath(new URL('../../../../test/fixtures/gbfs-json-schema/v3.0/', import.meta.url));
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;

/** One validator per schema file, keyed by GBFS file name (`vehicle_status`, …). */
function loadValidators(): Map<string, ValidateFunction> {
  // strict: false — the official files use `errorMessage` (an ajv-errors keyword) as an annotation
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  const validators = new Map<string, ValidateFunction>();
  for (const file of readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.json'))) {
    validators.set(file.replace(/\.json$/, ''), ajv.compile(JSON.parse(readFileSync(`${SCHEMA_DIR}${file}`, 'utf8')) as object));
  }
  return validators;
}

interface Feed {
  last_updated: string;
  ttl: number;
  version: string;
  data: Record<string, unknown>;
}
interface StatusVehicle {
  vehicle_id: string;
  vehicle_type_id: string;
  pricing_plan_id: string;
  is_reserved: boolean;
  is_disabled: boolean;
  current_fuel_percent?: number;
}

async function getJson(url: string): Promise<{ status: number; headers: Headers; body: Feed }> {
  const res = await fetch(url);
  return { status: res.status, headers: res.headers, body: (await res.json()) as Feed };
}

/** The vehicle's latest state as ingestion writes it: online, heard from now, at a position. */
async function placeVehicle(server: ServerHandle, vehicleId: string, lat: number, lon: number, energyPct: number): Promise<void> {
  await server.db.query(
    `insert into vehicle_state (vehicle_id, lat, lon, speed_kph, heading_deg, energy_pct, odometer_km, ignition, locked, doors_closed, online, seq, device_ts, received_at)
     values ($1, $2, $3, 0, 0, $4, 1000, false, true, true, true, 1, $5::bigint, now())
     on conflict (vehicle_id) do update set lat = excluded.lat, lon = excluded.lon, energy_pct = excluded.energy_pct, online = true, received_at = now()`,
    [vehicleId, lat, lon, energyPct, Date.now()],
  );
}

describe.each(dbBackends())('GBFS 3.0 feed ($name)', (backend) => {
  let server: ServerHandle;
  let cleanup: () => Promise<void> = async () => undefined;
  let vehicleIds: string[] = [];
  const others: FeedsComponent[] = [];
  const validators = loadValidators();

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    server = await startServer({
      ...created.overrides,
      port: 0,
      mqttPort: 0,
      mqttUrl: undefined,
      mqttAuth: 'off',
      logLevel: 'silent',
      seedVehicles: 6,
    });
    const { rows } = await server.db.query<{ id: string }>('select id from vehicles order by id');
    vehicleIds = rows.map((r) => r.id);
    const { center } = DEFAULT_SERVICE_AREA;
    for (const [i, id] of vehicleIds.entries()) await placeVehicle(server, id, center.lat + i * 0.003, center.lon - i * 0.004, 15 + i * 15);
    // twice: a call joins a refresh already running, which may have read the state before the writes above
    await server.bookings.refreshAvailability();
    await server.bookings.refreshAvailability();
  });

  afterAll(async () => {
    for (const f of others) await f.stop();
    await server?.stop();
    await cleanup();
  });

  it('publishes every file listed by gbfs.json, each valid against the official GBFS 3.0 schema', async () => {
    const discovery = await getJson(`${server.httpUrl}/gbfs/v3/gbfs.json`);
    expect(discovery.status).toBe(200);
    expect(discovery.headers.get('content-type')).toMatch(/^application\/json/);
    const feeds = discovery.body.data.feeds as Array<{ name: string; url: string }>;
    expect(feeds.map((f) => f.name).sort()).toEqual([
      'gbfs',
      'gbfs_versions',
      'geofencing_zones',
      'system_information',
      'system_pricing_plans',
      'vehicle_status',
      'vehicle_types',
    ]);

    const files = new Map<string, Feed>();
    const errors: Record<string, unknown> = {};
    for (const { name, url } of feeds) {
      expect(url.startsWith(`${server.httpUrl}/gbfs/v3/`), url).toBe(true);
      const res = await getJson(url);
      expect(res.status, url).toBe(200);
      expect(res.headers.get('cache-control')).toBe(`public, max-age=${res.body.ttl}`);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      const validate = validators.get(name);
      expect(validate, `schema for ${name}`).toBeDefined();
      if (!validate!(res.body)) errors[name] = validate!.errors;
      files.set(name, res.body);
    }
    expect(errors).toEqual({});
    for (const [name, file] of files) {
      expect(file.version, name).toBe('3.0');
      expect(Date.parse(file.last_updated), name).toBeGreaterThan(Date.now() - 60_000);
    }

    // Consistency across files (the schemas cannot check references).
    const types = (
      files.get('vehicle_types')!.data.vehicle_types as Array<{ vehicle_type_id: string; default_pricing_plan_id: string }>
    ).map((t) => t.vehicle_type_id);
    const plans = (
      files.get('system_pricing_plans')!.data.plans as Array<{ plan_id: string; per_min_pricing: Array<{ rate: number }> }>
    ).map((p) => p.plan_id);
    const vehicles = files.get('vehicle_status')!.data.vehicles as StatusVehicle[];
    expect(vehicles).toHaveLength(vehicleIds.length);
    for (const v of vehicles) {
      expect(types).toContain(v.vehicle_type_id);
      expect(plans).toContain(v.pricing_plan_id);
      // the internal id never leaks
      for (const internal of vehicleIds) expect(v.vehicle_id).not.toContain(internal);
    }
    expect(vehicles.map((v) => v.current_fuel_percent).sort()).toEqual([0.15, 0.3, 0.45, 0.6, 0.75, 0.9]);
    expect(new Set(vehicles.map((v) => v.vehicle_id)).size).toBe(vehicles.length);

    const zones = files.get('geofencing_zones')!.data as {
      geofencing_zones: {
        features: Array<{
          properties: { rules: Array<{ ride_end_allowed: boolean }> };
          geometry: { type: string; coordinates: number[][][][] };
        }>;
      };
      global_rules: Array<{ ride_end_allowed: boolean }>;
    };
    const operating = zones.geofencing_zones.features.find((f) => f.properties.rules[0]?.ride_end_allowed === true);
    expect(operating?.geometry.type).toBe('MultiPolygon');
    expect(operating?.geometry.coordinates[0]?.[0]?.length).toBe(DEFAULT_SERVICE_AREA.polygon.length);
    expect(zones.global_rules[0]?.ride_end_allowed).toBe(false);
    expect(files.get('system_information')!.data).toMatchObject({ timezone: 'Europe/Berlin', languages: ['en'] });
  });

  it('rotates a vehicle’s public id after each rental, once per rental, identically on every instance', async () => {
    const vehicleId = vehicleIds[0]!;
    // another instance on the same database, already running (it learns by NOTIFY)
    const peer = await startFeedsComponent({
      db: server.db,
      log: server.log,
      events: new DomainEvents(),
      vehicles: { vehicleTypes: async () => [], availableVehicles: () => [] },
      operatingZone: DEFAULT_SERVICE_AREA,
      contactEmail: 'gbfs@example.org',
    });
    others.push(peer);
    const statusIds = async () =>
      ((await getJson(`${server.httpUrl}/gbfs/v3/vehicle_status.json`)).body.data.vehicles as StatusVehicle[]).map((v) => v.vehicle_id);

    const before = server.feeds.publicVehicleId(vehicleId);
    expect(peer.publicVehicleId(vehicleId)).toBe(before);
    const idsBefore = await statusIds();
    expect(idsBefore).toContain(before);

    const ended = { rentalId: `rental-${Date.now()}`, vehicleId, customerId: 'customer-1', at: Date.now() };
    server.events.emit('rental.ended', ended);
    await server.feeds.settled();
    const after = server.feeds.publicVehicleId(vehicleId);
    expect(after).not.toBe(before);
    const idsAfter = await statusIds();
    expect(idsAfter).toContain(after);
    expect(idsAfter).not.toContain(before);
    // the other vehicles keep their ids
    expect(idsAfter.filter((id) => id !== after).sort()).toEqual(idsBefore.filter((id) => id !== before).sort());
    // every instance publishes the same id: the running peer (notified) and one started now
    await waitFor(() => peer.publicVehicleId(vehicleId) === after, { what: 'the peer instance to see the rotation' });
    const late = await startFeedsComponent({
      db: server.db,
      log: server.log,
      events: new DomainEvents(),
      vehicles: { vehicleTypes: async () => [], availableVehicles: () => [] },
      operatingZone: DEFAULT_SERVICE_AREA,
      contactEmail: 'gbfs@example.org',
    });
    others.push(late);
    expect(late.publicVehicleId(vehicleId)).toBe(after);

    // the same rental reported again changes nothing; the next rental rotates again
    server.events.emit('rental.ended', ended);
    await server.feeds.settled();
    expect(server.feeds.publicVehicleId(vehicleId)).toBe(after);
    server.events.emit('rental.ended', { ...ended, rentalId: `${ended.rentalId}-2` });
    await server.feeds.settled();
    const third = server.feeds.publicVehicleId(vehicleId);
    expect(new Set([before, after, third]).size).toBe(3);
    const { rows } = await server.db.query<{ rotation: number }>('select rotation from gbfs_vehicle_rotations where vehicle_id = $1', [
      vehicleId,
    ]);
    expect(rows[0]?.rotation).toBe(2);
  });

  it('answers the feed without authentication and documents it in the OpenAPI document as public', async () => {
    const res = await fetch(`${server.httpUrl}/gbfs/v3/system_information.json`, { headers: { authorization: 'Bearer nonsense' } });
    expect(res.status).toBe(200);
    const doc = (await (await fetch(`${server.httpUrl}/openapi.json`)).json()) as {
      paths: Record<string, { get?: { security?: unknown[]; tags?: string[] } }>;
    };
    expect(doc.paths['/gbfs/v3/vehicle_status.json']?.get).toMatchObject({ security: [], tags: ['gbfs'] });
  });
});
