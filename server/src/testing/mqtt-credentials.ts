/** MQTT credentials for test clients of a server with MQTT_AUTH=required (its seeded demo fleet's). */
import type { ServerHandle } from '../app.js';

export interface DeviceCredentials {
  username: string;
  password: string;
}

/**
 * The simulator's `credentials` option for the server's demo fleet: a one-vehicle connection authenticates as
 * that vehicle; {} (anonymous) when the server issued none (MQTT_AUTH=off).
 */
export function demoSimulatorCredentials(server: ServerHandle): {
  credentials?: (clientId: string, vehicleIds: readonly string[]) => DeviceCredentials | undefined;
} {
  const creds = server.demoCredentials;
  if (!creds) return {};
  return {
    credentials: (_clientId, vehicleIds) => {
      const id = vehicleIds.length === 1 ? vehicleIds[0]! : undefined;
      const password = id === undefined ? undefined : creds.devices[id];
      return id !== undefined && password !== undefined ? { username: id, password } : undefined;
    },
  };
}

/** `mqttUsername` / `mqttPassword` of the demo desktop account, for the desktop services ({} when none). */
export function demoDesktopCredentials(server: ServerHandle): { mqttUsername?: string; mqttPassword?: string } {
  const desktop = server.demoCredentials?.desktop;
  return desktop ? { mqttUsername: desktop.username, mqttPassword: desktop.password } : {};
}
