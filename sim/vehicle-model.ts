/**
 * The simulated vehicle: a plain state record and a deterministic step function. No clock, no I/O, no
 * timers — the MQTT layer (simulation.ts) calls `step` with the elapsed time and a per-vehicle random
 * stream, and tests step it with a fake clock through hours of simulated time in milliseconds of real time.
 *
 * Lifecycle (one trip):
 *   parked (locked, ignition off, doors closed, speed 0)
 *   → boarding   (unlocked, doors open a moment)
 *   → driving    (doors closed, ignition on; along the street network, slowing for turns, stopping at some
 *                 intersections; when the trip time is up, brakes to a stop at the kerb)
 *   → alighting  (ignition off, doors open a moment, unlocked)
 *   → parked     (locked again; refuelled / recharged at the end of the stay if the level was very low)
 *
 * Invariants (asserted by the tests): ignition on ⇒ unlocked; speed > 0 ⇒ ignition on and doors closed;
 * position always on a street of the network (hence inside the service area); heading = direction of travel;
 * odometer never decreases and grows by the distance driven.
 *
 * Remote commands (simulation.ts) act on the state between steps: `locked` (lock/unlock) and `immobilized`.
 * An immobilized car starts no trip (its stay is extended), and a driving one ends its trip — it brakes to
 * the kerb and switches the ignition off once stopped.
 *
 * Device events: `step` can report what changed inside it (door_opened, ignition_on, battery_low, …) with the
 * offset into the step at which it happened, so events keep their order and time even when one step spans
 * several phases.
 */
import type { Telemetry } from '../src/shared/device-protocol.js';
import { DEVICE_PROTOCOL_VERSION } from '../src/shared/device-protocol.js';
import type { EnergyType } from '../src/shared/fleet.js';
import { headingDelta } from './geo.js';
import { randomIndex, uniform, type Rng } from './prng.js';
import { otherEnd, type StreetEdge, type StreetNetwork } from './street-network.js';

export type VehiclePhase = 'parked' | 'boarding' | 'driving' | 'alighting';

export interface VehicleState {
  readonly id: string;
  readonly energyType: EnergyType;
  readonly phase: VehiclePhase;
  /** parked: until the next trip; boarding/alighting: until the doors close; driving: trip time left (≤ 0: braking to park) */
  readonly phaseRemainingMs: number;
  /** current street (index into network.edges), driven from `fromNode` towards its other end */
  readonly edge: number;
  readonly fromNode: number;
  readonly offsetM: number;
  /** the node after the current street's far end (chosen on entering the street, so the driver can slow for the turn) */
  readonly nextNode: number;
  /** stop at the far end of the current street (traffic light, right of way) */
  readonly stopAtEnd: boolean;
  /** waiting at an intersection */
  readonly waitRemainingMs: number;
  readonly speedMps: number;
  /** this trip's driver: multiplies the speed limit (0.8–1.05) */
  readonly cruiseFactor: number;
  readonly headingDeg: number;
  /** position in the network's local metric frame */
  readonly x: number;
  readonly y: number;
  readonly odometerKm: number;
  /** fuel or traction battery, per energyType */
  readonly energyPct: number;
  readonly refillDue: boolean;
  readonly ignition: boolean;
  readonly locked: boolean;
  readonly doorsClosed: boolean;
  /** set by the immobilize command, cleared by release: no trip starts, a trip in progress ends */
  readonly immobilized: boolean;
  /**
   * Trips on demand (a rented car): it stays parked until `requestTrip`, drives until `requestPark` (or until
   * something ends the trip: critical energy, immobilize, a crash), and after getting out it stays unlocked —
   * the rental's end locks it by command. False: trips and stays follow `movingShare` on their own.
   */
  readonly onDemand: boolean;
}

/** A change inside one step, reported as a device event; `atMs` is the offset into the step. */
export type ModelEventType = 'door_opened' | 'door_closed' | 'ignition_on' | 'ignition_off' | 'battery_low';
export interface ModelEvent {
  readonly type: ModelEventType;
  readonly atMs: number;
  /** battery_low: the level, % */
  readonly levelPct?: number;
}

export interface ModelParams {
  /** long-run fraction of vehicles on a trip (0…1) */
  movingShare: number;
  tripMinMs: number;
  tripMaxMs: number;
  doorsOpenMinMs: number;
  doorsOpenMaxMs: number;
  accelMps2: number;
  /** comfortable braking, planned for */
  brakeMps2: number;
  /** the hardest braking the model uses when it has to */
  maxBrakeMps2: number;
  /** speed through a right-angle turn */
  turnSpeedKph: number;
  /** chance of having to stop at an intersection (lights, right of way) */
  stopProbability: number;
  stopMinMs: number;
  stopMaxMs: number;
  /** %/km */
  fuelDrainPerKm: number;
  batteryDrainPerKm: number;
  /** a trip ending below this level gets a refuel / recharge before the next one */
  refillBelowPct: number;
  /** a trip ends early when the level drops below this */
  criticalPct: number;
  /** integration step while driving */
  maxSubstepMs: number;
  /** battery_low is reported when the fuel / battery level drops below this, % */
  lowEnergyPct: number;
}

export const DEFAULT_MODEL_PARAMS: ModelParams = {
  movingShare: 0.6,
  tripMinMs: 3 * 60_000,
  tripMaxMs: 10 * 60_000,
  doorsOpenMinMs: 1_200,
  doorsOpenMaxMs: 2_500,
  accelMps2: 1.8,
  brakeMps2: 2.2,
  maxBrakeMps2: 4.5,
  turnSpeedKph: 18,
  stopProbability: 0.25,
  stopMinMs: 4_000,
  stopMaxMs: 30_000,
  fuelDrainPerKm: 0.12, // ~6 l/100 km from a 50 l tank
  batteryDrainPerKm: 0.3, // ~15 kWh/100 km from a 50 kWh pack
  refillBelowPct: 10,
  criticalPct: 2,
  maxSubstepMs: 250,
  lowEnergyPct: 15,
};

export interface World {
  readonly network: StreetNetwork;
  readonly params: ModelParams;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type State = Mutable<VehicleState>;

// ------------------------------------------------------------------------------------------------ creation

/**
 * A vehicle somewhere on the network, already in the fleet's steady state: with probability `movingShare`
 * mid-trip, otherwise parked with part of its stay already over — so a fresh simulation does not start with
 * every car pulling out at once.
 */
export function createVehicle(vehicle: { id: string; energyType: EnergyType }, rng: Rng, world: World): VehicleState {
  const { network, params } = world;
  const edgeIndex = randomIndex(rng, network.edges.length);
  const edge = network.edges[edgeIndex]!;
  const fromNode = rng() < 0.5 ? edge.a : edge.b;
  const s: State = {
    id: vehicle.id,
    energyType: vehicle.energyType,
    phase: 'parked',
    phaseRemainingMs: 0,
    edge: edgeIndex,
    fromNode,
    offsetM: uniform(rng, 0, edge.lengthM),
    nextNode: -1,
    stopAtEnd: false,
    waitRemainingMs: 0,
    speedMps: 0,
    cruiseFactor: 1,
    headingDeg: 0,
    x: 0,
    y: 0,
    odometerKm: Math.round(uniform(rng, 3_000, 90_000) * 100) / 100,
    energyPct: uniform(rng, 25, 100),
    refillDue: false,
    ignition: false,
    locked: true,
    doorsClosed: true,
    immobilized: false,
    onDemand: false,
  };
  chooseNext(s, rng, world);
  placeOnEdge(s, network);
  if (rng() < clampShare(params.movingShare)) {
    s.phase = 'driving';
    s.phaseRemainingMs = uniform(rng, 0, params.tripMaxMs);
    s.cruiseFactor = uniform(rng, 0.8, 1.05);
    s.ignition = true;
    s.locked = false;
    s.speedMps = cruiseTarget(s, world) * uniform(rng, 0.4, 1);
  } else {
    s.phaseRemainingMs = parkedDurationMs(rng, params) * rng();
  }
  return s;
}

// ------------------------------------------------------------------------------------------------ stepping

/** An immobilized car's next trip attempt is at least this far off (a zero stay would spin the step loop). */
const IMMOBILIZED_RETRY_MS = 60_000;

/** Where `step` reports events (absent: not collected, nothing allocated). */
interface EventSink {
  events: ModelEvent[];
  /** ms into the step at the end of the slice being advanced */
  at: number;
}

function emit(sink: EventSink | undefined, type: ModelEventType, levelPct?: number): void {
  if (sink) sink.events.push(levelPct === undefined ? { type, atMs: sink.at } : { type, atMs: sink.at, levelPct });
}

/**
 * Advances one vehicle by `dtMs`. Returns a new state; the input is not modified. Deterministic: the result
 * depends only on the arguments (and on how many numbers it draws from `rng`). With `events`, the changes
 * that happened during the step are appended to it in order (collecting them draws nothing from `rng`).
 */
export function step(state: VehicleState, dtMs: number, rng: Rng, world: World, events?: ModelEvent[]): VehicleState {
  const s: State = { ...state };
  const total = Math.max(0, dtMs);
  let remaining = total;
  const sink: EventSink | undefined = events ? { events, at: 0 } : undefined;
  // Bounded so a corrupt dt can never spin forever; a day per call is far beyond any tick.
  for (let guard = 0; remaining > 0 && guard < 1_000_000; guard++) {
    remaining -= advance(s, remaining, rng, world, sink, total - remaining);
  }
  return s;
}

/** One phase-aware slice of time; returns the milliseconds consumed (> 0). */
function advance(s: State, availableMs: number, rng: Rng, world: World, sink: EventSink | undefined, elapsedMs: number): number {
  const { params } = world;
  switch (s.phase) {
    case 'parked': {
      const used = Math.min(availableMs, s.phaseRemainingMs);
      s.phaseRemainingMs -= used;
      if (sink) sink.at = elapsedMs + used;
      if (s.phaseRemainingMs <= 0) {
        // An immobilized car starts no trip: the customer gives up and the car stays for another while
        // (on demand: until asked again).
        if (s.immobilized) s.phaseRemainingMs = s.onDemand ? Infinity : Math.max(IMMOBILIZED_RETRY_MS, parkedDurationMs(rng, params));
        else startBoarding(s, rng, params, sink);
      }
      return Math.max(used, 1e-6);
    }
    case 'boarding': {
      const used = Math.min(availableMs, s.phaseRemainingMs);
      s.phaseRemainingMs -= used;
      if (sink) sink.at = elapsedMs + used;
      if (s.phaseRemainingMs <= 0) {
        if (s.immobilized)
          startAlighting(s, rng, params, sink); // immobilized while getting in: get out again
        else startDriving(s, rng, world, sink);
      }
      return Math.max(used, 1e-6);
    }
    case 'alighting': {
      const used = Math.min(availableMs, s.phaseRemainingMs);
      s.phaseRemainingMs -= used;
      if (sink) sink.at = elapsedMs + used;
      if (s.phaseRemainingMs <= 0) park(s, rng, params, sink);
      return Math.max(used, 1e-6);
    }
    case 'driving': {
      const used = Math.min(availableMs, params.maxSubstepMs);
      if (sink) sink.at = elapsedMs + used;
      drive(s, used / 1000, rng, world, sink);
      return used;
    }
  }
}

function startBoarding(s: State, rng: Rng, params: ModelParams, sink: EventSink | undefined): void {
  if (s.refillDue) {
    // Pretend the service crew refuelled / recharged the car during its stay.
    s.energyPct = uniform(rng, 85, 100);
    s.refillDue = false;
  }
  s.phase = 'boarding';
  s.phaseRemainingMs = uniform(rng, params.doorsOpenMinMs, params.doorsOpenMaxMs);
  s.locked = false;
  s.doorsClosed = false;
  emit(sink, 'door_opened');
}

function startDriving(s: State, rng: Rng, world: World, sink: EventSink | undefined): void {
  const { params } = world;
  s.phase = 'driving';
  s.phaseRemainingMs = s.onDemand ? Infinity : uniform(rng, params.tripMinMs, params.tripMaxMs);
  s.cruiseFactor = uniform(rng, 0.8, 1.05);
  s.doorsClosed = true;
  s.ignition = true;
  s.speedMps = 0;
  s.waitRemainingMs = 0;
  emit(sink, 'door_closed');
  emit(sink, 'ignition_on');
}

function startAlighting(s: State, rng: Rng, params: ModelParams, sink: EventSink | undefined): void {
  const wasOn = s.ignition;
  const wasClosed = s.doorsClosed;
  s.phase = 'alighting';
  s.phaseRemainingMs = uniform(rng, params.doorsOpenMinMs, params.doorsOpenMaxMs);
  s.speedMps = 0;
  s.waitRemainingMs = 0;
  s.ignition = false;
  s.doorsClosed = false;
  s.refillDue = s.energyPct < params.refillBelowPct;
  if (wasOn) emit(sink, 'ignition_off');
  if (wasClosed) emit(sink, 'door_opened');
}

function park(s: State, rng: Rng, params: ModelParams, sink: EventSink | undefined): void {
  s.phase = 'parked';
  s.phaseRemainingMs = s.onDemand ? Infinity : parkedDurationMs(rng, params);
  s.doorsClosed = true;
  if (!s.onDemand) s.locked = true;
  emit(sink, 'door_closed');
}

// ------------------------------------------------------------------------------------------------ on demand

/**
 * The vehicle with trips on demand (see `VehicleState.onDemand`): a car created mid-trip is parked where it is,
 * locked, ignition off — a rented car starts parked and waits for its customer.
 */
export function onDemandVehicle(state: VehicleState): VehicleState {
  if (state.phase === 'parked') return { ...state, onDemand: true, phaseRemainingMs: Infinity };
  return {
    ...state,
    onDemand: true,
    phase: 'parked',
    phaseRemainingMs: Infinity,
    speedMps: 0,
    waitRemainingMs: 0,
    ignition: false,
    locked: true,
    doorsClosed: true,
  };
}

/** Asks a parked on-demand vehicle to start a trip at its next step (boarding, then driving); false if it cannot. */
export function requestTrip(state: VehicleState): VehicleState | undefined {
  if (!state.onDemand || state.phase !== 'parked' || state.immobilized) return undefined;
  return { ...state, phaseRemainingMs: 0 };
}

/**
 * Asks a driving vehicle to end its trip: it brakes to the kerb, switches off, the driver gets out, it parks.
 * Undefined when it is not driving (parked already, or getting in or out: that ends by itself within seconds).
 */
export function requestPark(state: VehicleState): VehicleState | undefined {
  if (state.phase === 'driving') return { ...state, phaseRemainingMs: 0 };
  return undefined;
}

function clampShare(share: number): number {
  return Number.isFinite(share) ? Math.min(1, Math.max(0, share)) : 0;
}

/** Stays sized so that trips take `movingShare` of the time in the long run. */
export function parkedDurationMs(rng: Rng, params: ModelParams): number {
  const share = clampShare(params.movingShare);
  if (share <= 0) return Infinity;
  const meanTrip = (params.tripMinMs + params.tripMaxMs) / 2;
  const meanStay = (meanTrip * (1 - share)) / share;
  return meanStay * uniform(rng, 0.3, 1.7);
}

// ------------------------------------------------------------------------------------------------ driving

function drive(s: State, dtS: number, rng: Rng, world: World, sink: EventSink | undefined): void {
  const { network, params } = world;
  s.phaseRemainingMs -= dtS * 1000;
  const tripOver = s.phaseRemainingMs <= 0 || s.energyPct < params.criticalPct || s.immobilized;

  if (s.waitRemainingMs > 0) {
    s.speedMps = 0;
    if (tripOver) {
      startAlighting(s, rng, params, sink);
      return;
    }
    s.waitRemainingMs -= dtS * 1000;
    if (s.waitRemainingMs <= 0) {
      s.waitRemainingMs = 0;
      enterNextEdge(s, rng, world);
      placeOnEdge(s, network);
    }
    return;
  }

  if (!tripOver && s.stopAtEnd && s.offsetM >= network.edges[s.edge]!.lengthM) {
    // Already standing at the stop line (a trip that began where the last one ended): go when ready.
    s.stopAtEnd = false;
  }
  const v0 = s.speedMps;
  let v1: number;
  if (tripOver) {
    v1 = Math.max(0, v0 - params.brakeMps2 * dtS);
  } else {
    const target = cruiseTarget(s, world);
    v1 = v0 < target ? Math.min(target, v0 + params.accelMps2 * dtS) : Math.max(target, v0 - params.maxBrakeMps2 * dtS);
  }
  s.speedMps = v1;

  let toGo = ((v0 + v1) / 2) * dtS;
  let driven = 0;
  for (let guard = 0; toGo > 0 && guard < 1000; guard++) {
    const edge = network.edges[s.edge]!;
    const left = edge.lengthM - s.offsetM;
    if (toGo < left) {
      s.offsetM += toGo;
      driven += toGo;
      break;
    }
    driven += left;
    toGo -= left;
    s.offsetM = edge.lengthM;
    if (s.stopAtEnd && !tripOver) {
      s.speedMps = 0;
      s.waitRemainingMs = uniform(rng, params.stopMinMs, params.stopMaxMs);
      break;
    }
    enterNextEdge(s, rng, world);
  }

  s.odometerKm += driven / 1000;
  const drain = s.energyType === 'electric' ? params.batteryDrainPerKm : params.fuelDrainPerKm;
  const before = s.energyPct;
  s.energyPct = Math.max(0, s.energyPct - (drain * driven) / 1000);
  if (before >= params.lowEnergyPct && s.energyPct < params.lowEnergyPct) emit(sink, 'battery_low', s.energyPct);
  placeOnEdge(s, network);

  if (tripOver && s.speedMps === 0) startAlighting(s, rng, params, sink);
}

/** The speed the driver aims for now: the limit, less whatever lets them slow down in time for the next node. */
function cruiseTarget(s: State, world: World): number {
  const { network, params } = world;
  const edge = network.edges[s.edge]!;
  const limit = (edge.speedLimitKph / 3.6) * s.cruiseFactor;
  const distance = edge.lengthM - s.offsetM;
  const vEnd = Math.min(limit, endSpeed(s, edge, world));
  const allowed = Math.sqrt(vEnd * vEnd + 2 * params.brakeMps2 * Math.max(0, distance - 1));
  // Creep the last metres instead of stalling just short of the stop line.
  return Math.min(limit, Math.max(allowed, distance > 0 ? 1.2 : 0));
}

/** How fast the vehicle may pass the far node of its street. */
function endSpeed(s: State, edge: StreetEdge, world: World): number {
  if (s.stopAtEnd) return 0;
  const { network, params } = world;
  const far = otherEnd(edge, s.fromNode);
  const next = edgeBetween(network, far, s.nextNode);
  if (next === undefined) return 0;
  const turn = Math.abs(headingDelta(travelHeading(edge, s.fromNode), travelHeading(next, far)));
  const nextLimit = (next.speedLimitKph / 3.6) * s.cruiseFactor;
  if (turn < 20) return nextLimit;
  if (turn < 110) return Math.min(nextLimit, params.turnSpeedKph / 3.6);
  return Math.min(nextLimit, 2);
}

function enterNextEdge(s: State, rng: Rng, world: World): void {
  const { network } = world;
  const here = otherEnd(network.edges[s.edge]!, s.fromNode);
  if (s.nextNode < 0) chooseNext(s, rng, world);
  const nextEdgeIndex = edgeIndexBetween(network, here, s.nextNode);
  if (nextEdgeIndex === undefined) throw new Error(`street network: no street from node ${here} to ${s.nextNode}`);
  s.edge = nextEdgeIndex;
  s.fromNode = here;
  s.offsetM = 0;
  chooseNext(s, rng, world);
}

/**
 * Picks the street to take at the far end of the current one: mostly straight on, sometimes a turn, a U-turn
 * only at a dead end; and whether the driver will have to stop there.
 */
function chooseNext(s: State, rng: Rng, world: World): void {
  const { network, params } = world;
  const edge = network.edges[s.edge]!;
  const far = otherEnd(edge, s.fromNode);
  const heading = travelHeading(edge, s.fromNode);
  const options: Array<{ node: number; weight: number }> = [];
  let total = 0;
  for (const e of network.nodes[far]!.edges) {
    if (e === s.edge) continue;
    const candidate = network.edges[e]!;
    const turn = Math.abs(headingDelta(heading, travelHeading(candidate, far)));
    const weight = turn < 20 ? 4 : turn < 70 ? 2 : turn < 120 ? 1.2 : 0.3;
    options.push({ node: otherEnd(candidate, far), weight });
    total += weight;
  }
  if (options.length === 0) {
    s.nextNode = s.fromNode; // dead end: turn round
  } else {
    let pick = rng() * total;
    s.nextNode = options[options.length - 1]!.node;
    for (const o of options) {
      pick -= o.weight;
      if (pick < 0) {
        s.nextNode = o.node;
        break;
      }
    }
  }
  s.stopAtEnd = rng() < params.stopProbability;
}

function travelHeading(edge: StreetEdge, fromNode: number): number {
  return fromNode === edge.a ? edge.headingAB : (edge.headingAB + 180) % 360;
}

function edgeIndexBetween(network: StreetNetwork, from: number, to: number): number | undefined {
  for (const e of network.nodes[from]!.edges) if (otherEnd(network.edges[e]!, from) === to) return e;
  return undefined;
}

function edgeBetween(network: StreetNetwork, from: number, to: number): StreetEdge | undefined {
  const i = edgeIndexBetween(network, from, to);
  return i === undefined ? undefined : network.edges[i];
}

function placeOnEdge(s: State, network: StreetNetwork): void {
  const edge = network.edges[s.edge]!;
  const from = network.nodes[s.fromNode]!;
  const to = network.nodes[otherEnd(edge, s.fromNode)]!;
  const t = edge.lengthM === 0 ? 0 : s.offsetM / edge.lengthM;
  s.x = from.x + (to.x - from.x) * t;
  s.y = from.y + (to.y - from.y) * t;
  s.headingDeg = travelHeading(edge, s.fromNode);
}

// ------------------------------------------------------------------------------------------------ telemetry

/** Whether this vehicle reports at the moving rate (on a trip, including getting in and out) or the heartbeat. */
export function isActive(s: VehicleState): boolean {
  return s.phase !== 'parked';
}

const round = (value: number, decimals: number): number => {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
};

/** The telemetry payload (protocol v1) for the vehicle's current state. */
export function toTelemetry(s: VehicleState, network: StreetNetwork, seq: number, ts: number): Telemetry {
  const { lat, lon } = network.projection.toLatLon(s.x, s.y);
  const heading = round(s.headingDeg, 1);
  const energy = round(Math.min(100, Math.max(0, s.energyPct)), 1);
  const electric = s.energyType === 'electric';
  // Field order as in TelemetrySchema, exactly one of fuelPct / batteryPct.
  const t: Telemetry = {
    v: DEVICE_PROTOCOL_VERSION,
    seq,
    ts: Math.floor(ts),
    lat: round(lat, 6),
    lon: round(lon, 6),
    speedKph: round(s.speedMps * 3.6, 1),
    headingDeg: heading >= 360 ? 0 : heading,
    ...(electric ? { batteryPct: energy } : { fuelPct: energy }),
    odometerKm: round(s.odometerKm, 3),
    ignition: s.ignition,
    locked: s.locked,
    doorsClosed: s.doorsClosed,
  };
  return t;
}
