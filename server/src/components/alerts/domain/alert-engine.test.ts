/** The engine alone (no database): which changes it submits for which inputs. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_SERVICE_AREA } from '../../../../../src/shared/service-area.js';
import type { DeviceEvent } from '../../../../../src/shared/device-protocol.js';
import { AlertEngine, DEFAULT_ALERT_THRESHOLDS, type AlertOp } from './alert-engine.js';
import { createZoneGeometry } from './zone-geometry.js';
import { LAT, sample, westEdge } from './alert-engine.test-helpers.js';

function setup(options: { rented?: () => boolean; maintenance?: () => boolean } = {}) {
  const ops: AlertOp[] = [];
  let clock = 1_000_000;
  const engine = new AlertEngine({
    thresholds: DEFAULT_ALERT_THRESHOLDS,
    zone: createZoneGeometry(DEFAULT_SERVICE_AREA),
    rentals: { hasActiveRental: () => options.rented?.() ?? false },
    service: { inMaintenance: () => options.maintenance?.() ?? false },
    sink: { submit: (op) => ops.push(op) },
    now: () => clock,
  });
  const summary = () => ops.map((o) => `${o.op} ${o.kind}${o.op === 'raise' && o.retrigger ? ' again' : ''}`);
  return { engine, ops, summary, setClock: (t: number) => (clock = t) };
}

const event = (type: DeviceEvent['type'], seq: number): DeviceEvent => ({ v: 1, seq, ts: 1_700_000_000_000, type });

describe('alert engine', () => {
  it('raises once for a condition that persists over 1,000 samples', () => {
    const { engine, summary, ops } = setup();
    for (let i = 0; i < 1000; i++) engine.onTelemetry('v1', sample(i * 1000, { energyPct: 10 - (i % 5) }));
    expect(summary()).toEqual(['raise low_energy']);
    expect(ops[0]).toMatchObject({ vehicleId: 'v1', at: 0, details: { energyPct: 10, thresholdPct: 15 } });
  });

  it('low energy: raised below 15 %, resolved only at 20 % (hysteresis)', () => {
    const { engine, summary } = setup();
    let t = 0;
    for (const pct of [30, 16, 15, 14.9, 16, 19.9, 14, 19.99, 18]) engine.onTelemetry('v1', sample((t += 1000), { energyPct: pct }));
    expect(summary()).toEqual(['raise low_energy']);
    engine.onTelemetry('v1', sample((t += 1000), { energyPct: 20 }));
    engine.onTelemetry('v1', sample((t += 1000), { energyPct: 17 }));
    engine.onTelemetry('v1', sample(t + 1000, { energyPct: 12 }));
    expect(summary()).toEqual(['raise low_energy', 'resolve low_energy', 'raise low_energy']);
  });

  it('zone exit: never flaps at the boundary; raises after 2 samples > 50 m outside; resolves > 50 m back inside', () => {
    const { engine, summary, ops } = setup();
    let t = 0;
    const at = (m: number) => engine.onTelemetry('v1', sample((t += 1000), { lat: LAT, lon: westEdge(m) }));
    for (let i = 0; i < 500; i++) at(i % 2 === 0 ? 20 : -20);
    expect(summary()).toEqual([]);
    at(100); // one sample far outside is not enough (GPS jump)
    at(20);
    at(100);
    expect(summary()).toEqual([]);
    at(100);
    at(100);
    expect(summary()).toEqual(['raise zone_exit']);
    expect(ops[0]).toMatchObject({ details: { zoneId: 'berlin-inner', distanceM: 100 } });
    for (let i = 0; i < 500; i++) at(i % 2 === 0 ? 20 : -20);
    at(-49);
    expect(summary()).toEqual(['raise zone_exit']);
    at(-100);
    expect(summary()).toEqual(['raise zone_exit', 'resolve zone_exit']);
    for (let i = 0; i < 500; i++) at(i % 2 === 0 ? 20 : -20);
    expect(summary()).toHaveLength(2);
  });

  it('door open while parked: only after the dwell time, not while rented; resolved when closed and locked', () => {
    let rented = false;
    const { engine, summary, setClock } = setup({ rented: () => rented });
    engine.onTelemetry('v1', sample(0, { locked: false }));
    engine.onTelemetry('v1', sample(60_000, { locked: false }));
    engine.onTelemetry('v1', sample(119_000, { locked: false }));
    expect(summary()).toEqual([]);
    // no telemetry while parked: the sweep fires it
    setClock(120_000);
    engine.sweep();
    expect(summary()).toEqual(['raise door_open_parked']);
    engine.onTelemetry('v1', sample(130_000, { locked: false, doorsClosed: false }));
    engine.onTelemetry('v1', sample(131_000, { locked: true, doorsClosed: false }));
    expect(summary()).toHaveLength(1);
    engine.onTelemetry('v1', sample(132_000, { locked: true, doorsClosed: true }));
    expect(summary()).toEqual(['raise door_open_parked', 'resolve door_open_parked']);

    // opened again: a new dwell; a rental starting resolves it
    engine.onTelemetry('v1', sample(200_000, { doorsClosed: false }));
    engine.onTelemetry('v1', sample(321_000, { doorsClosed: false }));
    expect(summary()).toHaveLength(3);
    rented = true;
    engine.onTelemetry('v1', sample(322_000, { doorsClosed: false }));
    expect(summary().slice(2)).toEqual(['raise door_open_parked', 'resolve door_open_parked']);
    // while rented nothing is raised, however long
    engine.onTelemetry('v1', sample(600_000, { doorsClosed: false }));
    setClock(900_000);
    engine.sweep();
    expect(summary()).toHaveLength(4);
  });

  it('a car moving is not parked: no door alert while driving unlocked', () => {
    const { engine, summary } = setup();
    for (let t = 0; t < 600_000; t += 10_000) engine.onTelemetry('v1', sample(t, { locked: false, speedKph: 30, ignition: true }));
    expect(summary()).not.toContain('raise door_open_parked');
  });

  it('movement without rental: after the dwell; manual resolve; a new start counts as another occurrence', () => {
    let rented = true;
    const { engine, summary } = setup({ rented: () => rented });
    for (let t = 0; t <= 120_000; t += 5_000) engine.onTelemetry('v1', sample(t, { speedKph: 40, ignition: true }));
    expect(summary()).toEqual([]);
    rented = false;
    engine.onTelemetry('v1', sample(200_000, { speedKph: 0, ignition: false }));
    for (let t = 201_000; t <= 255_000; t += 5_000) engine.onTelemetry('v1', sample(t, { speedKph: 40, ignition: true }));
    expect(summary()).toEqual([]);
    engine.onTelemetry('v1', sample(261_000, { speedKph: 40, ignition: true }));
    expect(summary()).toEqual(['raise movement_without_rental']);
    for (let t = 262_000; t <= 400_000; t += 1_000) engine.onTelemetry('v1', sample(t, { speedKph: 40, ignition: true }));
    engine.onTelemetry('v1', sample(401_000, { speedKph: 0, ignition: false }));
    expect(summary()).toEqual(['raise movement_without_rental']); // not resolved by itself
    // ignition on (standing) for the dwell time
    engine.onTelemetry('v1', sample(500_000, { speedKph: 0, ignition: true }));
    engine.onTelemetry('v1', sample(560_000, { speedKph: 0, ignition: true }));
    expect(summary()).toEqual(['raise movement_without_rental', 'raise movement_without_rental again']);
  });

  it('movement of a car in maintenance, or rolling locked with the ignition off, raises its own kind instead', () => {
    let maintenance = true;
    const { engine, summary, ops } = setup({ maintenance: () => maintenance });
    for (let t = 0; t <= 65_000; t += 5_000) engine.onTelemetry('v1', sample(t, { locked: false, speedKph: 30, ignition: true }));
    expect(summary()).toEqual(['raise moved_in_maintenance']);
    expect(ops[0]).toMatchObject({ details: { serviceState: 'maintenance', reason: 'moving' } });
    // staff resolve it; stopped, then out of maintenance and towed away: locked, ignition off, moving
    engine.forget('v1', 'moved_in_maintenance');
    engine.onTelemetry('v1', sample(100_000, { speedKph: 0, ignition: false }));
    maintenance = false;
    for (let t = 101_000; t <= 170_000; t += 5_000) engine.onTelemetry('v1', sample(t, { locked: true, speedKph: 20, ignition: false }));
    expect(summary()).toEqual(['raise moved_in_maintenance', 'raise moved_while_locked']);
    // only one unexpected-movement alert at a time: the car keeps rolling, nothing more
    for (let t = 175_000; t <= 400_000; t += 5_000) engine.onTelemetry('v1', sample(t, { locked: true, speedKph: 20, ignition: false }));
    expect(summary()).toHaveLength(2);
    // a locked car driven with the ignition on (cars lock themselves when driving off) is movement without rental
    const other = setup();
    for (let t = 0; t <= 65_000; t += 5_000)
      other.engine.onTelemetry('v2', sample(t, { id: 'v2', locked: true, speedKph: 30, ignition: true }));
    expect(other.summary()).toEqual(['raise movement_without_rental']);
  });

  it('device offline: raised on offline, resolved when back online or when telemetry arrives', () => {
    const { engine, summary, ops } = setup();
    engine.onOnline('v1', false, 10, 'last_will');
    engine.onOnline('v1', false, 20, 'heartbeat_timeout');
    expect(summary()).toEqual(['raise device_offline']);
    expect(ops[0]).toMatchObject({ details: { source: 'last_will' } });
    engine.onOnline('v1', true, 30, 'status');
    engine.onOnline('v1', true, 40, 'telemetry');
    engine.onOnline('v1', false, 50, 'heartbeat_timeout');
    engine.onTelemetry('v1', sample(60));
    expect(summary()).toEqual(['raise device_offline', 'resolve device_offline', 'raise device_offline', 'resolve device_offline']);
  });

  it('crash and tamper events raise alerts staff resolve; a repeat counts as an occurrence; battery_low maps to low_energy', () => {
    const { engine, summary, ops } = setup();
    engine.onDeviceEvent('v1', { ...event('crash_detected', 1), data: { peakG: 4.2 } }, 100);
    engine.onDeviceEvent('v1', event('crash_detected', 2), 200);
    engine.onDeviceEvent('v1', event('tamper', 3), 300);
    engine.onDeviceEvent('v1', event('door_opened', 4), 400);
    engine.onDeviceEvent('v1', event('battery_low', 5), 500);
    engine.onDeviceEvent('v1', event('battery_low', 6), 600);
    expect(summary()).toEqual(['raise crash', 'raise crash again', 'raise tamper', 'raise low_energy']);
    expect(ops[0]).toMatchObject({ at: 100, details: { eventType: 'crash_detected', data: { peakG: 4.2 } } });
    engine.onTelemetry('v1', sample(700, { energyPct: 50 }));
    expect(summary().at(-1)).toBe('resolve low_energy');
    // staff resolved the crash: the next crash is a new alert
    engine.forget('v1', 'crash');
    engine.onDeviceEvent('v1', event('crash_detected', 7), 800);
    expect(summary().at(-1)).toBe('raise crash');
  });

  it('adopts open alerts from the database: no second raise while the condition holds; resolves when it clears', () => {
    const { engine, summary } = setup();
    engine.reconcile(
      [
        { vehicleId: 'v1', kind: 'low_energy' },
        { vehicleId: 'v2', kind: 'device_offline' },
        { vehicleId: 'v3', kind: 'zone_exit' },
      ],
      0,
    );
    engine.onTelemetry('v1', sample(1, { energyPct: 5 }));
    engine.onOnline('v2', false, 2, 'heartbeat_timeout');
    engine.onTelemetry('v3', sample(3, { id: 'v3', lon: westEdge(-20) }));
    expect(summary()).toEqual([]);
    engine.onTelemetry('v1', sample(4, { energyPct: 50 }));
    engine.onOnline('v2', true, 5, 'status');
    engine.onTelemetry('v3', sample(6, { id: 'v3', lon: westEdge(-100) }));
    expect(summary()).toEqual(['resolve low_energy', 'resolve device_offline', 'resolve zone_exit']);
    // resolved elsewhere (absent from a later snapshot) → forgotten; a change made here after the snapshot wins
    engine.onDeviceEvent('v4', event('crash_detected', 1), 10);
    engine.reconcile([], -1);
    expect(engine.openKinds('v4')).toEqual(['crash']);
    engine.reconcile([], 2_000_000);
    expect(engine.openKinds('v4')).toEqual([]);
  });

  it('rejects thresholds without hysteresis', () => {
    expect(
      () =>
        new AlertEngine({
          thresholds: { ...DEFAULT_ALERT_THRESHOLDS, lowEnergyResolvePct: 10 },
          zone: null,
          rentals: { hasActiveRental: () => false },
          sink: { submit: () => undefined },
        }),
    ).toThrow(/hysteresis/);
  });

  it('repair at start: raises and resolves what one stored state decides, and nothing that is already right', () => {
    const { engine, summary } = setup();
    // adopted from the database: v1 low_energy and zone_exit open (their resolves were lost), v2 nothing open
    engine.reconcile(
      [
        { vehicleId: 'v1', kind: 'low_energy' },
        { vehicleId: 'v1', kind: 'zone_exit' },
        { vehicleId: 'v4', kind: 'low_energy' },
        { vehicleId: 'v5', kind: 'crash' },
      ],
      0,
    );
    engine.repair('v1', sample(1, { id: 'v1', energyPct: 60 })); // well inside, charged: both resolved
    engine.repair('v2', sample(1, { id: 'v2', energyPct: 9 })); // the raise was lost: raised
    engine.repair('v3', sample(1, { id: 'v3', online: false })); // offline without its alert: raised
    engine.repair('v4', sample(1, { id: 'v4', energyPct: 9 })); // open and still low: nothing
    engine.repair('v5', sample(1, { id: 'v5' })); // crash: resolved by staff, never by state
    engine.repair('v6', sample(1, { id: 'v6', lon: westEdge(500), locked: false })); // outside / unlocked: needs samples, a dwell
    expect(summary()).toEqual(['resolve low_energy', 'resolve zone_exit', 'raise low_energy', 'raise device_offline']);
    expect(engine.openKinds('v4')).toEqual(['low_energy']);
    expect(engine.openKinds('v5')).toEqual(['crash']);
  });
});
