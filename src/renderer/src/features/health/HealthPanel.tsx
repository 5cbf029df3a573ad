/**
 * Every integration's health in one place: the server's view of its own integrations (broker, database, payment
 * provider, licence provider, availability index / GBFS: state, since, last error) joined with this desk's links
 * (broker, server, the replica's sync, map tiles), and the integration log as outages — when each went down, for
 * how long, the error. IntegrationBanner says at the top of the desk when an integration is not up.
 */
import type { ConnectionState, LinkState } from '../../../../shared/desktop-api.js';
import type { CollectionSync, SyncView } from '../../data/sync-status';
import { tileHealth, type MapStats } from '../fleet-map/map-stats';
import { formatAgo, formatClock, formatDelay, formatDuration, plural } from '../../lib/format';
import { INTEGRATION_LABELS, lasting, outages, useIntegrationHealth } from './use-integration-health';
import './health.css';

interface Row {
  name: string;
  state: 'up' | 'degraded' | 'down' | 'unknown';
  since: number | undefined;
  detail: string | undefined;
  error: string | null | undefined;
}

const linkRow = (name: string, link: LinkState | undefined): Row => ({
  name,
  state: !link ? 'unknown' : link.status === 'connected' ? 'up' : link.status === 'connecting' ? 'degraded' : 'down',
  since: link?.since,
  detail: link ? `${link.status}${link.attempts ? ` · ${link.attempts} reconnect attempts` : ''}` : undefined,
  error: link?.status === 'connected' ? null : link?.detail,
});

export function HealthPanel({
  connection,
  sync,
  tileUrl,
  mapStats,
  now,
}: {
  connection?: ConnectionState;
  sync: SyncView;
  tileUrl: string;
  /** the map's own reading of its tiles (the notice on the map says the same) */
  mapStats: MapStats;
  now: number;
}) {
  const tiles = tileHealth(mapStats.tileStatus);
  const { health, error } = useIntegrationHealth();
  const server: Row[] = (health?.integrations ?? []).map((i) => ({
    name: INTEGRATION_LABELS[i.name],
    state: i.state,
    since: i.since,
    detail: i.detail ?? undefined,
    error: i.lastError,
  }));
  const desk: Row[] = [
    linkRow('Broker (this desk)', connection?.broker),
    linkRow('Server (this desk)', connection?.server),
    {
      name: 'Replica sync',
      state: sync.status === 'synced' ? 'up' : sync.status === 'offline' ? 'down' : 'degraded',
      since: sync.lastSyncAt,
      detail: `${sync.status}${sync.lastSyncAt ? ` · last pull ${formatAgo(sync.lastSyncAt, now)} (lag)` : ' · never synced'} · ${plural(sync.pending, 'pending edit')}${sync.conflicts ? ` · ${plural(sync.conflicts, 'conflict')}` : ''}`,
      error: sync.detail,
    },
    {
      name: 'Map tiles',
      state: tiles.state,
      since: tileUrl ? mapStats.tileStatusSince : undefined,
      detail: tileUrl || undefined,
      error: tiles.state === 'up' ? null : tiles.words,
    },
  ];
  const log = outages(health?.changes ?? []);
  return (
    <div className="health-panel" data-testid="health-panel">
      <h3>Server integrations</h3>
      {error ? (
        <div className="health-stale" data-testid="health-stale">
          Server not reachable ({error}){health ? `: its last answer, ${formatAgo(health.checkedAt, now)}` : ''}.
        </div>
      ) : null}
      <HealthTable rows={server} now={now} testId="health-server" />
      <h3>This desk</h3>
      <HealthTable rows={desk} now={now} testId="health-desk" />
      <h3>Replica, per collection</h3>
      <CollectionsTable collections={sync.collections} now={now} />
      <h3>Integration log</h3>
      <ol className="health-log" data-testid="health-log">
        {log.map((o) => (
          <li key={`${o.name}-${o.from}`} data-integration={o.name}>
            <span className={`health-state health-${o.state}`}>{o.state}</span> {INTEGRATION_LABELS[o.name]} at {formatClock(o.from)}
            {o.until === undefined
              ? `, for ${lasting(now - o.from, formatDuration)} so far`
              : `, for ${lasting(o.until - o.from, formatDuration)}`}
            {o.error ? <span className="health-error"> — {o.error}</span> : null}
          </li>
        ))}
        {log.length === 0 ? <li className="muted">no outage since the server started</li> : null}
      </ol>
    </div>
  );
}

const COLLECTION_LABELS: Readonly<Record<string, string>> = {
  vehicles: 'Vehicles',
  alerts: 'Alerts',
  commands: 'Commands',
  tasks: 'Tasks',
  notes: 'Notes',
  zones: 'Zones',
  requests: 'Requests (your actions)',
  rentals: 'Rentals',
  customers: 'Customers',
};

/** Each replicated collection: live or not, when it last heard from the server, how late changes arrive, edits waiting. */
function CollectionsTable({ collections, now }: { collections: readonly CollectionSync[]; now: number }) {
  return (
    <table className="health-table health-collections" data-testid="health-collections">
      <thead>
        <tr>
          <th />
          <th>Collection</th>
          <th>Last heard</th>
          <th title="How long after the server wrote it the last change arrived here (depends on both clocks)">Delay</th>
          <th>Waiting to send</th>
        </tr>
      </thead>
      <tbody>
        {collections.map((c) => (
          <tr key={c.name} data-collection={c.name} data-state={c.state}>
            <td>
              <span className={`health-state health-${c.state}`}>{c.state}</span>
            </td>
            <td>
              <div className="health-name">{COLLECTION_LABELS[c.name] ?? c.name}</div>
              <div className={c.state === 'up' ? 'muted' : 'health-error'}>{c.words}</div>
            </td>
            <td>{c.lastOkAt ? formatAgo(c.lastOkAt, now) : <span className="muted">never</span>}</td>
            <td>{c.lagMs === undefined ? <span className="muted">—</span> : formatDelay(c.lagMs)}</td>
            <td>{c.pending ? plural(c.pending, 'edit') : <span className="muted">none</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function HealthTable({ rows, now, testId }: { rows: Row[]; now: number; testId: string }) {
  return (
    <table className="health-table" data-testid={testId}>
      <tbody>
        {rows.map((r) => (
          <tr key={r.name} data-state={r.state}>
            <td>
              <span className={`health-state health-${r.state}`}>{r.state}</span>
            </td>
            <td>
              <div className="health-name">{r.name}</div>
              <div className="muted">
                {r.since ? `since ${formatClock(r.since)} (${formatAgo(r.since, now)})` : ''} {r.detail ?? ''}
              </div>
              {r.error && r.state !== 'up' ? <div className="health-error">{r.error}</div> : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** At the top of the desk while a server integration is not up: which, since when (clock time and how long), why. */
export function IntegrationBanner({ now }: { now: number }) {
  const { health } = useIntegrationHealth();
  const bad = (health?.integrations ?? []).filter((i) => i.state !== 'up');
  if (bad.length === 0) return null;
  return (
    <div className="integration-banner" role="status" data-testid="integration-banner">
      {bad.map((i) => (
        <span key={i.name}>
          <strong>{INTEGRATION_LABELS[i.name]}</strong> {i.state} since {formatClock(i.since)} (for {lasting(now - i.since, formatDuration)}
          ){i.lastError ? ` — ${i.lastError}` : ''}
        </span>
      ))}
    </div>
  );
}
