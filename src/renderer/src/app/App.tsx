/**
 * The operator's shell: top bar (counts, search, sync, integration health, the signed-in operator), the live map
 * and the operations pane (vehicles, alerts, tasks, customers for support/admin, conflicts) side by side, and a
 * status bar. Owns the fleet store's lifetime and the low-rate UI state (selection, search, link states, who is
 * signed in); per-vehicle data flows store → map layer / grid without React.
 *
 * Sign-in: the host holds the staff session; with nobody known the sign-in screen shows. The last signed-in
 * operator is remembered, so after a restart with the server down the desk opens on their local data (offline
 * mode: edits queue up) and syncs again once they are signed in (the host's stored session, its auto sign-in,
 * or the sign-in dialog).
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { getDesktopApi, getHostLink, onHostLinkChange } from '../bridge';
import { FleetMap } from '../features/fleet-map/FleetMap';
import { createMapStats } from '../features/fleet-map/map-stats';
import { FleetStore, type FleetCountsView } from '../data/fleet-store';
import { StatusBar } from '../features/status-bar/StatusBar';
import { VehicleGrid, type VehicleGridHandle } from '../features/vehicle-grid/VehicleGrid';
import { AlertsPanel } from '../features/alerts/AlertsPanel';
import { ConflictsPanel } from '../features/conflicts/ConflictsPanel';
import { SyncIndicator } from '../features/sync/SyncIndicator';
import { TasksPanel } from '../features/tasks/TasksPanel';
import { useOpenReplica } from '../data/use-open-replica';
import { CustomersPanel } from '../features/customers/CustomersPanel';
import { OperatorChip } from '../features/auth/OperatorChip';
import { SignInDialog, SignInScreen } from '../features/auth/SignIn';
import { createTokenSource } from '../data/access-token';
import { forgetIdentity, identityFrom, rememberedIdentity, rememberIdentity, type ReplicaIdentity } from '../data/open';
import { canSeeCustomerData } from '../../../shared/sync-protocol.js';
import { replicaVehicles } from '../data/vehicle-index';
import { useReplicaLastKnown } from '../data/use-replica-fleet';
import { ReplicaContext, useSyncView } from '../data/hooks';
import { formatCount, normalizePlate } from '../lib/format';
import { FleetCounts } from './FleetCounts';
import { useAppInfo, useAuthState, useConnectionState, useHostLink, useNow, useThrottledStoreValue } from './hooks';
import { HealthPanel, IntegrationBanner } from '../features/health/HealthPanel';
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
  const hostLink = useHostLink();
  const appInfo = useAppInfo(api, hostLink);
  const auth = useAuthState(api, hostLink);
  const tokens = useMemo(() => createTokenSource(() => api.auth.getAccessToken()), [api]);
  // The last signed-in operator (read once; replaced when someone signs in, cleared on sign-out).
  const [remembered, setRemembered] = useState<ReplicaIdentity | undefined>(() => rememberedIdentity());
  const signedIn = identityFrom(appInfo, auth);
  const signedInKey = signedIn ? `${signedIn.syncUrl}|${signedIn.operator.id}|${signedIn.operator.role}|${signedIn.operator.name}` : '';
  useEffect(() => {
    if (!signedIn) return;
    rememberIdentity(signedIn);
    setRemembered(signedIn);
    tokens.invalidate();
  }, [signedInKey]);
  // Signed in: that operator's replica. Signed out (or the host not answering yet): the last operator's, offline.
  const identity = signedIn ?? (auth?.status === 'signed_in' ? undefined : remembered);
  if (!store) return null;
  if (!identity) {
    if (auth?.status !== 'signed_out') return <div className="boot muted">Connecting to the desktop host…</div>;
    return <SignInScreen api={api} notice={auth.error} />;
  }
  const signOut = () => {
    void api.auth.signOut().then(() => {
      forgetIdentity();
      setRemembered(undefined);
    });
  };
  return (
    <Desk
      api={api}
      store={store}
      identity={identity}
      signedIn={!!signedIn}
      authOffline={auth?.offline === true}
      authError={auth?.error}
      autoSignIn={auth?.autoSignIn === true}
      tokens={tokens}
      onSignOut={signOut}
    />
  );
}

const countsEqual = (a: FleetCountsView, b: FleetCountsView) =>
  a.total === b.total && a.moving === b.moving && a.parked === b.parked && a.offline === b.offline;

interface DeskProps {
  api: ReturnType<typeof getDesktopApi>;
  store: FleetStore;
  identity: ReplicaIdentity;
  /** false: the operator's local data is open but nobody is signed in (offline mode) */
  signedIn: boolean;
  authOffline: boolean;
  authError: string | undefined;
  autoSignIn: boolean;
  tokens: ReturnType<typeof createTokenSource>;
  onSignOut: () => void;
}

function Desk({ api, store, identity, signedIn, authOffline, authError, autoSignIn, tokens, onSignOut }: DeskProps) {
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

  const replica = useOpenReplica(identity, tokens);
  const [signInOpen, setSignInOpen] = useState(false);
  // Signed in (again): sync now rather than at the next retry.
  useEffect(() => {
    if (signedIn) replica?.replica.reSync();
  }, [signedIn, replica]);
  const operator = identity.operator;
  const supportDesk = canSeeCustomerData(operator.role);
  // The replica's last-known vehicles fill in what the host cannot give (offline start, server and broker down).
  useReplicaLastKnown(store);
  const syncView = useSyncView(replica);
  const [tab, setTab] = useState<PaneTab>('vehicles');
  const tabs = PANE_TABS.filter(([id]) => id !== 'customers' || supportDesk);
  const signOut = () => {
    const waiting = syncView.pending;
    if (
      waiting > 0 &&
      !window.confirm(
        `${waiting} local change(s) have not reached the server yet. They stay on this computer and are sent when ${operator.name} signs in again. Sign out?`,
      )
    )
      return;
    onSignOut();
  };
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
          <OperatorChip
            operator={operator}
            signedIn={signedIn}
            offline={authOffline}
            onSignOut={signOut}
            onSignIn={() => setSignInOpen(true)}
          />
        </header>
        {!signedIn ? (
          <div className="signed-out-banner" data-testid="signed-out-banner">
            <span>
              Not signed in — showing {operator.name}&apos;s local data
              {autoSignIn ? '; signing in again as soon as the server answers' : ''}. Changes are kept and sent once {operator.name} is
              signed in again.
            </span>
            <button type="button" className="primary-button small" onClick={() => setSignInOpen(true)}>
              Sign in
            </button>
          </div>
        ) : null}
        {signInOpen && !signedIn ? (
          <SignInDialog
            api={api}
            email={operator.email}
            notice={authError}
            onSignedIn={() => setSignInOpen(false)}
            onCancel={() => setSignInOpen(false)}
          />
        ) : null}
        <LinkBanner hostLink={hostLink} connection={connection} store={store} now={now} />
        <IntegrationBanner now={now} />
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
                  {tabs.map(([id, label]) => (
                    <button
                      key={id}
                      type="button"
                      role="tab"
                      aria-selected={tab === id}
                      className={`pane-tab${tab === id ? ' pane-tab-active' : ''}`}
                      data-testid={`tab-${id}`}
                      onClick={() => setTab(id)}
                    >
                      {label}
                      {id === 'conflicts' && syncView.conflicts > 0 ? (
                        <span className="badge" data-testid="conflicts-badge">
                          {syncView.conflicts}
                        </span>
                      ) : null}
                    </button>
                  ))}
                  <span className="pane-meta">
                    {tab !== 'vehicles' || displayed === undefined
                      ? ''
                      : query
                        ? `${formatCount(displayed)} of ${formatCount(counts.total)}`
                        : formatCount(displayed)}
                  </span>
                </div>
                <div className="pane-body" hidden={tab !== 'vehicles'}>
                  <VehicleGrid
                    ref={gridRef}
                    store={store}
                    quickFilter={query}
                    selection={selection}
                    onSelect={select}
                    onDisplayedCount={setDisplayed}
                  />
                </div>
                {tab === 'alerts' ? <AlertsPanel plateOf={plateOf} now={now} onSelectVehicle={selectFromPanel} /> : null}
                {tab === 'tasks' ? <TasksPanel plateOf={plateOf} now={now} onSelectVehicle={selectFromPanel} /> : null}
                {tab === 'customers' && supportDesk ? (
                  <CustomersPanel now={now} plateOf={plateOf} onSelectVehicle={selectFromPanel} />
                ) : null}
                {tab === 'conflicts' ? <ConflictsPanel now={now} /> : null}
                {tab === 'health' ? (
                  <HealthPanel connection={connection} sync={syncView} tileUrl={appInfo?.tileUrl ?? ''} now={now} />
                ) : null}
              </section>
            }
          />
        </main>
        <StatusBar store={store} mapStats={mapStats} hostLink={hostLink} appInfo={appInfo} now={now} />
      </div>
    </ReplicaContext.Provider>
  );
}

type PaneTab = 'vehicles' | 'alerts' | 'tasks' | 'customers' | 'conflicts' | 'health';
const PANE_TABS: ReadonlyArray<[PaneTab, string]> = [
  ['vehicles', 'Vehicles'],
  ['alerts', 'Alerts'],
  ['tasks', 'Tasks'],
  ['customers', 'Customers'],
  ['conflicts', 'Conflicts'],
  ['health', 'Health'],
];

function MapLegend() {
  return (
    <div className="map-legend" aria-label="Legend">
      <span>
        <i className="legend-dot state-bg-moving" />
        Moving
      </span>
      <span>
        <i className="legend-dot state-bg-parked" />
        Parked
      </span>
      <span>
        <i className="legend-dot state-bg-offline" />
        Offline
      </span>
      <span>
        <i className="legend-zone" />
        Operating zone
      </span>
    </div>
  );
}
