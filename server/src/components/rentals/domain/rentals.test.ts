/**
 * Rental start and end orchestration against a real database (PGlite, and PostgreSQL when DATABASE_URL is set):
 * the real repository, pricing, audit and exclusion constraint, with in-memory stand-ins for the ports whose
 * owners test them (customers, payments, device commands) and for the vehicle's telemetry (the scenario decides
 * where the car is). The stand-in payments write their outbox rows through the caller's transaction, so a
 * rollback takes them back as the real outbox would. The HTTP path with every real component is
 * test/integration/customer-journey.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CommandType } from '../../../../../src/shared/device-protocol.js';
import { DEFAULT_SERVICE_AREA } from '../../../../../src/shared/service-area.js';
import { AppError } from '../../../../../src/shared/errors.js';
import { openDatabase, type Db, type Queryable } from '../../../platform/db/index.js';
import { DomainEvents, type DomainEventMap } from '../../../platform/domain-events.js';
import { createLogger } from '../../../platform/log.js';
import { dbBackends } from '../../../testing/backends.js';
import { listAudit } from '../../audit/index.js';
import type { CommandWithTransitions, IssueCommandInput } from '../../commands/index.js';
import type { LatestVehicleState, UsageSample } from '../model.js';
import {
  createRentals,
  RentalEndBlockedError,
  type CustomerEligibility,
  type HoldOutcome,
  type RentalCommandsPort,
  type RentalPaymentsPort,
  type Rentals,
  type RentalTelemetryPort,
} from './rentals.js';

const MIN = 60_000;
const log = createLogger({ level: 'silent' });
const CENTER = DEFAULT_SERVICE_AREA.center;

type DeviceBehaviour = 'succeed' | 'fail' | 'silent' | 'succeed-late';

/** The commands port as a device would drive it; `waitForTerminal` answers at once (no real time passes). */
class FakeCommands implements RentalCommandsPort {
  readonly commands = new Map<string, CommandWithTransitions>();
  behaviour: Record<string, DeviceBehaviour> = {};
  issueCommand = async (input: IssueCommandInput) => {
    const existing = this.commands.get(input.commandId!);
    if (existing) return { command: existing, created: false };
    const now = Date.now();
    const command: CommandWithTransitions = {
      commandId: input.commandId!,
      vehicleId: input.vehicleId,
      type: input.type,
      params: {},
      status: 'sent',
      reason: input.reason,
      issuedBy: input.actor.id,
      issuedByRole: input.actor.role,
      ttlSeconds: input.ttlSeconds,
      createdAt: now,
      expiresAt: now + input.ttlSeconds * 1000,
      sentAt: now,
      receivedAt: null,
      finishedAt: null,
      lastResultReason: null,
      resultData: null,
      sendAttempts: 1,
      nextAttemptAt: null,
      transitions: [],
    };
    this.commands.set(command.commandId, command);
    return { command, created: true };
  };
  waitForTerminal = async (commandId: string) => {
    const c = this.commands.get(commandId)!;
    const b = this.behaviour[c.type] ?? 'succeed';
    if (b === 'succeed') Object.assign(c, { status: 'succeeded', finishedAt: Date.now() });
    if (b === 'fail') Object.assign(c, { status: 'failed', finishedAt: Date.now(), lastResultReason: 'door jammed' });
    // succeed-late: the result lands between the timeout and the cancel
    if (b === 'succeed-late') Object.assign(c, { status: 'received' });
    return { ...c };
  };
  cancelCommand = async (commandId: string) => {
    const c = this.commands.get(commandId);
    if (!c) throw new AppError('command_not_found', 'no command', { status: 404 });
    if (this.behaviour[c.type] === 'succeed-late') Object.assign(c, { status: 'succeeded', finishedAt: Date.now() });
    if (c.status !== 'queued' && c.status !== 'sent')
      throw new AppError('command_not_cancellable', `command is ${c.status}`, { status: 409 });
    c.status = 'cancelled';
    return { ...c };
  };
  getCommand = async (commandId: string) => {
    const c = this.commands.get(commandId);
    if (!c) throw new AppError('command_not_found', 'no command', { status: 404 });
    return { ...c };
  };
  ofType(type: CommandType): CommandWithTransitions[] {
    return [...this.commands.values()].filter((c) => c.type === type);
  }
}

class FakePayments implements RentalPaymentsPort {
  hold: 'authorized' | 'declined' | 'unavailable' = 'authorized';
  hasMethod = true;
  holds: Array<{ rentalId: string; amountCents: number; idempotencyKey: string }> = [];
  defaultPaymentMethod = async () =>
    this.hasMethod ? { paymentMethodId: 'pm-1', brand: 'visa', last4: '4242', createdAt: new Date().toISOString() } : null;
  authorizeHold = async (input: { rentalId: string; amountCents: number; idempotencyKey: string }): Promise<HoldOutcome> => {
    this.holds.push(input);
    const paymentId = `pay-${input.rentalId}`;
    return this.hold === 'authorized' ? { status: 'authorized', paymentId } : { status: this.hold, paymentId, reason: 'sandbox says so' };
  };
  enqueueCapture = async (tx: Queryable, input: { rentalId: string; paymentId: string; amountCents: number }) => {
    await tx.query('insert into test_payment_outbox (rental_id, payment_id, kind, amount_cents) values ($1, $2, $3, $4)', [
      input.rentalId,
      input.paymentId,
      'capture',
      input.amountCents,
    ]);
  };
  enqueueVoid = async (tx: Queryable, input: { rentalId: string; paymentId: string }) => {
    await tx.query('insert into test_payment_outbox (rental_id, payment_id, kind, amount_cents) values ($1, $2, $3, null)', [
      input.rentalId,
      input.paymentId,
      'void',
    ]);
  };
  rentalPayments = async () => ({
    held: 7900,
    captured: 0,
    refunded: 0,
    currency: 'EUR',
    status: 'capture_pending' as const,
    operations: [],
    paymentId: null,
    shortfall: 0,
  });
}

class FakeTelemetry implements RentalTelemetryPort {
  state = new Map<string, LatestVehicleState>();
  history = new Map<string, UsageSample[]>();
  latestState = async (vehicleId: string) => this.state.get(vehicleId) ?? null;
  samples = async (vehicleId: string, from: number, to: number) =>
    (this.history.get(vehicleId) ?? []).filter((s) => s.at >= from && s.at <= to);
  endZones = async () => [];
  park(vehicleId: string, overrides: Partial<LatestVehicleState> = {}): void {
    this.state.set(vehicleId, {
      lat: CENTER.lat,
      lon: CENTER.lon,
      speedKph: 0,
      ignition: false,
      doorsClosed: true,
      locked: false,
      odometerKm: 1000,
      telemetryAt: Date.now(),
      ...overrides,
    });
  }
}

describe.each(dbBackends())('rental start and end on $name', (backend) => {
  let db: Db;
  let cleanup: () => Promise<void>;
  let rentals: Rentals;
  const commands = new FakeCommands();
  const payments = new FakePayments();
  const telemetry = new FakeTelemetry();
  const events = new DomainEvents();
  const link = { downSince: null as number | null, brokerDownSince: () => link.downSince };
  const started: Array<DomainEventMap['rental.started']> = [];
  const ended: Array<DomainEventMap['rental.ended']> = [];
  let eligibility: Omit<CustomerEligibility, 'customerId'> = { exists: true, blocked: false, licenceStatus: 'verified' };

  beforeAll(async () => {
    const created = await backend.create();
    cleanup = created.cleanup;
    db = await openDatabase(created.overrides, log);
    await db.exec(
      'create table test_payment_outbox (rental_id text not null, payment_id text not null, kind text not null, amount_cents integer)',
    );
    events.on('rental.started', (e) => started.push(e));
    events.on('rental.ended', (e) => ended.push(e));
    rentals = await createRentals({
      db,
      log,
      customers: { eligibility: async (customerId) => ({ customerId, ...eligibility }) },
      payments,
      commands,
      vehicleLink: link,
      telemetry,
      events,
      operatingZone: DEFAULT_SERVICE_AREA,
      dataDir: 'memory://',
    });
  });
  afterAll(async () => {
    await rentals?.stop();
    await db?.close();
    await cleanup?.();
  });
  beforeEach(() => {
    eligibility = { exists: true, blocked: false, licenceStatus: 'verified' };
    payments.hold = 'authorized';
    payments.hasMethod = true;
    commands.behaviour = {};
    link.downSince = null;
  });

  let n = 0;
  /** A fresh vehicle (a known model, so it has a tariff), customer and reservation [now − heldFor, now + 10 min). */
  async function reservation(heldForMin = 1): Promise<{ vehicleId: string; customerId: string; reservationId: string }> {
    n++;
    const vehicleId = `rt-${randomUUID().slice(0, 8)}`;
    const customerId = `cust-${randomUUID()}`;
    const reservationId = `res-${randomUUID()}`;
    await db.transaction(async (tx) => {
      await tx.query(
        `insert into vehicles (id, plate, make, model, energy_type, home_zone) values ($1, $2, 'Volkswagen', 'ID.3', 'electric', 'mitte')`,
        [vehicleId, `B-RT ${n}`],
      );
      await tx.query(`insert into customers (id, email, name, phone, server_seq) values ($1, $2, 'Test', '+49', fleetdesk_next_seq())`, [
        customerId,
        `${customerId}@example.test`,
      ]);
      await tx.query(
        `insert into allocations (id, kind, vehicle_id, customer_id, status, period, starts_at, ends_at, server_seq)
         values ($1, 'reservation', $2, $3, 'held', tstzrange(now() - $4::int * interval '1 minute', now() + interval '10 minutes'),
                 now() - $4::int * interval '1 minute', now() + interval '10 minutes', fleetdesk_next_seq())`,
        [reservationId, vehicleId, customerId, heldForMin],
      );
    });
    telemetry.park(vehicleId);
    return { vehicleId, customerId, reservationId };
  }

  async function allocation(id: string) {
    const { rows } = await db.query<{
      status: string;
      start_attempt_id: string | null;
      open_ended: boolean;
      payment_id: string | null;
      unlock_command_id: string | null;
    }>(
      "select status, start_attempt_id, upper(period) = 'infinity'::timestamptz as open_ended, payment_id, unlock_command_id from allocations where id = $1",
      [id],
    );
    return rows[0];
  }
  async function outbox(rentalId: string) {
    const { rows } = await db.query<{ kind: string; amount_cents: number | null }>(
      'select kind, amount_cents from test_payment_outbox where rental_id = $1',
      [rentalId],
    );
    return rows;
  }

  it('starts from a held reservation: hold, unlock acknowledged, one transaction converts it into an open-ended rental', async () => {
    const r = await reservation();
    const res = await rentals.start({ customerId: r.customerId, reservationId: r.reservationId });
    expect(res).toMatchObject({
      status: 'active',
      vehicleId: r.vehicleId,
      returnBy: null,
      unlock: { status: 'succeeded' },
      payment: { holdCents: 7900, currency: 'EUR' },
    });
    expect(await allocation(r.reservationId)).toMatchObject({ status: 'converted', start_attempt_id: null });
    expect(await allocation(res.rentalId)).toMatchObject({
      status: 'active',
      open_ended: true,
      payment_id: res.payment.paymentId,
      unlock_command_id: res.unlock.commandId,
    });
    expect(commands.ofType('unlock').filter((c) => c.vehicleId === r.vehicleId)).toHaveLength(1);
    expect(payments.holds.find((h) => h.rentalId === res.rentalId)).toMatchObject({
      amountCents: 7900,
      idempotencyKey: `rental-hold-${res.rentalId}`,
    });
    expect(started).toContainEqual(expect.objectContaining({ rentalId: res.rentalId, vehicleId: r.vehicleId, customerId: r.customerId }));
    // the reservation cannot be started twice
    await expect(rentals.start({ customerId: r.customerId, reservationId: r.reservationId })).rejects.toMatchObject({
      code: 'reservation_already_started',
      status: 409,
    });
  });

  it("sets returnBy at the car's next claim (the booking's buffer before its window), and refuses when that is too soon", async () => {
    const r = await reservation();
    const other = `cust-${randomUUID()}`;
    await db.transaction(async (tx) => {
      await tx.query(`insert into customers (id, email, name, phone, server_seq) values ($1, $2, 'Other', '+49', fleetdesk_next_seq())`, [
        other,
        `${other}@example.test`,
      ]);
      await tx.query(
        `insert into allocations (id, kind, vehicle_id, customer_id, status, period, starts_at, ends_at, server_seq)
         values ($1, 'booking', $2, $3, 'confirmed', tstzrange(now() + interval '165 minutes', now() + interval '5 hours'),
                 now() + interval '3 hours', now() + interval '5 hours', fleetdesk_next_seq())`,
        [`bk-${randomUUID()}`, r.vehicleId, other],
      );
    });
    const res = await rentals.start({ customerId: r.customerId, reservationId: r.reservationId });
    const { rows } = await db.query<{ gap_min: number; at_claim: boolean }>(
      `select extract(epoch from (b.starts_at - r.return_by)) / 60 as gap_min, abs(extract(epoch from (b.lower_p - r.return_by))) < 0.001 as at_claim
         from (select starts_at, lower(period) as lower_p from allocations where vehicle_id = $1 and kind = 'booking') b, allocations r where r.id = $2`,
      [r.vehicleId, res.rentalId],
    );
    expect(Number(rows[0]!.gap_min)).toBeCloseTo(15, 3);
    expect(rows[0]!.at_claim).toBe(true); // to the millisecond (times travel as epoch ms)
    expect(await allocation(res.rentalId)).toMatchObject({ open_ended: false });

    const soon = await reservation();
    await db.transaction(async (tx) => {
      await tx.query(
        `insert into allocations (id, kind, vehicle_id, customer_id, status, period, starts_at, ends_at, server_seq)
         values ($1, 'booking', $2, $3, 'confirmed', tstzrange(now() + interval '12 minutes', now() + interval '2 hours'),
                 now() + interval '27 minutes', now() + interval '2 hours', fleetdesk_next_seq())`,
        [`bk-${randomUUID()}`, soon.vehicleId, other],
      );
    });
    await expect(rentals.start({ customerId: soon.customerId, reservationId: soon.reservationId })).rejects.toMatchObject({
      code: 'vehicle_booked_soon',
      status: 409,
    });
    expect(commands.ofType('unlock').filter((c) => c.vehicleId === soon.vehicleId)).toHaveLength(0);
  });

  it('refuses before any external effect: unknown or foreign reservation, unverified licence, blocked customer, no payment method', async () => {
    const r = await reservation();
    const other = await reservation();
    await expect(rentals.start({ customerId: r.customerId, reservationId: other.reservationId })).rejects.toMatchObject({
      code: 'reservation_not_found',
      status: 404,
    });
    await expect(rentals.start({ customerId: r.customerId, bookingId: r.reservationId })).rejects.toMatchObject({
      code: 'booking_not_found',
      status: 404,
    });
    eligibility = { exists: true, blocked: false, licenceStatus: 'pending' };
    await expect(rentals.start({ customerId: r.customerId, reservationId: r.reservationId })).rejects.toMatchObject({
      code: 'licence_not_verified',
      status: 403,
    });
    eligibility = { exists: true, blocked: true, licenceStatus: 'verified' };
    await expect(rentals.start({ customerId: r.customerId, reservationId: r.reservationId })).rejects.toMatchObject({
      code: 'customer_blocked',
      status: 403,
    });
    eligibility = { exists: true, blocked: false, licenceStatus: 'verified' };
    payments.hasMethod = false;
    await expect(rentals.start({ customerId: r.customerId, reservationId: r.reservationId })).rejects.toMatchObject({
      code: 'payment_method_required',
      status: 402,
    });
    expect(
      payments.holds.filter((h) =>
        commands.ofType('unlock').some((c) => c.commandId === `unlock-${h.rentalId}` && c.vehicleId === r.vehicleId),
      ),
    ).toHaveLength(0);
    expect(await allocation(r.reservationId)).toMatchObject({ status: 'held', start_attempt_id: null });
  });

  it('a declined or unavailable hold refuses without unlocking, and the reservation can be started again', async () => {
    const r = await reservation();
    payments.hold = 'declined';
    await expect(rentals.start({ customerId: r.customerId, reservationId: r.reservationId })).rejects.toMatchObject({
      code: 'payment_declined',
      status: 402,
    });
    payments.hold = 'unavailable';
    await expect(rentals.start({ customerId: r.customerId, reservationId: r.reservationId })).rejects.toMatchObject({
      code: 'payment_provider_unavailable',
      status: 503,
    });
    expect(commands.ofType('unlock').filter((c) => c.vehicleId === r.vehicleId)).toHaveLength(0);
    expect(await allocation(r.reservationId)).toMatchObject({ status: 'held', start_attempt_id: null });
    payments.hold = 'authorized';
    await expect(rentals.start({ customerId: r.customerId, reservationId: r.reservationId })).resolves.toMatchObject({ status: 'active' });
  });

  it('the car not acknowledging: 504, unlock cancelled, a lock sent, the hold voided, the reservation kept and startable again', async () => {
    const r = await reservation();
    commands.behaviour = { unlock: 'silent' };
    const err = await rentals.start({ customerId: r.customerId, reservationId: r.reservationId }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'unlock_not_acknowledged', status: 504 });
    expect((err as Error).message).toMatch(/hold was released.*kept/);
    const [unlock] = commands.ofType('unlock').filter((c) => c.vehicleId === r.vehicleId);
    expect(unlock!.status).toBe('cancelled');
    const attemptId = unlock!.commandId.slice('unlock-'.length);
    expect(
      commands
        .ofType('lock')
        .filter((c) => c.vehicleId === r.vehicleId)
        .map((c) => c.commandId),
    ).toEqual([`relock-${attemptId}`]);
    expect(await outbox(attemptId)).toEqual([{ kind: 'void', amount_cents: null }]);
    expect(await allocation(r.reservationId)).toMatchObject({ status: 'held', start_attempt_id: null });
    expect(await allocation(attemptId)).toBeUndefined();

    commands.behaviour = {};
    const res = await rentals.start({ customerId: r.customerId, reservationId: r.reservationId });
    expect(res.status).toBe('active');
  });

  it('the broker down: 503 vehicle_unreachable at once (Retry-After), no unlock queued, the hold voided, the reservation kept', async () => {
    const r = await reservation();
    link.downSince = Date.now() - 5_000;
    const err = await rentals.start({ customerId: r.customerId, reservationId: r.reservationId }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'vehicle_unreachable', status: 503, retryAfterS: 30 });
    expect((err as Error).message).toMatch(/hold was released.*reservation is kept/);
    expect(commands.ofType('unlock').filter((c) => c.vehicleId === r.vehicleId)).toHaveLength(0);
    const attemptId = payments.holds.at(-1)!.rentalId; // the hold placed by this start
    expect(await outbox(attemptId)).toEqual([{ kind: 'void', amount_cents: null }]);
    expect(await allocation(r.reservationId)).toMatchObject({ status: 'held', start_attempt_id: null });

    link.downSince = null; // back: the same reservation starts
    await expect(rentals.start({ customerId: r.customerId, reservationId: r.reservationId })).resolves.toMatchObject({ status: 'active' });
  });

  it('the car answering failed: 502 unlock_failed, the hold voided, no lock needed', async () => {
    const r = await reservation();
    commands.behaviour = { unlock: 'fail' };
    await expect(rentals.start({ customerId: r.customerId, reservationId: r.reservationId })).rejects.toMatchObject({
      code: 'unlock_failed',
      status: 502,
    });
    const [unlock] = commands.ofType('unlock').filter((c) => c.vehicleId === r.vehicleId);
    expect(await outbox(unlock!.commandId.slice('unlock-'.length))).toEqual([{ kind: 'void', amount_cents: null }]);
    expect(commands.ofType('lock').filter((c) => c.vehicleId === r.vehicleId)).toHaveLength(0);
    expect(await allocation(r.reservationId)).toMatchObject({ status: 'held' });
  });

  it('every failed start is kept for support, with why: the rental that finally started lists them, the customer’s list newest first', async () => {
    const r = await reservation();
    const tryStart = () => rentals.start({ customerId: r.customerId, reservationId: r.reservationId }).catch((e: unknown) => e);
    payments.hold = 'declined';
    await tryStart();
    payments.hold = 'authorized';
    commands.behaviour = { unlock: 'silent' };
    await tryStart();
    commands.behaviour = { unlock: 'fail' };
    await tryStart();
    link.downSince = Date.now();
    await tryStart();
    link.downSince = null;
    commands.behaviour = {};
    const started = await rentals.start({ customerId: r.customerId, reservationId: r.reservationId });

    const detail = await rentals.staffDetail(started.rentalId);
    const attempts = detail.evidence.startAttempts;
    expect(attempts.map((a) => a.failure)).toEqual(['payment_declined', 'unlock_timeout', 'unlock_failed', 'vehicle_unreachable']);
    expect(attempts.every((a) => a.sourceId === r.reservationId && a.attemptId !== started.rentalId)).toBe(true);
    expect(new Set(attempts.map((a) => a.attemptId)).size).toBe(4);
    expect(attempts[0]).toMatchObject({ paymentId: null, unlockCommandId: null });
    expect(attempts[0]!.detail).toBeTruthy(); // the provider's decline reason
    // the unlock that timed out and the refused one: their commands (the evidence links them), the voided holds
    expect(attempts[1]).toMatchObject({ unlockCommandId: `unlock-${attempts[1]!.attemptId}` });
    expect(attempts[1]!.paymentId).not.toBeNull();
    expect(attempts[2]).toMatchObject({ unlockCommandId: `unlock-${attempts[2]!.attemptId}`, detail: 'door jammed' });
    expect(attempts[3]).toMatchObject({ unlockCommandId: null });
    expect(attempts.map((a) => a.at)).toEqual([...attempts.map((a) => a.at)].sort((a, b) => a - b));

    const mine = await rentals.startAttemptsOfCustomer(r.customerId, 10);
    expect(mine.map((a) => a.failure)).toEqual(['vehicle_unreachable', 'unlock_failed', 'unlock_timeout', 'payment_declined']);
    expect(mine.every((a) => a.sourceKind === 'reservation' && a.vehicleId === r.vehicleId)).toBe(true);
    expect(await rentals.startAttemptsOfCustomer(r.customerId, 2)).toHaveLength(2);
    // another customer's: none of these
    const other = await reservation();
    expect(await rentals.startAttemptsOfCustomer(other.customerId, 10)).toEqual([]);
  });

  it('an acknowledgement that lands just after the timeout still starts the rental (the cancel finds it succeeded)', async () => {
    const r = await reservation();
    commands.behaviour = { unlock: 'succeed-late' };
    await expect(rentals.start({ customerId: r.customerId, reservationId: r.reservationId })).resolves.toMatchObject({
      status: 'active',
      unlock: { status: 'succeeded' },
    });
  });

  it('two concurrent starts of one reservation: one rental, one unlock, the other refused', async () => {
    const r = await reservation();
    const results = await Promise.allSettled(
      [1, 2, 3].map(() => rentals.start({ customerId: r.customerId, reservationId: r.reservationId })),
    );
    const ok = results.filter((x) => x.status === 'fulfilled');
    expect(ok).toHaveLength(1);
    for (const x of results) if (x.status === 'rejected') expect((x.reason as AppError).status).toBe(409);
    expect(commands.ofType('unlock').filter((c) => c.vehicleId === r.vehicleId)).toHaveLength(1);
    const { rows } = await db.query<{ n: number }>(
      "select count(*)::float8 as n from allocations where vehicle_id = $1 and kind = 'rental'",
      [r.vehicleId],
    );
    expect(rows[0]!.n).toBe(1);
  });

  it('ending: 409 with every blocker from the latest telemetry; then priced, captured in the same transaction, audited, locked', async () => {
    const r = await reservation(20);
    const res = await rentals.start({ customerId: r.customerId, reservationId: r.reservationId });
    telemetry.park(r.vehicleId, { lat: 52.6, doorsClosed: false, ignition: true });
    const blocked = await rentals.end(res.rentalId, { kind: 'customer', customerId: r.customerId }).catch((e: unknown) => e);
    expect(blocked).toBeInstanceOf(RentalEndBlockedError);
    expect((blocked as RentalEndBlockedError).blockers.map((b) => b.code)).toEqual(['outside_operating_zone', 'doors_open', 'ignition_on']);
    expect(await outbox(res.rentalId)).toEqual([]);

    // another customer cannot end it (nor learn it exists)
    const stranger = await reservation();
    await expect(rentals.end(res.rentalId, { kind: 'customer', customerId: stranger.customerId })).rejects.toMatchObject({
      code: 'rental_not_found',
      status: 404,
    });

    const startedAt = Date.parse(res.startedAt);
    telemetry.history.set(r.vehicleId, [
      { at: startedAt + 1, ignition: true, speedKph: 30, odometerKm: 1000 },
      { at: startedAt + 2, ignition: false, speedKph: 0, odometerKm: 1212 },
    ]);
    telemetry.park(r.vehicleId, { odometerKm: 1212 });
    const done = await rentals.end(res.rentalId, { kind: 'customer', customerId: r.customerId });
    expect(done.rental).toMatchObject({ status: 'ended', overran: false, start: { odometerKm: 1000 }, end: { odometerKm: 1212 } });
    const codes = done.price.lines.map((l) => l.code);
    // 212 km with 200 included; reserved 20 min with 15 free
    expect(codes).toEqual(['driving', 'parked', 'distance', 'reservation_fee']);
    expect(done.price.lines.find((l) => l.code === 'distance')).toMatchObject({ quantity: 12, amountCents: 12 * 29 });
    // held 20 min and the moments until the start: 21 started minutes, 15 of them free
    expect(done.price.lines.find((l) => l.code === 'reservation_fee')).toMatchObject({ quantity: 6, amountCents: 6 * 9 });
    expect(done.price.totalCents).toBe(done.price.lines.reduce((s, l) => s + l.amountCents, 0));
    expect(done.receipt).toMatchObject({
      rentalId: res.rentalId,
      totalCents: done.price.totalCents,
      currency: 'EUR',
      payment: { status: 'capture_pending' },
    });
    expect(await outbox(res.rentalId)).toEqual([{ kind: 'capture', amount_cents: done.price.totalCents }]);
    expect(done.lock).toMatchObject({ commandId: `lock-${res.rentalId}`, status: 'succeeded', acknowledged: true });
    expect(ended).toContainEqual(expect.objectContaining({ rentalId: res.rentalId }));
    const audit = await listAudit(db, { targetType: 'rental', targetId: res.rentalId, limit: 10 });
    expect(audit.map((a) => [a.action, a.actor, a.role])).toEqual([['rental.ended', r.customerId, 'customer']]);
    const { rows } = await db.query<{ closed: boolean }>('select upper(period) = ended_at as closed from allocations where id = $1', [
      res.rentalId,
    ]);
    expect(rows[0]!.closed).toBe(true);

    // ending again answers the stored result, and charges nothing more
    const again = await rentals.end(res.rentalId, { kind: 'customer', customerId: r.customerId });
    expect(again).toMatchObject({ endedNow: false, price: { totalCents: done.price.totalCents } });
    expect(await outbox(res.rentalId)).toHaveLength(1);
  });

  it('concurrent ends of one rental capture once', async () => {
    const r = await reservation();
    const res = await rentals.start({ customerId: r.customerId, reservationId: r.reservationId });
    const results = await Promise.all([1, 2, 3, 4].map(() => rentals.end(res.rentalId, { kind: 'customer', customerId: r.customerId })));
    expect(results.filter((x) => x.endedNow)).toHaveLength(1);
    expect(new Set(results.map((x) => x.price.totalCents)).size).toBe(1);
    expect(await outbox(res.rentalId)).toHaveLength(1);
  });

  it('a lock the car does not confirm still ends the rental, and says so', async () => {
    const r = await reservation();
    const res = await rentals.start({ customerId: r.customerId, reservationId: r.reservationId });
    commands.behaviour = { lock: 'silent' };
    const done = await rentals.end(res.rentalId, { kind: 'customer', customerId: r.customerId });
    expect(done.rental.status).toBe('ended');
    expect(done.lock).toMatchObject({ status: 'sent', acknowledged: false });
  });

  it('staff end on behalf: blockers refuse unless overridden; the override is audited with the reason and the blockers', async () => {
    const r = await reservation();
    const res = await rentals.start({ customerId: r.customerId, reservationId: r.reservationId });
    telemetry.park(r.vehicleId, { doorsClosed: false, telemetryAt: Date.now() - 10 * MIN });
    const actor = { id: 'agent-7', role: 'support' as const };
    await expect(
      rentals.end(res.rentalId, { kind: 'staff', actor, reason: 'customer stuck', overrideBlockers: false }),
    ).rejects.toBeInstanceOf(RentalEndBlockedError);
    const done = await rentals.end(res.rentalId, { kind: 'staff', actor, reason: 'customer stuck', overrideBlockers: true });
    expect(done.overriddenBlockers.map((b) => b.code)).toEqual(['no_fresh_telemetry', 'doors_open']);
    const detail = await rentals.staffDetail(res.rentalId);
    expect(detail.rental).toMatchObject({ status: 'ended', endedBy: 'agent-7', endReason: 'customer stuck' });
    expect(detail.evidence.audit[0]).toMatchObject({
      action: 'rental.ended_override',
      actor: 'agent-7',
      role: 'support',
      reason: 'customer stuck',
      after: { overriddenBlockers: ['no_fresh_telemetry', 'doors_open'] },
    });
    expect(detail.evidence.commands.map((c) => c.type).sort()).toEqual(['lock', 'unlock']);
    expect(await rentals.listRentalsForCustomer(r.customerId, 10)).toHaveLength(1);
    expect(await rentals.listForStaff({ vehicleId: r.vehicleId, status: 'ended', limit: 10 })).toHaveLength(1);
  });
});
