/**
 * Helpers for the bookings tests and the integration tests that claim cars: a quiet server, HTTP calls that
 * return status + problem type + body, and cars placed on the map by writing their stored live state (what
 * ingestion would write), so positions, liveness and maintenance are exact and no timing is involved.
 */
import { expect } from 'vitest';
import type { ServerHandle } from '../app.js';

/** Device auth has its own tests; these servers run with an open embedded broker and the given demo fleet. */
export const QUIET = {
  port: 0,
  logLevel: 'silent' as const,
  mqttAuth: 'off' as const,
  mqttUrl: undefined,
  mqttPort: 0,
  // customers who book get a verified licence first (READY_TO_BOOK): verified quickly
  licenceSandboxLatencyMs: 20,
};

export interface CallResult<T = Record<string, unknown>> {
  status: number;
  contentType: string | null;
  body: T;
}

export async function call<T = Record<string, unknown>>(
  server: Pick<ServerHandle, 'httpUrl'>,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: unknown; rawBody?: string } = {},
): Promise<CallResult<T>> {
  const hasBody = options.body !== undefined || options.rawBody !== undefined;
  const res = await fetch(`${server.httpUrl}${path}`, {
    method,
    headers: { ...(hasBody ? { 'content-type': 'application/json' } : {}), ...options.headers },
    ...(hasBody ? { body: options.rawBody ?? JSON.stringify(options.body) } : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, contentType: res.headers.get('content-type'), body: body as T };
}

/** Asserts an RFC 9457 problem with this status (and code). */
export function expectProblem(res: CallResult<unknown>, status: number, code?: string): void {
  const body = res.body as Record<string, unknown> | null;
  expect({ status: res.status, code: body?.code }).toEqual({ status, code: code ?? body?.code });
  expect(res.contentType).toMatch(/^application\/problem\+json/);
  expect(body).toMatchObject({ type: `urn:fleetdesk:problem:${String(body?.code)}`, status });
}

export interface PlaceOptions {
  lat: number;
  lon: number;
  energyPct?: number;
  online?: boolean;
  /** epoch ms of the last message (default now) */
  receivedAt?: number;
}

/** Writes the vehicle's latest state as ingestion would (position, energy, online, heard from at `receivedAt`). */
export async function placeVehicle(server: Pick<ServerHandle, 'db'>, vehicleId: string, o: PlaceOptions): Promise<void> {
  const receivedAt = o.receivedAt ?? Date.now();
  await server.db.query(
    `insert into vehicle_state (vehicle_id, lat, lon, speed_kph, heading_deg, energy_pct, odometer_km, ignition, locked, doors_closed, online, seq, device_ts, received_at, updated_at)
     values ($1, $2, $3, 0, 0, $4, 1000, false, true, true, $5, 1, $6::bigint, to_timestamp($7::float8 / 1000), clock_timestamp())
     on conflict (vehicle_id) do update set lat = excluded.lat, lon = excluded.lon, energy_pct = excluded.energy_pct, online = excluded.online,
       seq = vehicle_state.seq + 1, device_ts = excluded.device_ts, received_at = excluded.received_at, updated_at = clock_timestamp()`,
    [vehicleId, o.lat, o.lon, o.energyPct ?? 80, o.online ?? true, receivedAt, receivedAt],
  );
}

export async function setServiceState(
  server: Pick<ServerHandle, 'db'>,
  vehicleId: string,
  state: 'available' | 'maintenance',
): Promise<void> {
  await server.db.query(`update vehicles set service_state = $2, server_seq = fleetdesk_next_seq(), updated_at = now() where id = $1`, [
    vehicleId,
    state,
  ]);
}

/**
 * Inserts a claim row directly (as another instance or the rentals code would), with a fresh server_seq.
 * `to` null = open-ended ('infinity').
 */
export async function insertClaimRow(
  server: Pick<ServerHandle, 'db'>,
  row: {
    id: string;
    kind: 'reservation' | 'booking' | 'rental';
    vehicleId: string;
    customerId: string;
    status: string;
    from: number;
    to: number | null;
  },
): Promise<void> {
  await server.db.transaction(async (tx) => {
    const window = row.kind === 'rental' ? [null, null] : [row.from, row.to];
    await tx.query(
      `insert into allocations (id, kind, vehicle_id, customer_id, status, period, starts_at, ends_at, started_at, return_by, server_seq)
       values ($1, $2, $3, $4, $5,
               tstzrange(to_timestamp($6::float8 / 1000), coalesce(to_timestamp($7::float8 / 1000), 'infinity'::timestamptz), '[)'),
               to_timestamp($8::float8 / 1000), to_timestamp($9::float8 / 1000),
               case when $2 = 'rental' then to_timestamp($6::float8 / 1000) end, case when $2 = 'rental' then to_timestamp($7::float8 / 1000) end,
               fleetdesk_next_seq())`,
      [row.id, row.kind, row.vehicleId, row.customerId, row.status, row.from, row.to, window[0], window[1]],
    );
  });
}

/** A customer row without an account (for claims inserted directly). */
export async function insertCustomerRow(server: Pick<ServerHandle, 'db'>, id: string): Promise<void> {
  await server.db.transaction(async (tx) => {
    await tx.query(
      `insert into customers (id, email, name, phone, server_seq) values ($1, $2, $3, '+49301234567', fleetdesk_next_seq()) on conflict (id) do nothing`,
      [id, `${id}@example.test`, `Direct ${id}`],
    );
  });
}

export const MIN = 60_000;
export const isoIn = (ms: number, from = Date.now()): string => new Date(from + ms).toISOString();
