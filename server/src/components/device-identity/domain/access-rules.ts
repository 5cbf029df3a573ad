/**
 * Who may do what on the broker — the one definition both brokers use: the embedded Aedes broker asks
 * `canPublish` / `canSubscribe` / `checkConnect` on every packet, and the Mosquitto generator turns the same
 * rules into `pattern` / `topic` lines of an ACL file.
 *
 * Topic patterns are MQTT filters in which `%u` stands for the username (as in Mosquitto's ACL `pattern`
 * lines). A device's username is its vehicle id, which cannot contain `/`, `+` or `#`, so substituting it never
 * widens a pattern. Other accounts' usernames contain a `.` (`desktop.3f9a…`), which no vehicle id can: a
 * `%u` pattern can never name a real vehicle for them.
 */
import { isVehicleId, TOPIC_PREFIX, type DeviceChannel } from '../../../../../src/shared/device-protocol.js';
import type { MqttRole } from '../model.js';

export interface RoleRules {
  /** topics this role may publish to (and use as its last will) */
  publish: readonly string[];
  /** topic filters this role may subscribe with (a filter must lie entirely within one of them) */
  subscribe: readonly string[];
  /** the MQTT client id must equal the username (nobody can take over, or kick, another device's session) */
  clientIdIsUsername: boolean;
}

const DEVICE_PUBLISHES: readonly DeviceChannel[] = ['telemetry', 'events', 'status', 'command-results'];
const DESKTOP_READS: readonly DeviceChannel[] = ['telemetry', 'status', 'events'];

export const ACCESS_RULES: Readonly<Record<MqttRole, RoleRules>> = Object.freeze({
  device: {
    publish: DEVICE_PUBLISHES.map((c) => `${TOPIC_PREFIX}/%u/${c}`),
    subscribe: [`${TOPIC_PREFIX}/%u/commands`],
    clientIdIsUsername: true,
  },
  desktop: {
    publish: [],
    subscribe: DESKTOP_READS.map((c) => `${TOPIC_PREFIX}/+/${c}`),
    clientIdIsUsername: false,
  },
  service: {
    publish: ['fleet/v1/#'],
    subscribe: ['fleet/v1/#', '$share/+/fleet/v1/#'],
    clientIdIsUsername: false,
  },
});

/** The account an MQTT session authenticated as. */
export interface MqttPrincipal {
  readonly username: string;
  readonly role: MqttRole;
}

export type ConnectDenial = 'client_id' | 'will';

/**
 * The non-credential part of CONNECT: client id and last will. `isOtherUsername` says whether a client id is
 * some other account's username (a desktop must not connect as `veh-00001` and kick that car off).
 */
export function checkConnect(
  principal: MqttPrincipal,
  clientId: string,
  willTopic: string | undefined,
  isOtherUsername: (clientId: string) => boolean,
): ConnectDenial | null {
  if (ACCESS_RULES[principal.role].clientIdIsUsername) {
    if (clientId !== principal.username) return 'client_id';
  } else if (clientId !== principal.username && isOtherUsername(clientId)) {
    return 'client_id';
  }
  if (willTopic !== undefined && !canPublish(principal, willTopic)) return 'will';
  return null;
}

export function canPublish(principal: MqttPrincipal, topic: string): boolean {
  if (topic.includes('+') || topic.includes('#')) return false;
  return ACCESS_RULES[principal.role].publish.some((p) => filterWithin(topic, expand(p, principal.username)));
}

export function canSubscribe(principal: MqttPrincipal, filter: string): boolean {
  if (!isWellFormedFilter(filter)) return false;
  return ACCESS_RULES[principal.role].subscribe.some((p) => filterWithin(filter, expand(p, principal.username)));
}

/** A device account's username must be a vehicle id; every other role's must contain a `.` (see above). */
export function isValidUsername(role: MqttRole, username: string): boolean {
  if (role === 'device') return isVehicleId(username);
  return /^(desktop|service)\.[a-z0-9-]{1,48}$/.test(username) && username.startsWith(`${role}.`);
}

function expand(pattern: string, username: string): string {
  return pattern.replaceAll('%u', username);
}

/**
 * Does every topic `filter` matches also match `pattern`? (A topic is a filter without wildcards.)
 * `+` in the filter needs `+` or `#` in the pattern; `#` in the filter needs `#` in the pattern.
 */
export function filterWithin(filter: string, pattern: string): boolean {
  const f = filter.split('/');
  const p = pattern.split('/');
  for (let i = 0; i < p.length; i++) {
    const pl = p[i]!;
    if (pl === '#') return true;
    if (i >= f.length) return false;
    const fl = f[i]!;
    if (fl === '#') return false;
    if (pl === '+') continue;
    if (fl !== pl) return false;
  }
  return f.length === p.length;
}

function isWellFormedFilter(filter: string): boolean {
  if (filter.length === 0) return false;
  const levels = filter.split('/');
  return levels.every((l, i) => (l.includes('#') ? l === '#' && i === levels.length - 1 : !l.includes('+') || l === '+'));
}
