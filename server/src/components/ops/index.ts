/**
 * The ops component: operator work items — tasks (cleaning, refuel, repair, inspection), notes on vehicles,
 * alerts, customers and rentals — and the zones (the operating zone is seeded from the demo service area at
 * start when absent; admins draw, edit and retire zones, versioned and audited; `zones` is the instance's current
 * copy that the zone-exit alert and the GBFS feed read). Staff API under /ops/v1; the sync component pushes through the same use cases.
 * Other components reach it only through this file.
 */
import type { ServiceArea } from '../../../../src/shared/service-area.js';
import type { Db } from '../../platform/db/index.js';
import type { HttpApp } from '../../platform/http/index.js';
import type { Logger } from '../../platform/log.js';
import { recordAudit } from '../audit/index.js';
import { opsRoutes } from './api/ops.routes.js';
import { zonesRoutes } from './api/zones.routes.js';
import { insertZoneIfAbsent } from './data/ops.repository.js';
import { OpsService } from './domain/ops-service.js';
import { ZonesAdmin } from './domain/zones-admin.js';
import { ZoneWatch } from './domain/zone-watch.js';

export type { CreateNoteInput, CreateTaskInput, TaskPatch } from './domain/ops-service.js';
export { OpsService } from './domain/ops-service.js';
export { noteDocs, taskDocs, zoneDocs } from './data/ops-docs.js';
export type { ZoneWatch, ZonesListener } from './domain/zone-watch.js';

export interface OpsComponent {
  service: OpsService;
  /** the current zones of this instance, following changes made on any instance within about a second */
  zones: ZoneWatch;
  registerRoutes(app: HttpApp, prefix: string): Promise<void>;
  stop(): Promise<void>;
}

export interface OpsOptions {
  db: Db;
  log: Logger;
  /** seeded into `zones` as the operating zone when no zone with its id exists */
  operatingZone?: ServiceArea | null;
  now?: () => number;
  /** how often the zones are checked for changes (ms) */
  zoneWatchIntervalMs?: number;
}

export async function startOpsComponent(options: OpsOptions): Promise<OpsComponent> {
  const log = options.log.child({ component: 'ops' });
  const zone = options.operatingZone;
  if (zone) {
    const inserted = await options.db.transaction(async (tx) => {
      return insertZoneIfAbsent(tx, { id: zone.id, name: zone.name, kind: 'operating', polygon: zone.polygon.map((p) => [...p]) });
    });
    if (inserted) log.info('operating zone seeded', { id: zone.id });
  }
  const service = new OpsService(options.db, recordAudit, options.now);
  const zones = new ZoneWatch(options.db, log);
  await zones.start(options.zoneWatchIntervalMs);
  const zonesAdmin = new ZonesAdmin(options.db, recordAudit);
  return {
    service,
    zones,
    registerRoutes: async (app, prefix) => {
      await app.register(opsRoutes(service, prefix), { prefix });
      // this instance's readers follow its own writes at once; the others within a poll
      await app.register(
        zonesRoutes(zonesAdmin, prefix, () => zones.refresh()),
        { prefix },
      );
    },
    stop: () => zones.stop(),
  };
}
