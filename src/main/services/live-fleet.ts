/**
 * The desktop's live fleet state: the latest `VehicleLive` per vehicle id plus the vehicle registry.
 *
 * Rules:
 * - never backwards: telemetry with a seq ≤ the vehicle's last seq is ignored ('duplicate' / 'stale');
 *   the one exception is a device that rebooted and restarted its seq, recognised by a device clock that
 *   moved well ahead (`seqResetMinGapMs`) — otherwise such a car would freeze on screen until a restart;
 * - telemetry implies the device is online; status online/offline sets `online` as it arrives (status is not
 *   ordered by its ts: a last will carries the ts of the connect, older than the latest telemetry);
 * - no message for `heartbeatTimeoutMs` → offline (a device that vanished without a last will);
 * - a server seed never overwrites newer MQTT data (same seq rule), and its `receivedAt` stays the server's
 *   (it says when the car was last seen), clamped to our clock.
 *
 * State objects are replaced, never mutated, so a frame holding a reference never changes under it.
 */
import { telemetrySample, type DeviceStatus, type DropReason, type Telemetry } from '../../shared/device-protocol.js';
import type { Unsubscribe } from '../../shared/desktop-api.js';
import { liveDisplayState, vehicleLive, type LiveDisplayState, type VehicleInfo, type VehicleLive } from '../../shared/fleet.js';

export interface LiveFleetOptions {
  /** a vehicle with no message for this long turns offline (default 120 000 ms) */
  heartbeatTimeoutMs?: number;
  /** how often the heartbeat sweep runs (default min(5 000, timeout / 4)) */
  sweepIntervalMs?: number;
  /** a lower seq is accepted as a device reboot only if the device clock moved ahead this much (default 60 000 ms) */
  seqResetMinGapMs?: number;
  now?: () => number;
}

export type LiveFleetChange =
  | { kind: 'vehicle'; id: string }
  | { kind: 'registry'; id: string }
  /** the vehicle left the fleet (retired): its registry entry and live state are gone */
  | { kind: 'removed'; id: string };

export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 120_000;

export class LiveFleet {
  private readonly live = new Map<string, VehicleLive>();
  private readonly registry = new Map<string, VehicleInfo>();
  /** last status heard for vehicles we have no live state for yet (applied when they appear) */
  private readonly pendingOnline = new Map<string, boolean>();
  /** last message of any kind, receiver clock; the heartbeat basis */
  private readonly lastHeardAt = new Map<string, number>();
  /** vehicles that left the fleet (retired): their messages are dropped ('unknown_vehicle') until reinstated */
  private readonly retired = new Set<string>();
  private readonly listeners = new Set<(change: LiveFleetChange) => void>();
  private readonly now: () => number;
  private readonly heartbeatTimeoutMs: number;
  private readonly seqResetMinGapMs: number;
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: LiveFleetOptions = {}) {
    this.now = options.now ?? Date.now;
    this.heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS;
    this.seqResetMinGapMs = options.seqResetMinGapMs ?? 60_000;
  }

  start(): void {
    if (this.sweepTimer) return;
    const interval = this.options.sweepIntervalMs ?? Math.max(10, Math.min(5_000, this.heartbeatTimeoutMs / 4));
    this.sweepTimer = setInterval(() => this.sweep(), interval);
    this.sweepTimer.unref?.();
  }

  stop(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
  }

  onChange(listener: (change: LiveFleetChange) => void): Unsubscribe {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  applyTelemetry(id: string, t: Telemetry, receivedAt: number = this.now()): DropReason | null {
    if (this.retired.has(id)) return 'unknown_vehicle';
    const cur = this.live.get(id);
    if (cur) {
      if (t.seq === cur.seq) return 'duplicate';
      if (t.seq < cur.seq && !(t.ts - cur.deviceTs >= this.seqResetMinGapMs)) return 'stale';
    }
    this.pendingOnline.delete(id);
    this.lastHeardAt.set(id, receivedAt);
    this.set(vehicleLive(id, telemetrySample(t), receivedAt));
    return null;
  }

  applyStatus(id: string, s: DeviceStatus, receivedAt: number = this.now()): DropReason | null {
    if (this.retired.has(id)) return 'unknown_vehicle';
    const online = s.state === 'online';
    this.lastHeardAt.set(id, receivedAt);
    const cur = this.live.get(id);
    if (!cur) {
      this.pendingOnline.set(id, online);
      return null;
    }
    if (cur.online !== online) this.set({ ...cur, online });
    return null;
  }

  /** Merges the server's latest known states; returns how many were applied. */
  seed(vehicles: readonly VehicleLive[]): number {
    const now = this.now();
    let applied = 0;
    for (const v of vehicles) {
      if (this.retired.has(v.id)) continue;
      const cur = this.live.get(v.id);
      if (cur && v.seq <= cur.seq) continue;
      const receivedAt = Math.min(v.receivedAt, now);
      const pending = this.pendingOnline.get(v.id);
      this.pendingOnline.delete(v.id);
      // A status we heard ourselves is fresher than the server's view of it.
      const online = pending ?? v.online;
      this.lastHeardAt.set(v.id, Math.max(receivedAt, this.lastHeardAt.get(v.id) ?? 0));
      // only the contract's fields: a seed from the server may carry extras we must not pass on
      this.set(vehicleLive(v.id, v, receivedAt, online));
      applied += 1;
    }
    return applied;
  }

  /**
   * Upserts registry entries; notifies only for entries that changed. With `complete` (the list is the server's whole
   * active fleet, nothing skipped), a registered vehicle missing from it has left the fleet (retired): its entry and
   * live state go, listeners hear `removed`, and its device's messages are dropped until a list holds it again (a
   * broker that does not cut a revoked device at once). A car we only heard over MQTT and never saw registered is
   * kept (its telemetry can arrive before the registry read that lists it).
   */
  setRegistry(entries: readonly VehicleInfo[], options: { complete?: boolean } = {}): number {
    let changed = 0;
    if (options.complete) {
      const listed = new Set(entries.map((e) => e.id));
      for (const id of [...this.registry.keys()]) {
        if (listed.has(id)) continue;
        this.registry.delete(id);
        this.live.delete(id);
        this.lastHeardAt.delete(id);
        this.pendingOnline.delete(id);
        this.retired.add(id);
        changed += 1;
        this.emit({ kind: 'removed', id });
      }
    }
    for (const e of entries) this.retired.delete(e.id);
    for (const e of entries) {
      const cur = this.registry.get(e.id);
      if (cur && sameInfo(cur, e)) continue;
      const copy: VehicleInfo = { id: e.id, plate: e.plate, make: e.make, model: e.model, energyType: e.energyType, homeZone: e.homeZone };
      this.registry.set(e.id, copy);
      changed += 1;
      this.emit({ kind: 'registry', id: e.id });
    }
    return changed;
  }

  /** Turns vehicles silent for longer than the heartbeat timeout offline. Runs on a timer; public for tests. */
  sweep(): void {
    const deadline = this.now() - this.heartbeatTimeoutMs;
    for (const v of this.live.values()) {
      if (!v.online) continue;
      const heard = this.lastHeardAt.get(v.id) ?? v.receivedAt;
      if (heard <= deadline) this.set({ ...v, online: false });
    }
  }

  getVehicle(id: string): VehicleLive | undefined {
    return this.live.get(id);
  }

  getRegistryEntry(id: string): VehicleInfo | undefined {
    return this.registry.get(id);
  }

  vehicles(): IterableIterator<VehicleLive> {
    return this.live.values();
  }

  registryEntries(): IterableIterator<VehicleInfo> {
    return this.registry.values();
  }

  get size(): number {
    return this.live.size;
  }

  /** Vehicles with live state, by display state (a registered car never heard from is not counted). */
  countByState(): Record<LiveDisplayState, number> {
    const byState: Record<LiveDisplayState, number> = { moving: 0, parked: 0, offline: 0 };
    for (const v of this.live.values()) byState[liveDisplayState(v)] += 1;
    return byState;
  }

  private set(v: VehicleLive): void {
    this.live.set(v.id, v);
    this.emit({ kind: 'vehicle', id: v.id });
  }

  private emit(change: LiveFleetChange): void {
    for (const l of this.listeners) l(change);
  }
}

function sameInfo(a: VehicleInfo, b: VehicleInfo): boolean {
  return a.plate === b.plate && a.make === b.make && a.model === b.model && a.energyType === b.energyType && a.homeZone === b.homeZone;
}
