import { describe, expect, it } from 'vitest';
import { VehicleLiveness } from './vehicle-liveness.js';

const S = 1_000;
const liveness = () => new VehicleLiveness({ heartbeatTimeoutMs: 120 * S, reconnectGraceMs: 30 * S, maxStalenessMs: 900 * S });

describe('VehicleLiveness', () => {
  it('without an outage: alive within the heartbeat timeout, never stale while fresh', () => {
    const l = liveness();
    expect(l.cutoff(1_000 * S)).toBe(880 * S);
    expect(l.isAlive(880 * S, 1_000 * S)).toBe(true);
    expect(l.isAlive(879 * S, 1_000 * S)).toBe(false);
    expect(l.staleAgeMs(990 * S, 1_000 * S)).toBeUndefined();
    expect(l.brokerDownSince()).toBeNull();
  });

  it('while the broker is down: no car falls silent, every one is stale with its age, the listed ones are bounded', () => {
    const l = liveness();
    l.brokerLost(1_000 * S);
    expect(l.brokerDownSince()).toBe(1_000 * S);
    // an hour later, a car heard just before the outage is still alive (not offline), and stale with its age
    const later = 4_600 * S;
    expect(l.isAlive(999 * S, later)).toBe(true);
    expect(l.staleAgeMs(999 * S, later)).toBe(3_601 * S);
    // one already silent for more than the timeout when the outage began is not revived
    expect(l.isAlive(879 * S, later)).toBe(false);
    // listed for customers only within the staleness bound
    expect(l.isListable(999 * S, 1_800 * S)).toBe(true);
    expect(l.isListable(999 * S, 1_900 * S)).toBe(false);
    // fresh-looking but unheard: stale even 2 s in
    expect(l.staleAgeMs(999 * S, 1_001 * S)).toBe(2 * S);
  });

  it('after the broker is back: a grace, then only the time the link was usable counts as silence', () => {
    const l = liveness();
    l.brokerLost(1_000 * S);
    l.brokerBack(2_000 * S);
    expect(l.brokerDownSince()).toBeNull();
    // within the grace: nobody is cut off for the outage; unheard cars are still stale, heard ones fresh
    expect(l.cutoff(2_020 * S)).toBe(880 * S);
    expect(l.staleAgeMs(990 * S, 2_020 * S)).toBe(1_030 * S);
    expect(l.staleAgeMs(2_010 * S, 2_020 * S)).toBeUndefined();
    // a car heard 10 s before the outage has 110 s left after the grace
    expect(l.isAlive(990 * S, 2_030 * S + 110 * S)).toBe(true);
    expect(l.isAlive(990 * S, 2_030 * S + 111 * S)).toBe(false);
    // long after: the plain timeout again
    expect(l.cutoff(3_000 * S)).toBe(2_880 * S);
  });

  it('a link that drops again within the grace continues the same outage', () => {
    const l = liveness();
    l.brokerLost(1_000 * S);
    l.brokerBack(2_000 * S);
    l.brokerLost(2_010 * S);
    expect(l.brokerDownSince()).toBe(1_000 * S);
    expect(l.isAlive(990 * S, 2_500 * S)).toBe(true);
    l.brokerBack(2_600 * S);
    l.brokerLost(3_000 * S); // well after the grace: a new outage
    expect(l.brokerDownSince()).toBe(3_000 * S);
  });

  it('listableSince is the bound isListable compares with (a claim checks it in the database)', () => {
    const l = liveness();
    expect(l.listableSince(1_000 * S)).toBe(880 * S); // the heartbeat timeout
    l.brokerLost(1_000 * S);
    expect(l.listableSince(1_800 * S)).toBe(900 * S); // the staleness bound, longer than the outage's cutoff
    expect(l.listableSince(1_050 * S)).toBe(880 * S); // early in the outage: the cutoff at its start
    for (const now of [1_050, 1_800, 1_900].map((t) => t * S)) {
      const since = l.listableSince(now);
      expect([l.isListable(since - 1, now), l.isListable(since, now), l.isListable(now, now)]).toEqual([false, true, true]);
    }
  });
});
