/**
 * Turns a stream of per-vehicle changes into at most one `FleetFrame` per interval (default 100 ms → ≤ 10/s):
 * at 20 000 vehicles × 1 Hz, crossing IPC per message would swamp the renderer, and only the latest state of a
 * vehicle matters. The first change after a quiet period goes out immediately (low latency); later ones wait
 * for the interval to elapse.
 *
 * Consistency: `getSnapshot().seq` is the seq of the last emitted frame, and the snapshot holds the current
 * state (which may already include changes still pending). A client that applies frames with seq > snapshot.seq
 * on top of the snapshot converges to the right state, because upserts carry full latest states.
 */
import type { FleetFrame, FleetSnapshot, Unsubscribe } from '../../shared/desktop-api.js';
import type { VehicleInfo, VehicleLive } from '../../shared/fleet.js';
import type { LiveFleetChange } from './live-fleet.js';

export interface FrameSource {
  getVehicle(id: string): VehicleLive | undefined;
  getRegistryEntry(id: string): VehicleInfo | undefined;
  vehicles(): Iterable<VehicleLive>;
  registryEntries(): Iterable<VehicleInfo>;
}

/** Every change of the live fleet marked for the next frame (vehicle state, registry entry, a car that left). */
export function markFleetChanges(
  fleet: { onChange(listener: (change: LiveFleetChange) => void): Unsubscribe },
  coalescer: FrameCoalescer,
): Unsubscribe {
  return fleet.onChange((c) => {
    if (c.kind === 'vehicle') coalescer.markVehicle(c.id);
    else if (c.kind === 'registry') coalescer.markRegistry(c.id);
    else coalescer.markRemoved(c.id);
  });
}

export interface FrameCoalescerOptions {
  /** minimum ms between frames (default 100) */
  intervalMs?: number;
  now?: () => number;
}

export class FrameCoalescer {
  private readonly pendingVehicles = new Set<string>();
  private readonly pendingRegistry = new Set<string>();
  private readonly pendingRemoved = new Set<string>();
  private readonly intervalMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private lastEmitAt = Number.NEGATIVE_INFINITY;
  private running = false;
  private frameSeq = 0;

  constructor(
    private readonly source: FrameSource,
    private readonly emit: (frame: FleetFrame) => void,
    options: FrameCoalescerOptions = {},
  ) {
    this.intervalMs = Math.max(1, options.intervalMs ?? 100);
    this.now = options.now ?? Date.now;
  }

  /** seq of the last emitted frame (0 before the first) */
  get seq(): number {
    return this.frameSeq;
  }

  start(): void {
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  markVehicle(id: string): void {
    this.pendingVehicles.add(id);
    this.schedule();
  }

  markRegistry(id: string): void {
    this.pendingRegistry.add(id);
    this.schedule();
  }

  /** The vehicle left the fleet: the next frame says so (and carries no state of it, unless it is back by then). */
  markRemoved(id: string): void {
    this.pendingRemoved.add(id);
    this.schedule();
  }

  getSnapshot(): FleetSnapshot {
    return {
      seq: this.frameSeq,
      at: this.now(),
      vehicles: Array.from(this.source.vehicles()),
      registry: Array.from(this.source.registryEntries()),
    };
  }

  /** Emits a frame now if anything is pending (used by the timer; public for tests). */
  flush(): FleetFrame | null {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const upserts: VehicleLive[] = [];
    for (const id of this.pendingVehicles) {
      const v = this.source.getVehicle(id);
      if (v) upserts.push(v);
    }
    const registry: VehicleInfo[] = [];
    for (const id of this.pendingRegistry) {
      const r = this.source.getRegistryEntry(id);
      if (r) registry.push(r);
    }
    // a car removed and back before this frame (reinstated) is sent as it is now, not as removed
    const removed = [...this.pendingRemoved].filter((id) => !this.source.getRegistryEntry(id) && !this.source.getVehicle(id));
    this.pendingVehicles.clear();
    this.pendingRegistry.clear();
    this.pendingRemoved.clear();
    if (upserts.length === 0 && registry.length === 0 && removed.length === 0) return null;
    const at = this.now();
    this.lastEmitAt = at;
    this.frameSeq += 1;
    const frame: FleetFrame = { seq: this.frameSeq, at, upserts, registry, ...(removed.length > 0 ? { removed } : {}) };
    this.emit(frame);
    return frame;
  }

  private schedule(): void {
    if (!this.running || this.timer) return;
    if (this.pendingVehicles.size === 0 && this.pendingRegistry.size === 0 && this.pendingRemoved.size === 0) return;
    const wait = Math.max(0, this.lastEmitAt + this.intervalMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, wait);
  }
}
