/**
 * The ops component: operator work items — tasks (cleaning, refuel, repair, inspection), notes on vehicles,
 * alerts, customers and rentals — and the zones table (the operating zone is seeded from the demo service area
 * at start when absent). Staff API under /ops/v1; the sync component pushes through the same use cases.
 * Other components reach it only through this file.
 */
import type { ServiceArea } from '../../../../src/shared/service-area.js';
import type { Db } from '../../platform/db/index.js';
import type { HttpApp } from '../../platform/http/index.js';
import type { Logger } from '../../platform/log.js';
import { recordAudit } from '../audit/index.js';
import { opsRoutes } from './api/ops.routes.js';
import { insertZoneIfAbsent } from './data/ops.repository.js';
import { OpsService } from './domain/ops-service.js';

export type { CreateNoteInput, CreateTaskInput, TaskPatch } from './domain/ops-service.js';
export { OpsService } from './domain/ops-service.js';
export { noteDocs, taskDocs, zoneDocs } from './data/ops-docs.js';

export interface OpsComponent {
  service: OpsService;
  registerRoutes(app: HttpApp, prefix: string): Promise<void>;
}

export interface OpsOptions {
  db: Db;
  log: Logger;
  /** seeded into `zones` as the operating zone when no zone with its id exists */
  operatingZone?: ServiceArea | null;
  now?: () => number;
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
  return {
    service,
    registerRoutes: async (app, prefix) => {
      await app.register(opsRoutes(service, prefix), { prefix });
    },
  };
}
