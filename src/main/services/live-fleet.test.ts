import { afterEach, describe, expect, it, vi } from 'vitest';
import { telemetry, vehicleInfo, vehicleLive } from '../testing/fixtures.js';
import { LiveFleet, type LiveFleetChange } from './live-fleet.js';

describe('LiveFleet', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('applies telemetry: energyPct from fuel or battery, receivedAt from the local clock, online', () => {
    const fleet = new LiveFleet({ now: () => 5_000 });
    expect(fleet.applyTelemetry('car-1', telemetry(1, { fuelPct: 42 }))).toBeNull();
    expect(fleet.applyTelemetry('car-2', telemetry(1, { fuelPct: undefined, batteryPct: 77 }), 6_000)).toBeNull();
    expect(fleet.getVehicle('car-1')).toMatchObject({
      id: 'car-1',
      energyPct: 42,
      online: true,
      seq: 1,
      receivedAt: 5_000,
      deviceTs: telemetry(1).ts,
    });
    expect(fleet.getVehicle('car-2')).toMatchObject({ energyPct: 77, receivedAt: 6_000 });
  });

  it('never moves backwards: a seq ≤ the last one is ignored and reported', () => {
    const fleet = new LiveFleet();
    const changes: LiveFleetChange[] = [];
    fleet.onChange((c) => changes.push(c));
    fleet.applyTelemetry('car-1', telemetry(10, { lat: 52.1 }));
    expect(fleet.applyTelemetry('car-1', telemetry(10, { lat: 52.2 }))).toBe('duplicate');
    expect(fleet.applyTelemetry('car-1', telemetry(9, { lat: 52.3 }))).toBe('stale');
    expect(fleet.applyTelemetry('car-1', telemetry(3, { lat: 52.3 }))).toBe('stale');
    expect(fleet.getVehicle('car-1')).toMatchObject({ seq: 10, lat: 52.1 });
    expect(changes).toHaveLength(1);
    expect(fleet.applyTelemetry('car-1', telemetry(11, { lat: 52.4 }))).toBeNull();
    expect(fleet.getVehicle('car-1')).toMatchObject({ seq: 11, lat: 52.4 });
    expect(changes).toHaveLength(2);
  });

  it('accepts a restarted seq only when the device clock moved well ahead (reboot)', () => {
    const fleet = new LiveFleet({ seqResetMinGapMs: 60_000 });
    fleet.applyTelemetry('car-1', telemetry(500, { ts: 1_000_000 }));
    expect(fleet.applyTelemetry('car-1', telemetry(0, { ts: 1_000_000 + 59_000 }))).toBe('stale');
    expect(fleet.applyTelemetry('car-1', telemetry(0, { ts: 1_000_000 + 61_000 }))).toBeNull();
    expect(fleet.getVehicle('car-1')?.seq).toBe(0);
  });

  it('status updates online; a status heard before any telemetry is kept for the seed', () => {
    const fleet = new LiveFleet();
    fleet.applyTelemetry('car-1', telemetry(1));
    fleet.applyStatus('car-1', { state: 'offline', ts: 1 });
    expect(fleet.getVehicle('car-1')?.online).toBe(false);
    fleet.applyStatus('car-1', { state: 'online', ts: 2 });
    expect(fleet.getVehicle('car-1')?.online).toBe(true);

    fleet.applyStatus('car-2', { state: 'offline', ts: 1 });
    expect(fleet.getVehicle('car-2')).toBeUndefined();
    fleet.seed([vehicleLive('car-2', 5, { online: true })]);
    expect(fleet.getVehicle('car-2')?.online).toBe(false);
  });

  it('turns a silent vehicle offline after the heartbeat timeout (fake timers)', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const fleet = new LiveFleet({ heartbeatTimeoutMs: 120_000 });
    fleet.start();
    try {
      fleet.applyTelemetry('car-1', telemetry(1));
      fleet.applyTelemetry('car-2', telemetry(1));
      vi.advanceTimersByTime(100_000);
      fleet.applyTelemetry('car-2', telemetry(2)); // car-2 keeps talking
      vi.advanceTimersByTime(19_000);
      expect(fleet.getVehicle('car-1')?.online).toBe(true);
      vi.advanceTimersByTime(6_000); // car-1 silent for 125 s > 120 s (sweep every 5 s)
      expect(fleet.getVehicle('car-1')?.online).toBe(false);
      expect(fleet.getVehicle('car-2')?.online).toBe(true);
      expect(fleet.countByState()).toEqual({ moving: 1, parked: 0, offline: 1 });
      // it comes back with its next message
      fleet.applyTelemetry('car-1', telemetry(2, { speedKph: 0 }));
      expect(fleet.getVehicle('car-1')?.online).toBe(true);
      expect(fleet.countByState()).toEqual({ moving: 1, parked: 1, offline: 0 });
    } finally {
      fleet.stop();
    }
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a server seed never overwrites newer MQTT data, and keeps its own receivedAt (clamped)', () => {
    const fleet = new LiveFleet({ now: () => 10_000 });
    fleet.applyTelemetry('car-1', telemetry(20, { lat: 52.9 }), 9_000);
    const applied = fleet.seed([
      vehicleLive('car-1', 19, { lat: 1 }),
      vehicleLive('car-1', 20, { lat: 2 }),
      vehicleLive('car-2', 7, { receivedAt: 4_000 }),
      vehicleLive('car-3', 7, { receivedAt: 99_000 }),
    ]);
    expect(applied).toBe(2);
    expect(fleet.getVehicle('car-1')).toMatchObject({ seq: 20, lat: 52.9, receivedAt: 9_000 });
    expect(fleet.getVehicle('car-2')?.receivedAt).toBe(4_000);
    expect(fleet.getVehicle('car-3')?.receivedAt).toBe(10_000);
    // a newer seed does apply
    expect(fleet.seed([vehicleLive('car-1', 21, { lat: 3 })])).toBe(1);
    expect(fleet.getVehicle('car-1')?.lat).toBe(3);
  });

  it('registry: notifies only for changed entries', () => {
    const fleet = new LiveFleet();
    const changes: LiveFleetChange[] = [];
    fleet.onChange((c) => changes.push(c));
    expect(fleet.setRegistry([vehicleInfo('car-1'), vehicleInfo('car-2')])).toBe(2);
    expect(fleet.setRegistry([vehicleInfo('car-1'), vehicleInfo('car-2', { plate: 'B-NEW 1' })])).toBe(1);
    expect(changes).toEqual([
      { kind: 'registry', id: 'car-1' },
      { kind: 'registry', id: 'car-2' },
      { kind: 'registry', id: 'car-2' },
    ]);
    expect(fleet.getRegistryEntry('car-2')?.plate).toBe('B-NEW 1');
  });

  it('registry: a complete list takes a registered car that is missing as gone (retired); a partial one keeps it', () => {
    const fleet = new LiveFleet();
    const changes: LiveFleetChange[] = [];
    fleet.setRegistry([vehicleInfo('car-1'), vehicleInfo('car-2')]);
    fleet.applyTelemetry('car-1', telemetry(1));
    fleet.applyTelemetry('mqtt-only', telemetry(1)); // heard, not registered (yet)
    fleet.onChange((c) => changes.push(c));
    // not complete (the server link skipped invalid entries): nothing is taken as gone
    expect(fleet.setRegistry([vehicleInfo('car-2')])).toBe(0);
    expect(fleet.getVehicle('car-1')).toBeDefined();
    expect(changes).toEqual([]);
    expect(fleet.setRegistry([vehicleInfo('car-2')], { complete: true })).toBe(1);
    expect(changes).toEqual([{ kind: 'removed', id: 'car-1' }]);
    expect(fleet.getVehicle('car-1')).toBeUndefined();
    expect(fleet.getRegistryEntry('car-1')).toBeUndefined();
    expect([...fleet.vehicles()].map((v) => v.id)).toEqual(['mqtt-only']); // never registered: kept
    expect(fleet.countByState()).toEqual({ moving: 1, parked: 0, offline: 0 });
    // its device still talking (a broker that has not cut it yet) does not bring it back
    expect(fleet.applyTelemetry('car-1', telemetry(2))).toBe('unknown_vehicle');
    expect(fleet.applyStatus('car-1', { v: 1, state: 'online', ts: 1 })).toBe('unknown_vehicle');
    expect(fleet.seed([vehicleLive('car-1', 3)])).toBe(0);
    expect(fleet.getVehicle('car-1')).toBeUndefined();
    // reinstated: back through the registry and its next report
    expect(fleet.setRegistry([vehicleInfo('car-1'), vehicleInfo('car-2')], { complete: true })).toBe(1);
    expect(fleet.applyTelemetry('car-1', telemetry(1))).toBeNull(); // its seq starts afresh
  });
});
