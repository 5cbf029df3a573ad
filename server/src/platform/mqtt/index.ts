export { startEmbeddedBroker, type EmbeddedBroker } from './broker.js';
export { connectMqtt, topicMatches, type MqttConnection, type MessageHandler } from './client.js';
