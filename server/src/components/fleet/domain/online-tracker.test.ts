import { describe, expect, it } from 'vitest';
import { OnlineTracker, type OnlineChange } from './online-tracker.js';

function tracker() {
  const changes: OnlineChange[] = [];
  return { t: new OnlineTracker(120_000, (c) => changes.push(c)), changes };
}

describe('OnlineTracker', () => {
  it('reports every change of the online flag once, with its source', () => {
    const { t, changes } = tracker();
    t.telemetry('a', 1_000, 500); // first telemetry: online
    t.telemetry('a', 2_000, 600); // no change
    t.status('a', true, 2_500, false, 2_400); // no change
    t.status('a', false, 3_000, false, 100); // composed before the last telemetry: the last will
    t.status('a', true, 4_000, false, 4_000);
    t.status('a', false, 5_000, false, 5_000); // clean shutdown
    expect(changes.map((c) => [c.online, c.source, c.at])).toEqual([
      [true, 'telemetry', 1_000],
      [false, 'last_will', 3_000],
      [true, 'status', 4_000],
      [false, 'status', 5_000],
    ]);
  });

  it('starts from the database; a retained online status does not revive a silent car', () => {
    const { t, changes } = tracker();
    t.load([
      { vehicleId: 'a', online: true, receivedAt: 1_000 },
      { vehicleId: 'b', online: false, receivedAt: 1_000 },
      { vehicleId: 'c', online: false, receivedAt: 990_000 },
    ]);
    t.status('a', true, 1_000_000, true, 0); // retained, already online: nothing
    t.status('b', true, 1_000_000, true, 0); // retained online, but silent for 999 s: ignored
    t.status('c', true, 1_000_000, true, 0); // heard 10 s ago
    expect(changes.map((c) => [c.vehicleId, c.online, c.source])).toEqual([['c', true, 'retained_status']]);
    expect(t.silentSince(1_000_000 - 120_000)).toEqual(['a']);
  });

  it('heartbeat: turns offline only what the database turned offline and was not heard from meanwhile', () => {
    const { t, changes } = tracker();
    t.telemetry('a', 1_000, 1);
    t.telemetry('b', 1_000, 1);
    changes.length = 0;
    expect(t.silentSince(200_000 - 120_000).sort()).toEqual(['a', 'b']);
    t.telemetry('b', 199_000, 2); // arrived between the sweep's read and its update
    t.timedOut(
      [
        { vehicleId: 'a', online: false, receivedAt: 1_000 },
        { vehicleId: 'b', online: false, receivedAt: 1_000 },
      ],
      80_000,
      200_000,
    );
    expect(changes).toEqual([{ vehicleId: 'a', online: false, at: 200_000, source: 'heartbeat_timeout' }]);
    t.refresh([{ vehicleId: 'b', online: true, receivedAt: 199_500 }]);
    expect(t.silentSince(200_000 - 120_000)).toEqual([]);
    t.telemetry('a', 201_000, 3);
    expect(changes.at(-1)).toMatchObject({ vehicleId: 'a', online: true, source: 'telemetry' });
  });
});
