/**
 * Use case: start a rental from the customer's own reservation (still held) or booking (window started, or about
 * to: `bookingEarlyStartMs`). Order matters — cheap checks first, external effects last, and every external
 * effect undone when a later step fails:
 *
 *   checks (source, customer, payment method, next booking) → lease on the source (one attempt at a time, any
 *   instance) → payment hold → unlock command, wait for the car (RENTAL_UNLOCK_TIMEOUT_MS) → ONE transaction:
 *   source `converted` + rental `active` [now, returnBy) → `rental.started`.
 *
 * When the car does not acknowledge in time (or answers failed): the unlock is cancelled, a lock follows if the
 * unlock may have reached the car, the hold is voided (outbox, with the lease release in one transaction) and
 * the reservation is kept — the customer may try again. 504 `unlock_not_acknowledged` / 502 `unlock_failed`.
 * When the server cannot reach the cars at all (its broker is down), it does not wait for an unlock that cannot be
 * delivered: the same undo, and 503 `vehicle_unreachable` with Retry-After.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../../../../../src/shared/errors.js';
import { errorFields } from '../../../platform/log.js';
import type { StartSource } from '../../bookings/index.js';
import { commandReason } from '../../../../../src/shared/command-reasons.js';
import type { CommandRecord } from '../../commands/index.js';
import { customerCommandActor, type RentalsContext } from './rentals-context.js';
import type { StartFailure } from '../../../../../src/shared/start-failures.js';
import type { StartAttemptRow } from '../data/rentals.repository.js';

export type RentalStartInput = { customerId: string } & (
  { reservationId: string; bookingId?: undefined } | { bookingId: string; reservationId?: undefined }
);

export interface RentalStarted {
  rentalId: string;
  status: 'active';
  vehicleId: string;
  startedAt: string;
  returnBy: string | null;
  unlock: { commandId: string; status: string };
  payment: { paymentId: string; holdCents: number; currency: string };
}

/** Extra time the lease outlives the hold deadline + unlock timeout (the commit after the unlock). */
const LEASE_MARGIN_MS = 30_000;
/** The start transaction is retried once when a booking slipped in meanwhile (23P01): returnBy is recomputed (a 23505, another active rental of the car, fails again and ends it). */
const COMMIT_ATTEMPTS = 2;

type UnlockOutcome =
  | { ok: true; command: CommandRecord }
  | { ok: false; command: CommandRecord | null; failure: 'unlock_timeout' | 'unlock_failed' | 'vehicle_unreachable' };

/** Retry-After of a start refused because the broker is down: about when a reconnect attempt may have succeeded. */
const UNREACHABLE_RETRY_AFTER_S = 30;

/** A hold older than a start's whole lease by this much, with no rental behind it, was abandoned. */
const ABANDONED_HOLD_GRACE_MS = 60_000;

/**
 * Holds left behind by starts that never finished — the server stopped between the hold and the rental's commit
 * or its undo — are voided through the payments outbox (the customer's card is not blocked for days). A hold
 * counts as abandoned once it is older than a start's lease (hold deadline + unlock wait + margin) plus a grace,
 * no rental carries its id and no live start attempt does; its expired claim on the reservation is cleared in the
 * same transaction, so a start that wakes up late cannot convert the reservation with a voided hold.
 */
export async function sweepAbandonedHolds(ctx: RentalsContext, limit = 200): Promise<number> {
  if (!ctx.payments.staleHolds) return 0;
  const olderThan = ctx.settings.holdDeadlineMs + ctx.settings.unlockTimeoutMs + LEASE_MARGIN_MS + ABANDONED_HOLD_GRACE_MS;
  const stale = await ctx.payments.staleHolds(olderThan, limit);
  let voided = 0;
  for (const hold of stale) {
    const abandoned = await ctx.repo.database.transaction(async (tx) => {
      if (!(await ctx.claims.abandonStartAttempt(tx, hold.rentalId, ctx.now()))) return false;
      await ctx.payments.enqueueVoid(tx, {
        rentalId: hold.rentalId,
        paymentId: hold.paymentId,
        reason: 'abandoned rental start: the server stopped before the rental began',
      });
      return true;
    });
    if (abandoned) {
      voided++;
      ctx.log.warn('voiding the hold of an abandoned rental start', { rentalId: hold.rentalId, paymentId: hold.paymentId });
    }
  }
  return voided;
}

export async function startRental(ctx: RentalsContext, input: RentalStartInput): Promise<RentalStarted> {
  const { repo, claims, log } = ctx;
  const kind = input.reservationId !== undefined ? 'reservation' : 'booking';
  const sourceId = (input.reservationId ?? input.bookingId)!;
  const now = ctx.now();

  const source = await claims.findStartSource(repo.database, input.customerId, kind, sourceId);
  if (!source) throw new AppError(`${kind}_not_found`, `no ${kind} ${sourceId}`, { status: 404 });
  checkStartable(ctx, source, now);
  await checkCustomer(ctx, input.customerId);
  const method = await ctx.payments.defaultPaymentMethod(input.customerId);
  if (!method)
    throw new AppError('payment_method_required', 'add a payment method before starting a rental (POST /v1/me/payment-methods)', {
      status: 402,
    });
  // a booking's own quoted version; else (a reservation) the version in force now, at the start
  const tariff = await ctx.pricing.loadTariff(repo.database, source.vehicleId, { versionId: source.tariffVersionId, at: now });
  const next = await claims.nextAllocationStart(repo.database, source.vehicleId, now, source.id);
  checkReturnWindow(ctx, next, now);

  const rentalId = randomUUID();
  const leaseUntil = now + ctx.settings.holdDeadlineMs + ctx.settings.unlockTimeoutMs + LEASE_MARGIN_MS;
  const leased = await repo.database.transaction(async (tx) => {
    return claims.claimStartSource(tx, source.id, rentalId, now, leaseUntil);
  });
  if (!leased) {
    throw new AppError(
      'rental_start_in_progress',
      `${kind} ${source.id} is being started by another request (or no longer startable); try again shortly`,
      { status: 409 },
    );
  }
  const slog = log.child({ rentalId, vehicleId: source.vehicleId, sourceId: source.id });

  // --- payment hold
  const holdCents = ctx.pricing.estimateHoldCents(tariff);
  let paymentId: string;
  try {
    const hold = await ctx.payments.authorizeHold(
      {
        rentalId,
        customerId: input.customerId,
        paymentMethodId: method.paymentMethodId,
        amountCents: holdCents,
        currency: tariff.currency,
        idempotencyKey: `rental-hold-${rentalId}`,
      },
      ctx.settings.holdDeadlineMs,
    );
    if (hold.status !== 'authorized') {
      const failure = hold.status === 'declined' ? 'payment_declined' : 'payment_unavailable';
      await releaseQuietly(ctx, source.id, rentalId, { failure, detail: hold.reason, paymentId: null });
      ctx.metrics.startFailed.inc({ reason: failure });
      if (hold.status === 'declined')
        throw new AppError(
          'payment_declined',
          `the payment hold of ${holdCents} ${tariff.currency} minor units was declined: ${hold.reason}`,
          { status: 402 },
        );
      // the provider's own reason stays in the log (the cause): a 5xx answer carries no internal message
      throw new AppError('payment_provider_unavailable', 'the payment provider did not answer in time; nothing was charged, try again', {
        status: 503,
        cause: new Error(hold.reason),
      });
    }
    paymentId = hold.paymentId;
  } catch (err) {
    if (err instanceof AppError) throw err;
    await releaseQuietly(ctx, source.id, rentalId, { failure: 'payment_unavailable', detail: null, paymentId: null });
    ctx.metrics.startFailed.inc({ reason: 'payment_unavailable' });
    slog.error('payment hold failed', errorFields(err));
    throw new AppError('payment_provider_unavailable', 'the payment hold could not be placed; nothing was charged, try again', {
      status: 503,
      cause: err,
    });
  }

  // --- unlock, and wait for the car
  const unlockCommandId = `unlock-${rentalId}`;
  let outcome: UnlockOutcome;
  try {
    outcome = await unlockAndWait(ctx, source, input.customerId, rentalId, unlockCommandId);
  } catch (err) {
    // issuing or waiting failed (unknown vehicle, shutting down...): stop the command if it exists, then undo
    const actor = customerCommandActor(input.customerId);
    await ctx.commands.cancelCommand(unlockCommandId, commandReason.rentalStartFailed(rentalId), actor).catch(() => undefined);
    const unlock = await ctx.commands.getCommand(unlockCommandId).catch(() => null);
    await undoStart(ctx, {
      source,
      rentalId,
      paymentId,
      unlock,
      failure: 'unlock_not_issued',
      detail: err instanceof Error ? err.message : null,
    });
    if (err instanceof AppError && err.status < 500)
      throw new AppError('vehicle_unavailable', `the car cannot be unlocked: ${err.message}`, { status: 409, cause: err });
    throw err;
  }
  if (!outcome.ok) {
    await undoStart(ctx, {
      source,
      rentalId,
      paymentId,
      unlock: outcome.command,
      failure: outcome.failure,
      detail: outcome.failure === 'unlock_failed' ? (outcome.command?.lastResultReason ?? null) : null,
    });
    ctx.metrics.startFailed.inc({ reason: outcome.failure });
    if (outcome.failure === 'vehicle_unreachable') {
      const since = ctx.vehicleLink?.brokerDownSince();
      throw new AppError(
        'vehicle_unreachable',
        `the car cannot be reached right now (our connection to the cars is down${since ? ` since ${new Date(since).toISOString()}` : ''}); your payment hold was released and your ${kind} is kept — try again in a moment`,
        { status: 503, retryAfterS: UNREACHABLE_RETRY_AFTER_S },
      );
    }
    if (outcome.failure === 'unlock_failed') {
      throw new AppError(
        'unlock_failed',
        `the car reported that it could not unlock (${outcome.command?.lastResultReason ?? 'no reason given'}); your payment hold was released and your ${kind} is kept — try again or choose another car`,
        { status: 502 },
      );
    }
    throw new AppError(
      'unlock_not_acknowledged',
      `the car did not confirm the unlock within ${Math.round(ctx.settings.unlockTimeoutMs / 1000)} s (it may have no reception); your payment hold was released and your ${kind} is kept — try again`,
      { status: 504 },
    );
  }

  // --- commit: the source becomes the rental
  const startedAt = ctx.now();
  const state = await ctx.telemetry.latestState(source.vehicleId).catch(() => null);
  let committed: { returnBy: number | null } | null = null;
  let conflict = 'the reservation was cancelled or the car was taken meanwhile';
  for (let attempt = 1; attempt <= COMMIT_ATTEMPTS && !committed; attempt++) {
    try {
      committed = await ctx.repo.database.transaction(async (tx) => {
        // the car's next claim is read, then the rental inserted: no other claim on the car in between
        await claims.lockClaimants(tx, { vehicleId: source.vehicleId, customerId: input.customerId });
        if (!(await claims.convertSource(tx, source.id, rentalId))) return null;
        const returnBy = await claims.nextAllocationStart(tx, source.vehicleId, startedAt, null);
        if (returnBy !== null && returnBy <= startedAt) {
          conflict = 'the car is booked by someone else from now on';
          throw new ReturnWindowGone();
        }
        await claims.insertRental(tx, {
          id: rentalId,
          customerId: input.customerId,
          vehicleId: source.vehicleId,
          sourceId: source.id,
          startedAt,
          returnBy,
          startOdometerKm: state?.odometerKm ?? null,
          startLat: state?.lat ?? null,
          startLon: state?.lon ?? null,
          paymentId,
          unlockCommandId,
          currency: tariff.currency,
          tariffVersionId: tariff.versionId ?? null,
        });
        return { returnBy };
      });
      if (!committed) break;
    } catch (err) {
      if (err instanceof ReturnWindowGone) break;
      if (claims.isAllocationConflict(err)) {
        conflict = 'another reservation, booking or rental of the car overlaps';
        continue;
      }
      await undoStart(ctx, {
        source,
        rentalId,
        paymentId,
        unlock: outcome.command,
        failure: 'not_recorded',
        detail: err instanceof Error ? err.message : null,
      });
      ctx.metrics.startFailed.inc({ reason: 'conflict' });
      throw err;
    }
  }
  if (!committed) {
    await undoStart(ctx, { source, rentalId, paymentId, unlock: outcome.command, failure: 'start_conflict', detail: conflict });
    ctx.metrics.startFailed.inc({ reason: 'conflict' });
    throw new AppError(
      'rental_start_conflict',
      `the rental could not start: ${conflict}; your payment hold was released and the car is locked again`,
      { status: 409 },
    );
  }

  ctx.metrics.started.inc();
  ctx.events?.emit('allocation.changed', {
    allocationId: source.id,
    kind: source.kind,
    vehicleId: source.vehicleId,
    customerId: input.customerId,
    status: 'converted',
    at: startedAt,
  });
  ctx.events?.emit('allocation.changed', {
    allocationId: rentalId,
    kind: 'rental',
    vehicleId: source.vehicleId,
    customerId: input.customerId,
    status: 'active',
    at: startedAt,
  });
  ctx.events?.emit('rental.started', { rentalId, vehicleId: source.vehicleId, customerId: input.customerId, at: startedAt });
  slog.info('rental started', { customerId: input.customerId, returnBy: committed.returnBy });
  return {
    rentalId,
    status: 'active',
    vehicleId: source.vehicleId,
    startedAt: new Date(startedAt).toISOString(),
    returnBy: committed.returnBy === null ? null : new Date(committed.returnBy).toISOString(),
    unlock: { commandId: unlockCommandId, status: outcome.command.status },
    payment: { paymentId, holdCents, currency: tariff.currency },
  };
}

class ReturnWindowGone extends Error {}

function checkStartable(ctx: RentalsContext, source: StartSource, now: number): void {
  if (source.kind === 'reservation') {
    if (source.status === 'converted')
      throw new AppError('reservation_already_started', `reservation ${source.id} already became rental ${source.rentalId ?? '?'}`, {
        status: 409,
      });
    if (source.status !== 'held' || source.endsAt <= now)
      throw new AppError(
        'reservation_not_held',
        `reservation ${source.id} is no longer held (${source.status === 'held' ? 'expired' : source.status})`,
        { status: 409 },
      );
    return;
  }
  if (source.status === 'converted')
    throw new AppError('booking_already_started', `booking ${source.id} already became rental ${source.rentalId ?? '?'}`, { status: 409 });
  if (source.status !== 'confirmed') throw new AppError('booking_not_active', `booking ${source.id} is ${source.status}`, { status: 409 });
  if (now < source.startsAt - ctx.settings.bookingEarlyStartMs) {
    throw new AppError(
      'booking_not_started',
      `booking ${source.id} can be started from ${new Date(source.startsAt - ctx.settings.bookingEarlyStartMs).toISOString()}`,
      { status: 409 },
    );
  }
  if (now >= source.endsAt)
    throw new AppError('booking_ended', `booking ${source.id} ended at ${new Date(source.endsAt).toISOString()}`, { status: 409 });
}

async function checkCustomer(ctx: RentalsContext, customerId: string): Promise<void> {
  const e = await ctx.customers.eligibility(customerId);
  if (!e.exists) throw new AppError('customer_not_found', 'no such customer', { status: 404 });
  if (e.blocked) throw new AppError('customer_blocked', 'your account is blocked; contact support', { status: 403 });
  if (e.licenceStatus !== 'verified') {
    throw new AppError(
      'licence_not_verified',
      `a verified driver licence is required to start a rental (yours is ${e.licenceStatus}; PUT /v1/me/driver-licence)`,
      { status: 403 },
    );
  }
}

/** `returnBy`: lower(period) of the car's next claim (its buffer included), or null. */
function checkReturnWindow(ctx: RentalsContext, returnBy: number | null, now: number): void {
  if (returnBy === null) return;
  if (returnBy - now < ctx.settings.minRentalMs) {
    throw new AppError('vehicle_booked_soon', `the car is booked soon: it would have to be back by ${new Date(returnBy).toISOString()}`, {
      status: 409,
    });
  }
}

async function unlockAndWait(
  ctx: RentalsContext,
  source: StartSource,
  customerId: string,
  rentalId: string,
  commandId: string,
): Promise<UnlockOutcome> {
  // the broker is down: the unlock would only wait in the queue until it expires
  if (brokerDown(ctx)) return { ok: false, command: null, failure: 'vehicle_unreachable' };
  const actor = customerCommandActor(customerId);
  await ctx.commands.issueCommand({
    vehicleId: source.vehicleId,
    type: 'unlock',
    reason: commandReason.rentalStart(rentalId, source.kind, source.id, customerId),
    // the command expires when we stop waiting: the car must never open after the customer was told it failed
    ttlSeconds: Math.max(5, Math.ceil(ctx.settings.unlockTimeoutMs / 1000)),
    actor,
    commandId,
  });
  const waited = await ctx.commands.waitForTerminal(commandId, ctx.settings.unlockTimeoutMs);
  if (waited.status === 'succeeded') return { ok: true, command: waited };
  if (waited.status === 'failed') return { ok: false, command: waited, failure: 'unlock_failed' };
  if (waited.status === 'expired' || waited.status === 'cancelled') return { ok: false, command: waited, failure: 'unlock_timeout' };
  // still open: cancel it; if it finished in between, take the finished state
  try {
    const cancelled = await ctx.commands.cancelCommand(
      commandId,
      commandReason.rentalStartGaveUp(rentalId, ctx.settings.unlockTimeoutMs),
      actor,
    );
    // never sent because the broker went away meanwhile: unreachable, not unanswered
    const unreachable = cancelled.sentAt === null && brokerDown(ctx);
    return { ok: false, command: cancelled, failure: unreachable ? 'vehicle_unreachable' : 'unlock_timeout' };
  } catch {
    const latest = await ctx.commands.getCommand(commandId).catch(() => waited);
    if (latest.status === 'succeeded') return { ok: true, command: latest };
    return { ok: false, command: latest, failure: latest.status === 'failed' ? 'unlock_failed' : 'unlock_timeout' };
  }
}

function brokerDown(ctx: RentalsContext): boolean {
  return (ctx.vehicleLink?.brokerDownSince() ?? null) !== null;
}

/** how a failure is worded in the re-lock command's reason and the void's reason (the failure code otherwise) */
const START_FAILURE_WHY: Partial<Record<StartFailure, string>> = {
  unlock_not_issued: 'unlock could not be issued',
  not_recorded: 'the rental could not be recorded',
};

/**
 * Undoes a start that will not happen: a lock when the unlock may have reached the car (it could execute late),
 * the hold voided, the lease released and the failed start recorded in one transaction (the void goes through the
 * payments outbox).
 */
async function undoStart(
  ctx: RentalsContext,
  a: {
    source: StartSource;
    rentalId: string;
    paymentId: string;
    unlock: CommandRecord | null;
    failure: StartFailure;
    detail: string | null;
  },
): Promise<void> {
  const why = a.failure === 'start_conflict' && a.detail ? a.detail : (START_FAILURE_WHY[a.failure] ?? a.failure);
  const log = ctx.log.child({ rentalId: a.rentalId, vehicleId: a.source.vehicleId });
  const mayHaveUnlocked = a.unlock !== null && a.unlock.sentAt !== null && a.unlock.status !== 'failed';
  if (mayHaveUnlocked) {
    try {
      await ctx.commands.issueCommand({
        vehicleId: a.source.vehicleId,
        type: 'lock',
        reason: commandReason.rentalRelock(a.rentalId, why),
        ttlSeconds: 3_600,
        actor: customerCommandActor(a.source.customerId),
        commandId: `relock-${a.rentalId}`,
      });
    } catch (err) {
      log.error('re-lock after a failed rental start could not be issued', errorFields(err));
    }
  }
  try {
    await ctx.repo.database.transaction(async (tx) => {
      await ctx.payments.enqueueVoid(tx, { rentalId: a.rentalId, paymentId: a.paymentId, reason: `rental start failed: ${why}` });
      await ctx.claims.releaseStartSource(tx, a.source.id, a.rentalId);
      await ctx.repo.recordStartAttempt(tx, {
        sourceId: a.source.id,
        attemptId: a.rentalId,
        at: ctx.now(),
        failure: a.failure,
        detail: a.detail,
        unlockCommandId: a.unlock?.commandId ?? null,
        paymentId: a.paymentId,
      });
    });
  } catch (err) {
    // the lease expires by itself; the hold would stay until the provider drops it — say so loudly
    log.error('voiding the hold of a failed rental start failed', { paymentId: a.paymentId, ...errorFields(err) });
  }
  log.warn('rental start undone', { why, relocked: mayHaveUnlocked, unlockStatus: a.unlock?.status ?? null });
}

async function releaseQuietly(
  ctx: RentalsContext,
  sourceId: string,
  attemptId: string,
  failed: Pick<StartAttemptRow, 'failure' | 'detail' | 'paymentId'>,
): Promise<void> {
  await ctx.repo.database
    .transaction(async (tx) => {
      await ctx.claims.releaseStartSource(tx, sourceId, attemptId);
      await ctx.repo.recordStartAttempt(tx, { sourceId, attemptId, at: ctx.now(), unlockCommandId: null, ...failed });
    })
    .catch((err: unknown) => ctx.log.warn('releasing a rental start lease failed', errorFields(err)));
}
