import { describe, expect, it } from 'vitest';
import { decodeTelemetry } from '../src/shared/device-protocol.js';
import { demoVehicle } from '../src/shared/demo-fleet.js';
import { DEFAULT_SERVICE_AREA } from '../src/shared/service-area.js';
import { distanceToSegment, headingDelta, insideBounds, pointInPolygon } from './geo.js';
import { createRng, deriveSeed } from './prng.js';
import { buildStreetNetwork, otherEnd } from './street-network.js';
import {
  createVehicle,
  DEFAULT_MODEL_PARAMS,
  onDemandVehicle,
  requestPark,
  requestTrip,
  step,
  toTelemetry,
  type ModelEvent,
  type VehicleState,
  type World,
} from './vehicle-model.js';

const network = buildStreetNetwork(DEFAULT_SERVICE_AREA, { seed: 42 });
const world: World = { network, params: DEFAULT_MODEL_PARAMS };
const ring = DEFAULT_SERVICE_AREA.polygon.map(([lon, lat]) => network.projection.toPoint({ lat, lon }));

function fleet(n: number, seed: number, w: World = world): Array<{ rng: () => number; state: VehicleState }> {
  return Array.from({ length: n }, (_, i) => {
    const rng = createRng(deriveSeed(seed, i));
    return { rng, state: createVehicle(demoVehicle(i), rng, w) };
  });
}

/** Rules every state must satisfy, returned as a list of violations (empty = fine). */
function violations(s: VehicleState): string[] {
  const out: string[] = [];
  const edge = network.edges[s.edge]!;
  const from = network.nodes[s.fromNode]!;
  const to = network.nodes[otherEnd(edge, s.fromNode)]!;
  if (edge.a !== s.fromNode && edge.b !== s.fromNode) out.push('fromNode not on edge');
  if (distanceToSegment({ x: s.x, y: s.y }, from, to) > 0.01) out.push('off the street');
  if (!pointInPolygon({ x: s.x, y: s.y }, ring)) out.push('outside the operating zone');
  if (!insideBounds(network.projection.toLatLon(s.x, s.y), DEFAULT_SERVICE_AREA.bounds)) out.push('outside the bounds');
  const travel = Math.atan2(to.x - from.x, to.y - from.y) * (180 / Math.PI);
  if (Math.abs(headingDelta(travel, s.headingDeg)) > 0.01) out.push('heading not along the direction of travel');
  if (!(s.headingDeg >= 0 && s.headingDeg < 360)) out.push('heading out of range');
  if (s.ignition && s.locked) out.push('ignition on while locked');
  if (s.speedMps > 0 && (!s.ignition || !s.doorsClosed)) out.push('moving without ignition or with open doors');
  if (s.speedMps < 0 || s.speedMps * 3.6 > 55) out.push(`implausible speed ${s.speedMps * 3.6}`);
  if (s.energyPct < 0 || s.energyPct > 100) out.push('energy out of range');
  if (s.phase === 'parked' && (s.speedMps !== 0 || s.ignition || !s.locked || !s.doorsClosed)) out.push('parked but not parked');
  if ((s.phase === 'boarding' || s.phase === 'alighting') && (s.doorsClosed || s.locked || s.speedMps !== 0))
    out.push('doors not open while getting in/out');
  return out;
}

describe('vehicle model', () => {
  it('drives 200 vehicles for 3 simulated hours along the streets, inside the area, consistently', () => {
    const vehicles = fleet(200, 7);
    let tripsStarted = 0;
    let tripsEnded = 0;
    let turns = 0;
    let edgeChanges = 0;
    let activeSamples = 0;
    let samples = 0;
    let movingSpeedSum = 0;
    let movingSpeedCount = 0;
    const problems = new Set<string>();
    const standingSince = new Map<string, number>();
    for (let t = 0; t < 3 * 3600; t++) {
      for (const v of vehicles) {
        const prev = v.state;
        const next = step(prev, 1000, v.rng, world);
        v.state = next;
        for (const p of violations(next)) problems.add(`${next.id}: ${p}`);
        // Odometer: never decreases; grows by at least the straight-line displacement, by at most what the speed allows.
        const moved = Math.hypot(next.x - prev.x, next.y - prev.y);
        const odo = (next.odometerKm - prev.odometerKm) * 1000;
        if (odo < moved - 0.01 || odo > 16) problems.add(`${next.id}: odometer grew ${odo} m for ${moved} m moved`);
        // Plausible acceleration / braking.
        if (Math.abs(next.speedMps - prev.speedMps) > DEFAULT_MODEL_PARAMS.maxBrakeMps2 + 0.01) problems.add(`${next.id}: speed jump`);
        if (prev.phase === 'parked' && (next.x !== prev.x || next.y !== prev.y) && next.phase === 'parked')
          problems.add('parked car moved');
        if (next.edge !== prev.edge || next.fromNode !== prev.fromNode) {
          edgeChanges++;
          // The new street starts where the old one ended: the vehicle turned at an intersection.
          if (next.fromNode !== otherEnd(network.edges[prev.edge]!, prev.fromNode)) problems.add(`${next.id}: jumped between streets`);
          if (Math.abs(headingDelta(prev.headingDeg, next.headingDeg)) > 30) turns++;
        } else if (next.headingDeg !== prev.headingDeg) {
          problems.add(`${next.id}: heading changed mid-street`);
        }
        // Nobody gets stuck mid-trip: standing still while driving only for a red light (≤ 30 s).
        if (next.phase === 'driving' && next.speedMps === 0) {
          const since = standingSince.get(next.id) ?? t;
          standingSince.set(next.id, since);
          if (t - since > DEFAULT_MODEL_PARAMS.stopMaxMs / 1000 + 2) problems.add(`${next.id}: stuck since t=${since}`);
        } else {
          standingSince.delete(next.id);
        }
        if (prev.phase === 'parked' && next.phase !== 'parked') tripsStarted++;
        if (prev.phase !== 'parked' && next.phase === 'parked') tripsEnded++;
        samples++;
        if (next.phase !== 'parked') activeSamples++;
        if (next.speedMps * 3.6 >= 2) {
          movingSpeedSum += next.speedMps * 3.6;
          movingSpeedCount++;
        }
      }
    }
    expect([...problems].slice(0, 10)).toEqual([]);
    // Trips of a few minutes, so 200 cars over 3 h make hundreds of trips; each car comes and goes.
    expect(tripsStarted).toBeGreaterThan(400);
    expect(tripsEnded).toBeGreaterThan(400);
    expect(edgeChanges).toBeGreaterThan(10_000);
    expect(turns / edgeChanges).toBeGreaterThan(0.1);
    expect(turns / edgeChanges).toBeLessThan(0.8);
    const share = activeSamples / samples;
    expect(share).toBeGreaterThan(0.45);
    expect(share).toBeLessThan(0.75);
    const meanKph = movingSpeedSum / movingSpeedCount;
    expect(meanKph).toBeGreaterThan(18);
    expect(meanKph).toBeLessThan(45);
  });

  it('opens the doors briefly when a trip starts and ends, unlocked, ignition off', () => {
    const [v] = fleet(1, 3, { network, params: { ...DEFAULT_MODEL_PARAMS, movingShare: 0.5 } });
    let state = v!.state;
    const phases: string[] = [];
    let doorsOpenTicks = 0;
    for (let t = 0; t < 4 * 3600; t++) {
      state = step(state, 1000, v!.rng, world);
      if (phases[phases.length - 1] !== state.phase) phases.push(state.phase);
      if (!state.doorsClosed) {
        doorsOpenTicks++;
        expect(state.locked).toBe(false);
        expect(state.ignition).toBe(false);
        expect(state.speedMps).toBe(0);
      }
    }
    const cycle = phases.join('>');
    expect(cycle).toMatch(/parked>boarding>driving>alighting>parked/);
    // Every boarding/alighting lasts a tick or two at 1 Hz (1.2–2.5 s).
    const doorEvents = phases.filter((p) => p === 'boarding' || p === 'alighting').length;
    expect(doorsOpenTicks).toBeGreaterThanOrEqual(doorEvents);
    expect(doorsOpenTicks).toBeLessThanOrEqual(3 * doorEvents);
  });

  it('drains energy with distance and refuels / recharges when it runs low', () => {
    for (const energyType of ['fuel', 'electric'] as const) {
      const rng = createRng(11);
      const params = { ...DEFAULT_MODEL_PARAMS, movingShare: 0.9, fuelDrainPerKm: 2, batteryDrainPerKm: 2 };
      const w: World = { network, params };
      let state: VehicleState = { ...createVehicle({ id: 'veh-x', energyType }, rng, w), energyPct: 30 };
      let refills = 0;
      let drained = 0;
      for (let t = 0; t < 6 * 3600; t++) {
        const next = step(state, 1000, rng, w);
        const dKm = next.odometerKm - state.odometerKm;
        if (next.energyPct < state.energyPct) {
          drained++;
          expect(next.energyPct).toBeCloseTo(Math.max(0, state.energyPct - 2 * dKm), 6);
        } else if (next.energyPct > state.energyPct) {
          refills++;
          // Refills only at the start of a trip, after a stay that began low.
          expect(state.phase).toBe('parked');
          expect(state.refillDue).toBe(true);
          expect(next.energyPct).toBeGreaterThanOrEqual(85);
        } else {
          expect(dKm).toBe(0);
        }
        expect(next.energyPct).toBeGreaterThanOrEqual(0);
        state = next;
      }
      expect(drained).toBeGreaterThan(100);
      expect(refills).toBeGreaterThan(0);
    }
  });

  it('parks for good with movingShare 0 and keeps trips going with movingShare 1', () => {
    const stillWorld: World = { network, params: { ...DEFAULT_MODEL_PARAMS, movingShare: 0 } };
    const busyWorld: World = { network, params: { ...DEFAULT_MODEL_PARAMS, movingShare: 1 } };
    const still = fleet(50, 5, stillWorld);
    const busy = fleet(50, 5, busyWorld);
    let stillMoved = 0;
    let busyActive = 0;
    for (let t = 0; t < 1800; t++) {
      for (const v of still) {
        const next = step(v.state, 1000, v.rng, stillWorld);
        if (next.x !== v.state.x || next.y !== v.state.y || next.phase !== 'parked') stillMoved++;
        v.state = next;
      }
      for (const v of busy) {
        v.state = step(v.state, 1000, v.rng, busyWorld);
        if (v.state.phase !== 'parked') busyActive++;
      }
    }
    expect(stillMoved).toBe(0);
    expect(busyActive / (50 * 1800)).toBeGreaterThan(0.95);
  });

  it('trips on demand: parked until asked, drives until asked to park, then stays unlocked for the rental end', () => {
    const vehicles = fleet(50, 3).map((v) => ({ ...v, state: onDemandVehicle(v.state) }));
    const problems = new Set<string>();
    const run = (seconds: number, stepMs: number, check: (s: VehicleState) => void): void => {
      for (let t = 0; t < seconds * 1000; t += stepMs) {
        for (const v of vehicles) {
          v.state = step(v.state, stepMs, v.rng, world);
          // the model's invariants, but for the lock: an on-demand car is left unlocked after the trip
          for (const p of violations(v.state)) if (p !== 'parked but not parked') problems.add(p);
          check(v.state);
        }
      }
    };
    const positions = vehicles.map((v) => [v.state.x, v.state.y]);
    for (const v of vehicles)
      expect(v.state).toMatchObject({ phase: 'parked', ignition: false, locked: true, speedMps: 0, onDemand: true });
    // two hours: nobody asked, nobody moves (mid-trip cars of the steady state were parked where they were)
    let notParked = 0;
    run(2 * 3600, 10_000, (s) => void (s.phase !== 'parked' && notParked++));
    expect(notParked).toBe(0);
    expect(vehicles.map((v) => [v.state.x, v.state.y])).toEqual(positions);
    expect(requestPark(vehicles[0]!.state)).toBeUndefined();

    for (const v of vehicles) v.state = requestTrip(v.state)!;
    run(20, 1000, () => undefined);
    expect(vehicles.every((v) => v.state.phase === 'driving')).toBe(true);
    expect(requestTrip(vehicles[0]!.state)).toBeUndefined(); // on a trip already
    // far longer than the model's own trips (3–10 min): an on-demand trip lasts until the customer parks
    let moved = 0;
    let notDriving = 0;
    run(20 * 60, 1000, (s) => {
      if (s.phase !== 'driving') notDriving++;
      if (s.speedMps > 0) moved++;
    });
    expect(notDriving).toBe(0);
    expect(moved).toBeGreaterThan(50 * 20 * 60 * 0.5);

    for (const v of vehicles) v.state = requestPark(v.state)!;
    run(60, 1000, () => undefined);
    for (const v of vehicles)
      expect(v.state).toMatchObject({ phase: 'parked', ignition: false, doorsClosed: true, locked: false, speedMps: 0 });
    run(3600, 10_000, (s) => void (s.phase !== 'parked' && notParked++));
    expect(notParked).toBe(0);
    expect([...problems]).toEqual([]);

    // immobilized: no trip when asked
    const immobilized = { ...vehicles[1]!.state, immobilized: true };
    expect(requestTrip(immobilized)).toBeUndefined();
  });

  it('is deterministic, leaves its input untouched, and survives a 10-minute step', () => {
    const a = fleet(20, 99);
    const b = fleet(20, 99);
    for (let t = 0; t < 600; t++) {
      for (let i = 0; i < a.length; i++) {
        const frozen = Object.freeze(a[i]!.state);
        a[i]!.state = step(frozen, 1000, a[i]!.rng, world);
        b[i]!.state = step(b[i]!.state, 1000, b[i]!.rng, world);
      }
    }
    expect(a.map((v) => v.state)).toEqual(b.map((v) => v.state));
    // A 10-minute step (a stalled timer) still lands on a street with consistent state.
    const c = fleet(20, 5);
    for (const v of c) {
      v.state = step(v.state, 600_000, v.rng, world);
      expect(violations(v.state)).toEqual([]);
    }
  });

  it('produces telemetry that passes the shared decoder, with exactly the right energy field', () => {
    const vehicles = fleet(40, 8);
    let seq = 1_000;
    for (let t = 0; t < 900; t++) {
      for (const v of vehicles) {
        v.state = step(v.state, 1000, v.rng, world);
        const telemetry = toTelemetry(v.state, network, seq++, 1_795_000_000_000 + t * 1000);
        const decoded = decodeTelemetry(JSON.stringify(telemetry), v.state.id);
        if (!decoded.ok) throw new Error(`${decoded.reason}: ${decoded.detail ?? ''} ${JSON.stringify(telemetry)}`);
        const electric = v.state.energyType === 'electric';
        expect(decoded.value.batteryPct !== undefined).toBe(electric);
        expect(decoded.value.fuelPct !== undefined).toBe(!electric);
        expect(Object.keys(telemetry)).toEqual([
          'v',
          'seq',
          'ts',
          'lat',
          'lon',
          'speedKph',
          'headingDeg',
          electric ? 'batteryPct' : 'fuelPct',
          'odometerKm',
          'ignition',
          'locked',
          'doorsClosed',
        ]);
        expect(insideBounds(telemetry, DEFAULT_SERVICE_AREA.bounds)).toBe(true);
      }
    }
  });

  it('rounds a heading of 359.97° to 0, never 360', () => {
    const [v] = fleet(1, 1);
    const telemetry = toTelemetry({ ...v!.state, headingDeg: 359.97 }, network, 1, 0);
    expect(telemetry.headingDeg).toBe(0);
  });

  it('reports door, ignition and low-energy events in order, consistent with the state, at any step size', () => {
    const params = { ...DEFAULT_MODEL_PARAMS, movingShare: 0.5, fuelDrainPerKm: 1, batteryDrainPerKm: 1 };
    const w: World = { network, params };
    for (const dtMs of [200, 1000, 10_000]) {
      const vehicles = fleet(30, 21, w);
      const problems = new Set<string>();
      let tripStarts = 0;
      let lowEvents = 0;
      for (const v of vehicles) {
        let doorsClosed = v.state.doorsClosed;
        let ignition = v.state.ignition;
        const kinds: string[] = [];
        for (let t = 0; t < (3 * 3_600_000) / dtMs; t++) {
          const events: ModelEvent[] = [];
          const prev = v.state;
          v.state = step(prev, dtMs, v.rng, w, events);
          let lastAt = 0;
          for (const e of events) {
            if (e.atMs < lastAt || e.atMs > dtMs + 1e-6) problems.add(`event offset ${e.atMs} out of order/range`);
            lastAt = e.atMs;
            kinds.push(e.type);
            switch (e.type) {
              case 'door_opened':
                if (!doorsClosed) problems.add('door_opened while open');
                doorsClosed = false;
                break;
              case 'door_closed':
                if (doorsClosed) problems.add('door_closed while closed');
                doorsClosed = true;
                break;
              case 'ignition_on':
                if (ignition || !doorsClosed) problems.add('ignition_on while on or with doors open');
                ignition = true;
                break;
              case 'ignition_off':
                if (!ignition) problems.add('ignition_off while off');
                ignition = false;
                break;
              case 'battery_low':
                lowEvents++;
                if (!(e.levelPct! < params.lowEnergyPct && prev.energyPct >= params.lowEnergyPct))
                  problems.add(`battery_low at ${e.levelPct}`);
                break;
            }
          }
          // Replaying the events gives exactly the new state.
          if (doorsClosed !== v.state.doorsClosed || ignition !== v.state.ignition)
            problems.add(`events disagree with the state at dt=${dtMs}`);
        }
        // A trip starts: doors open, doors close, ignition on; it ends: ignition off, doors open, doors close.
        const seq = kinds.filter((k) => k !== 'battery_low').join(',');
        for (const m of seq.matchAll(/ignition_on/g)) {
          tripStarts++;
          if (m.index > 0 && !seq.slice(0, m.index).endsWith('door_opened,door_closed,'))
            problems.add('ignition_on not after door_opened, door_closed');
        }
        if (seq.includes('ignition_off,door_closed')) problems.add('ignition_off not followed by door_opened');
      }
      expect([...problems]).toEqual([]);
      expect(tripStarts).toBeGreaterThan(50);
      expect(lowEvents).toBeGreaterThan(0);
    }
  });

  it('an immobilized car starts no trip; one on a trip brakes, switches off and stays parked until released', () => {
    const w: World = { network, params: { ...DEFAULT_MODEL_PARAMS, movingShare: 0.9 } };
    const vehicles = fleet(20, 31, w).map((v) => ({ ...v, state: { ...v.state, immobilized: true } }));
    const driving = vehicles.filter((v) => v.state.phase === 'driving').length;
    expect(driving).toBeGreaterThan(10);
    for (let t = 0; t < 2 * 3600; t++) {
      for (const v of vehicles) {
        const prev = v.state;
        v.state = step(prev, 1000, v.rng, w);
        expect(v.state.speedMps).toBeLessThanOrEqual(prev.speedMps + 1e-9); // only ever slowing down
        if (prev.phase === 'parked') expect(v.state.phase).toBe('parked');
      }
      if (t === 120) for (const v of vehicles) expect(v.state.ignition).toBe(false); // every car stopped within 2 min
    }
    // Released: trips resume.
    let started = 0;
    for (const v of vehicles) v.state = { ...v.state, immobilized: false };
    for (let t = 0; t < 3600; t++) {
      for (const v of vehicles) {
        const prev = v.state;
        v.state = step(prev, 1000, v.rng, w);
        if (prev.phase === 'parked' && v.state.phase !== 'parked') started++;
      }
    }
    expect(started).toBeGreaterThan(5);
  });
});
