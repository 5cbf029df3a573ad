/**
 * Use case: end a rental — by the customer, or by support/admin on their behalf (reason required, audited;
 * overriding the blockers is audited with the blockers overridden).
 *
 *   blockers from the LATEST telemetry (zone, doors, ignition, moving, freshness) → 409 listing them
 *   → usage measured from the telemetry history of the rental window → price (pricing.priceRental)
 *   → ONE transaction: rental `ended`, period closed, price stored, capture (or void) queued in the payments
 *     outbox, audit — so a rental can never end uncharged nor be charged without ending
 *   → lock command, waited for (bounded); not acknowledged → the rental still ends, a warning and a metric say so
 *   → `rental.ended`.
 *
 * Ending an ended rental answers its stored result again (idempotent; also when two ends race).
 */
import { AppError } from '../../../../../src/shared/errors.js';
import { commandReason } from '../../../../../src/shared/command-reasons.js';
import type { Actor } from '../../../platform/http/actor.js';
import { errorFields } from '../../../platform/log.js';
import { recordAudit } from '../../audit/index.js';
import type { RentalRow } from '../../bookings/index.js';
import {
  buildReceipt,
  customerCommandActor,
  paymentsSummary,
  rentalView,
  type Receipt,
  type RentalView,
  type RentalsContext,
  type StoredPrice,
} from './rentals-context.js';
import { judgeEndBlockers, type EndBlocker } from './rentals-end-blockers.js';
import { measureUsage } from './rentals-usage.js';

export type RentalEnder =
  { kind: 'customer'; customerId: string } | { kind: 'staff'; actor: Actor; reason: string; overrideBlockers: boolean };

export interface LockReport {
  commandId: string | null;
  /** the command's state when we stopped waiting (succeeded = the car confirmed it is locked) */
  status: string;
  acknowledged: boolean;
}

export interface RentalEnded {
  rental: RentalView;
  price: StoredPrice;
  receipt: Receipt;
  lock: LockReport;
  /** blockers a staff member overrode (empty otherwise) */
  overriddenBlockers: EndBlocker[];
  /** false when this call found the rental already ended (the stored result is answered) */
  endedNow: boolean;
}

/** 409 with the list of what prevents ending (the route puts `blockers` into the problem document). */
export class RentalEndBlockedError extends AppError {
  constructor(readonly blockers: EndBlocker[]) {
    super('rental_end_blocked', `the rental cannot end here and now: ${blockers.map((b) => b.code).join(', ')}`, { status: 409 });
  }
}

export async function endRental(ctx: RentalsContext, rentalId: string, by: RentalEnder): Promise<RentalEnded> {
  const { repo, claims } = ctx;
  const scope = by.kind === 'customer' ? { customerId: by.customerId } : {};
  const rental = await claims.getRental(repo.database, rentalId, scope);
  if (!rental) throw new AppError('rental_not_found', `no rental ${rentalId}`, { status: 404 });
  if (rental.status === 'ended') return alreadyEnded(ctx, rental);

  const now = ctx.now();
  const { state, blockers } = await currentBlockers(ctx, rental.vehicleId, now);
  const override = by.kind === 'staff' && by.overrideBlockers;
  if (blockers.length > 0 && !override) {
    for (const b of blockers) ctx.metrics.endBlocked.inc({ code: b.code });
    // kept for the rental's evidence; the refusal is the answer even when it cannot be kept
    await repo
      .recordEndAttempt({
        rentalId: rental.id,
        at: now,
        byKind: by.kind,
        byId: by.kind === 'customer' ? by.customerId : by.actor.id,
        blockers,
      })
      .catch((err: unknown) => ctx.log.warn('a refused rental end could not be recorded', { rentalId: rental.id, ...errorFields(err) }));
    throw new RentalEndBlockedError(blockers);
  }

  const samples = await ctx.telemetry.samples(rental.vehicleId, rental.startedAt, now);
  const reservationMinutes =
    rental.sourceKind === 'reservation' && rental.sourceStartsAt !== null ? (rental.startedAt - rental.sourceStartsAt) / 60_000 : 0;
  const usage = measureUsage({
    startedAt: rental.startedAt,
    endedAt: now,
    samples,
    startOdometerKm: rental.startOdometerKm,
    endOdometerKm: state?.odometerKm ?? null,
    reservationMinutes,
  });
  // the version the rental started with (stored at start), never a later one
  const tariff = await ctx.pricing.loadTariff(repo.database, rental.vehicleId, { versionId: rental.tariffVersionId, at: rental.startedAt });
  // pricing checks every field it is given: only the RentalUsage ones
  const breakdown = ctx.pricing.priceRental(tariff, {
    startedAt: usage.startedAt,
    endedAt: usage.endedAt,
    drivingMinutes: usage.drivingMinutes,
    parkedMinutes: usage.parkedMinutes,
    distanceKm: usage.distanceKm,
    reservationMinutes: usage.reservationMinutes,
  });
  const price: StoredPrice = { ...breakdown, usage };
  const lockCommandId = `lock-${rental.id}`;
  const endedBy = by.kind === 'customer' ? `customer:${by.customerId}` : by.actor.id;
  const endReason = by.kind === 'staff' ? by.reason : null;

  const ended = await repo.database.transaction(async (tx) => {
    const row = await claims.endRental(tx, {
      id: rental.id,
      endedAt: now,
      endOdometerKm: state?.odometerKm ?? null,
      endLat: state?.lat ?? null,
      endLon: state?.lon ?? null,
      price,
      totalCents: breakdown.totalCents,
      currency: breakdown.currency,
      endedBy,
      endReason,
      lockCommandId,
    });
    if (!row) return null;
    if (rental.paymentId) {
      if (breakdown.totalCents > 0) {
        await ctx.payments.enqueueCapture(tx, {
          rentalId: rental.id,
          paymentId: rental.paymentId,
          amountCents: breakdown.totalCents,
          currency: breakdown.currency,
        });
      } else {
        await ctx.payments.enqueueVoid(tx, {
          rentalId: rental.id,
          paymentId: rental.paymentId,
          reason: 'rental ended with nothing to charge',
        });
      }
    }
    await recordAudit(tx, {
      actor: by.kind === 'customer' ? by.customerId : by.actor.id,
      role: by.kind === 'customer' ? 'customer' : by.actor.role,
      action: override && blockers.length > 0 ? 'rental.ended_override' : 'rental.ended',
      targetType: 'rental',
      targetId: rental.id,
      reason: endReason,
      before: { status: 'active' },
      after: {
        status: 'ended',
        totalCents: breakdown.totalCents,
        currency: breakdown.currency,
        overriddenBlockers: override ? blockers.map((b) => b.code) : [],
      },
      at: now,
    });
    return row;
  });
  // ended concurrently by someone else: answer what they stored
  if (!ended) return alreadyEnded(ctx, (await claims.getRental(repo.database, rental.id, {}))!);

  ctx.metrics.ended.inc({ by: by.kind });
  ctx.events?.emit('allocation.changed', {
    allocationId: rental.id,
    kind: 'rental',
    vehicleId: rental.vehicleId,
    customerId: rental.customerId,
    status: 'ended',
    at: now,
  });
  ctx.events?.emit('rental.ended', { rentalId: rental.id, vehicleId: rental.vehicleId, customerId: rental.customerId, at: now });
  const lock = await lockAndWait(ctx, ended, by, lockCommandId);
  ctx.log.info('rental ended', {
    rentalId: rental.id,
    vehicleId: rental.vehicleId,
    by: by.kind,
    totalCents: breakdown.totalCents,
    lock: lock.status,
    overridden: override ? blockers.length : 0,
  });
  const receipt = buildReceipt(ended, await paymentsSummary(ctx, rental.id))!;
  return { rental: rentalView(ended), price, receipt, lock, overriddenBlockers: override ? blockers : [], endedNow: true };
}

/** What would stop the rental ending now, judged from the car's latest telemetry (the end's own rule). */
async function currentBlockers(ctx: RentalsContext, vehicleId: string, now: number) {
  const state = await ctx.telemetry.latestState(vehicleId);
  const zones = await ctx.telemetry.endZones();
  const operating = zones.filter((z) => z.kind !== 'no_parking');
  const blockers = judgeEndBlockers(
    state,
    operating.length > 0 ? operating : ctx.fallbackZones,
    now,
    ctx.settings.endTelemetryMaxAgeMs,
    zones.filter((z) => z.kind === 'no_parking'),
  );
  return { state, blockers };
}

export interface RentalEndCheck {
  rentalId: string;
  status: 'active' | 'ended';
  /** when the check was made (epoch ms) */
  checkedAt: number;
  /** the car's latest telemetry the check was judged on (epoch ms; null: none yet, or the rental has ended) */
  telemetryAt: number | null;
  /** what stops an end now (empty: it may end; always empty once ended) */
  blockers: EndBlocker[];
}

/** The end check without ending (support looks before ending on the customer's behalf). Reads only. */
export async function checkRentalEnd(ctx: RentalsContext, rentalId: string): Promise<RentalEndCheck> {
  const rental = await ctx.claims.getRental(ctx.repo.database, rentalId, {});
  if (!rental) throw new AppError('rental_not_found', `no rental ${rentalId}`, { status: 404 });
  const now = ctx.now();
  if (rental.status === 'ended') return { rentalId: rental.id, status: 'ended', checkedAt: now, telemetryAt: null, blockers: [] };
  const { state, blockers } = await currentBlockers(ctx, rental.vehicleId, now);
  return { rentalId: rental.id, status: 'active', checkedAt: now, telemetryAt: state?.telemetryAt ?? null, blockers };
}

async function lockAndWait(ctx: RentalsContext, rental: RentalRow, by: RentalEnder, commandId: string): Promise<LockReport> {
  const log = ctx.log.child({ rentalId: rental.id, vehicleId: rental.vehicleId, commandId });
  const actor = by.kind === 'customer' ? customerCommandActor(by.customerId) : by.actor;
  try {
    await ctx.commands.issueCommand({
      vehicleId: rental.vehicleId,
      type: 'lock',
      reason: commandReason.rentalEnd(rental.id, by.kind === 'staff' ? by.actor.id : null),
      // a lock stays useful for a while (the car may be briefly offline); it is never harmful late
      ttlSeconds: 3_600,
      actor,
      commandId,
    });
    const command = await ctx.commands.waitForTerminal(commandId, ctx.settings.lockTimeoutMs);
    const acknowledged = command.status === 'succeeded';
    if (!acknowledged) {
      ctx.metrics.lockUnacknowledged.inc();
      log.warn('rental ended but the car did not confirm the lock in time: check it at the desk', {
        status: command.status,
        reason: command.lastResultReason,
      });
    }
    return { commandId, status: command.status, acknowledged };
  } catch (err) {
    ctx.metrics.lockUnacknowledged.inc();
    log.error('rental ended but the lock command could not be issued: lock the car from the desk', errorFields(err));
    return { commandId, status: 'not_issued', acknowledged: false };
  }
}

async function alreadyEnded(ctx: RentalsContext, rental: RentalRow): Promise<RentalEnded> {
  const price = rental.price as StoredPrice;
  let lock: LockReport = { commandId: rental.lockCommandId, status: 'unknown', acknowledged: false };
  if (rental.lockCommandId) {
    const command = await ctx.commands.getCommand(rental.lockCommandId).catch(() => null);
    if (command) lock = { commandId: rental.lockCommandId, status: command.status, acknowledged: command.status === 'succeeded' };
  }
  const receipt = buildReceipt(rental, await paymentsSummary(ctx, rental.id));
  if (!receipt) throw new AppError('rental_not_ended', `rental ${rental.id} has no stored price`, { status: 409 });
  return { rental: rentalView(rental), price, receipt, lock, overriddenBlockers: [], endedNow: false };
}
