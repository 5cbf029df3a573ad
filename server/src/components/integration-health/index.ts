/**
 * The integration-health component: one view of every integration (broker, database, payment provider, licence
 * provider, availability index) with since when each is in its state and a log of the changes, for the desk's
 * health panel. It owns no table; the probes come from the platform and the other components' indexes (wired in
 * app.ts). Other components reach it only through this file.
 */
import type { HttpApp } from '../../platform/http/index.js';
import type { Logger } from '../../platform/log.js';
import { integrationHealthRoutes } from './api/integration-health.routes.js';
import { IntegrationMonitor, type IntegrationProbes } from './domain/integration-monitor.js';

export { availabilityIndexProbe, brokerProbe, databaseProbe, licenceProviderProbe, paymentProviderProbe } from './domain/probes.js';

export interface IntegrationHealthComponent {
  monitor: IntegrationMonitor;
  registerRoutes(app: HttpApp, prefix: string): Promise<void>;
  stop(): Promise<void>;
}

export function startIntegrationHealthComponent(options: {
  probes: IntegrationProbes;
  log: Logger;
  /** how often every probe runs (default 5 s) */
  intervalMs?: number;
}): IntegrationHealthComponent {
  const log = options.log.child({ component: 'integration-health' });
  const monitor = new IntegrationMonitor({
    probes: options.probes,
    onChange: (c) => {
      if (c.from === null) return;
      const fields = { integration: c.name, from: c.from, to: c.to, error: c.error };
      if (c.to === 'up') log.info('integration recovered', fields);
      else log.warn('integration state changed', fields);
    },
  });
  monitor.start(options.intervalMs ?? 5_000);
  return {
    monitor,
    registerRoutes: async (app, prefix) => {
      await app.register(integrationHealthRoutes(monitor), { prefix });
    },
    stop: () => monitor.stop(),
  };
}
