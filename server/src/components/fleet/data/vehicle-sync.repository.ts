/**
 * The replicated side of the registry (`vehicles` as the desktop replica sees it): the operator-editable service
 * state and the coarse snapshot of the live state. Both bump server_seq.
 */
import { AppError } from '../../../../../src/shared/errors.js';
import type { ServiceState } from '../../../../../src/shared/sync-protocol.js';
import type { Db } from '../../../platform/db/index.js';
import type { RecordAudit } from '../../audit/index.js';

export interface ServiceStateActor {
  id: string;
  role: string;
}

export class VehicleSyncRepository {
  constructor(
    private readonly db: Db,
    private readonly audit: RecordAudit,
  ) {}

  /** Sets the service state; unchanged → no write, no audit (`changed: false`). Unknown vehicle → 404. */
  async setServiceState(
    vehicleId: string,
    state: ServiceState,
    actor: ServiceStateActor,
    reason: string | null,
  ): Promise<{ changed: boolean; serviceState: ServiceState }> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ service_state: ServiceState }>('select service_state from vehicles where id = $1 for update', [
        vehicleId,
      ]);
      const before = rows[0];
      if (!before) throw new AppError('vehicle_not_found', `No vehicle ${vehicleId}`, { status: 404 });
      if (before.service_state === state) return { changed: false, serviceState: state };
      await tx.query(`update vehicles set service_state = $2, server_seq = fleetdesk_next_seq(), updated_at = now() where id = $1`, [
        vehicleId,
        state,
      ]);
      await this.audit(tx, {
        actor: actor.id,
        role: actor.role,
        action: 'vehicle.service_state',
        targetType: 'vehicle',
        targetId: vehicleId,
        reason,
        before: { serviceState: before.service_state },
        after: { serviceState: state },
      });
      return { changed: true, serviceState: state };
    });
  }

  /**
   * Copies the live state (`vehicle_state`) into the vehicles' coarse snapshot: online changes first and at
   * once, other changes at most every `minAgeS` per vehicle; at most `limit` rows per call. Returns the rows copied.
   * The rows are locked `for no key update` (what the update takes anyway: it changes no key column) and `skip
   * locked`: instances never copy the same car at once and the copy never waits for a writer of the car (a
   * service-state change, an admin edit), yet it does not block the foreign-key lock (`for key share`) that a
   * claim, a command or a state row inserted for the car takes — `for update` did, until the copy committed.
   */
  async copySnapshot(minAgeS: number, limit: number): Promise<number> {
    return this.db.transaction(async (tx) => {
      const result = await tx.query(
        `with due as (
           select v.id, s.lat, s.lon, s.online, s.energy_pct, s.received_at
             from vehicles v join vehicle_state s on s.vehicle_id = v.id
            where v.online is distinct from s.online
               or ((v.lat, v.lon, v.energy_pct, v.last_seen_at) is distinct from (s.lat, s.lon, s.energy_pct, s.received_at)
                   and (v.snapshot_at is null or v.snapshot_at < now() - make_interval(secs => $1::float8)))
            order by (v.online is distinct from s.online) desc, v.snapshot_at nulls first
            limit $2
            for no key update of v skip locked
         )
         update vehicles v
            set lat = due.lat, lon = due.lon, online = due.online, energy_pct = due.energy_pct, last_seen_at = due.received_at,
                snapshot_at = now(), server_seq = fleetdesk_next_seq(), updated_at = now()
           from due
          where v.id = due.id`,
        [minAgeS, limit],
      );
      return result.rowCount;
    });
  }
}
