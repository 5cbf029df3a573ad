/** The audit component's shared entity types: an entry to record, a recorded one, and a query over them. */
import type { Queryable } from '../../platform/db/index.js';

export interface AuditEntry {
  /** staff id, `system`, or the vehicle id for transitions a device caused */
  actor: string;
  /** staff role, `system` or `device` */
  role: string;
  /** `<area>.<verb>`, e.g. `command.issued`, `command.cancelled` */
  action: string;
  targetType: string;
  targetId: string;
  reason?: string | null;
  before?: unknown;
  after?: unknown;
  /** epoch ms; defaults to the database's transaction time */
  at?: number;
}

/**
 * Records an entry inside the caller's transaction (`recordAudit` from index.ts). Components that audit take this
 * as a port, so a test can hand in its own, and name it from here instead of restating the entry's shape.
 */
export type RecordAudit = (tx: Queryable, entry: AuditEntry) => Promise<void>;

export interface AuditRecord extends Required<Omit<AuditEntry, 'at' | 'reason'>> {
  id: number;
  at: number;
  reason: string | null;
}

export interface AuditQuery {
  /** who: a staff id, `system`, or a vehicle id */
  actor?: string;
  /** exactly this action (`payment.refund_requested`), or every action of an area with `area.*` (`payment.*`) */
  action?: string;
  targetType?: string;
  targetId?: string;
  /** epoch ms, inclusive */
  from?: number;
  /** epoch ms, exclusive */
  to?: number;
  /** only entries with a smaller id (paging backwards) */
  beforeId?: number;
  limit: number;
}
