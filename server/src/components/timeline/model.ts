/** The timeline component's shared entity types: the query over one car's history and the raw rows of its sources. */
import type { TimelineKind } from '../../../../src/shared/timeline.js';

export interface TimelineQuery {
  vehicleId: string;
  /** inclusive bounds, epoch ms */
  from: number | null;
  to: number | null;
  kinds: readonly TimelineKind[];
  limit: number;
  /** the last entry of the previous page: only entries strictly older (at, then id) */
  before: { at: number; id: string } | null;
}

/**
 * One source row before it is worded: `event` says what happened within its kind (e.g. `opened`, `started`,
 * `succeeded`), `actor`/`actorRole` who did it as stored (a staff id, a customer id, the vehicle, `system`),
 * `data` the fields of the source that explain it.
 */
export interface TimelineRow {
  id: string;
  at: number;
  kind: TimelineKind;
  event: string;
  actor: string | null;
  actorRole: string | null;
  staffName: string | null;
  customerId: string | null;
  customerName: string | null;
  data: Record<string, unknown>;
}
