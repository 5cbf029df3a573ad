/** Per alert kind: its severity, and whether the engine may resolve it by itself. */
import type { AlertKind, AlertSeverity } from '../model.js';

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
  // movement the business did not expect of this car: staff resolve them, like movement_without_rental
  moved_in_maintenance: { severity: 'critical', autoResolve: false },
  moved_while_locked: { severity: 'critical', autoResolve: false },
});
