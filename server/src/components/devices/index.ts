/**
 * The devices component: ingestion of what in-car devices publish (commands come in a later issue). Reaches
 * the fleet state through the fleet component's index only.
 */
import { Counter, type Registry } from 'prom-client';
import { RateLimitedWarn, type Logger } from '../../platform/log.js';
import { METRIC_PREFIX } from '../../platform/metrics.js';
import type { MqttConnection } from '../../platform/mqtt/index.js';
import type { FleetComponent } from '../fleet/index.js';
import { subscribeDeviceMessages } from './api/device-messages.js';
import { DeviceIngestion, type IngestionObserver } from './domain/device-ingestion.js';

export type { IngestDropReason, IngestOutcome } from './domain/device-ingestion.js';

export interface DevicesComponent {
  /** Stops handling messages (the fleet component's stop() then writes what was accepted). */
  stop(): void;
}

export interface DevicesOptions {
  mqtt: MqttConnection;
  fleet: FleetComponent;
  metrics: Registry;
  log: Logger;
}

export function startDevicesComponent(options: DevicesOptions): DevicesComponent {
  const log = options.log.child({ component: 'devices' });
  let stopped = false;
  const ingestion = new DeviceIngestion(options.fleet, createObserver(options.metrics, log));
  subscribeDeviceMessages(options.mqtt, ingestion, () => stopped);
  return {
    stop() {
      stopped = true;
    },
  };
}

function createObserver(metrics: Registry, log: Logger): IngestionObserver {
  const received = new Counter({
    name: `${METRIC_PREFIX}mqtt_messages_received_total`,
    help: 'Device messages received, by channel',
    labelNames: ['channel'],
    registers: [metrics],
  });
  const dropped = new Counter({
    name: `${METRIC_PREFIX}mqtt_messages_dropped_total`,
    help: 'Device messages dropped (malformed, unknown vehicle, duplicate or stale), by channel and reason',
    labelNames: ['channel', 'reason'],
    registers: [metrics],
  });
  for (const channel of ['telemetry', 'status']) received.inc({ channel }, 0); // series exist from the start
  const dropLog = new RateLimitedWarn(log, 10_000);
  return {
    received: (channel) => received.inc({ channel }),
    dropped(channel, reason, context) {
      dropped.inc({ channel, reason });
      // stale included: a device that reset its seq (e.g. after a reboot) is refused until it passes the old one
      dropLog.warn(`${channel}:${reason}`, 'device message dropped', { channel, reason, ...context });
    },
  };
}
