import { describe, expect, it } from 'vitest';
import { extensionProblem, fromLocalInput, isOpenBooking, toLocalInput } from './booking-actions';

const NOW = Date.UTC(2031, 6, 1, 9, 0);
const HOUR = 3_600_000;

describe('booking actions (customer detail)', () => {
  it('offers extend/cancel only on a confirmed booking that is not over', () => {
    expect(isOpenBooking({ kind: 'booking', status: 'confirmed', endsAt: NOW + HOUR }, NOW)).toBe(true);
    expect(isOpenBooking({ kind: 'booking', status: 'confirmed', endsAt: NOW }, NOW)).toBe(false);
    expect(isOpenBooking({ kind: 'booking', status: 'confirmed', endsAt: null }, NOW)).toBe(false);
    expect(isOpenBooking({ kind: 'booking', status: 'cancelled', endsAt: NOW + HOUR }, NOW)).toBe(false);
    expect(isOpenBooking({ kind: 'booking', status: 'converted', endsAt: NOW + HOUR }, NOW)).toBe(false);
    expect(isOpenBooking({ kind: 'reservation', status: 'held', endsAt: NOW + HOUR }, NOW)).toBe(false);
    expect(isOpenBooking({ kind: 'rental', status: 'active', endsAt: NOW + HOUR }, NOW)).toBe(false);
  });

  it('reads and writes the datetime-local value in local time, to the minute', () => {
    const end = NOW + 3 * HOUR + 30 * 60_000;
    const text = toLocalInput(end);
    expect(text).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/);
    expect(fromLocalInput(text)).toBe(end);
    expect(fromLocalInput(`${text}:00`)).toBe(end);
    // the local reading of the text is what the operator sees: the same wall-clock fields
    const d = new Date(fromLocalInput('2031-12-24T18:05')!);
    expect([d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes()]).toEqual([2031, 11, 24, 18, 5]);
  });

  it('refuses incomplete or impossible dates', () => {
    for (const bad of [
      '',
      '2031-07-01',
      '2031-07-01T',
      '2031-07-01 13:00',
      '2031-06-31T10:00',
      '2031-13-01T10:00',
      'tomorrow',
      '2031-07-01T13:00Z',
    ]) {
      expect(fromLocalInput(bad), bad).toBeUndefined();
    }
  });

  it('asks for an end later than the current one', () => {
    expect(extensionProblem(NOW + HOUR, undefined)).toMatch(/enter the new end/);
    expect(extensionProblem(NOW + HOUR, NOW + HOUR)).toMatch(/later than the booking’s current end/);
    expect(extensionProblem(NOW + HOUR, NOW)).toMatch(/later/);
    expect(extensionProblem(NOW + HOUR, NOW + HOUR + 60_000)).toBeUndefined();
  });
});
