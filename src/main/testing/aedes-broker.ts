/**
 * Test support: an in-process MQTT broker (Aedes) on a random loopback port that can be restarted on the
 * same port, to exercise reconnects. Not used by production code.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Aedes } from 'aedes';

export interface TestBroker {
  url: string;
  port: number;
  /** stops the broker and drops every client connection (the port is free until `start`) */
  kill(): Promise<void>;
  /** starts a fresh broker on the same port */
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startTestBroker(): Promise<TestBroker> {
  let broker: Aedes | null = null;
  let server: Server | null = null;
  const sockets = new Set<Socket>();
  let port = 0;

  const start = async (): Promise<void> => {
    broker = await Aedes.createBroker();
    const b = broker;
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      b.handle(socket);
    });
    const srv = server;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => resolve());
    });
    port = (srv.address() as AddressInfo).port;
  };

  const kill = async (): Promise<void> => {
    const srv = server;
    const b = broker;
    server = null;
    broker = null;
    for (const s of sockets) s.destroy();
    sockets.clear();
    if (srv) await new Promise<void>((resolve) => srv.close(() => resolve()));
    if (b) await new Promise<void>((resolve) => b.close(() => resolve()));
  };

  await start();
  return {
    get url() {
      return `mqtt://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    kill,
    start,
    close: kill,
  };
}
