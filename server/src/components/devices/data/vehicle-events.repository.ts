/** SQL for device events (`vehicle_events`): batched inserts that store each event once, whatever the redeliveries. */
import type { DeviceEvent } from '../../../../../src/shared/device-protocol.js';
import type { Db } from '../../../platform/db/index.js';

export interface EventRow {
  vehicleId: string;
  event: DeviceEvent;
  /** epoch ms, server clock */
  receivedAt: number;
}

/** Identity of an event: a QoS 1 redelivery repeats all three; a reused seq after a device reboot does not. */
export function eventKey(vehicleId: string, seq: number, deviceTs: number): string {
  return `${vehicleId}\u0000${seq}\u0000${deviceTs}`;
}

export class VehicleEventsRepository {
  constructor(private readonly db: Db) {}

  /**
   * One multi-row insert; rows already stored (redeliveries, or another instance's copy) and rows of vehicles
   * no longer registered are skipped. Returns the keys of the rows this call inserted (first deliveries).
   */
  async insertNew(rows: readonly EventRow[]): Promise<Set<string>> {
    if (rows.length === 0) return new Set();
    const { rows: inserted } = await this.db.query<{ vehicle_id: string; seq: number; device_ts: number }>(
      `insert into vehicle_events (vehicle_id, seq, device_ts, received_at, type, lat, lon, data)
       select u.vehicle_id, u.seq, u.device_ts, to_timestamp(u.received_ms / 1000.0), u.type, u.lat, u.lon, u.data::jsonb
         from unnest($1::text[], $2::bigint[], $3::bigint[], $4::float8[], $5::text[], $6::float8[], $7::float8[], $8::text[])
              as u(vehicle_id, seq, device_ts, received_ms, type, lat, lon, data)
         join vehicles v on v.id = u.vehicle_id
       on conflict do nothing
       returning vehicle_id, seq::float8 as seq, device_ts::float8 as device_ts`,
      [
        rows.map((r) => r.vehicleId),
        rows.map((r) => r.event.seq),
        rows.map((r) => r.event.ts),
        rows.map((r) => r.receivedAt),
        rows.map((r) => r.event.type),
        rows.map((r) => r.event.lat ?? null),
        rows.map((r) => r.event.lon ?? null),
        rows.map((r) => (r.event.data === undefined ? null : JSON.stringify(r.event.data))),
      ],
    );
    return new Set(inserted.map((r) => eventKey(r.vehicle_id, Number(r.seq), Number(r.device_ts))));
  }

  /** Stored events of one vehicle, oldest first (tests, later the staff API). */
  async listFor(
    vehicleId: string,
  ): Promise<Array<{ seq: number; deviceTs: number; type: string; lat: number | null; lon: number | null; data: unknown }>> {
    const { rows } = await this.db.query<{
      seq: number;
      device_ts: number;
      type: string;
      lat: number | null;
      lon: number | null;
      data: unknown;
    }>(
      'select seq::float8 as seq, device_ts::float8 as device_ts, type, lat, lon, data from vehicle_events where vehicle_id = $1 order by received_at, seq',
      [vehicleId],
    );
    return rows.map((r) => ({ seq: Number(r.seq), deviceTs: Number(r.device_ts), type: r.type, lat: r.lat, lon: r.lon, data: r.data }));
  }
}
