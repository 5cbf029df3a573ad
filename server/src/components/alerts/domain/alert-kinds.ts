/** The alert kinds the engine raises, their severity, and whether the engine may resolve them by itself. */

export const ALERT_KINDS = ['device_offline', 'low_energy', 'door_open_parked', 'movement_without_rental', 'zone_exit', 'crash', 'tamper'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export const ALERT_STATUSES = ['open', 'acknowledged', 'resolved'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export interface AlertKindPolicy {
  severity: AlertSeverity;
  /** true: the engine resolves the alert (actor `system`) when the condition clears; false: staff resolve it */
  autoResolve: boolean;
}

export const ALERT_POLICIES: Readonly<Record<AlertKind, AlertKindPolicy>> = Object.freeze({
  device_offline: { severity: 'warning', autoResolve: true },
  low_energy: { severity: 'info', autoResolve: true },
  door_open_parked: { severity: 'warning', autoResolve: true },
  movement_without_rental: { severity: 'critical', autoResolve: false },
  zone_exit: { severity: 'warning', autoResolve: true },
  crash: { severity: 'critical', autoResolve: false },
  tamper: { severity: 'critical', autoResolve: false },
});

export function isAlertKind(value: string): value is AlertKind {
  return (ALERT_KINDS as readonly string[]).includes(value);
}

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
