/**
 * The device's answer to commands (see sim/README.md, "Commands"): decode, deduplicate by command id (a repeat
 * gets the last result again, never a second execution), reject expired ones by the device clock, answer
 * `received`, then after the execution delay the outcome of the command's effect on the vehicle model. The
 * command faults (fail, ignore, delay) are the command policy. Results produced while the vehicle's connection
 * is down are kept and sent after it reconnects, as a device with a persistent QoS 1 queue would.
 */
import {
  CHANNEL_RULES,
  COMMAND_ID_PATTERN,
  decodeDeviceCommand,
  DEVICE_PROTOCOL_VERSION,
  MAX_PAYLOAD_BYTES,
  parseDeviceTopic,
  type CommandResult,
  type CommandResultStatus,
  type DeviceCommand,
} from '../src/shared/device-protocol.js';
import type { DeviceConnection } from './device-connection.js';
import type { CommandPolicy } from './faults.js';
import { uniform, type Rng } from './prng.js';
import type { OutgoingMessage, PublishPipeline } from './publish-pipeline.js';
import type { RememberedCommand, SimCounters, SimVehicle } from './sim-vehicle.js';
import type { StreetNetwork } from './street-network.js';

/** command ids remembered per vehicle for deduplication */
const REMEMBERED_COMMANDS = 256;
/** command results kept while the vehicle is disconnected, sent on reconnect (QoS 1 semantics) */
const MAX_UNSENT_RESULTS = 64;

export interface CommandResponderOptions {
  vehicle: (id: string) => SimVehicle | undefined;
  network: StreetNetwork;
  pipeline: PublishPipeline;
  counters: SimCounters;
  /** the fault stream (ignore, fail, delay draws), apart from the vehicles' streams */
  faultRng: Rng;
  /** the vehicle's device clock now, epoch ms */
  deviceNow: (v: SimVehicle) => number;
  /** the fleet-wide command policy to start with */
  policy: CommandPolicy;
}

export class CommandResponder {
  /** fleet-wide; a vehicle's own `policy` is merged over it */
  fleetPolicy: CommandPolicy;
  private stopped = false;
  private readonly commandTimers = new Set<NodeJS.Timeout>();

  constructor(private readonly o: CommandResponderOptions) {
    this.fleetPolicy = o.policy;
  }

  policyFor(v: SimVehicle): CommandPolicy {
    return v.policy ? { ...this.fleetPolicy, ...v.policy } : this.fleetPolicy;
  }

  /** No more answers: commands waiting to execute are dropped. */
  stop(): void {
    this.stopped = true;
    for (const t of this.commandTimers) clearTimeout(t);
    this.commandTimers.clear();
  }

  /** Sends the results kept while the vehicle was away (after its `online`). */
  sendUnsent(v: SimVehicle): void {
    const unsent = v.unsentResults;
    if (unsent) {
      v.unsentResults = undefined;
      for (const msg of unsent) this.o.pipeline.publish(msg);
    }
  }

  /** A message on a connection: a command for one of its vehicles, else counted as invalid. */
  readonly handle = (conn: DeviceConnection, topic: string, payload: Buffer): void => {
    if (this.stopped) return;
    const parsed = parseDeviceTopic(topic);
    const v = parsed?.channel === 'commands' ? this.o.vehicle(parsed.vehicleId) : undefined;
    if (!v || v.conn !== conn) {
      this.o.counters.commandsInvalid++;
      return;
    }
    if (v.silenced) return; // gone: hears nothing
    const decoded = decodeDeviceCommand(payload);
    if (!decoded.ok) {
      this.o.counters.commandsInvalid++;
      // Answer `failed` when the command id is readable, so the server need not wait for the expiry.
      const commandId = readableCommandId(payload);
      if (commandId && !v.commands?.has(commandId)) {
        const rec = this.remember(v, commandId);
        this.answer(v, rec, commandId, 'failed', `invalid_command: ${decoded.reason}${decoded.detail ? ` (${decoded.detail})` : ''}`);
      }
      return;
    }
    const cmd = decoded.value;
    this.o.counters.commandsReceived++;
    const known = v.commands?.get(cmd.commandId);
    if (known) {
      // A repeat (QoS 1 redelivery, a server retry): answer what we answered last; never execute again.
      this.o.counters.commandsDuplicate++;
      if (known.last) this.sendResult(v, known.last);
      return;
    }
    const rec = this.remember(v, cmd.commandId);
    const now = this.o.deviceNow(v);
    if (cmd.expiresAt <= now) {
      this.o.counters.commandsExpired++;
      this.answer(v, rec, cmd.commandId, 'rejected_expired', `expired at ${cmd.expiresAt}, device clock ${Math.floor(now)}`);
      return;
    }
    const policy = this.policyFor(v);
    if (policy.ignoreProbability > 0 && this.o.faultRng() < policy.ignoreProbability) {
      this.o.counters.commandsIgnored++;
      return;
    }
    this.answer(v, rec, cmd.commandId, 'received');
    const d = policy.executionDelayMs;
    const delay = typeof d === 'number' ? d : uniform(this.o.faultRng, d[0], d[1]);
    const timer = setTimeout(() => {
      this.commandTimers.delete(timer);
      if (!this.stopped) this.execute(v, cmd, rec, policy);
    }, delay);
    this.commandTimers.add(timer);
  };

  private execute(v: SimVehicle, cmd: DeviceCommand, rec: RememberedCommand, policy: CommandPolicy): void {
    const now = this.o.deviceNow(v);
    if (cmd.expiresAt <= now) {
      // Expired while waiting to execute: still never executed after the expiry.
      this.o.counters.commandsExpired++;
      this.answer(
        v,
        rec,
        cmd.commandId,
        'rejected_expired',
        `expired before execution at ${cmd.expiresAt}, device clock ${Math.floor(now)}`,
      );
      return;
    }
    if (policy.failProbability > 0 && this.o.faultRng() < policy.failProbability) {
      this.answer(v, rec, cmd.commandId, 'failed', 'simulated_failure');
      return;
    }
    const outcome = this.apply(v, cmd);
    if (outcome.ok) this.answer(v, rec, cmd.commandId, 'succeeded', undefined, outcome.data);
    else this.answer(v, rec, cmd.commandId, 'failed', outcome.reason);
  }

  /** The command's effect on the vehicle model (see sim/README.md, "Commands"). */
  private apply(v: SimVehicle, cmd: DeviceCommand): { ok: true; data?: Record<string, number> } | { ok: false; reason: string } {
    const s = v.state;
    switch (cmd.type) {
      case 'lock':
        if (!s.doorsClosed) return { ok: false, reason: 'doors_open' };
        if (s.ignition) return { ok: false, reason: 'ignition_on' };
        v.state = { ...s, locked: true };
        return { ok: true };
      case 'unlock':
        v.state = { ...s, locked: false };
        return { ok: true };
      case 'immobilize':
        // Takes effect at once for starting; a car on a trip brakes to the kerb and switches off when stopped.
        v.state = { ...s, immobilized: true };
        return { ok: true };
      case 'release':
        v.state = { ...s, immobilized: false };
        return { ok: true };
      case 'locate': {
        const { lat, lon } = this.o.network.projection.toLatLon(s.x, s.y);
        return { ok: true, data: { lat: Math.round(lat * 1e6) / 1e6, lon: Math.round(lon * 1e6) / 1e6 } };
      }
      case 'honk_flash':
        return { ok: true };
    }
  }

  private remember(v: SimVehicle, commandId: string): RememberedCommand {
    const map = (v.commands ??= new Map());
    if (map.size >= REMEMBERED_COMMANDS) map.delete(map.keys().next().value!);
    const rec: RememberedCommand = { last: undefined };
    map.set(commandId, rec);
    return rec;
  }

  private answer(
    v: SimVehicle,
    rec: RememberedCommand,
    commandId: string,
    status: CommandResultStatus,
    reason?: string,
    data?: Record<string, number>,
  ): void {
    const result: CommandResult = {
      v: DEVICE_PROTOCOL_VERSION,
      commandId,
      status,
      ...(reason === undefined ? {} : { reason: reason.slice(0, 500) }),
      ts: Math.max(0, Math.floor(this.o.deviceNow(v))),
      ...(data ? { data } : {}),
    };
    rec.last = result;
    this.sendResult(v, result);
  }

  /** QoS 1: kept while the vehicle is disconnected (not when it is silenced) and sent after it reconnects. */
  private sendResult(v: SimVehicle, result: CommandResult): void {
    const msg: OutgoingMessage = {
      vehicleId: v.id,
      channel: 'command-results',
      topic: v.resultsTopic,
      body: result,
      qos: CHANNEL_RULES['command-results'].qos,
      retain: CHANNEL_RULES['command-results'].retain,
    };
    this.o.counters.commandResults++;
    if (v.silenced) return;
    if (!v.conn.connected) {
      const unsent = (v.unsentResults ??= []);
      if (unsent.length < MAX_UNSENT_RESULTS) unsent.push(msg);
      return;
    }
    this.o.pipeline.publish(msg);
  }
}

const COMMAND_ID_RE = new RegExp(COMMAND_ID_PATTERN);

/** The command id of an undecodable command, when the payload is JSON with a well-formed `commandId`. */
function readableCommandId(payload: Buffer): string | undefined {
  if (payload.byteLength > MAX_PAYLOAD_BYTES) return undefined;
  try {
    const value = JSON.parse(payload.toString('utf8')) as unknown;
    const id = typeof value === 'object' && value !== null ? (value as { commandId?: unknown }).commandId : undefined;
    return typeof id === 'string' && COMMAND_ID_RE.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}
