/**
 * Zones as admins manage them (staff API): create, edit (name, kind, outline) and retire operating / no-parking /
 * service zones. Every outline is checked (src/shared/zones.ts: closed, ≥ 3 distinct points, not crossing
 * itself, sane size); every change writes the zone's next version into its history and an audit entry, in the
 * same transaction as the change. An edit may name the version it was made on (`expectedVersion`): when someone
 * changed the zone meanwhile, 409 instead of overwriting their change.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../../../../../src/shared/errors.js';
import { checkZonePolygon, ZONE_NAME_MAX, type ZoneKind, type ZoneVersionView, type ZoneView } from '../../../../../src/shared/zones.js';
import type { Db, Queryable } from '../../../platform/db/index.js';
import type { Actor } from '../../../platform/http/actor.js';
import type { RecordAudit } from '../../audit/index.js';
import {
  deleteZone,
  insertZone,
  insertZoneVersion,
  lastZoneVersion,
  listZones,
  listZoneVersions,
  lockZone,
  updateZone,
} from '../data/zones.repository.js';

export interface ZoneInput {
  id?: string;
  name: string;
  kind: ZoneKind;
  polygon: unknown;
}

export interface ZonePatch {
  name?: string;
  kind?: ZoneKind;
  polygon?: unknown;
  expectedVersion?: number;
  reason?: string;
}

function checkedPolygon(polygon: unknown): Array<[number, number]> {
  const checked = checkZonePolygon(polygon);
  if (!checked.ok) throw new AppError(checked.code, checked.message, { status: 422 });
  return checked.ring;
}

function checkedName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > ZONE_NAME_MAX)
    throw new AppError('zone_name_invalid', `A zone needs a name of 1 to ${ZONE_NAME_MAX} characters.`, { status: 400 });
  return trimmed;
}

const summary = (z: Omit<ZoneView, 'updatedAt'>) => ({ name: z.name, kind: z.kind, version: z.version, points: z.polygon.length - 1 });

export class ZonesAdmin {
  constructor(
    private readonly db: Db,
    private readonly recordAudit: RecordAudit,
  ) {}

  list(): Promise<ZoneView[]> {
    return listZones(this.db);
  }

  async history(id: string): Promise<ZoneVersionView[]> {
    const versions = await listZoneVersions(this.db, id);
    if (versions.length === 0) throw notFound(id);
    return versions;
  }

  async create(input: ZoneInput, actor: Actor): Promise<ZoneView> {
    const zone = {
      id: input.id ?? `zone_${randomUUID()}`,
      name: checkedName(input.name),
      kind: input.kind,
      polygon: checkedPolygon(input.polygon),
    };
    return this.db.transaction(async (tx) => {
      if ((await lastZoneVersion(tx, zone.id)) > 0)
        throw new AppError('zone_exists', `a zone ${zone.id} exists or existed; zone ids are never reused`, { status: 409 });
      const written = { ...zone, version: 1 };
      await insertZone(tx, written);
      await this.recordVersion(tx, written, actor, 'zone.created', null, null);
      return this.read(tx, zone.id);
    });
  }

  async update(id: string, patch: ZonePatch, actor: Actor): Promise<ZoneView> {
    const name = patch.name === undefined ? undefined : checkedName(patch.name);
    const polygon = patch.polygon === undefined ? undefined : checkedPolygon(patch.polygon);
    return this.db.transaction(async (tx) => {
      const current = await lockZone(tx, id);
      if (!current) throw notFound(id);
      if (patch.expectedVersion !== undefined && patch.expectedVersion !== current.version)
        throw new AppError(
          'zone_changed',
          `the zone was changed meanwhile (now version ${current.version}, you edited version ${patch.expectedVersion}); reload and edit again`,
          { status: 409 },
        );
      const next = {
        id,
        name: name ?? current.name,
        kind: patch.kind ?? current.kind,
        polygon: polygon ?? current.polygon,
        version: current.version + 1,
      };
      await updateZone(tx, next);
      await this.recordVersion(tx, next, actor, 'zone.updated', patch.reason ?? null, current);
      return this.read(tx, id);
    });
  }

  async retire(id: string, reason: string, actor: Actor): Promise<ZoneVersionView> {
    return this.db.transaction(async (tx) => {
      const current = await lockZone(tx, id);
      if (!current) throw notFound(id);
      const retired = { ...current, version: current.version + 1 };
      await deleteZone(tx, id);
      await insertZoneVersion(tx, { zoneId: id, ...retired, retired: true, changedBy: actor.id, reason });
      await this.recordAudit(tx, {
        actor: actor.id,
        role: actor.role,
        action: 'zone.retired',
        targetType: 'zone',
        targetId: id,
        reason,
        before: summary(current),
        after: { retired: true, version: retired.version },
      });
      return (await listZoneVersions(tx, id))[0]!;
    });
  }

  private async recordVersion(
    tx: Queryable,
    z: Omit<ZoneView, 'updatedAt'>,
    actor: Actor,
    action: 'zone.created' | 'zone.updated',
    reason: string | null,
    before: ZoneView | null,
  ): Promise<void> {
    await insertZoneVersion(tx, {
      zoneId: z.id,
      version: z.version,
      name: z.name,
      kind: z.kind,
      polygon: z.polygon,
      retired: false,
      changedBy: actor.id,
      reason,
    });
    await this.recordAudit(tx, {
      actor: actor.id,
      role: actor.role,
      action,
      targetType: 'zone',
      targetId: z.id,
      reason,
      before: before ? summary(before) : null,
      after: summary(z),
    });
  }

  private async read(tx: Queryable, id: string): Promise<ZoneView> {
    const z = await lockZone(tx, id);
    if (!z) throw notFound(id);
    return z;
  }
}

const notFound = (id: string) => new AppError('zone_not_found', `no zone ${id}`, { status: 404 });
