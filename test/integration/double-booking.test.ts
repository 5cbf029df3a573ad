/**
 * No double booking, ever — under concurrency, across server instances. TWO server instances share one
 * PostgreSQL database; 40 signed-up customers fire 240 concurrent requests through the HTTP API (half to each
 * instance) that reserve and book overlapping windows of the same few cars:
 *
 * - 40 reservations (one per customer) of cars 1–5: 8 contenders per car;
 * - 180 bookings of cars 1–4 in 4 groups of windows that all contain the group's instant (16 cliques of ~11
 *   mutually overlapping windows), groups 8 h apart (no overlap between groups, buffer included);
 * - 20 bookings of car 5 starting within minutes, overlapping its reservations.
 *
 * Every clique must have exactly one winner (201); every loser gets a 409 `vehicle_unavailable` problem; and
 * afterwards SQL finds no two blocking allocations of one vehicle that overlap. The PGlite variant runs the same
 * traffic against one instance (PGlite is one process's database).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerHandle } from '../../server/src/app.js';
import { placeVehicle } from '../../server/src/testing/bookings.js';
import { IN_MEMORY_DATA_DIR } from '../../server/src/platform/config.js';
import { READY_TO_BOOK, signUpCustomer, type SignedUpCustomer } from '../../server/src/testing/auth.js';
import { createTestDatabase, type TestDatabase } from '../../server/src/testing/test-databases.js';

const QUIET = { port: 0, logLevel: 'silent' as const, mqttAuth: 'off' as const, mqttUrl: undefined, mqttPort: 0, seedVehicles: 5 };
const CUSTOMERS = 40;
const BOOKINGS_PER_CUSTOMER = 5;
const MIN = 60_000;
const HOUR = 60 * MIN;
const CAR = (n: number) => `veh-${String(n).padStart(5, '0')}`;

interface Attempt {
  /** requests in one clique all overlap each other: exactly one may win */
  clique: string;
  path: '/v1/reservations' | '/v1/bookings';
  body: Record<string, unknown>;
  customer: SignedUpCustomer;
  instance: number;
}

interface Outcome extends Attempt {
  status: number;
  contentType: string | null;
  response: Record<string, unknown>;
}

function plan(customers: SignedUpCustomer[], now: number): Attempt[] {
  const attempts: Attempt[] = [];
  const base = Math.ceil((now + 3 * HOUR) / MIN) * MIN;
  customers.forEach((customer, i) => {
    const car = 1 + (i % 5);
    attempts.push({ clique: `reserve:${CAR(car)}`, path: '/v1/reservations', body: { vehicleId: CAR(car) }, customer, instance: i % 2 });
  });
  for (let k = 0; k < CUSTOMERS * BOOKINGS_PER_CUSTOMER; k++) {
    const customer = customers[k % CUSTOMERS]!;
    if (k % 10 === 0) {
      // car 5, starting within minutes: overlaps car 5's reservations
      const startsAt = now + (2 + (k % 9)) * MIN;
      attempts.push({
        clique: `reserve:${CAR(5)}`,
        path: '/v1/bookings',
        body: {
          vehicleId: CAR(5),
          startsAt: new Date(startsAt).toISOString(),
          endsAt: new Date(now + (40 + (k % 30)) * MIN).toISOString(),
        },
        customer,
        instance: k % 2,
      });
      continue;
    }
    const car = 1 + (k % 4);
    const group = Math.floor(k / 4) % 4;
    const instant = base + group * 8 * HOUR;
    const startsAt = instant - (15 + ((k * 7) % 60)) * MIN;
    const endsAt = instant + (15 + ((k * 11) % 90)) * MIN;
    attempts.push({
      clique: `book:${CAR(car)}:${group}`,
      path: '/v1/bookings',
      body: { vehicleId: CAR(car), startsAt: new Date(startsAt).toISOString(), endsAt: new Date(endsAt).toISOString() },
      customer,
      instance: k % 2,
    });
  }
  return attempts;
}

async function fire(instances: ServerHandle[], attempts: Attempt[]): Promise<Outcome[]> {
  return Promise.all(
    attempts.map(async (a) => {
      const server = instances[a.instance % instances.length]!;
      const res = await fetch(`${server.httpUrl}${a.path}`, {
        method: 'POST',
        headers: { ...a.customer.headers, 'content-type': 'application/json' },
        body: JSON.stringify(a.body),
      });
      const text = await res.text();
      return {
        ...a,
        status: res.status,
        contentType: res.headers.get('content-type'),
        response: (text ? JSON.parse(text) : {}) as Record<string, unknown>,
      };
    }),
  );
}

/** Pairs of blocking allocations of one vehicle whose periods overlap (must be none). */
async function overlappingPairs(server: ServerHandle): Promise<unknown[]> {
  const { rows } = await server.db.query(
    `select a.id as a, b.id as b, a.vehicle_id from allocations a join allocations b
        on a.vehicle_id = b.vehicle_id and a.id < b.id and a.period && b.period
      where a.status in ('held', 'confirmed', 'active', 'ended') and b.status in ('held', 'confirmed', 'active', 'ended')`,
  );
  return rows;
}

function checkOutcomes(outcomes: Outcome[], instances: number): void {
  // no 5xx, no unexpected answers: winners 201, losers 409 vehicle_unavailable problems
  const unexpected = outcomes.filter(
    (o) =>
      o.status !== 201 &&
      !(o.status === 409 && o.response.code === 'vehicle_unavailable' && /^application\/problem\+json/.test(o.contentType ?? '')),
  );
  expect(unexpected.map((o) => ({ clique: o.clique, status: o.status, body: o.response }))).toEqual([]);
  const byClique = new Map<string, Outcome[]>();
  for (const o of outcomes) byClique.set(o.clique, [...(byClique.get(o.clique) ?? []), o]);
  expect(byClique.size).toBe(5 + 16);
  for (const [clique, list] of byClique) {
    expect(list.length, clique).toBeGreaterThanOrEqual(8);
    expect({ clique, winners: list.filter((o) => o.status === 201).length }).toEqual({ clique, winners: 1 });
  }
  // both instances answered (and, on PostgreSQL, both were contended across)
  for (let i = 0; i < instances; i++) expect(outcomes.filter((o) => o.instance % instances === i).length).toBeGreaterThan(100);
}

async function checkDatabase(server: ServerHandle, outcomes: Outcome[]): Promise<void> {
  expect(await overlappingPairs(server)).toEqual([]);
  const winners = outcomes
    .filter((o) => o.status === 201)
    .map((o) => (o.response.reservationId ?? o.response.bookingId) as string)
    .sort();
  const { rows } = await server.db.query<{ id: string }>(`select id from allocations where status in ('held', 'confirmed') order by id`);
  expect(rows.map((r) => r.id)).toEqual(winners);
}

async function prepare(server: ServerHandle): Promise<SignedUpCustomer[]> {
  for (let i = 1; i <= 5; i++) await placeVehicle(server, CAR(i), { lat: 52.52, lon: 13.4 + i * 0.001 });
  const customers: SignedUpCustomer[] = [];
  // a few at a time: sign-up hashes passwords (argon2id) on a small machine
  for (let i = 0; i < CUSTOMERS; i += 8)
    customers.push(...(await Promise.all(Array.from({ length: Math.min(8, CUSTOMERS - i) }, () => signUpCustomer(server, READY_TO_BOOK)))));
  return customers;
}

const databaseUrl = process.env['DATABASE_URL'];

describe.skipIf(!databaseUrl)(
  'double booking across two server instances on one PostgreSQL database (skipped: set DATABASE_URL to run it)',
  () => {
    let db: TestDatabase;
    const instances: ServerHandle[] = [];
    let customers: SignedUpCustomer[];

    beforeAll(async () => {
      db = await createTestDatabase(databaseUrl!);
      // one after the other: the first creates the schema
      instances.push(await startServer({ ...QUIET, databaseUrl: db.url, dataDir: IN_MEMORY_DATA_DIR }));
      instances.push(await startServer({ ...QUIET, databaseUrl: db.url, dataDir: IN_MEMORY_DATA_DIR }));
      customers = await prepare(instances[0]!);
    });
    afterAll(async () => {
      for (const s of instances.reverse()) await s.stop();
      await db?.drop();
    });

    it('240 concurrent reservations and bookings: exactly one winner per overlap, every loser 409, no overlap in the database', async () => {
      const attempts = plan(customers, Date.now());
      expect(attempts.length).toBeGreaterThanOrEqual(200);
      const outcomes = await fire(instances, attempts);
      checkOutcomes(outcomes, 2);
      await checkDatabase(instances[1]!, outcomes);
      // winners came from both instances
      expect(new Set(outcomes.filter((o) => o.status === 201).map((o) => o.instance)).size).toBe(2);
    });
  },
);

describe('double booking on one PGlite instance (the embedded engine)', () => {
  let server: ServerHandle;
  let customers: SignedUpCustomer[];

  beforeAll(async () => {
    server = await startServer({ ...QUIET, databaseUrl: undefined, dataDir: IN_MEMORY_DATA_DIR });
    customers = await prepare(server);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('240 concurrent reservations and bookings: exactly one winner per overlap, every loser 409, no overlap in the database', async () => {
    const outcomes = await fire([server], plan(customers, Date.now()));
    checkOutcomes(outcomes, 1);
    await checkDatabase(server, outcomes);
  });
});
