/**
 * `--credentials FILE`: per-vehicle MQTT credentials for the simulated devices, from the JSON the server writes
 * for its demo fleet (`$DATA_DIR/demo-credentials.json`: `{ "devices": { "<vehicle id>": "<secret>" } }`).
 * A device's username and client id are its vehicle id. A multiplexed connection (`--per-connection` > 1) is
 * not one device and gets no credentials: against a broker that enforces them, run it with MQTT_AUTH=off.
 */
import { readFile } from 'node:fs/promises';
import type { CredentialsProvider } from './simulation.js';

export async function loadCredentialsFile(path: string): Promise<CredentialsProvider> {
  let devices: unknown;
  try {
    devices = (JSON.parse(await readFile(path, 'utf8')) as { devices?: unknown }).devices;
  } catch (err) {
    throw new Error(`--credentials ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (!devices || typeof devices !== 'object') throw new Error(`--credentials ${path}: no "devices" object`);
  const secrets = new Map(
    Object.entries(devices as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
  return (_clientId, vehicleIds) => {
    const id = vehicleIds.length === 1 ? vehicleIds[0]! : undefined;
    const password = id === undefined ? undefined : secrets.get(id);
    return id !== undefined && password !== undefined ? { username: id, password } : undefined;
  };
}
