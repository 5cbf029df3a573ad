/**
 * The timeline component: one evidence timeline per vehicle, merged from what the other components store
 * (telemetry history, device events, commands and their transitions, claims, alerts, tasks, notes, payments,
 * the audit log) by read-only SQL in data/, and the background materializer of the trips (ignition changes) it
 * reads. Other components reach it only through this file.
 */
import type { Db } from '../../platform/db/index.js';
import type { HttpApp } from '../../platform/http/index.js';
import type { Logger } from '../../platform/log.js';
import { timelineRoutes } from './api/timeline.routes.js';
import { readTimeline, vehicleExists } from './data/timeline.repository.js';
import { IgnitionMaterializer } from './domain/ignition-materializer.js';
import { TimelineService } from './domain/timeline.js';

export { IgnitionMaterializer, type MaterializerPass } from './domain/ignition-materializer.js';

export interface TimelineComponent {
  service: TimelineService;
  /** materialises the trips in the background (tests, bench: `catchUp()`) */
  materializer: IgnitionMaterializer;
  registerRoutes(app: HttpApp, prefix: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the materializer (in the background: start does not wait for a catch-up over old history). */
export function startTimelineComponent(options: { db: Db; log: Logger; materializeLagMs: number }): TimelineComponent {
  const service = new TimelineService({
    readTimeline: (query, withCustomerNames) => readTimeline(options.db, query, withCustomerNames),
    vehicleExists: (vehicleId) => vehicleExists(options.db, vehicleId),
  });
  const materializer = new IgnitionMaterializer(options.db, options.log.child({ component: 'timeline' }), {
    lagMs: options.materializeLagMs,
  });
  materializer.start();
  return {
    service,
    materializer,
    registerRoutes: async (app, prefix) => {
      await app.register(timelineRoutes(service), { prefix });
    },
    stop: () => materializer.stop(),
  };
}
