/**
 * Use cases of the registry's administration: register one vehicle, import a CSV file of them (all or nothing),
 * change or retire one. Each write and its audit entries commit in one transaction; a plate or VIN that another
 * write took in the meantime is refused by the unique constraints (409), never written twice.
 *
 * Audit: one entry per vehicle (`vehicle.registered`, `vehicle.updated`, `vehicle.retired`, `vehicle.reinstated`),
 * so a vehicle's history names how it came in; an import's entries carry the reason `CSV import of N vehicles`.
 */
import { randomBytes } from 'node:crypto';
import { AppError } from '../../../../../src/shared/errors.js';
import type { RegisteredVehicle, RowError, VehicleFields } from '../../../../../src/shared/vehicle-registry.js';
import type { Db, Queryable } from '../../../platform/db/index.js';
import type { Actor } from '../../../platform/http/actor.js';
import type { RecordAudit } from '../../audit/index.js';
import {
  duplicateField,
  existingPlatesAndVins,
  findRegistered,
  insertVehicles,
  knownHomeZones,
  listRegistered,
  updateVehicle,
} from '../data/vehicle-admin.repository.js';
import { checkRows, parseVehicleCsv, type CheckedRow, type InputRow } from './vehicle-import.js';

/** The input was refused: every bad row or field, with its line (a single vehicle is line 1). */
export class InvalidVehiclesError extends AppError {
  constructor(
    readonly errors: RowError[],
    message: string,
  ) {
    super('invalid_vehicles', message, { status: 422 });
  }
}

/** As typed: the energy type is checked like every other field (a bad one is a row error, not a schema error). */
export type VehicleInput = Omit<VehicleFields, 'energyType'> & { energyType: string };

export interface VehiclePatch extends Partial<VehicleInput> {
  retired?: boolean;
  reason?: string;
}

export interface VehicleAdminPorts {
  db: Db;
  audit: RecordAudit;
  /** the registered ids ingestion accepts: added at once (this instance), dropped when retired */
  registry: { add(ids: readonly string[]): void; remove(id: string): void };
  /**
   * After a retirement committed: the car's device credentials are revoked (device identity, through the
   * composition root), so its unit can no longer connect nor reach the desks. Its own transaction; a failure is
   * the caller's to log, the retirement stands.
   */
  onRetired?: (vehicleId: string, actor: Actor, reason: string | null) => Promise<void>;
}

export const newVehicleId = (): string => `veh-${randomBytes(6).toString('hex')}`;

export function createVehicleAdmin(p: VehicleAdminPorts) {
  const registryView = async (q: Queryable, rows: readonly InputRow[], exceptId?: string) => {
    const [existing, homeZones] = await Promise.all([
      existingPlatesAndVins(
        q,
        rows.map((r) => r.plate.trim().replace(/\s+/g, ' ').toUpperCase()),
        rows.flatMap((r) => (r.vin === null ? [] : [r.vin.trim().toUpperCase()])),
        exceptId,
      ),
      knownHomeZones(q),
    ]);
    return { ...existing, homeZones };
  };

  /** Checks, then writes in one transaction with one audit entry per vehicle; a racing duplicate → 409. */
  const write = async (rows: CheckedRow[], actor: Actor, reason: string | null): Promise<RegisteredVehicle[]> => {
    try {
      const created = await p.db.transaction(async (tx) => {
        const inserted = await insertVehicles(
          tx,
          rows.map((r) => ({ id: newVehicleId(), ...r.fields, vin: r.fields.vin ?? '' })),
        );
        for (const v of inserted) {
          await p.audit(tx, {
            actor: actor.id,
            role: actor.role,
            action: 'vehicle.registered',
            targetType: 'vehicle',
            targetId: v.id,
            reason,
            after: fieldsOf(v),
          });
        }
        return inserted;
      });
      p.registry.add(created.map((v) => v.id));
      return created;
    } catch (err) {
      throw asConflict(err);
    }
  };

  return {
    list: (includeRetired: boolean) => listRegistered(p.db, includeRetired),

    async register(fields: VehicleInput, actor: Actor): Promise<RegisteredVehicle> {
      const input: InputRow = { line: 1, ...fields };
      const checked = checkRows([input], await registryView(p.db, [input]));
      if (checked.errors.length > 0) throw new InvalidVehiclesError(checked.errors, describe(checked.errors));
      const [created] = await write(checked.rows, actor, null);
      return created!;
    },

    /** `dryRun`: only checks. A file with any bad row → InvalidVehiclesError naming each; nothing written. */
    async importCsv(text: string, actor: Actor, dryRun: boolean): Promise<{ count: number; vehicles: RegisteredVehicle[] }> {
      const parsed = parseVehicleCsv(text);
      const checked = parsed.rows.length > 0 ? checkRows(parsed.rows, await registryView(p.db, parsed.rows)) : { rows: [], errors: [] };
      const errors = [...parsed.errors, ...checked.errors].sort((a, b) => a.line - b.line);
      if (errors.length > 0) throw new InvalidVehiclesError(errors, describe(errors));
      if (dryRun) return { count: checked.rows.length, vehicles: [] };
      const created = await write(checked.rows, actor, `CSV import of ${checked.rows.length} vehicles`);
      return { count: created.length, vehicles: created };
    },

    async update(id: string, patch: VehiclePatch, actor: Actor): Promise<RegisteredVehicle> {
      try {
        const result = await p.db.transaction(async (tx) => {
          const before = await findRegistered(tx, id, true);
          if (!before) throw new AppError('vehicle_not_found', `No vehicle ${id}`, { status: 404 });
          const retiring = patch.retired === true && before.retiredAt === null;
          if (retiring && !patch.reason?.trim())
            throw new AppError('reason_required', 'retiring a vehicle needs a reason', { status: 400 });
          const input: InputRow = {
            line: 1,
            plate: patch.plate ?? before.plate,
            vin: patch.vin ?? before.vin,
            make: patch.make ?? before.make,
            model: patch.model ?? before.model,
            energyType: patch.energyType ?? before.energyType,
            homeZone: patch.homeZone ?? before.homeZone,
          };
          const view = await registryView(tx, [input], id);
          // a vehicle keeps what it had: its own home zone and a missing VIN (demo cars) stay acceptable
          const homeZones = new Set([...view.homeZones, before.homeZone]);
          const checked = checkRows([input], { ...view, homeZones });
          if (checked.errors.length > 0) throw new InvalidVehiclesError(checked.errors, describe(checked.errors));
          const f = checked.rows[0]!.fields;
          const after = await updateVehicle(tx, id, { ...f, retired: patch.retired ?? before.retiredAt !== null });
          const action =
            before.retiredAt === null && after.retiredAt !== null
              ? 'vehicle.retired'
              : before.retiredAt !== null && after.retiredAt === null
                ? 'vehicle.reinstated'
                : 'vehicle.updated';
          await p.audit(tx, {
            actor: actor.id,
            role: actor.role,
            action,
            targetType: 'vehicle',
            targetId: id,
            reason: patch.reason?.trim() || null,
            before: { ...fieldsOf(before), retired: before.retiredAt !== null },
            after: { ...fieldsOf(after), retired: after.retiredAt !== null },
          });
          return after;
        });
        if (result.retiredAt === null) p.registry.add([id]);
        else {
          p.registry.remove(id);
          if (patch.retired === true) await p.onRetired?.(id, actor, patch.reason?.trim() || null);
        }
        return result;
      } catch (err) {
        throw asConflict(err);
      }
    },
  };
}

export type VehicleAdmin = ReturnType<typeof createVehicleAdmin>;

/** A unique constraint the write ran into (another write took the plate or VIN first) → 409; anything else as is. */
function asConflict(err: unknown): unknown {
  const field = duplicateField(err);
  if (!field) return err;
  return new AppError('vehicle_exists', `a vehicle with this ${field === 'vin' ? 'VIN' : 'plate'} was registered meanwhile`, {
    status: 409,
    cause: err,
  });
}

function fieldsOf(v: RegisteredVehicle) {
  return { plate: v.plate, vin: v.vin, make: v.make, model: v.model, energyType: v.energyType, homeZone: v.homeZone };
}

function describe(errors: readonly RowError[]): string {
  const lines = new Set(errors.map((e) => e.line));
  const first = errors[0]!;
  return errors.length === 1
    ? `line ${first.line}: ${first.message}`
    : `${errors.length} problems on ${lines.size} line${lines.size === 1 ? '' : 's'}; the first: line ${first.line}: ${first.message}`;
}
