/**
 * The timeline component: one evidence timeline per vehicle, merged from what the other components store
 * (telemetry history, device events, commands and their transitions, claims, alerts, tasks, notes, payments,
 * the audit log) by read-only SQL in data/. Other components reach it only through this file.
 */
import type { Db } from '../../platform/db/index.js';
import type { HttpApp } from '../../platform/http/index.js';
import { timelineRoutes } from './api/timeline.routes.js';
import { readTimeline, vehicleExists } from './data/timeline.repository.js';
import { TimelineService } from './domain/timeline.js';

export interface TimelineComponent {
  service: TimelineService;
  registerRoutes(app: HttpApp, prefix: string): Promise<void>;
}

export function createTimelineComponent(options: { db: Db }): TimelineComponent {
  const service = new TimelineService({
    readTimeline: (query, withCustomerNames) => readTimeline(options.db, query, withCustomerNames),
    vehicleExists: (vehicleId) => vehicleExists(options.db, vehicleId),
  });
  return {
    service,
    registerRoutes: async (app, prefix) => {
      await app.register(timelineRoutes(service), { prefix });
    },
  };
}
