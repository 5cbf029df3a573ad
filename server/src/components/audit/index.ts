/**
 * The audit component: who changed what, when and why. Every staff mutation (and every command transition)
 * calls `recordAudit(tx, entry)` inside the transaction of the change itself; staff read it back at
 * `GET /ops/v1/audit` (filtered, paged), `/ops/v1/audit.csv` (a file) and `/ops/v1/audit/vocabulary`. Other components reach it only through this file.
 */
import type { Db } from '../../platform/db/index.js';
import type { HttpApp } from '../../platform/http/index.js';
import { auditRoutes } from './api/audit.routes.js';
import { listAudit, listAuditVocabulary } from './data/audit.repository.js';

export { recordAudit, listAudit } from './data/audit.repository.js';
export type { AuditEntry, AuditRecord, AuditQuery, RecordAudit } from './model.js';

export interface AuditComponent {
  registerRoutes(app: HttpApp, prefix: string): Promise<void>;
}

export function createAuditComponent(options: { db: Db }): AuditComponent {
  return {
    registerRoutes: async (app, prefix) => {
      await app.register(
        auditRoutes({ list: (query) => listAudit(options.db, query), vocabulary: () => listAuditVocabulary(options.db) }),
        { prefix },
      );
    },
  };
}
