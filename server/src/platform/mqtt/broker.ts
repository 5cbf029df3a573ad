/**
 * The embedded MQTT broker (Aedes, MQTT 3.1.1) used when no MQTT_URL is configured, so a fresh machine runs
 * the whole platform with no set-up. Production uses an external broker (Mosquitto, EMQX, HiveMQ).
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { Aedes } from 'aedes';
import type { Logger } from '../log.js';
import { hostForUrl } from '../net.js';

export interface EmbeddedBroker {
  /** mqtt://host:port clients connect to */
  readonly url: string;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(options: { host: string; port: number; log: Logger }): Promise<EmbeddedBroker> {
  const { log } = options;
  const aedes = await Aedes.createBroker();
  aedes.on('clientError', (client, err) => log.debug('mqtt client error', { clientId: client.id, error: err.message }));
  aedes.on('connectionError', (_client, err) => log.debug('mqtt connection error', { error: err.message }));

  const server = createServer(aedes.handle);
  try {
    await listen(server, options.host, options.port);
  } catch (err) {
    await closeAedes(aedes);
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const url = `mqtt://${hostForUrl(options.host)}:${port}`;
  log.info('embedded MQTT broker listening', { url });

  return {
    url,
    async close() {
      // Stop accepting first, then let Aedes disconnect every client (which lets server.close() complete).
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      await closeAedes(aedes);
      await serverClosed;
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function closeAedes(aedes: Aedes): Promise<void> {
  return new Promise((resolve) => aedes.close(() => resolve()));
}
