/**
 * This instance's view of which vehicles are online, and the `vehicle.online` events on every change of it:
 * status messages (and last wills), telemetry after silence, and the heartbeat timeout. Starts from the
 * database, so a restart neither re-announces every car nor forgets the ones that went silent meanwhile.
 *
 * Several instances: status is subscribed by every instance (not shared), so each one's view follows the
 * statuses; telemetry is split between instances, so the heartbeat sweep asks the database (whose received_at
 * is the newest over all instances) before it turns a car offline — and only the instance whose UPDATE did it
 * reports the change.
 */
import type { OnlineSource } from '../../../platform/domain-events.js';
import type { OnlineRow } from '../data/vehicle-state.repository.js';

export interface OnlineChange {
  vehicleId: string;
  online: boolean;
  at: number;
  source: OnlineSource;
}

interface Entry {
  online: boolean;
  /** receive time (ms) of the last message that proves the device alive; 0 = never */
  seenAt: number;
  /** device clock of the last accepted telemetry (tells a last will from a fresh offline status) */
  telemetryDeviceTs?: number;
}

export class OnlineTracker {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly heartbeatTimeoutMs: number,
    private readonly emit: (change: OnlineChange) => void,
  ) {}

  load(rows: readonly OnlineRow[]): void {
    for (const r of rows) this.entries.set(r.vehicleId, { online: r.online, seenAt: r.receivedAt ?? 0 });
  }

  isOnline(vehicleId: string): boolean {
    return this.entries.get(vehicleId)?.online ?? false;
  }

  telemetry(vehicleId: string, receivedAt: number, deviceTs: number): void {
    const e = this.entry(vehicleId);
    e.seenAt = Math.max(e.seenAt, receivedAt);
    e.telemetryDeviceTs = deviceTs;
    if (!e.online) this.change(vehicleId, e, true, receivedAt, 'telemetry');
  }

  /**
   * `retained`: replayed by the broker on subscribe, old news — it says nothing about "last seen", and a
   * retained "online" does not revive a car that has been silent beyond the heartbeat timeout.
   * `deviceTs` of an offline status older than the last telemetry's device ts means the message was composed
   * before that telemetry: the last will (set at connect), not a fresh clean-shutdown status.
   */
  status(vehicleId: string, online: boolean, receivedAt: number, retained: boolean, deviceTs: number): void {
    const e = this.entry(vehicleId);
    if (!retained) e.seenAt = Math.max(e.seenAt, receivedAt);
    if (retained && online && receivedAt - e.seenAt > this.heartbeatTimeoutMs) return;
    if (e.online === online) return;
    const source: OnlineSource = retained
      ? 'retained_status'
      : !online && e.telemetryDeviceTs !== undefined && deviceTs < e.telemetryDeviceTs
        ? 'last_will'
        : 'status';
    this.change(vehicleId, e, online, receivedAt, source);
  }

  /** Vehicles this instance thinks online but has not heard from since `cutoff` (now − timeout, outages excused). */
  silentSince(cutoff: number): string[] {
    const ids: string[] = [];
    for (const [id, e] of this.entries) if (e.online && e.seenAt < cutoff) ids.push(id);
    return ids;
  }

  /**
   * The database turned these offline (heartbeat timeout, by this instance). A vehicle heard from since
   * `cutoff` meanwhile stays online (its pending state, written next, sets the row online again).
   */
  timedOut(rows: readonly OnlineRow[], cutoff: number, at: number): void {
    for (const r of rows) {
      const e = this.entry(r.vehicleId);
      if (e.online && e.seenAt < cutoff) this.change(r.vehicleId, e, false, at, 'heartbeat_timeout');
    }
  }

  /** What the database says about vehicles the sweep did not turn offline (another instance heard them). */
  refresh(rows: readonly OnlineRow[]): void {
    for (const r of rows) {
      const e = this.entry(r.vehicleId);
      e.seenAt = Math.max(e.seenAt, r.receivedAt ?? 0);
      // Another instance's sweep may have turned it offline: follow the database quietly (it reported it).
      if (!r.online) e.online = false;
    }
  }

  private entry(vehicleId: string): Entry {
    let e = this.entries.get(vehicleId);
    if (!e) {
      e = { online: false, seenAt: 0 };
      this.entries.set(vehicleId, e);
    }
    return e;
  }

  private change(vehicleId: string, e: Entry, online: boolean, at: number, source: OnlineSource): void {
    e.online = online;
    this.emit({ vehicleId, online, at, source });
  }
}
