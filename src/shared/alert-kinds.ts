/**
 * The alert kinds the server's alert engine raises, declared once for every program: the server's engine, its
 * database check and its staff API take the kinds from here; the desk takes their human labels and which ones
 * reach the operator as a desktop notification.
 */

export const ALERT_KINDS = [
  'device_offline',
  'low_energy',
  'door_open_parked',
  'movement_without_rental',
  'zone_exit',
  'crash',
  'tamper',
  'moved_in_maintenance',
  'moved_while_locked',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export function isAlertKind(value: string): value is AlertKind {
  return (ALERT_KINDS as readonly string[]).includes(value);
}

export interface AlertKindInfo {
  /** what the operator reads in the queue, the filters and the notification */
  label: string;
  /** a new alert of this kind raises a desktop notification (unless the operator muted the kind) */
  notify: boolean;
}

export const ALERT_KIND_INFO: Readonly<Record<AlertKind, AlertKindInfo>> = Object.freeze({
  device_offline: { label: 'Device offline', notify: false },
  low_energy: { label: 'Low fuel / battery', notify: false },
  door_open_parked: { label: 'Door open while parked', notify: false },
  movement_without_rental: { label: 'Moving without a rental', notify: true },
  zone_exit: { label: 'Left the operating zone', notify: true },
  crash: { label: 'Crash', notify: true },
  tamper: { label: 'Tampering', notify: true },
  moved_in_maintenance: { label: 'Moving while in maintenance', notify: true },
  moved_while_locked: { label: 'Moving locked, engine off (towed?)', notify: true },
});

/** The label of a kind; a kind this build does not know yet (a newer server) shows as its code, made readable. */
export function alertKindLabel(kind: string): string {
  return isAlertKind(kind) ? ALERT_KIND_INFO[kind].label : kind.replace(/_/g, ' ');
}

/** Does a new alert of this kind (and severity) reach the operator as a desktop notification? Unknown critical kinds do. */
export function alertNotifies(kind: string, severity: string): boolean {
  return isAlertKind(kind) ? ALERT_KIND_INFO[kind].notify : severity === 'critical';
}
