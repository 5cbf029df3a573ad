/**
 * `npm run server`: reads the environment, starts the server, stops it on SIGINT/SIGTERM.
 * A bad configuration prints one line naming the variable and exits 1.
 */
import { redactUrl } from '../../src/shared/redact-url.js';
import { startServer } from './app.js';
import { ConfigError, loadConfig, type ServerConfig } from './platform/config.js';

async function main(): Promise<void> {
  let config: ServerConfig;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }

  const server = await startServer(config);
  // the URL may carry a broker password (MQTT_URL=mqtt://user:pass@…): never logged as it is
  server.log.info('fleetdesk server ready', { httpUrl: server.httpUrl, mqttUrl: redactUrl(server.mqttUrl) });

  let signals = 0;
  const shutdown = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      server.log.warn('second signal: exiting without waiting for a clean stop', { signal });
      process.exit(1);
    }
    server.log.info('stopping', { signal });
    server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  // startServer has logged the details; this line is for a human reading the terminal.
  console.error(`fleetdesk server failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
