/**
 * The zones every part of this server instance works with (the zone-exit alert, the GBFS geofencing file), kept
 * current across instances: a cheap fingerprint of the zones table (its highest server_seq and zones tombstone,
 * ZONE_WATCH_INTERVAL_MS apart) is polled, and only when it changed are the zones read again and the listeners
 * told. A change written on any instance is therefore seen everywhere within about one interval — the database
 * is the one place that says the zones changed, never an in-process event alone.
 */
import type { ZoneView } from '../../../../../src/shared/zones.js';
import type { Db } from '../../../platform/db/index.js';
import { errorFields, type Logger } from '../../../platform/log.js';
import { WorkerLoop } from '../../../platform/worker-loop.js';
import { listZones, zonesFingerprint } from '../data/zones.repository.js';

export const ZONE_WATCH_INTERVAL_MS = 1_000;

export type ZonesListener = (zones: readonly ZoneView[]) => void;

export class ZoneWatch {
  private fingerprint: string | undefined;
  private zones: readonly ZoneView[] = [];
  private readonly listeners = new Set<ZonesListener>();
  private readonly loop: WorkerLoop;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
  ) {
    this.loop = new WorkerLoop(
      () => this.pass(),
      (err) => this.log.warn('reading the zones failed; keeping the last known ones', errorFields(err)),
    );
  }

  /** Reads the zones once (so `current()` is right from the start), then polls. */
  async start(intervalMs = ZONE_WATCH_INTERVAL_MS): Promise<void> {
    await this.pass();
    this.loop.start(intervalMs);
  }

  /** The zones as last read. */
  current(): readonly ZoneView[] {
    return this.zones;
  }

  /** A string that changes whenever the zones read change (caches key on it). */
  version(): string {
    return this.fingerprint ?? '';
  }

  /** `listener` now with the current zones, and after every change; returns the unsubscribe. */
  subscribe(listener: ZonesListener): () => void {
    this.listeners.add(listener);
    listener(this.zones);
    return () => this.listeners.delete(listener);
  }

  /** Look again now (after a write on this instance: its own readers follow at once). */
  refresh(): Promise<void> {
    this.loop.kick();
    return this.loop.drain();
  }

  stop(): Promise<void> {
    this.listeners.clear();
    return this.loop.stop();
  }

  private async pass(): Promise<void> {
    const fingerprint = await zonesFingerprint(this.db);
    if (fingerprint === this.fingerprint) return;
    const zones = await listZones(this.db);
    this.zones = zones;
    this.fingerprint = fingerprint;
    for (const listener of this.listeners) {
      try {
        listener(zones);
      } catch (err) {
        this.log.error('a zones listener failed', errorFields(err));
      }
    }
  }
}
