/** The audit component's shared entity types: an entry to record, a recorded one, and a query over them. */

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

export interface AuditRecord extends Required<Omit<AuditEntry, 'at' | 'reason'>> {
  id: number;
  at: number;
  reason: string | null;
}

export interface AuditQuery {
  targetType?: string;
  targetId?: string;
  /** only entries with a smaller id (paging backwards) */
  beforeId?: number;
  limit: number;
}
