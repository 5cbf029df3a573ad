/**
 * The devices component: ingestion of what in-car devices publish — telemetry and status (to the fleet state,
 * reached through the fleet component's index only) and events (stored here, emitted as `vehicle.event`).
 */
import { Counter, type Registry } from 'prom-client';
import { RateLimitedWarn, type Logger } from '../../platform/log.js';
import { METRIC_PREFIX } from '../../platform/metrics.js';
import type { Db } from '../../platform/db/index.js';
import type { DomainEvents } from '../../platform/domain-events.js';
import type { MqttConnection } from '../../platform/mqtt/index.js';
import type { FleetComponent } from '../fleet/index.js';
import { subscribeDeviceMessages } from './api/device-messages.js';
import { VehicleEventsRepository } from './data/vehicle-events.repository.js';
import { DeviceIngestion, type IngestionObserver } from './domain/device-ingestion.js';
import { EventRecorder } from './domain/event-recorder.js';

export type { IngestDropReason, IngestOutcome } from './domain/device-ingestion.js';

export interface DevicesComponent {
  /** Writes buffered events now (and emits `vehicle.event` for the new ones). */
  flush(): Promise<void>;
  /**
   * Stops handling messages and writes the pending events while the database makes progress (the fleet
   * component's stop() writes the state); resolves with the number of events left unwritten.
   */
  stop(): Promise<{ unwritten: number }>;
}

export interface DevicesOptions {
  mqtt: MqttConnection;
  fleet: FleetComponent;
  metrics: Registry;
  log: Logger;
  db: Db;
  events: DomainEvents;
  /** MQTT shared-subscription group for telemetry and events; '' = plain subscriptions (embedded broker) */
  sharedGroup?: string;
  eventFlushIntervalMs?: number;
  /** at stop, give up writing buffered events after this long without a successful write (default 10 s) */
  shutdownStallMs?: number;
}

export function startDevicesComponent(options: DevicesOptions): DevicesComponent {
  const log = options.log.child({ component: 'devices' });
  let stopped = false;
  const observer = createObserver(options.metrics, log);
  const recorder = new EventRecorder(new VehicleEventsRepository(options.db), log, {
    flushIntervalMs: options.eventFlushIntervalMs ?? 250,
    maxBatch: 1_000,
    capacity: 50_000,
    onStored: (row) => options.events.emit('vehicle.event', { vehicleId: row.vehicleId, event: row.event, receivedAt: row.receivedAt }),
    onDuplicate: (row) => observer.dropped('events', 'duplicate', { topic: `vehicle ${row.vehicleId}`, detail: `seq=${row.event.seq}` }),
  });
  const ingestion = new DeviceIngestion(options.fleet, observer, Date.now, recorder);
  recorder.start();
  subscribeDeviceMessages(options.mqtt, ingestion, () => stopped, options.sharedGroup ?? '');
  if (options.sharedGroup) log.info('device telemetry and events through a shared subscription', { group: options.sharedGroup });
  return {
    flush: () => recorder.flush(),
    async stop() {
      stopped = true;
      const unwritten = await recorder.stop(options.shutdownStallMs);
      if (unwritten > 0) log.error('device events not written at shutdown', { lost: unwritten });
      return { unwritten };
    },
  };
}

function createObserver(metrics: Registry, log: Logger): IngestionObserver {
  // Every message counts here: a plain number per channel, added to the counter when it is read (prom-client's
  // inc hashes its labels on every call).
  const receivedSinceRead = new Map<string, number>();
  const received = new Counter({
    name: `${METRIC_PREFIX}mqtt_messages_received_total`,
    help: 'Device messages received, by channel',
    labelNames: ['channel'],
    registers: [metrics],
    collect() {
      for (const [channel, n] of receivedSinceRead) if (n > 0) this.inc({ channel }, n);
      receivedSinceRead.clear();
    },
  });
  const dropped = new Counter({
    name: `${METRIC_PREFIX}mqtt_messages_dropped_total`,
    help: 'Device messages dropped (malformed, unknown vehicle, duplicate or stale), by channel and reason',
    labelNames: ['channel', 'reason'],
    registers: [metrics],
  });
  for (const channel of ['telemetry', 'status', 'events']) received.inc({ channel }, 0); // series exist from the start
  const dropLog = new RateLimitedWarn(log, 10_000);
  return {
    received: (channel) => void receivedSinceRead.set(channel, (receivedSinceRead.get(channel) ?? 0) + 1),
    dropped(channel, reason, context) {
      dropped.inc({ channel, reason });
      // stale included: a device that reset its seq (e.g. after a reboot) is refused until it passes the old one
      dropLog.warn(`${channel}:${reason}`, 'device message dropped', { channel, reason, ...context });
    },
  };
}
