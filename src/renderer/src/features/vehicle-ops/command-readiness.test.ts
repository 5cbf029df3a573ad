import { describe, expect, it } from 'vitest';
import { commandReadiness, immobilizedFromCommands, type CommandFacts } from './command-readiness';

const now = 1_800_000_000_000;
const parked = { online: true, ignition: false, doorsClosed: true, locked: false, receivedAt: now - 2_000 };
const facts = (over: Partial<CommandFacts> = {}): CommandFacts => ({
  plate: 'B-FD 1001',
  live: parked,
  immobilized: false,
  ttlMs: 600_000,
  now,
  ...over,
});

describe('commandReadiness', () => {
  it('a lock needs the ignition off and the doors closed, and an unlocked car', () => {
    expect(commandReadiness('lock', facts())).toEqual({ level: 'ok' });
    expect(commandReadiness('lock', facts({ live: { ...parked, ignition: true } }))).toEqual({
      level: 'blocked',
      reason: 'B-FD 1001 cannot be locked now: the ignition is on.',
    });
    expect(commandReadiness('lock', facts({ live: { ...parked, doorsClosed: false } })).reason).toBe(
      'B-FD 1001 cannot be locked now: a door is open.',
    );
    expect(commandReadiness('lock', facts({ live: { ...parked, locked: true } })).level).toBe('blocked');
    expect(commandReadiness('unlock', facts({ live: { ...parked, locked: true } }))).toEqual({ level: 'ok' });
    expect(commandReadiness('unlock', facts()).reason).toBe('B-FD 1001 cannot be unlocked now: it is unlocked already.');
  });

  it('immobilize and release follow the last one that succeeded', () => {
    expect(commandReadiness('immobilize', facts({ immobilized: true })).level).toBe('blocked');
    expect(commandReadiness('release', facts({ immobilized: false })).reason).toBe(
      'B-FD 1001 cannot be released now: it is not immobilized.',
    );
    expect(commandReadiness('release', facts({ immobilized: undefined })).level).toBe('ok');
    const unlock = commandReadiness('unlock', facts({ immobilized: true, live: { ...parked, locked: true } }));
    expect(unlock.level).toBe('warning');
    expect(unlock.reason).toMatch(/engine stays off until it is released/);
  });

  it('an offline car: a warning saying it waits and when it expires; the live state is not trusted', () => {
    const offline = { ...parked, online: false, ignition: true, receivedAt: now - 5 * 60_000 };
    expect(commandReadiness('lock', facts({ live: offline }))).toEqual({
      level: 'warning',
      reason: 'B-FD 1001 is offline (last seen 5 min ago): the command waits for it and expires if it does not reconnect within 10 min.',
    });
    expect(commandReadiness('locate', facts({ live: undefined })).reason).toMatch(/offline \(no live data\)/);
  });
});

describe('immobilizedFromCommands', () => {
  it('the latest succeeded immobilize or release wins; others are ignored', () => {
    expect(immobilizedFromCommands([])).toBeUndefined();
    const c = (type: string, status: string, at: number) => ({ type, status, createdAt: at, finishedAt: at + 1 });
    expect(immobilizedFromCommands([c('immobilize', 'succeeded', 1), c('release', 'failed', 5), c('lock', 'succeeded', 9)])).toBe(true);
    expect(immobilizedFromCommands([c('release', 'succeeded', 7), c('immobilize', 'succeeded', 3)])).toBe(false);
  });
});
