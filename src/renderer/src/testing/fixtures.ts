/** Test support: replica documents as the server sends them, valid by the shared sync schemas. See README.md. */
import type { AlertDoc } from '../../../shared/sync-protocol.js';

/** An open, unassigned low-battery warning, seen once at t = 1. */
export function alertDoc(overrides: Partial<AlertDoc> = {}): AlertDoc {
  return {
    id: 'a1',
    updatedAt: 1,
    vehicleId: 'veh-1',
    kind: 'low_battery',
    severity: 'warning',
    status: 'open',
    assignee: null,
    resolution: null,
    openedAt: 1,
    lastSeenAt: 1,
    occurrences: 1,
    acknowledgedBy: null,
    acknowledgedAt: null,
    resolvedBy: null,
    resolvedAt: null,
    ...overrides,
  };
}
