/**
 * MQTT test clients for the broker access-control tests (embedded Aedes and a test-owned Mosquitto): connect as an
 * account, read the broker's refusal or granted QoS, wait for a close. Kept here with the other server test support.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export interface Account {
  username: string;
  password: string;
}

export interface Received {
  topic: string;
  payload: string;
}

export interface TestClient {
  client: MqttClient;
  received: Received[];
  close(): Promise<void>;
}

/** Connects (MQTT 3.1.1, no reconnect); rejects with the broker's refusal. */
export async function connectAs(url: string, account: Account | undefined, options: Partial<IClientOptions> = {}): Promise<TestClient> {
  const client = await mqtt.connectAsync(url, {
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    clean: true,
    ...(account ? { username: account.username, password: account.password } : {}),
    ...options,
  });
  const received: Received[] = [];
  client.on('message', (topic, payload) => received.push({ topic, payload: payload.toString() }));
  return {
    client,
    received,
    close: () => client.endAsync(true),
  };
}

/** The CONNECT refusal, or 'connected' (and the client closed again). */
export async function connectOutcome(url: string, account: Account | undefined, options: Partial<IClientOptions> = {}): Promise<string> {
  try {
    const c = await connectAs(url, account, options);
    await c.close();
    return 'connected';
  } catch (err) {
    return (err as Error).message;
  }
}

/** Granted QoS per filter (128 = refused). */
export async function subscribeGranted(client: MqttClient, filter: string): Promise<number> {
  try {
    const granted = await client.subscribeAsync(filter, { qos: 1 });
    return granted[0]!.qos;
  } catch (err) {
    // mqtt.js rejects a SUBACK with a failure code, and attaches the packet
    const granted = (err as { packet?: { granted?: number[] } }).packet?.granted;
    if (granted?.length === 1) return granted[0]!;
    throw err;
  }
}

export async function waitUntil(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves when the client's connection closes (or after timeoutMs: false). */
export function closed(client: MqttClient, timeoutMs = 5_000): Promise<boolean> {
  if (!client.connected) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    client.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
