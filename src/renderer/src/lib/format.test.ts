import { describe, expect, it } from 'vitest';
import { formatDateTime, formatDelay, formatWhen, plainServerText, plural } from './format';

describe('plain words', () => {
  it('server texts: ISO timestamps in the desk format, codes as words', () => {
    const iso = '2026-12-06T05:10:00.000Z';
    const text = plainServerText(`expires_too_late: expiresAt ${iso} is after 2026-12-06T05:20:00Z`);
    expect(text).toBe(
      `expires too late: expiresAt ${formatDateTime(Date.parse(iso))} is after ${formatDateTime(Date.parse('2026-12-06T05:20:00Z'))}`,
    );
    expect(text).not.toMatch(/\d{4}-\d{2}-\d{2}T/);
    expect(plainServerText('doors_open')).toBe('doors open');
    expect(plainServerText('HTTP 503 at 2026-13-45T99:99Z')).toContain('2026-13-45T99:99Z'); // not a date: left as it is
  });

  it('plurals', () => {
    expect(plural(1, 'local change')).toBe('1 local change');
    expect(plural(0, 'car')).toBe('0 cars');
    expect(plural(2, 'entry', 'entries')).toBe('2 entries');
  });

  it('formatWhen: time of day today, the day as well otherwise, the year when it is another year', () => {
    const now = new Date(2026, 11, 6, 15, 0).getTime();
    const today = new Date(2026, 11, 6, 9, 5).getTime();
    const earlier = new Date(2026, 10, 3, 9, 5).getTime();
    const lastYear = new Date(2025, 10, 3, 9, 5).getTime();
    expect(formatWhen(today, now)).toMatch(/^\D*09.05\D*$/);
    expect(formatWhen(earlier, now)).toMatch(/03/);
    expect(formatWhen(earlier, now)).not.toMatch(/2026/);
    expect(formatWhen(lastYear, now)).toBe(formatDateTime(lastYear));
    expect(formatWhen(undefined, now)).toBe('—');
  });
});

describe('changed fields in server texts', () => {
  it('a JSON object of fields reads as words', () => {
    expect(plainServerText('desktop sync · {"serviceState":"maintenance"}')).toBe('desktop sync · service state: maintenance');
    expect(plainServerText('{"status":"resolved","resolution":null}')).toBe('status: resolved, resolution: none');
    expect(plainServerText('{"not json')).toBe('{"not json');
  });
});

describe('formatDelay', () => {
  it('says short delays in ms or seconds, long ones as a duration', () => {
    expect(formatDelay(80.4)).toBe('80 ms');
    expect(formatDelay(2_440)).toBe('2.4 s');
    expect(formatDelay(45_200)).toBe('45 s');
    expect(formatDelay(3 * 60_000)).toBe('3 min');
    expect(formatDelay(undefined)).toBe('—');
    expect(formatDelay(-5)).toBe('—');
  });
});
