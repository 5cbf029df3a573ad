/** MQTT entry point of the devices component: the wildcard subscriptions and their QoS (device protocol). */
import { CHANNEL_RULES, SUBSCRIPTIONS } from '../../../../../src/shared/device-protocol.js';
import type { MqttConnection } from '../../../platform/mqtt/index.js';
import type { DeviceIngestion } from '../domain/device-ingestion.js';

export function subscribeDeviceMessages(mqtt: MqttConnection, ingestion: DeviceIngestion, isStopped: () => boolean): void {
  mqtt.subscribe(
    {
      [SUBSCRIPTIONS.allTelemetry]: { qos: CHANNEL_RULES.telemetry.qos },
      [SUBSCRIPTIONS.allStatus]: { qos: CHANNEL_RULES.status.qos },
    },
    (topic, payload, packet) => {
      if (isStopped()) return; // shutting down: the final flush has been taken, later messages are not ours
      ingestion.handle(topic, payload, packet.retain === true);
    },
  );
}
