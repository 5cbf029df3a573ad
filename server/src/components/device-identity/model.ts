/** The device-identity component's shared types: the broker roles and a stored MQTT account (hashes only). */

export const MQTT_ROLES = ['device', 'desktop', 'service'] as const;
export type MqttRole = (typeof MQTT_ROLES)[number];

export interface CredentialRecord {
  username: string;
  role: MqttRole;
  vehicleId: string | null;
  secretHash: string;
  brokerHash: string;
  disabled: boolean;
}
