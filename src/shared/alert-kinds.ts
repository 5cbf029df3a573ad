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

/** Kinds that mark a milestone in a car's history: their own words when raised and when resolved. */
const MILESTONE_TITLES: Readonly<Record<string, [raised: string, resolved: string]>> = {
  device_offline: ['Went offline', 'Back online'],
  low_energy: ['Low energy', 'Energy recovered'],
  zone_exit: ['Left the operating zone', 'Back in the operating zone'],
};

/** A timeline's title for an alert raised or resolved: "Left the operating zone", "Alert raised: Crash (critical)". */
export function alertEventTitle(kind: string, event: 'opened' | 'resolved', severity?: string | null): string {
  const milestone = MILESTONE_TITLES[kind];
  if (milestone) return milestone[event === 'opened' ? 0 : 1];
  return event === 'opened'
    ? `Alert raised: ${alertKindLabel(kind)}${severity ? ` (${severity})` : ''}`
    : `Alert resolved: ${alertKindLabel(kind)}`;
}

export const isMilestoneAlert = (kind: string): boolean => Object.hasOwn(MILESTONE_TITLES, kind);

const DETAIL_WORDS: Readonly<Record<string, (v: number | string | boolean) => string | null>> = {
  speedKph: (v) => (typeof v === 'number' ? `speed ${Math.round(v)} km/h` : null),
  locked: (v) => (typeof v === 'boolean' ? (v ? 'locked' : 'unlocked') : null),
  ignition: (v) => (typeof v === 'boolean' ? `ignition ${v ? 'on' : 'off'}` : null),
  energyPct: (v) => (typeof v === 'number' ? `energy ${Math.round(v)} %` : null),
  thresholdPct: (v) => (typeof v === 'number' ? `threshold ${Math.round(v)} %` : null),
  distanceM: (v) => (typeof v === 'number' ? `${Math.round(v)} m outside` : null),
  // what the engine matched on ("moving"): the kind already says it
  reason: () => null,
};
/** position and ordering fields: in the evidence, not in the words */
const TECHNICAL_DETAILS = new Set(['seq', 'deviceTs', 'lat', 'lon']);

/** An alert's details in words: "speed 24 km/h, unlocked, ignition on"; nested data and technical fields left out. */
export function alertDetailWords(details: unknown): string | null {
  if (!details || typeof details !== 'object') return null;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(details as Record<string, unknown>)) {
    if (TECHNICAL_DETAILS.has(k) || (typeof v !== 'number' && typeof v !== 'string' && typeof v !== 'boolean')) continue;
    const known = DETAIL_WORDS[k];
    const words = known
      ? known(v)
      : `${k.replace(/_/g, ' ').replace(/([a-z])([A-Z])/g, (_, a: string, b: string) => `${a} ${b.toLowerCase()}`)} ${
          typeof v === 'number' ? Math.round(v * 10) / 10 : typeof v === 'boolean' ? (v ? 'yes' : 'no') : v.replace(/_/g, ' ')
        }`;
    if (words) parts.push(words);
  }
  return parts.length > 0 ? parts.join(', ') : null;
}
