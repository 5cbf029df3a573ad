/** The server's integration health (`GET /ops/v1/health/integrations`), re-read every few seconds while mounted. */
import type { IntegrationChange, IntegrationName, IntegrationsHealth } from '../../../../shared/timeline.js';
import { useStaffPoll } from '../../data/use-staff-poll';

export interface IntegrationHealthRead {
  health: IntegrationsHealth | undefined;
  /** why the last read failed (server unreachable, …); the last answer stays */
  error: string | undefined;
}

export function useIntegrationHealth(intervalMs = 5_000): IntegrationHealthRead {
  const { data: health, error } = useStaffPoll<IntegrationsHealth>('/ops/v1/health/integrations', intervalMs);
  return { health, error };
}

export const INTEGRATION_LABELS: Record<IntegrationName, string> = {
  broker: 'Broker (server)',
  database: 'Database',
  payment_provider: 'Payment provider',
  licence_provider: 'Licence provider',
  availability_index: 'Availability index / GBFS',
};

/** The log as outages: each change away from `up` with when it ended (the next change of that integration), newest first. */
export interface Outage {
  name: IntegrationName;
  state: IntegrationChange['to'];
  from: number;
  /** undefined while it lasts */
  until: number | undefined;
  error: string | null;
}

export function outages(changes: readonly IntegrationChange[]): Outage[] {
  const out: Outage[] = [];
  // changes come newest first: walk oldest first, so the next change of a name ends its outage
  const open = new Map<IntegrationName, Outage>();
  for (const c of [...changes].reverse()) {
    const current = open.get(c.name);
    if (current) {
      current.until = c.at;
      open.delete(c.name);
    }
    if (c.to !== 'up') {
      const o: Outage = { name: c.name, state: c.to, from: c.at, until: undefined, error: c.error };
      out.push(o);
      open.set(c.name, o);
    }
  }
  return out.reverse();
}

/** seconds under a minute, else minutes / hours (formatDuration) */
export function lasting(ms: number, formatDuration: (ms: number) => string): string {
  return ms < 60_000 ? `${Math.max(0, Math.round(ms / 1000))} s` : formatDuration(ms);
}
