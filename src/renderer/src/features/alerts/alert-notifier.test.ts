import { describe, expect, it } from 'vitest';
import type { DesktopNotice } from '../../../../shared/desktop-api.js';
import { AlertNotifier, type NoticeAlert } from './alert-notifier';

function harness(muted: Set<string> = new Set()) {
  let t = 1_000_000;
  const shown: DesktopNotice[] = [];
  const timers: Array<{ at: number; cb: () => void } | null> = [];
  const n = new AlertNotifier({
    show: (x) => shown.push(x),
    plateOf: (id) => `B-${id}`,
    isMuted: (k) => muted.has(k),
    startedAt: t,
    now: () => t,
    setTimer: (cb, ms) => timers.push({ at: t + ms, cb }) - 1,
    clearTimer: (i) => (timers[i as number] = null),
  });
  const advance = (ms: number) => {
    t += ms;
    for (let i = 0; i < timers.length; i++) {
      const x = timers[i];
      if (x && x.at <= t) {
        timers[i] = null;
        x.cb();
      }
    }
  };
  const alert = (id: string, kind = 'crash', over: Partial<NoticeAlert> = {}): NoticeAlert => ({
    id,
    vehicleId: `car-${id}`,
    kind,
    severity: 'critical',
    status: 'open',
    openedAt: t,
    ...over,
  });
  return { n, shown, advance, alert, now: () => t };
}

describe('desktop notifications for new alerts', () => {
  it('not for what existed at start, nor for kinds that do not notify, muted kinds or alerts already acknowledged', () => {
    const h = harness(new Set(['tamper']));
    h.n.update([h.alert('old')]);
    h.n.update([
      h.alert('old'),
      h.alert('low', 'low_energy', { severity: 'info' }),
      h.alert('muted', 'tamper'),
      h.alert('acked', 'crash', { status: 'acknowledged' }),
      h.alert('before-start', 'crash', { openedAt: h.now() - 60_000 }),
    ]);
    h.advance(5_000);
    expect(h.shown).toEqual([]);
  });

  it('one new critical alert: one notification naming the kind and the plate, targeting the car', () => {
    const h = harness();
    h.n.update([]);
    h.n.update([h.alert('1', 'crash')]);
    expect(h.shown).toEqual([]);
    h.advance(1_500);
    expect(h.shown).toHaveLength(1);
    expect(h.shown[0]).toMatchObject({ title: 'Crash — B-car-1', target: { vehicleId: 'car-1', alertId: '1' } });
  });

  it('a storm of 100 makes one summary; what follows within the gap waits and is summed up once', () => {
    const h = harness();
    h.n.update([]);
    const storm = Array.from({ length: 100 }, (_, i) => h.alert(`s${i}`, i < 70 ? 'movement_without_rental' : 'zone_exit'));
    for (let i = 0; i < 100; i += 10) h.n.update(storm.slice(0, i + 10));
    h.advance(1_500);
    expect(h.shown).toHaveLength(1);
    expect(h.shown[0]!.title).toBe('100 new alerts on 100 cars');
    expect(h.shown[0]!.body).toBe('Moving without a rental ×70 · Left the operating zone ×30. Click to open the alert queue.');
    expect(h.shown[0]!.target.openAlerts).toBe(true);
    h.n.update([...storm, h.alert('late1'), h.alert('late2')]);
    h.advance(2_000);
    expect(h.shown).toHaveLength(1);
    h.advance(8_000);
    expect(h.shown).toHaveLength(2);
    expect(h.shown[1]!.title).toBe('2 new alerts on 2 cars');
  });
});
