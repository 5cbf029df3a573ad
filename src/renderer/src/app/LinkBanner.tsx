/**
 * Says plainly when what the desk sees may be out of date, and how old it is: the console link to the host is
 * down, the fleet snapshot cannot be loaded, or the telemetry feed (broker) is not connected. The map and grid
 * keep showing the last known state underneath.
 */
import type { ConnectionState, LinkState } from '../../../shared/desktop-api.js';
import type { FleetStore } from '../data/fleet-store';
import { formatAgo } from '../lib/format';

interface LinkBannerProps {
  hostLink: LinkState;
  connection: ConnectionState | undefined;
  store: FleetStore;
  now: number;
}

export function LinkBanner({ hostLink, connection, store, now }: LinkBannerProps) {
  const age = store.lastDataAt === undefined ? 'no data received yet' : `last update ${formatAgo(store.lastDataAt, now)}`;
  if (hostLink.status !== 'connected' && hostLink.status !== 'connecting') {
    return (
      <div className="banner banner-error" role="alert" data-testid="host-link-banner">
        <strong>Console link lost.</strong> Showing the last known state ({age}). Reconnecting
        {hostLink.attempts > 1 ? ` (attempt ${hostLink.attempts})` : ''}…
        {hostLink.detail ? <span className="banner-detail"> {hostLink.detail}</span> : null}
      </div>
    );
  }
  if (store.status === 'error') {
    return (
      <div className="banner banner-error" role="alert" data-testid="fleet-data-banner">
        <strong>Fleet data unavailable.</strong> {store.lastError ?? 'The snapshot could not be loaded.'} Retrying…
      </div>
    );
  }
  const broker = connection?.broker;
  if (broker && broker.status !== 'connected' && store.status !== 'loading') {
    return (
      <div className="banner banner-warn" role="status" data-testid="broker-banner">
        <strong>Telemetry feed {broker.status}.</strong> Vehicle positions may be stale ({age}).
        {broker.detail ? <span className="banner-detail"> {broker.detail}</span> : null}
      </div>
    );
  }
  return null;
}
