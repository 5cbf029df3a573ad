/**
 * MQTT entry point of the devices component: the wildcard subscriptions and their QoS (device protocol).
 *
 * Shared subscriptions (`sharedGroup`, external brokers only): telemetry and events go through
 * `$share/<group>/…`, so the broker hands each message to one instance of the group — several server instances
 * split the load. Status stays a plain subscription on every instance: it is rare (one message per connect or
 * disconnect), every instance's online view needs it, and brokers do not send retained messages to shared
 * subscriptions, so a shared status subscription would never see the retained statuses at start.
 */
import { CHANNEL_RULES, SUBSCRIPTIONS } from '../../../../../src/shared/device-protocol.js';
import type { MqttConnection } from '../../../platform/mqtt/index.js';
import type { DeviceIngestion } from '../domain/device-ingestion.js';

export function sharedFilter(filter: string, group: string): string {
  return group ? `$share/${group}/${filter}` : filter;
}

export function subscribeDeviceMessages(
  mqtt: MqttConnection,
  ingestion: DeviceIngestion,
  isStopped: () => boolean,
  sharedGroup = '',
): void {
  mqtt.subscribe(
    {
      [sharedFilter(SUBSCRIPTIONS.allTelemetry, sharedGroup)]: { qos: CHANNEL_RULES.telemetry.qos },
      [SUBSCRIPTIONS.allStatus]: { qos: CHANNEL_RULES.status.qos },
      [sharedFilter(SUBSCRIPTIONS.allEvents, sharedGroup)]: { qos: CHANNEL_RULES.events.qos },
    },
    (topic, payload, packet) => {
      if (isStopped()) return; // shutting down: the final flush has been taken, later messages are not ours
      ingestion.handle(topic, payload, packet.retain === true);
    },
  );
}
