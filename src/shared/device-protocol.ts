/**
 * Device protocol v1 — the contract between in-car devices, the companion server, the desktop and the
 * simulator. Prose: docs/device-protocol.md. One schema source (TypeBox = JSON Schema) gives both the
 * static types and the runtime validation.
 *
 * Works on MQTT 3.1.1: correlation lives in payloads, never in MQTT 5 properties.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TelemetrySample } from './fleet.js';

export const DEVICE_PROTOCOL_VERSION = 1;
export const TOPIC_PREFIX = 'fleet/v1/vehicles';

/** Vehicle ids are single MQTT topic levels: no '/', '+', '#', bounded length. */
export const VEHICLE_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
const VEHICLE_ID_RE = new RegExp(VEHICLE_ID_PATTERN);
export const isVehicleId = (s: string): boolean => VEHICLE_ID_RE.test(s);

export const DEVICE_CHANNELS = ['telemetry', 'status', 'events', 'commands', 'command-results'] as const;
export type DeviceChannel = (typeof DEVICE_CHANNELS)[number];

/** QoS and retain rules per channel (see docs/device-protocol.md). */
export const CHANNEL_RULES: Record<DeviceChannel, { qos: 0 | 1; retain: boolean; direction: 'device→server' | 'server→device' }> = {
  telemetry: { qos: 0, retain: false, direction: 'device→server' },
  status: { qos: 1, retain: true, direction: 'device→server' },
  events: { qos: 1, retain: false, direction: 'device→server' },
  commands: { qos: 1, retain: false, direction: 'server→device' },
  'command-results': { qos: 1, retain: false, direction: 'device→server' },
};

export function deviceTopic(vehicleId: string, channel: DeviceChannel): string {
  return `${TOPIC_PREFIX}/${vehicleId}/${channel}`;
}

/** Wildcard subscriptions used by the server and the desktop. */
export const SUBSCRIPTIONS = {
  allTelemetry: `${TOPIC_PREFIX}/+/telemetry`,
  allStatus: `${TOPIC_PREFIX}/+/status`,
  allEvents: `${TOPIC_PREFIX}/+/events`,
  allCommandResults: `${TOPIC_PREFIX}/+/command-results`,
} as const;

export interface ParsedTopic {
  vehicleId: string;
  channel: DeviceChannel;
}

/** Parses `fleet/v1/vehicles/{id}/{channel}`; null for anything else (including a shared-subscription prefix). */
export function parseDeviceTopic(topic: string): ParsedTopic | null {
  const parts = topic.split('/');
  if (parts.length !== 5 || parts[0] !== 'fleet' || parts[1] !== 'v1' || parts[2] !== 'vehicles') return null;
  const vehicleId = parts[3]!;
  const channel = parts[4] as DeviceChannel;
  if (!isVehicleId(vehicleId) || !DEVICE_CHANNELS.includes(channel)) return null;
  return { vehicleId, channel };
}

// ---------------------------------------------------------------------------------------------- schemas

const EpochMs = Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000, description: 'epoch milliseconds' });
const Pct = Type.Number({ minimum: 0, maximum: 100 });

/**
 * Telemetry, ~1 Hz while moving, less often when parked. Exactly one of fuelPct / batteryPct.
 * `vehicleId` is optional; when present it must equal the topic's id (else the message is dropped).
 * Unknown extra fields are ignored (a v1 device may add fields; see versioning in the doc).
 */
export const TelemetrySchema = Type.Object(
  {
    v: Type.Integer({ minimum: 1 }),
    seq: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    ts: EpochMs,
    vehicleId: Type.Optional(Type.String({ pattern: VEHICLE_ID_PATTERN })),
    lat: Type.Number({ minimum: -90, maximum: 90 }),
    lon: Type.Number({ minimum: -180, maximum: 180 }),
    speedKph: Type.Number({ minimum: 0, maximum: 400 }),
    headingDeg: Type.Number({ minimum: 0, exclusiveMaximum: 360 }),
    fuelPct: Type.Optional(Pct),
    batteryPct: Type.Optional(Pct),
    odometerKm: Type.Number({ minimum: 0, maximum: 10_000_000 }),
    ignition: Type.Boolean(),
    locked: Type.Boolean(),
    doorsClosed: Type.Boolean(),
  },
  { $id: 'fleet/v1/telemetry', additionalProperties: true },
);
export type Telemetry = Static<typeof TelemetrySchema>;

/** The live-state fields of a telemetry message (decodeTelemetry guarantees exactly one of fuelPct / batteryPct). */
export function telemetrySample(t: Telemetry): TelemetrySample {
  return {
    seq: t.seq,
    deviceTs: t.ts,
    lat: t.lat,
    lon: t.lon,
    speedKph: t.speedKph,
    headingDeg: t.headingDeg,
    energyPct: t.fuelPct ?? t.batteryPct ?? 0,
    odometerKm: t.odometerKm,
    ignition: t.ignition,
    locked: t.locked,
    doorsClosed: t.doorsClosed,
  };
}

/** Retained; the device's MQTT last will publishes `{ state: "offline" }` on this topic. */
export const StatusSchema = Type.Object(
  {
    v: Type.Optional(Type.Integer({ minimum: 1 })),
    state: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
    ts: EpochMs,
    reason: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { $id: 'fleet/v1/status', additionalProperties: true },
);
export type DeviceStatus = Static<typeof StatusSchema>;

/** Device events, QoS 1. `seq` comes from the same per-device counter as telemetry (one ordering per device). */
export const DEVICE_EVENT_TYPES = [
  'door_opened',
  'door_closed',
  'ignition_on',
  'ignition_off',
  'crash_detected',
  'battery_low',
  'tamper',
] as const;
export type DeviceEventType = (typeof DEVICE_EVENT_TYPES)[number];

export const DeviceEventSchema = Type.Object(
  {
    v: Type.Integer({ minimum: 1 }),
    seq: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    ts: EpochMs,
    vehicleId: Type.Optional(Type.String({ pattern: VEHICLE_ID_PATTERN })),
    type: Type.Union(DEVICE_EVENT_TYPES.map((t) => Type.Literal(t))),
    lat: Type.Optional(Type.Number({ minimum: -90, maximum: 90 })),
    lon: Type.Optional(Type.Number({ minimum: -180, maximum: 180 })),
    /** type-specific details, e.g. `{ "peakG": 4.2 }` for crash_detected; at most a few hundred bytes */
    data: Type.Optional(
      Type.Record(Type.String({ maxLength: 64 }), Type.Union([Type.String({ maxLength: 200 }), Type.Number(), Type.Boolean()])),
    ),
  },
  { $id: 'fleet/v1/event', additionalProperties: true },
);
export type DeviceEvent = Static<typeof DeviceEventSchema>;

/** Commands, server → device, QoS 1. */
export const COMMAND_TYPES = ['lock', 'unlock', 'immobilize', 'release', 'locate', 'honk_flash'] as const;
export type CommandType = (typeof COMMAND_TYPES)[number];

/** Command ids: 8–64 characters of `A–Z a–z 0–9 _ -` (the server uses UUIDs). */
export const COMMAND_ID_PATTERN = '^[A-Za-z0-9_-]{8,64}$';

export const DeviceCommandSchema = Type.Object(
  {
    v: Type.Integer({ minimum: 1 }),
    commandId: Type.String({ pattern: COMMAND_ID_PATTERN }),
    type: Type.Union(COMMAND_TYPES.map((t) => Type.Literal(t))),
    issuedAt: EpochMs,
    /** the device must not execute the command at or after this time (its own clock); it answers rejected_expired */
    expiresAt: EpochMs,
    params: Type.Optional(
      Type.Record(Type.String({ maxLength: 64 }), Type.Union([Type.String({ maxLength: 200 }), Type.Number(), Type.Boolean()])),
    ),
  },
  { $id: 'fleet/v1/command', additionalProperties: true },
);
export type DeviceCommand = Static<typeof DeviceCommandSchema>;

export const COMMAND_RESULT_STATUSES = ['received', 'succeeded', 'failed', 'rejected_expired'] as const;
export type CommandResultStatus = (typeof COMMAND_RESULT_STATUSES)[number];

/** Device → server, QoS 1, linked to the command by `commandId`. */
export const CommandResultSchema = Type.Object(
  {
    v: Type.Optional(Type.Integer({ minimum: 1 })),
    commandId: Type.String({ pattern: COMMAND_ID_PATTERN }),
    status: Type.Union(COMMAND_RESULT_STATUSES.map((t) => Type.Literal(t))),
    reason: Type.Optional(Type.String({ maxLength: 500 })),
    ts: EpochMs,
    /** result details, e.g. `{ "lat": 52.5, "lon": 13.4 }` for locate */
    data: Type.Optional(
      Type.Record(Type.String({ maxLength: 64 }), Type.Union([Type.String({ maxLength: 200 }), Type.Number(), Type.Boolean()])),
    ),
  },
  { $id: 'fleet/v1/command-result', additionalProperties: true },
);
export type CommandResult = Static<typeof CommandResultSchema>;

// ---------------------------------------------------------------------------------------------- decoding

/** Why a message was dropped; used as the `reason` label of the dropped-messages counters. */
export type DropReason =
  'bad_topic' | 'too_large' | 'not_json' | 'schema' | 'unsupported_version' | 'topic_mismatch' | 'unknown_vehicle' | 'duplicate' | 'stale';

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: DropReason; detail?: string };

/** Payloads larger than this are dropped unparsed. */
export const MAX_PAYLOAD_BYTES = 16 * 1024;

const checks = new Map<TSchema, TypeCheck<TSchema>>();
/** Compiled lazily: the renderer imports this module under a CSP without 'unsafe-eval' and never validates. */
function check<T extends TSchema>(schema: T): TypeCheck<T> {
  let c = checks.get(schema);
  if (!c) {
    c = TypeCompiler.Compile(schema);
    checks.set(schema, c);
  }
  return c as TypeCheck<T>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseJson(payload: Uint8Array | string): Decoded<unknown> {
  const size = typeof payload === 'string' ? payload.length : payload.byteLength;
  if (size > MAX_PAYLOAD_BYTES) return { ok: false, reason: 'too_large' };
  try {
    const text = typeof payload === 'string' ? payload : utf8.decode(payload);
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, reason: 'not_json' };
  }
}

function firstError(schema: TSchema, value: unknown): string {
  const err = check(schema).Errors(value).First();
  return err ? `${err.path || '/'}: ${err.message}` : 'invalid';
}

export function decodeTelemetry(payload: Uint8Array | string, topicVehicleId: string): Decoded<Telemetry> {
  const decoded = decodeVersioned(TelemetrySchema, payload, topicVehicleId);
  if (decoded.ok && (decoded.value.fuelPct === undefined) === (decoded.value.batteryPct === undefined)) {
    return { ok: false, reason: 'schema', detail: 'exactly one of fuelPct, batteryPct is required' };
  }
  return decoded;
}

export function decodeStatus(payload: Uint8Array | string): Decoded<DeviceStatus> {
  return decodeVersioned(StatusSchema, payload);
}

/** The status payloads a device publishes (online on connect, offline as last will or on clean shutdown). */
export function statusPayload(state: DeviceStatus['state'], ts: number, reason?: string): string {
  return JSON.stringify(reason ? { v: DEVICE_PROTOCOL_VERSION, state, ts, reason } : { v: DEVICE_PROTOCOL_VERSION, state, ts });
}

function decodeVersioned<T extends TSchema>(schema: T, payload: Uint8Array | string, topicVehicleId?: string): Decoded<Static<T>> {
  const parsed = parseJson(payload);
  if (!parsed.ok) return parsed;
  const value = parsed.value as Static<T> & { v?: number; vehicleId?: string };
  if (!check(schema).Check(value)) return { ok: false, reason: 'schema', detail: firstError(schema, value) };
  if (value.v !== undefined && value.v > DEVICE_PROTOCOL_VERSION)
    return { ok: false, reason: 'unsupported_version', detail: `v=${value.v}` };
  if (topicVehicleId !== undefined && value.vehicleId !== undefined && value.vehicleId !== topicVehicleId) {
    return { ok: false, reason: 'topic_mismatch', detail: `payload vehicleId ${value.vehicleId}` };
  }
  return { ok: true, value };
}

export function decodeDeviceEvent(payload: Uint8Array | string, topicVehicleId: string): Decoded<DeviceEvent> {
  return decodeVersioned(DeviceEventSchema, payload, topicVehicleId);
}

/** Devices use this to validate what they receive; the server validates what it sends with the same schema. */
export function decodeDeviceCommand(payload: Uint8Array | string): Decoded<DeviceCommand> {
  return decodeVersioned(DeviceCommandSchema, payload);
}

export function decodeCommandResult(payload: Uint8Array | string): Decoded<CommandResult> {
  return decodeVersioned(CommandResultSchema, payload);
}
