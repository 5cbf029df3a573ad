import { describe, expect, it } from 'vitest';
import { alertDetailWords, alertEventTitle, alertKindLabel } from './alert-kinds.js';

describe('alert words', () => {
  it('titles raised and resolved alerts with the kind label, milestones with their own words', () => {
    expect(alertEventTitle('crash', 'opened', 'critical')).toBe('Alert raised: Crash (critical)');
    expect(alertEventTitle('movement_without_rental', 'resolved')).toBe('Alert resolved: Moving without a rental');
    expect(alertEventTitle('zone_exit', 'opened', 'critical')).toBe('Left the operating zone');
    expect(alertEventTitle('device_offline', 'resolved')).toBe('Back online');
    expect(alertEventTitle('some_new_kind', 'opened', 'warning')).toBe('Alert raised: some new kind (warning)');
    expect(alertKindLabel('moved_while_locked')).toContain('towed');
  });

  it('says details in words, leaving out nested data, positions and the matched reason', () => {
    expect(alertDetailWords({ locked: false, reason: 'moving', ignition: true, speedKph: 24.2, lat: 52.5, lon: 13.4 })).toBe(
      'unlocked, ignition on, speed 24 km/h',
    );
    expect(alertDetailWords({ energyPct: 9.6, thresholdPct: 15 })).toBe('energy 10 %, threshold 15 %');
    expect(alertDetailWords({ zoneId: 'berlin-inner', distanceM: 100.4 })).toBe('zone id berlin-inner, 100 m outside');
    expect(alertDetailWords({ eventType: 'crash_detected', data: { peakG: 4.2 }, doorsClosed: false })).toBe(
      'event type crash detected, doors closed no',
    );
    expect(alertDetailWords({ seq: 4 })).toBeNull();
    expect(alertDetailWords(null)).toBeNull();
  });
});
