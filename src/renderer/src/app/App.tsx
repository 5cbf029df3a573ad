/**
 * The dispatcher's shell: top bar (counts, search, integration health), the live map and the vehicle grid side
 * by side, and a status bar. Owns the fleet store's lifetime and the low-rate UI state (selection, search,
 * link states); per-vehicle data flows store → map layer / grid without React.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { getDesktopApi, getHostLink, onHostLinkChange } from '../bridge';
import { FleetMap } from '../features/fleet-map/FleetMap';
import { createMapStats } from '../features/fleet-map/map-stats';
import { FleetStore, type FleetCountsView } from '../features/fleet-store';
import { StatusBar } from '../features/status-bar/StatusBar';
import { VehicleGrid, type VehicleGridHandle } from '../features/vehicle-grid/VehicleGrid';
import { AlertsPanel } from '../features/replica/AlertsPanel';
import { ConflictsPanel } from '../features/replica/ConflictsPanel';
import { SyncIndicator } from '../features/replica/SyncIndicator';
import { TasksPanel } from '../features/replica/TasksPanel';
import { useOpenReplica } from '../features/replica/useOpenReplica';
import { lastKnownFromReplica, replicaVehicles } from '../features/replica/vehicle-index';
import { ReplicaContext, useSyncView } from '../data/hooks';
import { formatCount, normalizePlate } from '../lib/format';
import { FleetCounts } from './FleetCounts';
import { useAppInfo, useConnectionState, useHostLink, useNow, useThrottledStoreValue } from './hooks';
import { LinkBanner } from './LinkBanner';
import { LinkChip } from './LinkChip';
import { SearchBox } from './SearchBox';
import { SelectedVehicleCard } from './SelectedVehicleCard';
import { NO_SELECTION, type Selection, type SelectionSource } from './selection';
import { SplitPane } from './SplitPane';

export function App() {
  const api = useMemo(() => getDesktopApi(), []);
  // Created in an effect (not in render) so StrictMode's mount/unmount/mount gets a fresh, started store.
  const [store, setStore] = useState<FleetStore | undefined>(undefined);
  useEffect(() => {
    const s = new FleetStore({ fleet: api.fleet, hostLink: getHostLink, onHostLinkChange });
    s.start();
    setStore(s);
    return () => s.dispose();
  }, [api]);
  if (!store) return null;
  return <Desk api={api} store={store} />;
}

const countsEqual = (a: FleetCountsView, b: FleetCountsView) => a.total === b.total && a.moving === b.moving && a.parked === b.parked && a.offline === b.offline;

function Desk({ api, store }: { api: ReturnType<typeof getDesktopApi>; store: FleetStore }) {
  const hostLink = useHostLink();
  const appInfo = useAppInfo(api, hostLink);
  const connection = useConnectionState(api, hostLink);
  const counts = useThrottledStoreValue(store, () => store.counts(), countsEqual, 500);
  const now = useNow(1000);
  const mapStats = useMemo(() => createMapStats(), []);
  const gridRef = useRef<VehicleGridHandle>(null);

  const [selection, setSelection] = useState<Selection>(NO_SELECTION);
  const select = useCallback((id: string | undefined, source: SelectionSource) => {
    setSelection((prev) => ({ id, source, nonce: prev.nonce + 1 }));
  }, []);

  const replica = useOpenReplica(appInfo);
  // The replica's last-known vehicles fill in what the host cannot give (offline start, server and broker down).
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const apply = () => {
      timer = undefined;
      store.setLastKnown([...replicaVehicles.all()].map(lastKnownFromReplica));
    };
    apply();
    const unsubscribe = replicaVehicles.subscribe(() => {
      timer ??= setTimeout(apply, 1_000); // at most once a second: the vehicles collection changes often
    });
    return () => {
      unsubscribe();
      clearTimeout(timer);
    };
  }, [store]);
  const syncView = useSyncView(replica);
  const [tab, setTab] = useState<PaneTab>('vehicles');
  const plateOf = useCallback((id: string) => store.registry.get(id)?.plate ?? replicaVehicles.get(id)?.plate ?? id, [store]);
  const selectFromPanel = useCallback((id: string) => select(id, 'search'), [select]);

  const [query, setQuery] = useState('');
  const [displayed, setDisplayed] = useState<number | undefined>(undefined);

  const submitSearch = useCallback(
    (q: string) => {
      const needle = normalizePlate(q.trim());
      if (!needle) return;
      // An exact plate or id wins over the grid's first (substring) match.
      let id: string | undefined;
      for (const info of store.registry.values()) {
        if (normalizePlate(info.plate) === needle || info.id.toUpperCase() === needle) {
          id = info.id;
          break;
        }
      }
      id ??= store.live.has(q.trim()) ? q.trim() : gridRef.current?.firstDisplayedId();
      if (id) select(id, 'search');
    },
    [store, select],
  );

  useEffect(() => {
    document.title = counts.total ? `Fleetdesk — ${formatCount(counts.total)} vehicles` : 'Fleetdesk';
  }, [counts.total]);

  return (
    <ReplicaContext.Provider value={replica}>
    <div className="app">
      <header className="top-bar">
        <div className="brand">
          <svg className="brand-mark" viewBox="0 0 24 24" aria-hidden="true">
            <circle cx="12" cy="12" r="10" fill="none" stroke="currentColor" strokeWidth="2" />
            <circle cx="12" cy="12" r="3.5" fill="currentColor" />
            <path d="M12 2v4M12 18v4M2 12h4M18 12h4" stroke="currentColor" strokeWidth="2" />
          </svg>
          <span className="brand-name">Fleetdesk</span>
          <span className="brand-sub">Control center</span>
        </div>
        <FleetCounts counts={counts} />
        <SearchBox value={query} onChange={setQuery} onSubmit={submitSearch} matches={query ? displayed : undefined} />
        <SyncIndicator view={syncView} now={now} onRetry={() => replica?.replica.reSync()} />
        <div className="links" aria-label="Integration health">
          <LinkChip label="Broker" testId="link-broker" state={connection?.broker} />
          <LinkChip label="Server" testId="link-server" state={connection?.server} />
        </div>
      </header>
      <LinkBanner hostLink={hostLink} connection={connection} store={store} now={now} />
      <main className="workspace">
        <SplitPane
          left={
            <section className="map-pane" aria-label="Fleet map">
              <FleetMap
                store={store}
                tileUrl={appInfo?.tileUrl ?? ''}
                tileAttribution={appInfo?.tileAttribution ?? ''}
                selection={selection}
                onSelect={select}
                stats={mapStats}
              />
              <MapLegend />
              {selection.id ? <SelectedVehicleCard store={store} id={selection.id} onSelect={select} /> : null}
            </section>
          }
          right={
            <section className="grid-pane" aria-label="Operations">
              <div className="pane-header pane-tabs" role="tablist">
                {PANE_TABS.map(([id, label]) => (
                  <button key={id} type="button" role="tab" aria-selected={tab === id} className={`pane-tab${tab === id ? ' pane-tab-active' : ''}`} data-testid={`tab-${id}`} onClick={() => setTab(id)}>
                    {label}
                    {id === 'conflicts' && syncView.conflicts > 0 ? (
                      <span className="badge" data-testid="conflicts-badge">
                        {syncView.conflicts}
                      </span>
                    ) : null}
                  </button>
                ))}
                <span className="pane-meta">
                  {tab !== 'vehicles' || displayed === undefined ? '' : query ? `${formatCount(displayed)} of ${formatCount(counts.total)}` : formatCount(displayed)}
                </span>
              </div>
              <div className="pane-body" hidden={tab !== 'vehicles'}>
                <VehicleGrid ref={gridRef} store={store} quickFilter={query} selection={selection} onSelect={select} onDisplayedCount={setDisplayed} />
              </div>
              {tab === 'alerts' ? <AlertsPanel plateOf={plateOf} now={now} onSelectVehicle={selectFromPanel} /> : null}
              {tab === 'tasks' ? <TasksPanel plateOf={plateOf} now={now} onSelectVehicle={selectFromPanel} /> : null}
              {tab === 'conflicts' ? <ConflictsPanel now={now} /> : null}
            </section>
          }
        />
      </main>
      <StatusBar store={store} mapStats={mapStats} hostLink={hostLink} appInfo={appInfo} now={now} />
    </div>
    </ReplicaContext.Provider>
  );
}

type PaneTab = 'vehicles' | 'alerts' | 'tasks' | 'conflicts';
const PANE_TABS: ReadonlyArray<[PaneTab, string]> = [
  ['vehicles', 'Vehicles'],
  ['alerts', 'Alerts'],
  ['tasks', 'Tasks'],
  ['conflicts', 'Conflicts'],
];

function MapLegend() {
  return (
    <div className="map-legend" aria-label="Legend">
      <span><i className="legend-dot state-bg-moving" />Moving</span>
      <span><i className="legend-dot state-bg-parked" />Parked</span>
      <span><i className="legend-dot state-bg-offline" />Offline</span>
      <span><i className="legend-zone" />Operating zone</span>
    </div>
  );
}
