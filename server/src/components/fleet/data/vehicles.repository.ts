/** SQL for the vehicle registry (`vehicles`). */
import type { EnergyType, VehicleInfo } from '../../../../../src/shared/fleet.js';
import type { Db } from '../../../platform/db/index.js';

interface VehicleRow {
  id: string;
  plate: string;
  make: string;
  model: string;
  energy_type: EnergyType;
  home_zone: string;
}

/** Rows per statement: keeps each upsert's parameter arrays and lock footprint bounded. */
const UPSERT_CHUNK = 2_000;

export class VehiclesRepository {
  constructor(private readonly db: Db) {}

  /**
   * Inserts or updates by id; a row whose fields are unchanged is not touched (so re-seeding the same fleet
   * does not bump updated_at or the replication sequence). Returns how many rows were inserted or changed.
   */
  async upsert(vehicles: readonly VehicleInfo[]): Promise<number> {
    // Sorted by id: concurrent upserts then lock rows in the same order and cannot deadlock.
    const sorted = [...vehicles].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    let changed = 0;
    for (let i = 0; i < sorted.length; i += UPSERT_CHUNK) {
      const chunk = sorted.slice(i, i + UPSERT_CHUNK);
      changed += await this.db.transaction(async (tx) => {
        const result = await tx.query(
          `insert into vehicles (id, plate, make, model, energy_type, home_zone)
           select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
           on conflict (id) do update set
             plate = excluded.plate, make = excluded.make, model = excluded.model,
             energy_type = excluded.energy_type, home_zone = excluded.home_zone,
             updated_at = now(), server_seq = fleetdesk_next_seq()
           where (vehicles.plate, vehicles.make, vehicles.model, vehicles.energy_type, vehicles.home_zone)
             is distinct from (excluded.plate, excluded.make, excluded.model, excluded.energy_type, excluded.home_zone)`,
          [
            chunk.map((v) => v.id),
            chunk.map((v) => v.plate),
            chunk.map((v) => v.make),
            chunk.map((v) => v.model),
            chunk.map((v) => v.energyType),
            chunk.map((v) => v.homeZone),
          ],
        );
        return result.rowCount;
      });
    }
    return changed;
  }

  async list(): Promise<VehicleInfo[]> {
    const { rows } = await this.db.query<VehicleRow>(
      'select id, plate, make, model, energy_type, home_zone from vehicles where retired_at is null order by id',
    );
    return rows.map((r) => ({ id: r.id, plate: r.plate, make: r.make, model: r.model, energyType: r.energy_type, homeZone: r.home_zone }));
  }

  /**
   * A tag of the active fleet as `list()` returns it: PostgreSQL's md5 of every listed field of every active row in
   * id order (one row back instead of 20,000), so a client holding the list can be told "unchanged" without the list
   * being read, sent and parsed again. Any change of a listed field, a registration, a retirement or a reinstatement
   * changes it; nothing else does (it hashes the content, so it does not depend on how writes are sequenced).
   */
  async listTag(): Promise<string> {
    const { rows } = await this.db.query<{ tag: string }>(
      `select md5(coalesce(string_agg(concat_ws(chr(31), id, plate, make, model, energy_type, home_zone), chr(30) order by id), ''))
         || '-' || count(*) as tag
       from vehicles where retired_at is null`,
    );
    return rows[0]!.tag;
  }

  /** The active fleet's ids (retired vehicles are no longer accepted). */
  async listIds(): Promise<string[]> {
    const { rows } = await this.db.query<{ id: string }>('select id from vehicles where retired_at is null');
    return rows.map((r) => r.id);
  }
}
