import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FleetFrame } from '../../shared/desktop-api.js';
import { telemetry, vehicleInfo } from '../testing/fixtures.js';
import { FrameCoalescer, markFleetChanges } from './frame-coalescer.js';
import { LiveFleet } from './live-fleet.js';

function setup(intervalMs = 100) {
  const fleet = new LiveFleet();
  const frames: FleetFrame[] = [];
  const coalescer = new FrameCoalescer(fleet, (f) => frames.push(f), { intervalMs });
  markFleetChanges(fleet, coalescer);
  coalescer.start();
  return { fleet, frames, coalescer };
}

describe('FrameCoalescer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('emits at most 10 frames per second under a continuous stream of changes', () => {
    vi.useFakeTimers({ now: 0 });
    const { fleet, frames, coalescer } = setup(100);
    let seq = 0;
    // 2 s of 100 vehicles each updating every 10 ms
    for (let t = 0; t < 2_000; t += 10) {
      seq += 1;
      for (let i = 0; i < 100; i += 1) fleet.applyTelemetry(`car-${i}`, telemetry(seq));
      vi.advanceTimersByTime(10);
    }
    coalescer.stop();
    expect(frames.length).toBeGreaterThanOrEqual(19);
    expect(frames.length).toBeLessThanOrEqual(21);
    // no two frames closer than the interval
    for (let i = 1; i < frames.length; i += 1) expect(frames[i]!.at - frames[i - 1]!.at).toBeGreaterThanOrEqual(100);
    // seq strictly increasing by one
    expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => i + 1));
    expect(vi.getTimerCount()).toBe(0);
  });

  it('coalesces many updates of one vehicle into its latest state', () => {
    vi.useFakeTimers({ now: 0 });
    const { fleet, frames, coalescer } = setup(100);
    fleet.applyTelemetry('car-1', telemetry(1, { lat: 50 }));
    vi.advanceTimersByTime(0); // first change after a quiet period goes out at once
    expect(frames).toHaveLength(1);
    for (let s = 2; s <= 50; s += 1) fleet.applyTelemetry('car-1', telemetry(s, { lat: 50 + s / 100 }));
    vi.advanceTimersByTime(99);
    expect(frames).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(frames).toHaveLength(2);
    expect(frames[1]!.upserts).toHaveLength(1);
    expect(frames[1]!.upserts[0]).toMatchObject({ id: 'car-1', seq: 50, lat: 50.5 });
    coalescer.stop();
  });

  it('emits nothing when nothing changed, and carries changed registry entries', () => {
    vi.useFakeTimers({ now: 0 });
    const { fleet, frames, coalescer } = setup(100);
    vi.advanceTimersByTime(1_000);
    expect(frames).toHaveLength(0);
    fleet.setRegistry([vehicleInfo('car-1')]);
    fleet.setRegistry([vehicleInfo('car-1')]); // unchanged: no extra entry
    vi.advanceTimersByTime(100);
    expect(frames).toEqual([{ seq: 1, at: 1_000, upserts: [], registry: [vehicleInfo('car-1')] }]);
    coalescer.stop();
  });

  it('says which cars left the fleet (retired), once; a car back before the frame is sent as it is', () => {
    vi.useFakeTimers({ now: 0 });
    const { fleet, frames, coalescer } = setup(100);
    fleet.setRegistry([vehicleInfo('car-1'), vehicleInfo('car-2')], { complete: true });
    fleet.applyTelemetry('car-1', telemetry(1));
    vi.advanceTimersByTime(100);
    expect(frames).toHaveLength(1);
    fleet.setRegistry([vehicleInfo('car-2')], { complete: true });
    vi.advanceTimersByTime(100);
    expect(frames[1]).toEqual({ seq: 2, at: 100, upserts: [], registry: [], removed: ['car-1'] });
    expect(coalescer.getSnapshot().vehicles).toEqual([]);
    expect(coalescer.getSnapshot().registry.map((r) => r.id)).toEqual(['car-2']);
    // removed and reinstated within one interval: the frame carries the entry, not the removal
    fleet.setRegistry([vehicleInfo('car-1')], { complete: true }); // car-2 leaves, car-1 is back
    fleet.setRegistry([vehicleInfo('car-1'), vehicleInfo('car-2')], { complete: true }); // car-2 is back too
    vi.advanceTimersByTime(100);
    expect(frames[2]).toEqual({ seq: 3, at: 200, upserts: [], registry: [vehicleInfo('car-1'), vehicleInfo('car-2')] });
    coalescer.stop();
  });

  it('snapshot seq matches the last frame; snapshot + later frames = current state', () => {
    vi.useFakeTimers({ now: 0 });
    const { fleet, frames, coalescer } = setup(100);
    fleet.applyTelemetry('car-1', telemetry(1));
    vi.advanceTimersByTime(0);
    fleet.applyTelemetry('car-2', telemetry(1)); // pending, not yet framed
    const snap = coalescer.getSnapshot();
    expect(snap.seq).toBe(frames.at(-1)!.seq);
    expect(snap.vehicles.map((v) => v.id).sort()).toEqual(['car-1', 'car-2']);
    fleet.applyTelemetry('car-1', telemetry(2, { lat: 10 }));
    vi.advanceTimersByTime(100);
    const state = new Map(snap.vehicles.map((v) => [v.id, v]));
    for (const f of frames.filter((f) => f.seq > snap.seq)) for (const v of f.upserts) state.set(v.id, v);
    expect([...state.values()]).toEqual([...fleet.vehicles()].sort((a, b) => a.id.localeCompare(b.id)));
    coalescer.stop();
  });
});
