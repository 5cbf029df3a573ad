/**
 * One simulated vehicle as the simulation's parts share it: the scheduler steps it and reports its telemetry and
 * events, the command responder answers its commands, its connection carries its messages. Plus the counters
 * they all add to (`stats()`).
 */
import { deviceTopic, type CommandResult, type Telemetry } from '../src/shared/device-protocol.js';
import type { DeviceConnection } from './device-connection.js';
import type { CommandPolicy, InstalledSkew } from './faults.js';
import type { Rng } from './prng.js';
import type { OutgoingMessage } from './publish-pipeline.js';
import type { SimulationStats } from './simulation.js';
import type { VehicleState } from './vehicle-model.js';

export interface RememberedCommand {
  /** the last result published for it (undefined: ignored, nothing was answered) */
  last: CommandResult | undefined;
}

export interface SimVehicle {
  readonly index: number;
  readonly id: string;
  readonly telemetryTopic: string;
  readonly statusTopic: string;
  readonly eventsTopic: string;
  readonly commandsTopic: string;
  readonly resultsTopic: string;
  readonly rng: Rng;
  readonly conn: DeviceConnection;
  state: VehicleState;
  lastStepAt: number;
  lastPublishAt: number;
  /** ignition/locked/doorsClosed as last published: a change is reported at once even when parked */
  lastFlags: number;
  seq: number;
  lastTelemetry: Telemetry | undefined;
  /** gone silent on a multiplexed connection (goOffline without will) */
  silenced: boolean;
  /** own clock skew (overrides the fleet-wide one) */
  skew: InstalledSkew | undefined;
  /** command policy override (merged over the fleet-wide policy) */
  policy: Partial<CommandPolicy> | undefined;
  commands: Map<string, RememberedCommand> | undefined;
  /** results produced while disconnected, sent after the next connect */
  unsentResults: OutgoingMessage[] | undefined;
}

export function createSimVehicle(
  index: number,
  id: string,
  rng: Rng,
  conn: DeviceConnection,
  state: VehicleState,
  seqStart: number,
): SimVehicle {
  return {
    index,
    id,
    telemetryTopic: deviceTopic(id, 'telemetry'),
    statusTopic: deviceTopic(id, 'status'),
    eventsTopic: deviceTopic(id, 'events'),
    commandsTopic: deviceTopic(id, 'commands'),
    resultsTopic: deviceTopic(id, 'command-results'),
    rng,
    conn,
    state,
    lastStepAt: 0,
    lastPublishAt: -Infinity,
    lastFlags: -1,
    seq: seqStart - 1,
    lastTelemetry: undefined,
    silenced: false,
    skew: undefined,
    policy: undefined,
    commands: undefined,
    unsentResults: undefined,
  };
}

/** What the simulation counts: `SimulationStats` but for the connection and fault figures, which are read when asked. */
export type SimCounters = Omit<SimulationStats, 'connected' | 'connections' | 'connectionsUp' | 'faults'>;

export function newCounters(): SimCounters {
  return {
    published: 0,
    telemetry: 0,
    droppedWhileDisconnected: 0,
    maxLagMs: 0,
    events: 0,
    commandsReceived: 0,
    commandsDuplicate: 0,
    commandsExpired: 0,
    commandsIgnored: 0,
    commandsInvalid: 0,
    commandResults: 0,
  };
}

/** A vehicle's device clock at real time `realTs` (its own skew, else the fleet-wide one): what it stamps into `ts`. */
export type DeviceClock = (v: SimVehicle, realTs: number) => number;
