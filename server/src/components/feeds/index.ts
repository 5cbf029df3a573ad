/**
 * The feeds component: the public GBFS 3.0 feed (gbfs.json, gbfs_versions, system_information, vehicle_types,
 * vehicle_status, system_pricing_plans, geofencing_zones) under /gbfs/v3. Vehicles, types and tariffs come from
 * the bookings component (its availability index: no database read per request); the operating zone from the
 * zones table (DEFAULT_SERVICE_AREA when it has none). Public vehicle ids rotate after every rental
 * (`rental.ended`), consistently across instances. Other components reach it only through this file.
 */
import type { ServiceArea } from '../../../../src/shared/service-area.js';
import type { Db } from '../../platform/db/index.js';
import type { DomainEvents } from '../../platform/domain-events.js';
import type { HttpApp } from '../../platform/http/index.js';
import type { Logger } from '../../platform/log.js';
import { gbfsRoutes } from './api/gbfs.routes.js';
import { FeedsRepository, type ZoneRow } from './data/feeds.repository.js';
import type { SystemSettings } from './domain/gbfs-documents.js';
import { GbfsFeed, type FeedVehicleSource } from './domain/gbfs-feed.js';
import { VehicleIdRotation } from './domain/vehicle-id-rotation.js';

export type { FeedVehicleSource } from './domain/gbfs-feed.js';
export { GBFS_FEEDS, type GbfsFeedName } from './domain/gbfs-documents.js';

export const GBFS_PREFIX = '/gbfs/v3';

export interface FeedsComponent {
  /** the public (rotating) GBFS id of a vehicle now */
  publicVehicleId(vehicleId: string): string;
  /** Resolves when rotations already triggered are written and applied (tests). */
  settled(): Promise<void>;
  registerRoutes(app: HttpApp, prefix?: string): Promise<void>;
  stop(): Promise<void>;
}

/** What the feed reads the zones from: the current list and a string that changes whenever it does. */
export interface FeedZoneSource {
  current(): ReadonlyArray<ZoneRow>;
  version(): string;
}

export interface FeedsOptions {
  db: Db;
  log: Logger;
  events: DomainEvents;
  /** the bookings component (vehicleTypes, availableVehicles) */
  vehicles: FeedVehicleSource;
  /** used when the zones table has no operating zone */
  operatingZone: ServiceArea;
  /**
   * The instance's current zones (the ops component's watch, which follows changes made on any instance); without
   * it the zones table is read at most every ZONES_CACHE_MS.
   */
  zoneSource?: FeedZoneSource;
  /** public base URL (PUBLIC_URL) for the links in gbfs.json; default: from the request's Host */
  publicUrl?: string;
  /** feed_contact_email (GBFS_CONTACT_EMAIL) */
  contactEmail: string;
  timezone?: string;
  now?: () => number;
}

const ZONES_CACHE_MS = 10_000;

export async function startFeedsComponent(options: FeedsOptions): Promise<FeedsComponent> {
  const log = options.log.child({ component: 'feeds' });
  const repo = new FeedsRepository(options.db);
  const rotation = new VehicleIdRotation(repo, await repo.vehicleIdSecret(), log);
  await rotation.start(options.db);
  const off = options.events.on('rental.ended', (e) => rotation.rentalEnded(e.vehicleId, e.rentalId));

  const zone = options.operatingZone;
  const fallbackZone: ZoneRow = { id: zone.id, name: zone.name, kind: 'operating', polygon: zone.polygon.map((p) => [...p]) };
  let zonesCache: { at: number; zones: Promise<ZoneRow[]> } | undefined;
  const now = options.now ?? Date.now;
  const withFallback = (rows: ZoneRow[]) => (rows.some((r) => r.kind === 'operating') ? rows : [fallbackZone, ...rows]);
  const source = options.zoneSource;
  const zones = (): Promise<ZoneRow[]> => {
    if (source) return Promise.resolve(withFallback(source.current().filter((z) => z.kind !== 'service')));
    if (!zonesCache || now() - zonesCache.at > ZONES_CACHE_MS) {
      const read = repo.zones().then(withFallback);
      read.catch(() => (zonesCache = undefined));
      zonesCache = { at: now(), zones: read };
    }
    return zonesCache.zones;
  };

  const system: SystemSettings = {
    systemId: `fleetdesk-${zone.id}`,
    name: `Fleetdesk ${zone.name}`,
    operator: 'Fleetdesk',
    timezone: options.timezone ?? 'Europe/Berlin',
    feedContactEmail: options.contactEmail,
    ...(options.publicUrl ? { url: options.publicUrl } : {}),
  };
  const feed = new GbfsFeed({
    source: options.vehicles,
    rotation,
    zones,
    zonesVersion: source ? () => source.version() : undefined,
    system,
    now,
  });

  return {
    publicVehicleId: (vehicleId) => rotation.publicId(vehicleId),
    settled: () => rotation.settled(),
    async registerRoutes(app, prefix = GBFS_PREFIX) {
      await app.register(gbfsRoutes(feed, prefix, options.publicUrl), { prefix });
    },
    async stop() {
      off();
      await rotation.stop();
    },
  };
}
