/**
 * A TCP proxy on a free loopback port that a test controls, to take a dependency away without touching the shared
 * engine behind it (the machine's PostgreSQL is used by others):
 * - `cut()`: every open connection is reset and the port refuses new ones — what clients see when the server stops;
 * - `blackhole()`: connections stay open and new ones are accepted, but nothing goes through either way — a cut
 *   network (no RST): only the client's own timeouts get it out;
 * - `restore()`: forwarding again, on the same port.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  cut(): Promise<void>;
  blackhole(): void;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  let mode: 'forward' | 'blackhole' = 'forward';
  let port = 0;

  const onConnection = (client: Socket) => {
    if (mode === 'blackhole') {
      // accepted, then silence: the client waits for an answer that never comes
      client.on('error', () => undefined);
      pairs.add({ client, upstream: client });
      return;
    }
    const upstream = connect(targetPort, targetHost);
    const pair = { client, upstream };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.on('data', (chunk) => {
      if (mode === 'forward') upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (mode === 'forward') client.write(chunk);
    });
  };

  let server: Server | undefined;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer(onConnection);
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as { port: number }).port;
        server = s;
        resolve();
      });
    });
  const stopListening = () =>
    new Promise<void>((resolve) => {
      const s = server;
      server = undefined;
      if (!s) return resolve();
      s.close(() => resolve());
    });
  const resetAll = () => {
    for (const { client, upstream } of pairs) {
      client.resetAndDestroy();
      if (upstream !== client) upstream.resetAndDestroy();
    }
    pairs.clear();
  };

  await listen();
  return {
    get port() {
      return port;
    },
    async cut() {
      mode = 'forward';
      const closed = stopListening();
      resetAll();
      await closed;
    },
    blackhole() {
      mode = 'blackhole';
    },
    async restore() {
      // blackholed connections are reset (the client gave up on them or will); new ones are forwarded
      if (mode === 'blackhole') resetAll();
      mode = 'forward';
      if (!server) await listen();
    },
    async close() {
      const closed = stopListening();
      resetAll();
      await closed;
    },
  };
}
