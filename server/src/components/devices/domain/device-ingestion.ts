/**
 * Ingestion of device messages (telemetry, status, events): decode, validate, hand valid ones to the fleet
 * state or the event recorder.
 * Anything malformed or out of order is dropped and counted — never a crash, never a state change
 * (PRODUCT.md: "malformed input ... is dropped and counted").
 */
import {
  decodeDeviceEvent,
  decodeStatus,
  decodeTelemetry,
  parseDeviceTopic,
  telemetrySample,
  type DeviceEvent,
  type DropReason,
} from '../../../../../src/shared/device-protocol.js';
import type { FleetComponent } from '../../fleet/index.js';
import type { EventRecordOutcome } from './event-recorder.js';

/**
 * `internal_error`: a bug on our side while handling a message (also dropped, never fatal).
 * `overload`: an event that found the bounded event buffer full (database too slow or down).
 */
export type IngestDropReason = DropReason | 'internal_error' | 'overload';
/** The `channel` label: the topic's channel, or `unknown` when the topic is not a device topic. */
export type ChannelLabel = 'telemetry' | 'status' | 'unknown' | string;

export interface IngestionObserver {
  received(channel: ChannelLabel): void;
  dropped(channel: ChannelLabel, reason: IngestDropReason, context: { topic: string; detail?: string }): void;
}

export type IngestOutcome = { ok: true } | { ok: false; reason: IngestDropReason };

type FleetPort = Pick<FleetComponent, 'isKnownVehicle' | 'recordTelemetry' | 'recordStatus'>;
export interface EventsPort {
  record(vehicleId: string, event: DeviceEvent, receivedAt: number): EventRecordOutcome;
}

const CHANNELS_TAKEN = new Set(['telemetry', 'status', 'events']);

export class DeviceIngestion {
  constructor(
    private readonly fleet: FleetPort,
    private readonly observer: IngestionObserver,
    private readonly now: () => number = Date.now,
    private readonly events?: EventsPort,
  ) {}

  /** `retained`: the broker replayed a stored message on subscribe (not news from the device). */
  handle(topic: string, payload: Uint8Array | string, retained: boolean): IngestOutcome {
    const parsed = parseDeviceTopic(topic);
    const channel = parsed?.channel ?? 'unknown';
    this.observer.received(channel);
    try {
      if (!parsed || !CHANNELS_TAKEN.has(parsed.channel) || (parsed.channel === 'events' && !this.events))
        return this.drop(channel, 'bad_topic', topic);
      // Before decoding: a flood from unknown ids costs a set lookup, not a JSON parse.
      if (!this.fleet.isKnownVehicle(parsed.vehicleId)) return this.drop(channel, 'unknown_vehicle', topic);
      if (parsed.channel === 'telemetry') return this.telemetry(parsed.vehicleId, topic, payload);
      if (parsed.channel === 'status') return this.status(parsed.vehicleId, topic, payload, retained);
      return this.event(parsed.vehicleId, topic, payload);
    } catch (err) {
      return this.drop(channel, 'internal_error', topic, err instanceof Error ? err.message : String(err));
    }
  }

  private telemetry(vehicleId: string, topic: string, payload: Uint8Array | string): IngestOutcome {
    const decoded = decodeTelemetry(payload, vehicleId);
    if (!decoded.ok) return this.drop('telemetry', decoded.reason, topic, decoded.detail);
    const outcome = this.fleet.recordTelemetry(vehicleId, telemetrySample(decoded.value), this.now());
    return outcome === 'accepted' ? { ok: true } : this.drop('telemetry', outcome, topic, `seq=${decoded.value.seq}`);
  }

  private status(vehicleId: string, topic: string, payload: Uint8Array | string, retained: boolean): IngestOutcome {
    const decoded = decodeStatus(payload);
    if (!decoded.ok) return this.drop('status', decoded.reason, topic, decoded.detail);
    this.fleet.recordStatus(vehicleId, decoded.value.state === 'online', this.now(), retained, decoded.value.ts);
    return { ok: true };
  }

  private event(vehicleId: string, topic: string, payload: Uint8Array | string): IngestOutcome {
    const decoded = decodeDeviceEvent(payload, vehicleId);
    if (!decoded.ok) return this.drop('events', decoded.reason, topic, decoded.detail);
    const outcome = this.events!.record(vehicleId, decoded.value, this.now());
    // Duplicates found by the database (stored earlier) are counted when the batch is written.
    return outcome === 'queued' ? { ok: true } : this.drop('events', outcome, topic, `seq=${decoded.value.seq}`);
  }

  private drop(channel: ChannelLabel, reason: IngestDropReason, topic: string, detail?: string): IngestOutcome {
    this.observer.dropped(channel, reason, detail === undefined ? { topic } : { topic, detail });
    return { ok: false, reason };
  }
}
