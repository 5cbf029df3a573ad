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

/** A device's credentials as the admin sees them: never a secret or a hash. */
export interface DeviceCredentialStatus {
  vehicleId: string;
  status: 'active' | 'revoked';
  issuedAt: number;
  rotatedAt: number | null;
  revokedAt: number | null;
}
