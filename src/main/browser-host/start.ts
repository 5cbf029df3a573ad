/**
 * `npm run console`: the browser console from the environment (see services/config.ts). Prints
 * `Fleetdesk console: <url>` on stdout (tools parse that line) and stops cleanly on SIGINT/SIGTERM.
 */
import { fileURLToPath } from 'node:url';
import { createLogger } from '../log.js';
import { loadDesktopConfig, toServicesConfig } from '../services/config.js';
import { startBrowserConsole } from './host.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadDesktopConfig(process.env);
  } catch (err) {
    console.error(`Fleetdesk console: ${(err as Error).message}`);
    process.exitCode = 2;
    return;
  }
  const logger = createLogger('console');
  const rendererDir = fileURLToPath(new URL('../../../out/renderer/', import.meta.url));
  const consoleHost = await startBrowserConsole({
    config: { ...toServicesConfig(config), logger },
    port: config.consolePort,
    rendererDir,
    logger,
  });
  console.log(`Fleetdesk console: ${consoleHost.url}`);

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping console', { signal });
    // A hung stop must not keep the process alive forever.
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    consoleHost.stop().then(
      () => {
        clearTimeout(force);
        process.exitCode = 0;
      },
      (err: unknown) => {
        logger.error('console stop failed', { err });
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  console.error(`Fleetdesk console failed to start: ${(err as Error).message ?? String(err)}`);
  process.exitCode = 1;
});
