/**
 * The renderer's live fleet state (traccar-web style: socket → store → layers that render nothing).
 *
 * It holds the latest `VehicleLive` and `VehicleInfo` per vehicle in plain Maps and tells subscribers what
 * changed; the business-state index re-derives the cars that changed and passes the change on to the map layer and
 * the grid, which apply it imperatively. React never sees per-vehicle state, only low-rate summaries (counts,
 * freshness) that components poll or throttle.
 *
 * Consistency: frames carry an increasing `seq`. The store applies a frame only if it continues the sequence
 * it holds (a merged frame continues it from its `fromSeq`); on a gap (lost frames, host restart) or after the host
 * link comes back it re-reads the snapshot, buffering frames that arrive meanwhile and replaying those newer than
 * the snapshot. A merged frame the store already holds all of (seq at or below its own) is ignored.
 */
import type { DesktopApi, FleetFrame, FleetSnapshot, LinkState, Unsubscribe } from '../../../shared/desktop-api.js';
import type { VehicleInfo, VehicleLive } from '../../../shared/fleet.js';

export type FleetChange =
  /** everything may have changed (snapshot loaded): rebuild from `store.live` / `store.registry` */
  | { kind: 'reset' }
  /** these vehicles changed; registry entries changed rarely */
  | { kind: 'delta'; upserts: readonly VehicleLive[]; registry: readonly VehicleInfo[] };

export type FleetSyncStatus = 'loading' | 'live' | 'resyncing' | 'error';

export interface FleetStoreSource {
  fleet: Pick<DesktopApi['fleet'], 'getSnapshot' | 'onFrame'>;
  hostLink(): LinkState;
  onHostLinkChange(cb: (state: LinkState) => void): Unsubscribe;
}

/** Frames kept while a snapshot is in flight (10 frames/s → a minute); beyond that we re-read again. */
const MAX_BUFFERED_FRAMES = 600;
const RETRY_MS = 2_000;

export class FleetStore {
  readonly live = new Map<string, VehicleLive>();
  readonly registry = new Map<string, VehicleInfo>();
  /** seq of the last applied frame / snapshot; -1 before the first snapshot */
  seq = -1;
  status: FleetSyncStatus = 'loading';
  /** last error while loading the snapshot */
  lastError: string | undefined;
  /** local clock (epoch ms) of the last applied snapshot or frame: the age shown when links fail */
  lastDataAt: number | undefined;
  /** how many times the store re-read the snapshot after a gap or reconnect */
  resyncCount = 0;
  framesApplied = 0;

  private readonly listeners = new Set<(change: FleetChange) => void>();
  private readonly disposers: Unsubscribe[] = [];
  /**
   * Last-known vehicles from the local replica (IndexedDB), for when the host has nothing newer: server and
   * broker down, console restarted, desktop opened offline. Shown as offline with their age; live data from the
   * host always wins, and a snapshot re-read keeps them for the vehicles the host does not know.
   */
  private lastKnown: ReadonlyArray<{ info: VehicleInfo; live: VehicleLive | undefined }> = [];
  /** ids held only because the replica lists them (the host never registered them) */
  private readonly onlyLastKnown = new Set<string>();
  /** ids the host said left the fleet (retired) and has not brought back */
  private readonly removedByHost = new Set<string>();
  private buffer: FleetFrame[] = [];
  private syncing = false;
  private syncAgain = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private hostConnected = true;
  private disposed = false;

  constructor(private readonly source: FleetStoreSource) {}

  start(): void {
    this.hostConnected = this.source.hostLink().status === 'connected';
    this.disposers.push(this.source.fleet.onFrame((frame) => this.onFrame(frame)));
    this.disposers.push(
      this.source.onHostLinkChange((link) => {
        const wasConnected = this.hostConnected;
        this.hostConnected = link.status === 'connected';
        // Frames pushed while the link was down are gone: the snapshot is the only way back to a true picture.
        // (A snapshot request still in flight was queued for this connection: no second read.)
        if (this.hostConnected && !wasConnected && !this.syncing) void this.resync();
      }),
    );
    void this.resync();
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.retryTimer);
    for (const d of this.disposers.splice(0)) d();
    this.listeners.clear();
  }

  subscribe(cb: (change: FleetChange) => void): Unsubscribe {
    this.listeners.add(cb);
    return () => {
      this.listeners.delete(cb);
    };
  }

  /**
   * Replaces the last-known fallback (see `lastKnown`) and applies it where the host has nothing newer. A car the
   * store holds only from the replica and the replica no longer lists (retired) goes.
   */
  setLastKnown(entries: ReadonlyArray<{ info: VehicleInfo; live: VehicleLive | undefined }>): void {
    this.lastKnown = entries;
    const listed = new Set(entries.map((e) => e.info.id));
    let dropped = false;
    for (const id of this.onlyLastKnown) {
      if (listed.has(id)) continue;
      this.onlyLastKnown.delete(id);
      this.registry.delete(id);
      this.live.delete(id);
      dropped = true;
    }
    const change = this.mergeLastKnown();
    if (dropped) this.emit({ kind: 'reset' });
    else if (change.upserts.length > 0 || change.registry.length > 0) this.emit({ kind: 'delta', ...change });
  }

  private mergeLastKnown(): { upserts: VehicleLive[]; registry: VehicleInfo[] } {
    const upserts: VehicleLive[] = [];
    const registry: VehicleInfo[] = [];
    for (const { info, live } of this.lastKnown) {
      // the host said this car left the fleet: a replica that has not heard yet does not bring it back
      if (this.removedByHost.has(info.id)) continue;
      if (!this.registry.has(info.id)) {
        this.registry.set(info.id, info);
        this.onlyLastKnown.add(info.id);
        registry.push(info);
      }
      const current = this.live.get(info.id);
      // Only where no live link vouches for the car: the server's last-seen time is its own receive time and can be
      // a few ms after the desk's for the same message, and an online car replaced by its (offline) replica copy
      // flickered grey until its next report — dozens of parked cars at once after a replica bootstrap.
      if (live && (!current || (!current.online && current.receivedAt < live.receivedAt))) {
        this.live.set(info.id, live);
        upserts.push(live);
      }
    }
    return { upserts, registry };
  }

  /** Every vehicle id the store knows (live or registered), for consumers that rebuild on `reset`. */
  allIds(): Set<string> {
    const ids = new Set(this.registry.keys());
    for (const id of this.live.keys()) ids.add(id);
    return ids;
  }

  private onFrame(frame: FleetFrame): void {
    if (this.disposed) return;
    if (this.syncing || this.seq < 0) {
      this.bufferFrame(frame);
      return;
    }
    // a merged frame the store already holds all of (sent before the snapshot that covers it was read)
    if (frame.fromSeq !== undefined && frame.seq <= this.seq) return;
    if (firstSeq(frame) !== this.seq + 1) {
      this.bufferFrame(frame);
      void this.resync();
      return;
    }
    this.applyFrame(frame);
    // a car that left the fleet (retired, rare): the layers rebuild from the store, which no longer holds it
    if (frame.removed?.length) this.emit({ kind: 'reset' });
    else this.emit({ kind: 'delta', upserts: frame.upserts, registry: frame.registry });
  }

  private bufferFrame(frame: FleetFrame): void {
    this.buffer.push(frame);
    if (this.buffer.length > MAX_BUFFERED_FRAMES) {
      this.buffer = [];
      this.syncAgain = true;
    }
  }

  private applyFrame(frame: FleetFrame): void {
    for (const id of frame.removed ?? []) {
      this.live.delete(id);
      this.registry.delete(id);
      this.onlyLastKnown.delete(id);
      this.removedByHost.add(id);
    }
    for (const v of frame.upserts) this.hostHolds(v.id).live.set(v.id, v);
    for (const info of frame.registry) this.hostHolds(info.id).registry.set(info.id, info);
    this.seq = frame.seq;
    this.lastDataAt = Date.now();
    this.framesApplied++;
  }

  /** Re-read the snapshot; frames arriving meanwhile are buffered and replayed. Safe to call repeatedly. */
  async resync(): Promise<void> {
    if (this.disposed) return;
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = true;
    this.syncAgain = false;
    clearTimeout(this.retryTimer);
    if (this.seq >= 0) {
      this.status = 'resyncing';
      this.resyncCount++;
    }
    let snapshot: FleetSnapshot;
    try {
      snapshot = await this.source.fleet.getSnapshot();
    } catch (err) {
      this.syncing = false;
      if (this.disposed) return;
      this.status = 'error';
      this.lastError = err instanceof Error ? err.message : String(err);
      // While the host link is down the reconnect triggers the next attempt; otherwise retry on a timer.
      if (this.hostConnected) this.retryTimer = setTimeout(() => void this.resync(), RETRY_MS);
      this.emit(undefined);
      return;
    }
    if (this.disposed) return;
    this.loadSnapshot(snapshot);
    this.syncing = false;
    this.emit({ kind: 'reset' });
    if (this.syncAgain) void this.resync();
  }

  /** The host vouches for this car (again): it is neither replica-only nor gone. */
  private hostHolds(id: string): this {
    this.onlyLastKnown.delete(id);
    this.removedByHost.delete(id);
    return this;
  }

  private loadSnapshot(snapshot: FleetSnapshot): void {
    this.live.clear();
    this.registry.clear();
    this.onlyLastKnown.clear();
    for (const v of snapshot.vehicles) this.hostHolds(v.id).live.set(v.id, v);
    for (const info of snapshot.registry) this.hostHolds(info.id).registry.set(info.id, info);
    this.mergeLastKnown();
    this.seq = snapshot.seq;
    this.lastDataAt = Date.now();
    this.status = 'live';
    this.lastError = undefined;
    // Replay frames newer than the snapshot, in order; a hole among them means another re-read.
    const newer = this.buffer.filter((f) => f.seq > snapshot.seq).sort((a, b) => a.seq - b.seq);
    this.buffer = [];
    for (const frame of newer) {
      if (firstSeq(frame) !== this.seq + 1) {
        this.syncAgain = true;
        break;
      }
      this.applyFrame(frame);
    }
  }

  /** `undefined` = only the sync status changed (no vehicle data): listeners that care re-read the store. */
  private emit(change: FleetChange | undefined): void {
    for (const cb of [...this.listeners]) {
      try {
        cb(change ?? { kind: 'delta', upserts: [], registry: [] });
      } catch (err) {
        console.error('[fleet-store] listener failed', err);
      }
    }
  }
}

/** The first frame a frame stands for: itself, or the first of those it merges. */
function firstSeq(frame: FleetFrame): number {
  return frame.fromSeq ?? frame.seq;
}
