/**
 * GBFS 3.0 documents (https://github.com/MobilityData/gbfs/blob/v3.0/gbfs.md), built from the bookings component's
 * vehicle types, tariffs and in-memory availability and from the operating zones. Pure functions: the routes
 * add caching and URLs. Times are RFC 3339 (3.0 replaced POSIX timestamps); prices in currency units (EUR), as
 * GBFS wants them, converted from our integer cents.
 */
import type { GbfsVehicle } from '../../bookings/index.js';
import type { VehicleTypeWithTariff } from '../../pricing/index.js';
import type { ZoneRow } from '../data/feeds.repository.js';

export const GBFS_VERSION = '3.0';
const LANGUAGE = 'en';

/** Feeds published under the version prefix, in the order gbfs.json lists them. */
export const GBFS_FEEDS = [
  'gbfs',
  'gbfs_versions',
  'system_information',
  'vehicle_types',
  'vehicle_status',
  'system_pricing_plans',
  'geofencing_zones',
] as const;
export type GbfsFeedName = (typeof GBFS_FEEDS)[number];

/** Seconds before each file is expected to change (its `ttl`). */
export const GBFS_TTL_S: Record<GbfsFeedName, number> = {
  gbfs: 300,
  gbfs_versions: 300,
  system_information: 300,
  vehicle_types: 300,
  vehicle_status: 15,
  system_pricing_plans: 300,
  geofencing_zones: 300,
};

export interface GbfsEnvelope<T> {
  last_updated: string;
  ttl: number;
  version: typeof GBFS_VERSION;
  data: T;
}

/** What the bookings component gives (BookingsComponent.vehicleTypes / availableVehicles). */
export type FeedVehicleType = VehicleTypeWithTariff;
export type FeedVehicle = GbfsVehicle;

export interface SystemSettings {
  systemId: string;
  name: string;
  operator: string;
  timezone: string;
  feedContactEmail: string;
  /** the operator's public site, if any */
  url?: string;
}

const text = (value: string) => [{ text: value, language: LANGUAGE }];

/** RFC 3339 in UTC, whole seconds. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export function envelope<T>(feed: GbfsFeedName, data: T, nowMs: number): GbfsEnvelope<T> {
  return { last_updated: rfc3339(nowMs), ttl: GBFS_TTL_S[feed], version: GBFS_VERSION, data };
}

export function discovery(feedUrl: (name: GbfsFeedName) => string) {
  return { feeds: GBFS_FEEDS.map((name) => ({ name, url: feedUrl(name) })) };
}

export function versions(gbfsUrl: string) {
  return { versions: [{ version: GBFS_VERSION, url: gbfsUrl }] };
}

export function systemInformation(s: SystemSettings) {
  return {
    system_id: s.systemId,
    languages: [LANGUAGE],
    name: text(s.name),
    operator: text(s.operator),
    // free-floating carsharing: cars can be rented around the clock
    opening_hours: '24/7',
    feed_contact_email: s.feedContactEmail,
    timezone: s.timezone,
    ...(s.url ? { url: s.url } : {}),
  };
}

export const pricingPlanId = (vehicleTypeId: string) => `${vehicleTypeId}-minute`;

export function vehicleTypes(types: readonly FeedVehicleType[]) {
  return {
    vehicle_types: types.map((t) => ({
      vehicle_type_id: t.id,
      form_factor: 'car',
      propulsion_type: t.propulsion,
      max_range_meters: t.maxRangeMeters,
      name: text(t.name),
      make: text(t.make),
      model: text(t.model),
      wheel_count: 4,
      return_constraint: 'free_floating',
      default_reserve_time: t.tariff.freeHoldMinutes,
      default_pricing_plan_id: pricingPlanId(t.id),
      pricing_plan_ids: [pricingPlanId(t.id)],
    })),
  };
}

const units = (cents: number) => Math.round(cents) / 100;
const money = (cents: number, currency: string) => `${units(cents).toFixed(2)} ${currency}`;

/**
 * One plan per vehicle type. GBFS has per-minute and per-km segments but no parked rate, daily cap or
 * reservation fee: those are in the description (the authoritative price is the API's breakdown).
 */
export function pricingPlans(types: readonly FeedVehicleType[]) {
  return {
    plans: types.map((t) => {
      const p = t.tariff;
      const description = [
        `${money(p.perMinuteDrivingCents, p.currency)} per minute driving, ${money(p.perMinuteParkedCents, p.currency)} per minute parked.`,
        `${p.includedKm} km included per day, then ${money(p.perKmCents, p.currency)} per km.`,
        `At most ${money(p.dailyCapCents, p.currency)} per 24 hours (time charges).`,
        `Reservations are free for ${p.freeHoldMinutes} minutes, then ${money(p.reservationFeePerMinuteCents, p.currency)} per minute.`,
      ].join(' ');
      return {
        plan_id: pricingPlanId(t.id),
        name: text(`${t.name} — pay per minute`),
        currency: p.currency,
        price: 0,
        // prices include VAT
        is_taxable: false,
        description: text(description),
        per_min_pricing: [{ start: 0, rate: units(p.perMinuteDrivingCents), interval: 1 }],
        ...(p.perKmCents > 0 ? { per_km_pricing: [{ start: p.includedKm, rate: units(p.perKmCents), interval: 1 }] } : {}),
      };
    }),
  };
}

/** Vehicles not in a trip (the availability index already leaves rented cars out), under their rotating ids. */
export function vehicleStatus(vehicles: readonly FeedVehicle[], publicId: (vehicleId: string) => string) {
  return {
    vehicles: vehicles.map((v) => ({
      vehicle_id: publicId(v.vehicleId),
      lat: round6(v.lat),
      lon: round6(v.lon),
      is_reserved: v.reserved,
      is_disabled: v.disabled,
      vehicle_type_id: v.vehicleTypeId,
      last_reported: rfc3339(v.lastReportedAt),
      current_range_meters: Math.max(0, Math.round(v.rangeMeters)),
      ...(v.energyPct === null ? {} : { current_fuel_percent: Math.min(1, Math.max(0, Math.round(v.energyPct) / 100)) }),
      pricing_plan_id: pricingPlanId(v.vehicleTypeId),
    })),
  };
}

/**
 * The operating zone(s) as GeoJSON MultiPolygons: rides may end inside; everywhere else (global rule) they may
 * not. No-parking zones come first: GBFS gives the first listed of overlapping zones precedence.
 */
export function geofencingZones(zones: readonly ZoneRow[]) {
  const ordered = [...zones.filter((z) => z.kind === 'no_parking'), ...zones.filter((z) => z.kind === 'operating')];
  return {
    geofencing_zones: {
      type: 'FeatureCollection',
      features: ordered.map((z) => ({
        type: 'Feature',
        properties: {
          name: text(z.name),
          rules: [{ ride_start_allowed: true, ride_end_allowed: z.kind === 'operating', ride_through_allowed: true }],
        },
        geometry: { type: 'MultiPolygon', coordinates: [[counterClockwise(closeRing(z.polygon))]] },
      })),
    },
    global_rules: [{ ride_start_allowed: false, ride_end_allowed: false, ride_through_allowed: true }],
  };
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

function closeRing(ring: number[][]): number[][] {
  const first = ring[0];
  const last = ring[ring.length - 1];
  if (!first || !last) return ring;
  return first[0] === last[0] && first[1] === last[1] ? ring : [...ring, first];
}

/** RFC 7946 right-hand rule: exterior rings counter-clockwise (positive shoelace area in lon/lat). */
export function counterClockwise(ring: number[][]): number[][] {
  let twiceArea = 0;
  for (let i = 0; i + 1 < ring.length; i++) {
    const [x1 = 0, y1 = 0] = ring[i]!;
    const [x2 = 0, y2 = 0] = ring[i + 1]!;
    twiceArea += x1 * y2 - x2 * y1;
  }
  return twiceArea < 0 ? [...ring].reverse() : ring;
}
