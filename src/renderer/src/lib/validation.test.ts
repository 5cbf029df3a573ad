import { describe, expect, it } from 'vitest';
import { noteProblem, optionalTextProblem, reasonProblem, refundAmountProblem, REASON_MAX } from './validation';

describe('field validation', () => {
  it('a reason is required and bounded', () => {
    expect(reasonProblem('')).toMatch(/give a reason/i);
    expect(reasonProblem('   ')).toMatch(/give a reason/i);
    expect(reasonProblem('customer called')).toBeUndefined();
    expect(reasonProblem('x'.repeat(REASON_MAX))).toBeUndefined();
    expect(reasonProblem('x'.repeat(REASON_MAX + 1))).toBe(`At most ${REASON_MAX} characters (${REASON_MAX + 1} now).`);
  });

  it('a note must have text; an optional text only a length', () => {
    expect(noteProblem(' ')).toMatch(/write the note/i);
    expect(noteProblem('seat torn')).toBeUndefined();
    expect(noteProblem('abcd', 3)).toBe('At most 3 characters (4 now).');
    expect(optionalTextProblem('', 3)).toBeUndefined();
    expect(optionalTextProblem('abcd', 3)).toBe('At most 3 characters (4 now).');
  });

  it('a refund amount: present, a number, positive, within what is left', () => {
    expect(refundAmountProblem('', undefined, 'EUR')).toMatch(/enter the amount/i);
    expect(refundAmountProblem('12,5x', undefined, 'EUR')).toMatch(/is not an amount/);
    expect(refundAmountProblem('0', undefined, 'EUR')).toMatch(/more than zero/);
    expect(refundAmountProblem('12.50', undefined, 'EUR')).toBeUndefined();
    expect(refundAmountProblem('12,50', 1250, 'EUR')).toBeUndefined();
    expect(refundAmountProblem('12.51', 1250, 'EUR')).toMatch(/^At most .*12.50.* can still be refunded\.$/);
  });
});
