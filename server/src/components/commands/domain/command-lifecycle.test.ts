import { describe, expect, it } from 'vitest';
import { COMMAND_STATUSES, isTerminal, TERMINAL_STATUSES } from '../model.js';
import { ALLOWED_FROM, canTransition, resendDelayMs, resultTarget } from './command-lifecycle.js';

describe('command lifecycle rules', () => {
  it('never leaves a terminal state', () => {
    for (const from of TERMINAL_STATUSES) {
      for (const to of Object.keys(ALLOWED_FROM) as Array<keyof typeof ALLOWED_FROM>)
        expect(canTransition(from, to), `${from}→${to}`).toBe(false);
    }
    expect(COMMAND_STATUSES.filter(isTerminal)).toEqual([...TERMINAL_STATUSES]);
  });

  it('follows queued → sent → received → succeeded | failed | expired, cancel only before receipt', () => {
    expect(canTransition('queued', 'sent')).toBe(true);
    expect(canTransition('queued', 'received')).toBe(false);
    expect(canTransition('sent', 'received')).toBe(true);
    expect(canTransition('sent', 'succeeded')).toBe(true);
    expect(canTransition('received', 'failed')).toBe(true);
    expect(canTransition('received', 'sent')).toBe(false);
    expect(canTransition('queued', 'expired')).toBe(true);
    expect(canTransition('received', 'expired')).toBe(true);
    expect(canTransition('sent', 'cancelled')).toBe(true);
    expect(canTransition('received', 'cancelled')).toBe(false);
  });

  it('maps device results and backs resends off up to a cap', () => {
    expect(resultTarget('rejected_expired')).toBe('expired');
    expect(resultTarget('received')).toBe('received');
    expect([1, 2, 3, 4, 5, 6].map((n) => resendDelayMs(5_000, n, 60_000))).toEqual([5_000, 10_000, 20_000, 40_000, 60_000, 60_000]);
    expect(resendDelayMs(5_000, 1_000, 60_000)).toBe(60_000);
  });
});
