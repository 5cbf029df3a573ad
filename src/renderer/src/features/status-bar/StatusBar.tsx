/**
 * The bottom line of the desk: is the data fresh, is the map keeping up, where does this desk get its data.
 * Reads the store and the map's figures once a second instead of subscribing to every frame.
 */
import type { AppInfo, LinkState } from '../../../../shared/desktop-api.js';
import { LinkChip } from '../../app/LinkChip';
import { formatAgo, formatCount } from '../../lib/format';
import { tileHealth, type MapStats } from '../fleet-map/map-stats';
import type { FleetStore } from '../../data/fleet-store';

interface StatusBarProps {
  store: FleetStore;
  mapStats: MapStats;
  hostLink: LinkState;
  appInfo: AppInfo | undefined;
  now: number;
}

const SYNC_TEXT = { loading: 'loading snapshot…', live: 'live', resyncing: 'resyncing…', error: 'unavailable' } as const;

export function StatusBar({ store, mapStats, hostLink, appInfo, now }: StatusBarProps) {
  const tiles = tileHealth(mapStats.tileStatus).short;
  return (
    <footer className="status-bar">
      {appInfo?.host === 'browser' ? <LinkChip label="Console" testId="link-host" state={hostLink} /> : null}
      <span className={`status-item sync-${store.status}`} data-testid="fleet-sync" data-status={store.status}>
        Fleet data: {hostLink.status === 'connected' || store.status !== 'live' ? SYNC_TEXT[store.status] : 'stale (console link down)'}
        {store.lastDataAt !== undefined ? ` · updated ${formatAgo(store.lastDataAt, now)}` : ''}
        {store.seq >= 0 ? ` · seq ${store.seq}` : ''}
        {store.resyncCount > 0 ? ` · ${store.resyncCount} resync${store.resyncCount === 1 ? '' : 's'}` : ''}
      </span>
      <span className="status-item" title="Vehicles represented on screen / known to the map; canvas draw time of the last frame (average)">
        Map: {formatCount(mapStats.drawn)} of {formatCount(mapStats.total)} on screen · draw {mapStats.lastDrawMs.toFixed(1)} ms (avg{' '}
        {mapStats.avgDrawMs.toFixed(1)})
      </span>
      {tiles ? <span className="status-item muted">{tiles}</span> : null}
      <span className="status-spacer" />
      {appInfo ? (
        <span className="status-item muted" title={`Companion server: ${appInfo.serverUrl}`}>
          {appInfo.name} {appInfo.version} · {appInfo.host === 'browser' ? 'browser console' : 'desktop'} · {appInfo.serverUrl}
        </span>
      ) : null}
    </footer>
  );
}
