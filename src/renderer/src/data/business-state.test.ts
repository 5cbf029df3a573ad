import { describe, expect, it } from 'vitest';
import { rentalDoc } from '../testing/fixtures';
import { applyBusinessStateColors, BUSINESS_STATE_COLORS, claimEffect, deriveBusinessState, type BusinessFacts } from './business-state';

const idle: BusinessFacts = { online: true, maintenance: false, activeRental: false, reserved: false, openCriticalAlerts: 0 };

describe('deriveBusinessState: precedence alarm > maintenance > offline > in rental > reserved > available', () => {
  it('an online car with nothing on it is available', () => {
    expect(deriveBusinessState(idle)).toBe('available');
  });

  it('each fact alone gives its state', () => {
    expect(deriveBusinessState({ ...idle, reserved: true })).toBe('reserved');
    expect(deriveBusinessState({ ...idle, activeRental: true })).toBe('in_rental');
    expect(deriveBusinessState({ ...idle, online: false })).toBe('offline');
    expect(deriveBusinessState({ ...idle, maintenance: true })).toBe('maintenance');
    expect(deriveBusinessState({ ...idle, openCriticalAlerts: 1 })).toBe('alarm');
  });

  it('every higher fact wins over every lower one', () => {
    const order: Array<[Partial<BusinessFacts>, string]> = [
      [{ openCriticalAlerts: 2 }, 'alarm'],
      [{ maintenance: true }, 'maintenance'],
      [{ online: false }, 'offline'],
      [{ activeRental: true }, 'in_rental'],
      [{ reserved: true }, 'reserved'],
    ];
    for (let i = 0; i < order.length; i++) {
      // the fact at i together with every lower fact
      const facts = order.slice(i).reduce<BusinessFacts>((f, [patch]) => ({ ...f, ...patch }), idle);
      expect(deriveBusinessState(facts), `with ${JSON.stringify(facts)}`).toBe(order[i]![1]);
    }
  });
});

describe('claimEffect: how a rentals document bears on its car now', () => {
  const now = 1_000_000;
  it('an active rental puts the car in rental; an ended one does not', () => {
    expect(claimEffect(rentalDoc({ kind: 'rental', status: 'active', startsAt: now - 5 }), now)).toBe('rental');
    expect(claimEffect(rentalDoc({ kind: 'rental', status: 'ended', startsAt: now - 5 }), now)).toBe('none');
  });

  it('a held reservation reserves the car until it lapses; converted, cancelled and expired ones do not', () => {
    expect(claimEffect(rentalDoc({ status: 'held', startsAt: now - 5, endsAt: now + 60_000 }), now)).toBe('reserved');
    expect(claimEffect(rentalDoc({ status: 'held', startsAt: now - 5, endsAt: now }), now)).toBe('none');
    for (const status of ['converted', 'cancelled', 'expired'] as const) expect(claimEffect(rentalDoc({ status }), now)).toBe('none');
  });

  it('a confirmed booking reserves the car from its window on, not before', () => {
    const booking = rentalDoc({ kind: 'booking', status: 'confirmed', startsAt: now + 60_000, endsAt: now + 120_000 });
    expect(claimEffect(booking, now)).toBe('later');
    expect(claimEffect(booking, now + 60_000)).toBe('reserved');
    expect(claimEffect(booking, now + 120_000)).toBe('none');
  });

  it('a deleted document has no effect', () => {
    expect(claimEffect({ ...rentalDoc({ kind: 'rental', status: 'active' }), _deleted: true }, now)).toBe('none');
  });
});

describe('state colours have one source', () => {
  it('sets one CSS variable per state from BUSINESS_STATE_COLORS', () => {
    const set = new Map<string, string>();
    applyBusinessStateColors({ style: { setProperty: (k, v) => void set.set(k, v) } });
    expect(Object.fromEntries(set)).toEqual({
      '--available': BUSINESS_STATE_COLORS.available,
      '--reserved': BUSINESS_STATE_COLORS.reserved,
      '--in-rental': BUSINESS_STATE_COLORS.in_rental,
      '--maintenance': BUSINESS_STATE_COLORS.maintenance,
      '--offline': BUSINESS_STATE_COLORS.offline,
      '--alarm': BUSINESS_STATE_COLORS.alarm,
    });
  });
});
