export {
  startEmbeddedBroker,
  type EmbeddedBroker,
  type MqttAuthorizer,
  type MqttConnectAttempt,
  type MqttConnectDecision,
  type MqttDenial,
} from './broker.js';
export { connectMqtt, topicMatches, type BrokerLinkState, type MqttConnection, type MessageHandler } from './client.js';
