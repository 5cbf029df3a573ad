/** MQTT entry point: device results on `fleet/v1/vehicles/+/command-results` (QoS 1), decoded and handed to the domain. */
import { decodeCommandResult, parseDeviceTopic, SUBSCRIPTIONS } from '../../../../../src/shared/device-protocol.js';
import type { MqttConnection } from '../../../platform/mqtt/index.js';
import type { CommandResultProcessor } from '../domain/command-results.js';
import type { CommandsObserver } from '../domain/command-transitions.js';

/**
 * `sharedGroup`: with several instances on a broker with shared subscriptions, each result goes to one of them
 * ('' = every instance gets every result; the guarded updates still apply each once, the others count a duplicate).
 */
export function subscribeCommandResults(
  mqtt: MqttConnection,
  processor: CommandResultProcessor,
  observer: CommandsObserver,
  isStopped: () => boolean,
  sharedGroup = '',
): void {
  const filter = sharedGroup ? `$share/${sharedGroup}/${SUBSCRIPTIONS.allCommandResults}` : SUBSCRIPTIONS.allCommandResults;
  mqtt.subscribe({ [filter]: { qos: 1 } }, (topic, payload) => {
    if (isStopped()) return;
    const receivedAt = Date.now();
    observer.resultReceived();
    const parsed = parseDeviceTopic(topic);
    if (!parsed || parsed.channel !== 'command-results') {
      observer.resultDropped('bad_topic', { topic });
      return;
    }
    const decoded = decodeCommandResult(payload);
    if (!decoded.ok) {
      observer.resultDropped(decoded.reason, { vehicleId: parsed.vehicleId, detail: decoded.detail });
      return;
    }
    processor.accept(parsed.vehicleId, decoded.value, receivedAt);
  });
}
