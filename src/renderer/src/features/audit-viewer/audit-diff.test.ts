import { describe, expect, it } from 'vitest';
import { formatDateTime } from '../../lib/format';
import { actionWords, auditDiff, fieldWords, valueWords } from './audit-diff';

describe('auditDiff', () => {
  it('lists only the fields that changed, nested ones by path, in words', () => {
    expect(
      auditDiff(
        { role: 'dispatcher', name: 'Lena', active: true, limits: { daily: 3 } },
        { role: 'support', name: 'Lena', active: false, limits: { daily: 5 } },
      ),
    ).toEqual([
      { field: 'role', before: 'dispatcher', after: 'support' },
      { field: 'active', before: 'yes', after: 'no' },
      { field: 'limits › daily', before: '3', after: '5' },
    ]);
  });

  it('a creation lists what was set; a removal what was there; amounts in cents as money in the entry’s currency', () => {
    const created = auditDiff(null, { amountCents: 1250, currency: 'EUR', reason: null });
    expect(created.map((c) => [c.field, c.before])).toEqual([
      ['amount', undefined],
      ['currency', undefined],
      ['reason', undefined],
    ]);
    expect(created[0]!.after).toMatch(/12[.,]50/);
    expect(created[2]!.after).toBe('none');
    expect(auditDiff({ note: 'x' }, null)).toEqual([{ field: 'note', before: 'x', after: undefined }]);
    expect(auditDiff({ a: 1 }, { a: 1 })).toEqual([]);
    expect(auditDiff('open', 'closed')).toEqual([{ field: 'value', before: 'open', after: 'closed' }]);
  });

  it('names fields and actions in words', () => {
    expect(fieldWords('serviceState')).toBe('service state');
    expect(fieldWords('refundedCents')).toBe('refunded');
    expect(actionWords('payment.refund_requested')).toBe('Payment: refund requested');
    expect(actionWords('staff.created')).toBe('Staff: created');
  });

  it('shows a time field as a date, not as epoch milliseconds', () => {
    const at = Date.UTC(2026, 11, 6, 9, 30);
    expect(valueWords(at, 'expiresAt')).toBe(formatDateTime(at));
    expect(valueWords(at, 'expiresAt')).not.toContain(String(at));
    expect(valueWords(1234, 'odometerKm')).toBe('1234');
    expect(valueWords([], 'overriddenBlockers')).toBe('none');
    expect(auditDiff({ expiresAt: null }, { expiresAt: at })).toEqual([{ field: 'expires at', before: 'none', after: formatDateTime(at) }]);
  });
});
