/**
 * claimCar — a reservation or booking in one statement (fleetdesk_claim, 030_claim_one_function.sql): the checks under
 * the claimant locks, their refusals in order, the database's own refusals as 409 problems, and — on PostgreSQL,
 * where transactions overlap — that a claim waiting for the locks checks what the holder committed meanwhile.
 * claimCarChecked (fleetdesk_claim_checked, 030_claim_one_function.sql) — the customer's and the car's checks before
 * it in the same statement, refusing in the old order, with the tariff for the answer; claimWithChecks types a car
 * the pricing component has not typed yet.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../../src/shared/errors.js';
import { openDatabase, type Db } from '../../platform/db/index.js';
import { DomainEvents } from '../../platform/domain-events.js';
import { createLogger } from '../../platform/log.js';
import { dbBackends, openTestDatabase } from '../../testing/backends.js';
import { loadTariff } from '../pricing/index.js';
import {
  claimCar,
  claimCarChecked,
  getAllocation,
  lockClaimants,
  type ClaimChecks,
  type ClaimRules,
  type NewClaim,
} from './data/allocations.repository.js';
import { claimWithChecks } from './domain/bookings-rules.js';

const MIN = 60_000;
const T0 = Date.UTC(2030, 0, 1, 12);

function reservation(id: string, vehicleId: string, customerId: string, from = T0, minutes = 15): NewClaim {
  const until = from + minutes * MIN;
  return {
    id,
    kind: 'reservation',
    vehicleId,
    customerId,
    periodStart: from,
    periodEnd: until,
    startsAt: from,
    endsAt: until,
    createdAt: from,
  };
}

function booking(id: string, vehicleId: string, customerId: string, from: number, minutes = 60): NewClaim {
  const until = from + minutes * MIN;
  return { id, kind: 'booking', vehicleId, customerId, periodStart: from, periodEnd: until, startsAt: from, endsAt: until, createdAt: T0 };
}

/** The reservation rules: one running reservation, no active rental, the car free 15 min after the hold. */
const reserveRules = (c: NewClaim): ClaimRules => ({
  expireReservations: true,
  maxOpenReservations: 1,
  refuseActiveRental: true,
  refuseConflict: { from: c.periodStart, until: c.periodEnd + 15 * MIN },
});

async function seed(db: Db, cars: string[], customers: string[]): Promise<void> {
  for (const id of cars) {
    await db.query(
      `insert into vehicles (id, plate, make, model, energy_type, home_zone) values ($1, $1, 'Volkswagen', 'ID.3', 'electric', 'mitte')`,
      [id],
    );
  }
  for (const id of customers) {
    await db.query(
      `insert into customers (id, email, name, phone, server_seq) values ($1, $1 || '@example.test', $1, '+49301234567', fleetdesk_next_seq())`,
      [id],
    );
  }
}

const statuses = async (db: Db, customerId: string) =>
  (await db.query<{ id: string; status: string }>('select id, status from allocations where customer_id = $1 order by id', [customerId]))
    .rows;

describe.each(dbBackends())('claimCar on $name', (backend) => {
  let db: Db;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ db, close } = await openTestDatabase(backend));
    await seed(db, ['car-1', 'car-2', 'car-3'], ['cus-a', 'cus-b', 'cus-c']);
  });
  afterAll(() => close?.());

  it('inserts the claim and answers it as a record', async () => {
    const c = reservation('res-1', 'car-1', 'cus-a');
    const result = await claimCar(db, c, reserveRules(c));
    expect('record' in result && result.record).toMatchObject({
      id: 'res-1',
      kind: 'reservation',
      status: 'held',
      vehicleId: 'car-1',
      customerId: 'cus-a',
      periodStart: c.periodStart,
      periodEnd: c.periodEnd,
      startsAt: c.startsAt,
      endsAt: c.endsAt,
      createdAt: T0,
      rentalId: null,
    });
    expect(await statuses(db, 'cus-a')).toEqual([{ id: 'res-1', status: 'held' }]);
  });

  it('refuses by its rules in order, writing nothing', async () => {
    // cus-a holds res-1 on car-1: a second reservation is over the limit even for a car that is also taken
    const second = reservation('res-2', 'car-1', 'cus-a');
    expect(await claimCar(db, second, reserveRules(second))).toEqual({ refusal: 'reservation_limit' });
    // another customer: car-1 is held (conflict); an active rental on car-2 comes first
    const onTaken = reservation('res-3', 'car-1', 'cus-b');
    expect(await claimCar(db, onTaken, reserveRules(onTaken))).toEqual({ refusal: 'conflict' });
    await db.query(
      `insert into allocations (id, kind, vehicle_id, customer_id, status, period, started_at, server_seq)
       values ('ren-1', 'rental', 'car-2', 'cus-c', 'active', tstzrange(to_timestamp($1::float8 / 1000), 'infinity', '[)'), to_timestamp($1::float8 / 1000), fleetdesk_next_seq())`,
      [T0 - 60 * MIN],
    );
    const onRented = reservation('res-4', 'car-2', 'cus-b');
    expect(await claimCar(db, onRented, reserveRules(onRented))).toEqual({ refusal: 'active_rental' });
    // a booking far ahead of car-1's hold: not refused by the active-rental rule it does not ask for
    const later = booking('bkg-1', 'car-1', 'cus-b', T0 + 24 * 60 * MIN);
    expect(await claimCar(db, later, { expireReservations: false, maxOpenBookings: 1, refuseActiveRental: false })).toMatchObject({
      record: { id: 'bkg-1', status: 'confirmed' },
    });
    const another = booking('bkg-2', 'car-3', 'cus-b', T0 + 48 * 60 * MIN);
    expect(await claimCar(db, another, { expireReservations: false, maxOpenBookings: 1, refuseActiveRental: false })).toEqual({
      refusal: 'booking_limit',
    });
    expect(await statuses(db, 'cus-b')).toEqual([{ id: 'bkg-1', status: 'confirmed' }]);
  });

  it("the database's own refusals are 409 problems: an overlap (23P01) and a second held reservation (23505)", async () => {
    // no conflict rule: the exclusion constraint refuses the overlap with bkg-1
    const overlap = booking('bkg-3', 'car-1', 'cus-c', T0 + 24 * 60 * MIN + 30 * MIN);
    const refused = await claimCar(db, overlap, { expireReservations: false, refuseActiveRental: false }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ code: 'vehicle_unavailable', status: 409 });
    // no limit rule: the unique index refuses cus-a's second held reservation
    const second = reservation('res-5', 'car-3', 'cus-a');
    const again = await claimCar(db, second, { expireReservations: false, refuseActiveRental: false }).catch((e: unknown) => e);
    expect(again).toMatchObject({ code: 'reservation_limit', status: 409 });
    expect(await statuses(db, 'cus-c')).toEqual([{ id: 'ren-1', status: 'active' }]);
  });

  it('the exclusion constraint keys on the car (030: its hash): the same period is refused on that car and free on another', async () => {
    const raw = (id: string, vehicleId: string, customerId: string) =>
      db.query(
        `insert into allocations (id, kind, vehicle_id, customer_id, status, period, starts_at, ends_at, server_seq)
         values ($1, 'booking', $2, $3, 'confirmed', tstzrange(to_timestamp($4::float8 / 1000), to_timestamp($5::float8 / 1000), '[)'),
                 to_timestamp($4::float8 / 1000), to_timestamp($5::float8 / 1000), fleetdesk_next_seq())`,
        [id, vehicleId, customerId, T0 + 72 * 60 * MIN, T0 + 73 * 60 * MIN],
      );
    await raw('raw-1', 'car-3', 'cus-c');
    await expect(raw('raw-2', 'car-3', 'cus-b')).rejects.toMatchObject({ code: '23P01' });
    await raw('raw-3', 'car-1', 'cus-b');
    // the claim's conflict rule finds the car's open claims by the same key
    const onBooked = booking('bkg-9', 'car-3', 'cus-a', T0 + 72 * 60 * MIN + 30 * MIN);
    expect(
      await claimCar(db, onBooked, {
        expireReservations: false,
        refuseActiveRental: false,
        refuseConflict: { from: onBooked.periodStart, until: onBooked.periodEnd },
      }),
    ).toEqual({ refusal: 'conflict' });
    await db.query(`delete from allocations where id in ('raw-1', 'raw-3')`);
  });

  it("expires the customer's lapsed hold first, in the same statement", async () => {
    // an hour later res-1 has lapsed: cus-a may reserve again, and res-1 is marked expired
    const later = reservation('res-6', 'car-3', 'cus-a', T0 + 60 * MIN);
    expect(await claimCar(db, later, reserveRules(later))).toMatchObject({ record: { id: 'res-6', status: 'held' } });
    expect(await statuses(db, 'cus-a')).toEqual([
      { id: 'res-1', status: 'expired' },
      { id: 'res-6', status: 'held' },
    ]);
    // a refused claim writes nothing, the expiry included
    const t = T0 + 120 * MIN;
    await db.query(
      `insert into customers (id, email, name, phone, server_seq) values ('cus-d', 'd@example.test', 'd', '+49301234567', fleetdesk_next_seq())`,
    );
    await db.query(
      `insert into allocations (id, kind, vehicle_id, customer_id, status, period, starts_at, ends_at, server_seq)
       values ('res-7', 'reservation', 'car-2', 'cus-d', 'held', tstzrange(to_timestamp($1::float8 / 1000), to_timestamp($2::float8 / 1000), '[)'),
               to_timestamp($1::float8 / 1000), to_timestamp($2::float8 / 1000), fleetdesk_next_seq())`,
      [T0 - 300 * MIN, T0 - 285 * MIN],
    );
    const onRented = reservation('res-8', 'car-2', 'cus-d', t);
    expect(await claimCar(db, onRented, reserveRules(onRented))).toEqual({ refusal: 'active_rental' });
    expect(await statuses(db, 'cus-d')).toEqual([{ id: 'res-7', status: 'held' }]);
  });
});

describe.runIf(process.env.DATABASE_URL)('claimCar on PostgreSQL, under the claimant locks', () => {
  let db: Db;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ db, close } = await openTestDatabase(dbBackends().find((b) => b.name === 'postgres')!));
    await seed(db, ['car-1', 'car-2'], ['cus-a', 'cus-b', 'cus-c']);
  });
  afterAll(() => close?.());

  /** Whether some backend waits for an advisory lock now. */
  const waitingForLock = async () =>
    (await db.query<{ n: number }>(`select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`)).rows[0]!.n > 0;

  async function untilWaiting(): Promise<void> {
    for (let i = 0; i < 200 && !(await waitingForLock()); i++) await new Promise((r) => setTimeout(r, 25));
    expect(await waitingForLock()).toBe(true);
  }

  it('a claim waits for the car’s lock and checks the claim its holder committed meanwhile (a booking no constraint would refuse)', async () => {
    const c = reservation('res-1', 'car-1', 'cus-a');
    let claimed: ReturnType<typeof claimCar> | undefined;
    await db.transaction(async (tx) => {
      await lockClaimants(tx, { vehicleId: 'car-1' });
      // starts 5 min after the hold ends: no overlap for the exclusion constraint, but within the 15 min a
      // reservation must leave free — only the check under the lock can refuse the reservation
      await tx.query(
        `insert into allocations (id, kind, vehicle_id, customer_id, status, period, starts_at, ends_at, server_seq)
         values ('bkg-1', 'booking', 'car-1', 'cus-b', 'confirmed', tstzrange(to_timestamp($1::float8 / 1000), to_timestamp($2::float8 / 1000), '[)'),
                 to_timestamp($1::float8 / 1000), to_timestamp($2::float8 / 1000), fleetdesk_next_seq())`,
        [c.periodEnd + 5 * MIN, c.periodEnd + 65 * MIN],
      );
      claimed = claimCar(db, c, reserveRules(c));
      await untilWaiting();
    });
    expect(await claimed).toEqual({ refusal: 'conflict' });
    expect(await statuses(db, 'cus-a')).toEqual([]);
  });

  it('a claim waits for the customer’s lock and counts the reservation its holder committed meanwhile', async () => {
    const c = reservation('res-2', 'car-2', 'cus-c', T0 + 600 * MIN);
    let claimed: ReturnType<typeof claimCar> | undefined;
    await db.transaction(async (tx) => {
      await lockClaimants(tx, { customerId: 'cus-c' });
      claimed = claimCar(db, c, reserveRules(c));
      await untilWaiting();
      // the holder's own reservation of another car (far from c: no conflict), committed while the claim waits
      await tx.query(
        `insert into allocations (id, kind, vehicle_id, customer_id, status, period, starts_at, ends_at, server_seq)
         values ('res-3', 'reservation', 'car-1', 'cus-c', 'held', tstzrange(to_timestamp($1::float8 / 1000), to_timestamp($2::float8 / 1000), '[)'),
                 to_timestamp($1::float8 / 1000), to_timestamp($2::float8 / 1000), fleetdesk_next_seq())`,
        [c.periodStart, c.periodEnd],
      );
    });
    // the check sees it (a refusal, not the unique index's error)
    expect(await claimed).toEqual({ refusal: 'reservation_limit' });
    expect(await statuses(db, 'cus-c')).toEqual([{ id: 'res-3', status: 'held' }]);
  });
});

describe.each(dbBackends())('claimCarChecked on $name', (backend) => {
  let db: Db;
  let close: (() => Promise<void>) | undefined;
  /** heard at or after this: listable (the fleet's liveness answers it; here a fixed 2 min before T0) */
  const since = T0 - 2 * MIN;
  const checks: ClaimChecks = { storeTariffVersion: false, needsOnline: true, listableSince: since };

  beforeAll(async () => {
    ({ db, close } = await openTestDatabase(backend));
    await seed(db, ['car-1', 'car-2', 'car-new'], ['cus-a', 'cus-b']);
    // car-1 and car-2 typed (with their tariffs) as the pricing component does; car-new is not yet
    for (const car of ['car-1', 'car-2']) await loadTariff(db, car);
    for (const car of ['car-1', 'car-2', 'car-new']) await carState(car, { online: true, receivedAt: T0 - MIN });
    await customer('cus-a', { licence: 'verified', expiresOn: '2031-01-01', card: true });
  });
  afterAll(() => close?.());

  async function customer(id: string, c: { blocked?: boolean; licence: string; expiresOn?: string; card: boolean }): Promise<void> {
    await db.query(`update customers set status = $2, licence_status = $3, licence_expires_on = $4::date where id = $1`, [
      id,
      c.blocked ? 'blocked' : 'active',
      c.licence,
      c.expiresOn ?? null,
    ]);
    await db.query(`delete from payment_methods where customer_id = $1`, [id]);
    if (c.card)
      await db.query(
        `insert into payment_methods (id, customer_id, provider_method_id, brand, last4) values ($1, $2, $1, 'visa', '4242')`,
        [`pm-${id}`, id],
      );
  }

  async function carState(id: string, s: { online: boolean; receivedAt: number | null; position?: boolean; maintenance?: boolean }) {
    await db.query(`update vehicles set service_state = $2 where id = $1`, [id, s.maintenance ? 'maintenance' : 'available']);
    await db.query(
      `insert into vehicle_state (vehicle_id, lat, lon, online, received_at) values ($1, $2, $3, $4, to_timestamp($5::float8 / 1000))
       on conflict (vehicle_id) do update set lat = excluded.lat, lon = excluded.lon, online = excluded.online, received_at = excluded.received_at`,
      [id, s.position === false ? null : 52.52, s.position === false ? null : 13.4, s.online, s.receivedAt],
    );
  }

  const refusal = async (c: NewClaim, chk: ClaimChecks = checks) => {
    const r = await claimCarChecked(db, c, reserveRules(c), chk);
    return 'refusal' in r ? [r.refusal, r.licenceStatus] : ['claimed', null];
  };

  it('refuses for the customer first, then the car, in the old order, writing nothing', async () => {
    const c = (vehicleId: string, customerId: string) => reservation(`res-${customerId}-${vehicleId}`, vehicleId, customerId);
    // cus-b fails every customer check and the car every car check: each answer is the first one left in order
    await carState('car-2', { online: false, receivedAt: null, position: false, maintenance: true });
    expect(await refusal(c('car-2', 'nobody'))).toEqual(['customer_unknown', null]);
    await customer('cus-b', { blocked: true, licence: 'pending', card: false });
    expect(await refusal(c('car-2', 'cus-b'))).toEqual(['customer_blocked', null]);
    await customer('cus-b', { licence: 'pending', card: false });
    expect(await refusal(c('car-2', 'cus-b'))).toEqual(['licence_not_verified', 'pending']);
    // a verified licence counts as expired after its expiry date (UTC), still valid on that day
    await customer('cus-b', { licence: 'verified', expiresOn: new Date(T0 - 86_400_000).toISOString().slice(0, 10), card: false });
    expect(await refusal(c('car-2', 'cus-b'))).toEqual(['licence_not_verified', 'expired']);
    await customer('cus-b', { licence: 'verified', expiresOn: new Date(T0).toISOString().slice(0, 10), card: false });
    expect(await refusal(c('car-2', 'cus-b'))).toEqual(['payment_method_required', 'verified']);
    await customer('cus-b', { licence: 'verified', card: true });
    expect(await refusal(c('no-such-car', 'cus-b'))).toEqual(['vehicle_not_found', 'verified']);
    expect(await refusal(c('car-new', 'cus-b'))).toEqual(['tariff_unknown', 'verified']);
    expect(await refusal(c('car-2', 'cus-b'))).toEqual(['maintenance', 'verified']);
    await carState('car-2', { online: false, receivedAt: T0 - MIN });
    expect(await refusal(c('car-2', 'cus-b'))).toEqual(['offline', 'verified']);
    await carState('car-2', { online: true, receivedAt: T0 - MIN, position: false });
    expect(await refusal(c('car-2', 'cus-b'))).toEqual(['offline', 'verified']);
    await carState('car-2', { online: true, receivedAt: since - 1 });
    expect(await refusal(c('car-2', 'cus-b'))).toEqual(['offline', 'verified']);
    expect(await statuses(db, 'cus-b')).toEqual([]);
    // heard exactly at the bound: listable; then the claim's own rules (cus-a holds car-1 below)
    await carState('car-2', { online: true, receivedAt: since });
    expect(await refusal(c('car-2', 'cus-b'))).toEqual(['claimed', null]);
    expect(await refusal(c('car-1', 'cus-b'))).toEqual(['reservation_limit', 'verified']);
  });

  it('answers the claim with the tariff in force, and stores its version when asked (bookings)', async () => {
    const r = reservation('res-a1', 'car-1', 'cus-a');
    const claimed = await claimCarChecked(db, r, reserveRules(r), checks);
    const tariff = await loadTariff(db, 'car-1');
    expect(claimed).toMatchObject({ record: { id: 'res-a1', status: 'held', rentalId: null }, tariff });
    // the record answered is the row stored, field for field (only its status and server_seq are read back)
    expect('record' in claimed && claimed.record).toEqual(await getAllocation(db, 'res-a1'));
    // a booking far ahead, of a car offline now: not asked to be online, the version stored with it
    await carState('car-1', { online: false, receivedAt: null });
    const b = booking('bkg-a1', 'car-1', 'cus-a', T0 + 24 * 60 * MIN);
    const booked = await claimCarChecked(
      db,
      b,
      { expireReservations: false, maxOpenBookings: 10, refuseActiveRental: false },
      { tariffAt: b.startsAt, storeTariffVersion: true, needsOnline: false, listableSince: since },
    );
    expect(booked).toMatchObject({ record: { id: 'bkg-a1', status: 'confirmed' }, tariff });
    expect('record' in booked && booked.record).toEqual(await getAllocation(db, 'bkg-a1'));
    const { rows } = await db.query<{ id: string; tariff_version_id: string | null }>(
      `select id, tariff_version_id from allocations where customer_id = 'cus-a' order by id`,
    );
    expect(rows).toEqual([
      { id: 'bkg-a1', tariff_version_id: tariff.versionId },
      { id: 'res-a1', tariff_version_id: null },
    ]);
  });

  it('claimWithChecks types a car the pricing component has not typed yet, then claims it', async () => {
    const events = new DomainEvents();
    const deps = {
      db,
      events,
      settings: { holdMin: 15, maxHoldMin: 60, bufferMin: 15 },
      liveness: { isListable: (receivedAt: number) => receivedAt >= since, listableSince: () => since },
      now: () => T0,
    };
    const c = reservation('res-new', 'car-new', 'cus-b', T0 + 600 * MIN);
    const { record, tariff } = await claimWithChecks(deps, c, reserveRules(c), { storeTariffVersion: false, needsOnline: true });
    expect(record).toMatchObject({ id: 'res-new', vehicleId: 'car-new', status: 'held' });
    expect(tariff).toEqual(await loadTariff(db, 'car-new'));
    // a refusal is its problem
    const again = reservation('res-new-2', 'car-2', 'cus-b', T0 + 600 * MIN);
    await expect(claimWithChecks(deps, again, reserveRules(again), { storeTariffVersion: false, needsOnline: true })).rejects.toMatchObject(
      {
        code: 'reservation_limit',
        status: 409,
      },
    );
  });
});

describe.runIf(process.env.DATABASE_URL)('claimCar on PostgreSQL, after an ANALYZE taken while nothing was held', () => {
  const HELD = 500;
  let db: Db;
  let claimer: Db;
  let cleanup: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    const created = await dbBackends()
      .find((b) => b.name === 'postgres')!
      .create();
    cleanup = created.cleanup;
    db = await openDatabase(created.overrides, createLogger({ level: 'silent' }));
    // a fleet in service: HELD cars held now by as many customers, and each car's past reservations
    await db.query(
      `insert into vehicles (id, plate, make, model, energy_type, home_zone)
       select 'car-' || i, 'car-' || i, 'Volkswagen', 'ID.3', 'electric', 'mitte' from generate_series(1, $1) i`,
      [HELD + 20],
    );
    await db.query(
      `insert into customers (id, email, name, phone, server_seq)
       select 'cus-' || i, 'cus-' || i || '@example.test', 'cus-' || i, '+49301234567', fleetdesk_next_seq() from generate_series(1, $1) i`,
      [HELD + 20],
    );
    await db.query(
      `insert into allocations (id, kind, vehicle_id, customer_id, status, period, starts_at, ends_at, server_seq)
       select 'past-' || i || '-' || d, 'reservation', 'car-' || i, 'cus-' || i, 'expired', tstzrange(t, t + interval '15 minutes', '[)'),
              t, t + interval '15 minutes', fleetdesk_next_seq()
         from generate_series(1, $1) i, generate_series(1, 3) d, lateral (select to_timestamp($2::float8 / 1000) - d * interval '1 day' as t) p`,
      [HELD + 20, T0],
    );
    await db.query(
      `insert into allocations (id, kind, vehicle_id, customer_id, status, period, starts_at, ends_at, server_seq)
       select 'held-' || i, 'reservation', 'car-' || i, 'cus-' || i, 'held', tstzrange(t, t + interval '15 minutes', '[)'),
              t, t + interval '15 minutes', fleetdesk_next_seq()
         from generate_series(1, $1) i, lateral (select to_timestamp($2::float8 / 1000) as t) p`,
      [HELD, T0],
    );
    // the statistics of a quiet night: nothing held when the table was analyzed — then the day's holds again
    await db.query(`update allocations set status = 'expired' where id like 'held-%'`);
    await db.exec('analyze allocations');
    await db.query(`update allocations set status = 'held' where id like 'held-%'`);
    // a new connection: its plans are made with those statistics
    claimer = await openDatabase({ ...created.overrides, dbPoolMax: 1 }, createLogger({ level: 'silent' }));
  });
  afterAll(async () => {
    await claimer?.close();
    await db?.close();
    await cleanup?.();
  });

  /** Index entries of `allocations` read so far (cumulative statistics; the claiming backend flushes its own first). */
  const indexTuplesRead = async () => {
    await claimer.query('select pg_stat_force_next_flush()');
    await claimer.query('select 1');
    await db.query('select pg_stat_clear_snapshot()');
    const { rows } = await db.query<{ n: number }>(
      `select coalesce(sum(idx_tup_read), 0)::float8 as n from pg_stat_user_indexes where relname = 'allocations'`,
    );
    return rows[0]!.n;
  };

  it("claims read the car's and the customer's few claims, not every held one (the plans do not follow the held count)", async () => {
    // what the setup's connections read reaches the statistics within a second of their last statement
    let before = await indexTuplesRead();
    for (let settled = false; !settled;) {
      await new Promise((r) => setTimeout(r, 1_100));
      const now = await indexTuplesRead();
      settled = now === before;
      before = now;
    }
    const claims = 20;
    for (let i = 1; i <= claims; i++) {
      const c = reservation(`res-${i}`, `car-${HELD + i}`, `cus-${HELD + i}`);
      expect('record' in (await claimCar(claimer, c, reserveRules(c)))).toBe(true);
    }
    // each claim's checks read the few entries of its car and customer (and the insert's unique checks); with the
    // held claims' statuses estimated from those statistics, each read all HELD of them, twice
    const perClaim = ((await indexTuplesRead()) - before) / claims;
    expect(perClaim).toBeLessThan(20);
  });
});
