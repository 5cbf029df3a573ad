/** SQL for `mqtt_credentials`. Hashes only: a secret never reaches this file. */
import type { Db, Queryable } from '../../../platform/db/index.js';
import type { CredentialRecord, DeviceCredentialStatus, MqttRole } from '../model.js';

export interface NewCredential {
  username: string;
  role: MqttRole;
  vehicleId: string | null;
  secretHash: string;
  brokerHash: string;
}

interface Row {
  username: string;
  role: MqttRole;
  vehicle_id: string | null;
  secret_hash: string;
  broker_hash: string;
  disabled: boolean;
}

const COLUMNS = 'username, role, vehicle_id, secret_hash, broker_hash, disabled_at is not null as disabled';
const CHUNK = 1_000;

/** The transaction was refused because an account names a vehicle the registry does not have (a foreign key). */
export const isUnknownVehicle = (err: unknown): boolean => (err as { code?: unknown }).code === '23503';

export class CredentialsRepository {
  constructor(private readonly db: Db) {}

  async listAll(): Promise<CredentialRecord[]> {
    const { rows } = await this.db.query<Row>(`select ${COLUMNS} from mqtt_credentials order by username`);
    return rows.map(toRecord);
  }

  /** Every device account with its dates (epoch ms), newest change first. */
  async listDevices(): Promise<DeviceCredentialStatus[]> {
    const { rows } = await this.db.query<{ vehicle_id: string; issued_ms: number; rotated_ms: number | null; revoked_ms: number | null }>(
      `select vehicle_id, (extract(epoch from created_at) * 1000)::float8 as issued_ms,
              (extract(epoch from rotated_at) * 1000)::float8 as rotated_ms, (extract(epoch from disabled_at) * 1000)::float8 as revoked_ms
         from mqtt_credentials where role = 'device' order by vehicle_id`,
    );
    const n = (v: number | null) => (v === null ? null : Math.round(Number(v)));
    return rows.map((r) => ({
      vehicleId: r.vehicle_id,
      status: r.revoked_ms === null ? 'active' : 'revoked',
      issuedAt: n(r.issued_ms)!,
      rotatedAt: n(r.rotated_ms),
      revokedAt: n(r.revoked_ms),
    }));
  }

  async find(username: string): Promise<CredentialRecord | undefined> {
    const { rows } = await this.db.query<Row>(`select ${COLUMNS} from mqtt_credentials where username = $1`, [username]);
    return rows[0] && toRecord(rows[0]);
  }

  /**
   * Inserts, or replaces the secret of an existing account (a rotation: re-enables it, sets rotated_at).
   * Returns, per username, whether it already existed.
   */
  async upsert(credentials: readonly NewCredential[], q: Queryable = this.db): Promise<Map<string, { rotated: boolean }>> {
    const result = new Map<string, { rotated: boolean }>();
    for (let i = 0; i < credentials.length; i += CHUNK) {
      const chunk = credentials.slice(i, i + CHUNK);
      const { rows } = await q.query<{ username: string; rotated: boolean }>(
        `insert into mqtt_credentials (username, role, vehicle_id, secret_hash, broker_hash)
         select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
         on conflict (username) do update set
           role = excluded.role, vehicle_id = excluded.vehicle_id,
           secret_hash = excluded.secret_hash, broker_hash = excluded.broker_hash,
           rotated_at = now(), disabled_at = null
         returning username, (rotated_at is not null) as rotated`,
        [
          chunk.map((c) => c.username),
          chunk.map((c) => c.role),
          chunk.map((c) => c.vehicleId),
          chunk.map((c) => c.secretHash),
          chunk.map((c) => c.brokerHash),
        ],
      );
      for (const r of rows) result.set(r.username, { rotated: r.rotated });
    }
    return result;
  }

  /** Disables an account; false when there is no such (enabled) account. */
  async disable(username: string, q: Queryable = this.db): Promise<boolean> {
    const { rowCount } = await q.query(`update mqtt_credentials set disabled_at = now() where username = $1 and disabled_at is null`, [
      username,
    ]);
    return rowCount > 0;
  }
}

function toRecord(r: Row): CredentialRecord {
  return {
    username: r.username,
    role: r.role,
    vehicleId: r.vehicle_id,
    secretHash: r.secret_hash,
    brokerHash: r.broker_hash,
    disabled: r.disabled,
  };
}
