/**
 * Tariff versions as admins manage them (staff API): list per vehicle type with each version's status, add a
 * version effective from now or later, withdraw one that is not yet in force and was never quoted. A version in
 * force (or once in force, or quoted to a booking/rental) is never changed: rentals are priced with the version
 * their claim was priced with (020_tariff_versions.sql). Every change is audited in its own transaction.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../../../../../src/shared/errors.js';
import {
  TARIFF_FIGURE_FIELDS,
  TARIFF_FIGURE_MAX,
  type TariffFigures,
  type TariffOverview,
  type TariffVersionView,
} from '../../../../../src/shared/tariffs.js';
import type { Db } from '../../../platform/db/index.js';
import type { Actor } from '../../../platform/http/actor.js';
import type { RecordAudit } from '../../audit/index.js';
import {
  insertVersion,
  listVehicleTypes,
  listVersions,
  lockVersion,
  markWithdrawn,
  vehicleTypeExists,
  type VersionRow,
} from '../data/tariff-versions.repository.js';

/** A requested start this far in the past is taken as "now" (the desk's clock may be a little behind). */
const PAST_TOLERANCE_MS = 60_000;
const MAX_AHEAD_MS = 2 * 366 * 86_400_000;

export interface NewTariffVersion extends TariffFigures {
  /** epoch ms; absent: now */
  effectiveFrom?: number;
}

const invalid = (code: string, message: string) => new AppError(code, message, { status: 400 });

/** Statuses of one type's versions (newest first in, the same order out). */
export function withStatus(rows: readonly VersionRow[], now: number): TariffVersionView[] {
  let inForceSeen = false;
  return rows.map(({ quoted, ...v }) => {
    let status: TariffVersionView['status'];
    if (v.withdrawnAt !== null) status = 'withdrawn';
    else if (v.effectiveFrom !== null && v.effectiveFrom > now) status = 'upcoming';
    else if (!inForceSeen) {
      inForceSeen = true;
      status = 'in_force';
    } else status = 'past';
    return { ...v, status, used: quoted || status === 'in_force' || status === 'past' };
  });
}

export function checkFigures(input: TariffFigures): void {
  if (!/^[A-Z]{3}$/.test(input.currency)) throw invalid('invalid_currency', 'currency must be an ISO 4217 code such as EUR');
  for (const field of TARIFF_FIGURE_FIELDS) {
    const v = input[field];
    if (!Number.isInteger(v) || v < 0)
      throw invalid('invalid_tariff', `${field} must be a whole number of minor units (cents) or km, 0 or more`);
    if (v > TARIFF_FIGURE_MAX[field]) throw invalid('invalid_tariff', `${field} must be at most ${TARIFF_FIGURE_MAX[field]}`);
  }
  if (input.perMinuteDrivingCents === 0 && input.dailyCapCents === 0)
    throw invalid('invalid_tariff', 'a tariff must charge something: perMinuteDrivingCents or dailyCapCents above 0');
}

export class TariffAdmin {
  constructor(
    private readonly db: Db,
    private readonly recordAudit: RecordAudit,
    private readonly now: () => number,
  ) {}

  async list(): Promise<TariffOverview[]> {
    const [types, rows] = await Promise.all([listVehicleTypes(this.db), listVersions(this.db)]);
    const now = this.now();
    const byType = new Map<string, VersionRow[]>();
    for (const r of rows) byType.set(r.vehicleTypeId, [...(byType.get(r.vehicleTypeId) ?? []), r]);
    return types.map((t) => ({ vehicleType: t, versions: withStatus(byType.get(t.id) ?? [], now) }));
  }

  async create(vehicleTypeId: string, input: NewTariffVersion, actor: Actor): Promise<TariffVersionView> {
    checkFigures(input);
    const now = this.now();
    const requested = input.effectiveFrom ?? now;
    if (!Number.isFinite(requested) || requested < now - PAST_TOLERANCE_MS)
      throw invalid('effective_from_past', 'effectiveFrom must be now or later: a version in force is never changed after the fact');
    if (requested > now + MAX_AHEAD_MS) throw invalid('effective_from_too_far', 'effectiveFrom must be within two years');
    const effectiveFrom = Math.max(requested, now);
    const id = `tv_${randomUUID()}`;
    await this.db.transaction(async (tx) => {
      // the type's row lock orders concurrent changes of one type
      if (!(await vehicleTypeExists(tx, vehicleTypeId, true)))
        throw new AppError('vehicle_type_not_found', `no vehicle type ${vehicleTypeId}`, { status: 404 });
      const figures: TariffFigures = {
        currency: input.currency,
        perMinuteDrivingCents: input.perMinuteDrivingCents,
        perMinuteParkedCents: input.perMinuteParkedCents,
        includedKm: input.includedKm,
        perKmCents: input.perKmCents,
        dailyCapCents: input.dailyCapCents,
        reservationFeePerMinuteCents: input.reservationFeePerMinuteCents,
      };
      if (!(await insertVersion(tx, { ...figures, id, vehicleTypeId, effectiveFrom, createdBy: actor.id })))
        throw new AppError('tariff_version_exists', 'this vehicle type already has a version starting at that time; withdraw it first', {
          status: 409,
        });
      await this.recordAudit(tx, {
        actor: actor.id,
        role: actor.role,
        action: 'tariff.version_created',
        targetType: 'tariff',
        targetId: vehicleTypeId,
        after: { versionId: id, effectiveFrom: new Date(effectiveFrom).toISOString(), ...figures },
        at: now,
      });
    });
    return this.version(vehicleTypeId, id);
  }

  async withdraw(vehicleTypeId: string, versionId: string, actor: Actor, reason: string | null): Promise<TariffVersionView> {
    const now = this.now();
    await this.db.transaction(async (tx) => {
      const v = await lockVersion(tx, versionId);
      if (!v || v.vehicleTypeId !== vehicleTypeId)
        throw new AppError('tariff_version_not_found', `no version ${versionId} of ${vehicleTypeId}`, { status: 404 });
      if (v.withdrawnAt !== null) return;
      if (v.effectiveFrom === null || v.effectiveFrom <= now)
        throw new AppError('tariff_version_in_force', 'this version is (or was) in force and is never changed; add a new version instead', {
          status: 409,
        });
      if (v.quoted)
        throw new AppError('tariff_version_quoted', 'a booking was already priced with this version; add a new version instead', {
          status: 409,
        });
      await markWithdrawn(tx, versionId, actor.id, now);
      await this.recordAudit(tx, {
        actor: actor.id,
        role: actor.role,
        action: 'tariff.version_withdrawn',
        targetType: 'tariff',
        targetId: vehicleTypeId,
        reason,
        before: { versionId, effectiveFrom: new Date(v.effectiveFrom).toISOString() },
        after: { versionId, withdrawn: true },
        at: now,
      });
    });
    return this.version(vehicleTypeId, versionId);
  }

  private async version(vehicleTypeId: string, id: string): Promise<TariffVersionView> {
    const found = withStatus(await listVersions(this.db, vehicleTypeId), this.now()).find((v) => v.id === id);
    if (!found) throw new AppError('tariff_version_not_found', `no version ${id}`, { status: 404 });
    return found;
  }
}
