/**
 * The track component: a car's path over a range for replay, read-only over the fleet's telemetry history (SQL in
 * data/). Other components reach it only through this file.
 */
import type { Db } from '../../platform/db/index.js';
import type { HttpApp } from '../../platform/http/index.js';
import { trackRoutes } from './api/track.routes.js';
import { readGaps, readPoints, readSpan, readStops, vehicleExists } from './data/track.repository.js';
import { TrackService } from './domain/track.js';

export interface TrackComponent {
  service: TrackService;
  registerRoutes(app: HttpApp, prefix: string): Promise<void>;
}

/** `gapMs`: no sample for longer than this is an offline gap (the server's heartbeat timeout). */
export function createTrackComponent(options: { db: Db; gapMs: number }): TrackComponent {
  const { db } = options;
  const service = new TrackService(
    {
      vehicleExists: (vehicleId) => vehicleExists(db, vehicleId),
      readSpan: (query) => readSpan(db, query),
      readPoints: (query, span, bucketMs) => readPoints(db, query, span, bucketMs),
      readStops: (query) => readStops(db, query),
      readGaps: (query) => readGaps(db, query),
    },
    options.gapMs,
  );
  return {
    service,
    registerRoutes: async (app, prefix) => {
      await app.register(trackRoutes(service), { prefix });
    },
  };
}
