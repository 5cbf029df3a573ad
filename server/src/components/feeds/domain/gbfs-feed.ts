/**
 * Serves the GBFS documents as ready-to-send JSON strings. vehicle_status (the one that is large — 20,000 cars ≈
 * 5 MB — and asked for often) is rebuilt only when the availability snapshot or a vehicle's rotation changed; the
 * other files are kept for a few seconds (one entry per file: the base URL comes from the request when no public
 * URL is configured, and must not grow a cache).
 */
import type { ZoneRow } from '../data/feeds.repository.js';
import {
  discovery,
  envelope,
  geofencingZones,
  pricingPlans,
  systemInformation,
  vehicleStatus,
  vehicleTypes,
  versions,
  type FeedVehicle,
  type FeedVehicleType,
  type GbfsFeedName,
  type SystemSettings,
} from './gbfs-documents.js';
import type { VehicleIdRotation } from './vehicle-id-rotation.js';

/** What the feed needs from the bookings (available vehicles) and pricing (vehicle types) components. */
export interface FeedVehicleSource {
  vehicleTypes(): Promise<ReadonlyArray<FeedVehicleType>>;
  availableVehicles(): ReadonlyArray<FeedVehicle>;
}

export interface GbfsFeedOptions {
  source: FeedVehicleSource;
  rotation: VehicleIdRotation;
  zones: () => Promise<ZoneRow[]>;
  /** changes whenever the zones do: geofencing_zones is rebuilt at once instead of after staticCacheMs */
  zonesVersion?: () => string;
  system: SystemSettings;
  now?: () => number;
  /** how long files other than vehicle_status are reused (default 5 s) */
  staticCacheMs?: number;
}

const STATIC_CACHE_MS = 5_000;

export class GbfsFeed {
  private readonly now: () => number;
  private readonly staticCache = new Map<GbfsFeedName, { key: string; at: number; json: string }>();
  private status: { vehicles: ReadonlyArray<FeedVehicle>; version: number; json: string } | undefined;

  constructor(private readonly o: GbfsFeedOptions) {
    this.now = o.now ?? Date.now;
  }

  /** `feedUrl(name)`: the absolute URL of a file of this feed (gbfs.json lists them). */
  async document(name: GbfsFeedName, feedUrl: (name: GbfsFeedName) => string): Promise<string> {
    if (name === 'vehicle_status') return this.vehicleStatus();
    const key =
      name === 'gbfs' || name === 'gbfs_versions' ? feedUrl('gbfs') : name === 'geofencing_zones' ? (this.o.zonesVersion?.() ?? '') : '';
    const at = this.now();
    const cached = this.staticCache.get(name);
    if (cached && cached.key === key && at - cached.at < (this.o.staticCacheMs ?? STATIC_CACHE_MS)) return cached.json;
    const json = JSON.stringify(envelope(name, await this.data(name, feedUrl), at));
    this.staticCache.set(name, { key, at, json });
    return json;
  }

  private async data(name: Exclude<GbfsFeedName, 'vehicle_status'>, feedUrl: (name: GbfsFeedName) => string): Promise<unknown> {
    switch (name) {
      case 'gbfs':
        return discovery(feedUrl);
      case 'gbfs_versions':
        return versions(feedUrl('gbfs'));
      case 'system_information':
        return systemInformation(this.o.system);
      case 'vehicle_types':
        return vehicleTypes(await this.o.source.vehicleTypes());
      case 'system_pricing_plans':
        return pricingPlans(await this.o.source.vehicleTypes());
      case 'geofencing_zones':
        return geofencingZones(await this.o.zones());
    }
  }

  private vehicleStatus(): string {
    const vehicles = this.o.source.availableVehicles();
    const version = this.o.rotation.version;
    if (this.status?.vehicles === vehicles && this.status.version === version) return this.status.json;
    const json = JSON.stringify(
      envelope(
        'vehicle_status',
        vehicleStatus(vehicles, (id) => this.o.rotation.publicId(id)),
        this.now(),
      ),
    );
    this.status = { vehicles, version, json };
    return json;
  }
}
