/** The alerts component's shared entity types: the alert kinds, statuses and severities, and a stored alert (every layer imports these). */

import { ALERT_KINDS, isAlertKind, type AlertKind } from '../../../../src/shared/alert-kinds.js';

/** The kinds are declared once for every program (src/shared/alert-kinds.ts, with their labels). */
export { ALERT_KINDS, isAlertKind, type AlertKind };

export const ALERT_STATUSES = ['open', 'acknowledged', 'resolved'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

/** A stored alert (the staff API and, later, the desktop replica see this shape). */
export interface Alert {
  id: string;
  vehicleId: string;
  kind: AlertKind;
  severity: AlertSeverity;
  status: AlertStatus;
  /** what the engine saw when it last raised it (position, energy, event data…) */
  details: Record<string, unknown>;
  /** how many times the condition started while this alert was open (1 = once) */
  occurrences: number;
  firstSeenAt: number;
  lastSeenAt: number;
  assignee: string | null;
  acknowledgedBy: string | null;
  acknowledgedAt: number | null;
  resolvedBy: string | null;
  resolvedAt: number | null;
  /** `auto: <reason>` when the engine resolved it, else the staff member's note */
  resolution: string | null;
  serverSeq: number;
  updatedAt: number;
}
