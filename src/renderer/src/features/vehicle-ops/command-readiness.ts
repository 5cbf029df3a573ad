/**
 * Whether a vehicle command can work on the car as the desk sees it now (its live frame and the replica's commands),
 * said before anything is sent. `blocked`: the device would refuse it for sure (the simulator's and real devices'
 * rules: a lock needs the doors closed and the ignition off) or it would change nothing; `warning`: it can be sent,
 * but the operator should know what will happen (an offline car gets it only when it reconnects, before it expires).
 * The server and the device still decide: if the car changed meanwhile, their refusal shows as usual.
 */
import type { VehicleLive } from '../../../../shared/fleet.js';
import type { CommandDoc } from '../../../../shared/sync-protocol.js';
import type { CommandType } from '../../data/actions';
import { formatAgo, formatDuration } from '../../lib/format';

export interface CommandReadiness {
  level: 'ok' | 'warning' | 'blocked';
  /** why, in plain words naming the car ("B-FD 1234 cannot be locked: the ignition is on.") */
  reason?: string;
}

export interface CommandFacts {
  plate: string;
  /** the live frame, undefined when the desk has none for this car */
  live: Pick<VehicleLive, 'online' | 'ignition' | 'doorsClosed' | 'locked' | 'receivedAt'> | undefined;
  /** from the last immobilize/release that succeeded; undefined when none is known */
  immobilized: boolean | undefined;
  /** how long a command waits for an offline car before it expires */
  ttlMs: number;
  now: number;
}

const VERB: Record<CommandType, string> = {
  lock: 'locked',
  unlock: 'unlocked',
  immobilize: 'immobilized',
  release: 'released',
  locate: 'located',
  honk_flash: 'made to honk and flash',
};

export function commandReadiness(type: CommandType, f: CommandFacts): CommandReadiness {
  const cannot = (why: string): CommandReadiness => ({ level: 'blocked', reason: `${f.plate} cannot be ${VERB[type]} now: ${why}.` });
  const live = f.live;
  if (live?.online) {
    if (type === 'lock' && live.ignition) return cannot('the ignition is on');
    if (type === 'lock' && !live.doorsClosed) return cannot('a door is open');
    if (type === 'lock' && live.locked) return cannot('it is locked already');
    if (type === 'unlock' && !live.locked) return cannot('it is unlocked already');
  }
  if (type === 'immobilize' && f.immobilized === true) return cannot('it is immobilized already');
  if (type === 'release' && f.immobilized === false) return cannot('it is not immobilized');
  if (type === 'unlock' && f.immobilized)
    return {
      level: 'warning',
      reason: `${f.plate} is immobilized: unlocking opens the doors, but the engine stays off until it is released.`,
    };
  if (!live?.online) {
    const seen = live ? `last seen ${formatAgo(live.receivedAt, f.now)}` : 'no live data';
    return {
      level: 'warning',
      reason: `${f.plate} is offline (${seen}): the command waits for it and expires if it does not reconnect within ${formatDuration(f.ttlMs)}.`,
    };
  }
  return { level: 'ok' };
}

/** Immobilized or not, from the car's commands: the last immobilize or release that succeeded; undefined if none. */
export function immobilizedFromCommands(
  commands: readonly Pick<CommandDoc, 'type' | 'status' | 'finishedAt' | 'createdAt'>[],
): boolean | undefined {
  let last: { at: number; immobilized: boolean } | undefined;
  for (const c of commands) {
    if (c.status !== 'succeeded' || (c.type !== 'immobilize' && c.type !== 'release')) continue;
    const at = c.finishedAt ?? c.createdAt;
    if (!last || at > last.at) last = { at, immobilized: c.type === 'immobilize' };
  }
  return last?.immobilized;
}
