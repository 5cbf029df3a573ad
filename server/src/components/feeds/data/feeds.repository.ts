/**
 * SQL of the feeds component: the GBFS vehicle-id secret and rotation counters (010_feeds_idempotency.sql), and a
 * read of the zones table (owned by ops; read-only here, as the rentals side does for its end-of-rental check).
 */
import { randomBytes } from 'node:crypto';
import type { Db } from '../../../platform/db/index.js';

/** NOTIFY channel: payload = the vehicle id whose public id just rotated (every instance re-reads it). */
export const ROTATION_CHANNEL = 'gbfs_vehicle_rotated';

export interface ZoneRow {
  id: string;
  name: string;
  kind: 'operating' | 'no_parking' | 'service';
  /** closed ring, [lon, lat] pairs */
  polygon: number[][];
}

export class FeedsRepository {
  constructor(private readonly db: Db) {}

  /** The HMAC secret shared by every instance: created by whichever starts first. */
  async vehicleIdSecret(): Promise<string> {
    await this.db.query('insert into gbfs_settings (id, vehicle_id_secret) values (1, $1) on conflict (id) do nothing', [
      randomBytes(32).toString('base64url'),
    ]);
    const { rows } = await this.db.query<{ vehicle_id_secret: string }>('select vehicle_id_secret from gbfs_settings where id = 1');
    return rows[0]!.vehicle_id_secret;
  }

  async rotations(): Promise<Map<string, number>> {
    const { rows } = await this.db.query<{ vehicle_id: string; rotation: number }>(
      'select vehicle_id, rotation from gbfs_vehicle_rotations',
    );
    return new Map(rows.map((r) => [r.vehicle_id, r.rotation]));
  }

  async rotation(vehicleId: string): Promise<number> {
    const { rows } = await this.db.query<{ rotation: number }>('select rotation from gbfs_vehicle_rotations where vehicle_id = $1', [
      vehicleId,
    ]);
    return rows[0]?.rotation ?? 0;
  }

  /**
   * Counts one more rental for the vehicle — once per rental id (a repeated event for the same rental changes
   * nothing) — and tells every instance. Returns the vehicle's rotation after the call.
   */
  async bumpRotation(vehicleId: string, rentalId: string): Promise<number> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ rotation: number }>(
        `insert into gbfs_vehicle_rotations as r (vehicle_id, rotation, last_rental_id) values ($1, 1, $2)
         on conflict (vehicle_id) do update set rotation = r.rotation + 1, last_rental_id = excluded.last_rental_id, updated_at = now()
          where r.last_rental_id is distinct from excluded.last_rental_id
         returning rotation`,
        [vehicleId, rentalId],
      );
      if (rows[0]) {
        await tx.query('select pg_notify($1, $2)', [ROTATION_CHANNEL, vehicleId]);
        return rows[0].rotation;
      }
      const current = await tx.query<{ rotation: number }>('select rotation from gbfs_vehicle_rotations where vehicle_id = $1', [
        vehicleId,
      ]);
      return current.rows[0]?.rotation ?? 0;
    });
  }

  async zones(): Promise<ZoneRow[]> {
    const { rows } = await this.db.query<ZoneRow>(
      `select id, name, kind, polygon from zones where kind in ('operating', 'no_parking') order by id`,
    );
    return rows;
  }
}
