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
import { FleetStore } from '../data/fleet-store';
import { BusinessStateIndex, type BusinessCounts } from '../data/business-state-index';
import { BUSINESS_STATES, type BusinessState } from '../data/business-state';
import { feedBusinessState } from '../data/replica-business-feed';
import { MapLegend } from '../features/fleet-map/MapLegend';
import { vehicleMatcher } from '../features/vehicle-grid/vehicle-match';
import type { ZoneKind } from '../features/fleet-map/zone-styles';
import type { ZoneDoc } from '../../../shared/sync-protocol.js';
import { StatusBar } from '../features/status-bar/StatusBar';
import { VehicleGrid, type VehicleGridHandle } from '../features/vehicle-grid/VehicleGrid';
import { AlertsPanel } from '../features/alerts/AlertsPanel';
import { useAlertAttention } from '../features/alerts/use-alert-attention';
import { CommandsPanel } from '../features/commands/CommandsPanel';
import { ConflictsPanel } from '../features/conflicts/ConflictsPanel';
import { SyncIndicator } from '../features/sync/SyncIndicator';
import { TasksPanel } from '../features/tasks/TasksPanel';
import { useOpenReplica } from '../data/use-open-replica';
import { CustomersPanel } from '../features/customers/CustomersPanel';
import { OperatorChip } from '../features/auth/OperatorChip';
import { SignInDialog, SignInScreen } from '../features/auth/SignIn';
import { createTokenSource } from '../data/access-token';
import { forgetIdentity, identityFrom, rememberedIdentity, rememberIdentity, type ReplicaIdentity } from '../data/open';
import { can, canSeeCustomerData } from '../../../shared/permissions.js';
import { replicaVehicles } from '../data/vehicle-index';
import { useReplicaLastKnown } from '../data/use-replica-fleet';
import { ReplicaContext, useLiveQuery, useSyncView } from '../data/hooks';
import { formatCount, normalizePlate, plural } from '../lib/format';
import { FleetCounts } from './FleetCounts';
import {
  AppInfoContext,
  useAppInfo,
  useAppInfoContext,
  useAuthState,
  useConnectionState,
  useHostLink,
  useNow,
  useThrottledStoreValue,
} from './hooks';
import { HealthPanel, IntegrationBanner } from '../features/health/HealthPanel';
import { LinkBanner } from './LinkBanner';
import { LinkChip } from './LinkChip';
import { SearchBox } from './SearchBox';
import { SelectedVehicleCard } from './SelectedVehicleCard';
import { NO_SELECTION, type Selection, type SelectionSource } from './selection';
import { SplitPane } from './SplitPane';
import { BackOffice, backOfficeSectionsFor } from '../features/back-office/BackOffice';
import { RentalEvidenceHost } from '../features/rental-evidence/RentalEvidence';
import { rentalEvidence } from '../features/rental-evidence/evidence-store';

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
    <AppInfoContext.Provider value={appInfo}>
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
    </AppInfoContext.Provider>
  );
}

/** the replicated collections a car's business state is derived from (with the live feed) */
const STATE_SOURCES = ['vehicles', 'rentals', 'alerts'];
const countsEqual = (a: BusinessCounts, b: BusinessCounts) => a.total === b.total && BUSINESS_STATES.every((s) => a[s] === b[s]);
const NO_COUNTS: BusinessCounts = { total: 0, available: 0, reserved: 0, in_rental: 0, maintenance: 0, offline: 0, alarm: 0 };
const NO_SOURCE = { subscribe: () => () => undefined };
const ZONE_KINDS: readonly ZoneKind[] = ['operating', 'service', 'no_parking'];
const ALL_ZONES = { selector: {}, sort: [{ id: 'asc' as const }] };

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
  const appInfo = useAppInfoContext();
  const connection = useConnectionState(api, hostLink);
  // The one business-state derivation: map, grid, counts and card all read this index.
  const [index, setIndex] = useState<BusinessStateIndex | undefined>(undefined);
  useEffect(() => {
    const i = new BusinessStateIndex(store);
    i.start();
    setIndex(i);
    return () => i.dispose();
  }, [store]);
  const counts = useThrottledStoreValue(index ?? NO_SOURCE, () => index?.counts() ?? NO_COUNTS, countsEqual, 500);
  const now = useNow(1000);
  const mapStats = useMemo(() => createMapStats(), []);
  const gridRef = useRef<VehicleGridHandle>(null);

  const [selection, setSelection] = useState<Selection>(NO_SELECTION);
  const select = useCallback((id: string | undefined, source: SelectionSource) => {
    setSelection((prev) => ({ id, source, nonce: prev.nonce + 1 }));
  }, []);

  const { replica, error: replicaError } = useOpenReplica(identity, tokens);
  useEffect(() => (replica && index ? feedBusinessState(replica.db, index) : undefined), [replica, index]);
  const zones = useLiveQuery<ZoneDoc>(replica?.db.zones, ALL_ZONES, 'zones');
  const zoneKinds = useMemo(() => ZONE_KINDS.filter((k) => zones.some((z) => z.kind === k)), [zones]);
  const [hiddenStates, setHiddenStates] = useState<ReadonlySet<BusinessState>>(() => new Set());
  const toggleState = useCallback((s: BusinessState) => {
    setHiddenStates((prev) => {
      const next = new Set(prev);
      if (!next.delete(s)) next.add(s);
      return next;
    });
  }, []);
  const [signInOpen, setSignInOpen] = useState(false);
  // Signed in (again): sync now rather than at the next retry.
  useEffect(() => {
    if (signedIn) replica?.replica.reSync();
  }, [signedIn, replica]);
  const operator = identity.operator;
  const supportDesk = canSeeCustomerData(operator.role);
  // The replica's last-known vehicles fill in what the host cannot give (offline start, server and broker down).
  useReplicaLastKnown(store);
  const syncView = useSyncView(replica, replicaError);
  // the replicated collections the business states come from, while their first pull of this session still runs
  const stateSourcesLoading = useMemo(
    () => syncView.collections.filter((c) => STATE_SOURCES.includes(c.name) && !c.initialDone).map((c) => c.name),
    [syncView.collections],
  );
  // a role that serves customers but does not run the fleet (support) opens on Customers; the map stays one click away
  const [tab, setTab] = useState<PaneTab>(() => (supportDesk && !can(operator.role, 'vehicle.command') ? 'customers' : 'vehicles'));
  const [mapCollapsed, setMapCollapsed] = useState(false);
  // Operations (map and pane) or the back office (money, audit, fleet registry, …: what the role may use).
  const [view, setView] = useState<'operations' | 'back-office'>('operations');
  const [backOfficeSection, setBackOfficeSection] = useState<string | undefined>(undefined);
  const hasBackOffice = backOfficeSectionsFor(operator.role).length > 0;
  const inBackOffice = view === 'back-office' && hasBackOffice;
  const tabs = PANE_TABS.filter(([id]) => id !== 'customers' || supportDesk);
  const signOut = () => {
    const waiting = syncView.pending;
    if (
      waiting > 0 &&
      !window.confirm(
        `${plural(waiting, 'local change')} ${waiting === 1 ? 'has' : 'have'} not reached the server yet. They stay on this computer and are sent when ${operator.name} signs in again. Sign out?`,
      )
    )
      return;
    onSignOut();
  };
  const plateOf = useCallback((id: string) => store.registry.get(id)?.plate ?? replicaVehicles.get(id)?.plate ?? id, [store]);
  const selectFromPanel = useCallback((id: string) => select(id, 'search'), [select]);
  const selectFromBackOffice = useCallback(
    (id: string) => {
      setView('operations');
      select(id, 'search');
    },
    [select],
  );
  // Unacknowledged alerts counted on the tab and in the title; a click on a desktop notification selects its car.
  const alertAttention = useAlertAttention(replica, api, plateOf, (target) => {
    if (target.vehicleId) select(target.vehicleId, 'search');
    if (target.openAlerts) setTab('alerts');
  });

  const [query, setQuery] = useState('');
  const [displayed, setDisplayed] = useState<number | undefined>(undefined);
  // The search filters the map as it filters the grid: by plate or id.
  const mapMatches = useMemo(() => (query.trim() ? vehicleMatcher(query, (id) => plateOf(id)) : undefined), [query, plateOf]);

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
      if (id) return select(id, 'search');
      if (store.live.has(q.trim())) return select(q.trim(), 'search');
      // a rental id (support/admin): its evidence opens; anything else goes to the grid's first match
      const firstMatch = gridRef.current?.firstDisplayedId();
      const rentalId = q.trim();
      const rentals = replica?.db.rentals;
      if (rentals && can(operator.role, 'rental.read') && /^[A-Za-z0-9_-]{6,100}$/.test(rentalId)) {
        void rentals
          .findOne(rentalId)
          .exec()
          .then(
            (doc) => {
              if (doc?.kind === 'rental') rentalEvidence.open(rentalId);
              else if (firstMatch) select(firstMatch, 'search');
            },
            () => firstMatch && select(firstMatch, 'search'),
          );
        return;
      }
      if (firstMatch) select(firstMatch, 'search');
    },
    [store, select, replica, operator.role],
  );

  const unacknowledged = alertAttention.unacknowledged;
  useEffect(() => {
    const alerts = unacknowledged ? `(${formatCount(unacknowledged)}) ` : '';
    document.title = `${alerts}Fleetdesk${counts.total ? ` — ${formatCount(counts.total)} vehicles` : ''}`;
  }, [counts.total, unacknowledged]);

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
          {hasBackOffice ? (
            <div className="view-switch" role="group" aria-label="View">
              <button type="button" aria-pressed={!inBackOffice} data-testid="view-operations" onClick={() => setView('operations')}>
                Operations
              </button>
              <button type="button" aria-pressed={inBackOffice} data-testid="view-back-office" onClick={() => setView('back-office')}>
                Back office
              </button>
            </div>
          ) : null}
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
        {inBackOffice ? (
          <BackOffice
            role={operator.role}
            section={backOfficeSection}
            onSection={setBackOfficeSection}
            now={now}
            plateOf={plateOf}
            selectVehicle={selectFromBackOffice}
          />
        ) : null}
        {/* kept mounted under the back office: the map and the grid keep their state and need no rebuild */}
        <main className="workspace" hidden={inBackOffice}>
          <SplitPane
            leftCollapsed={mapCollapsed}
            left={
              <section className="map-pane" aria-label="Fleet map">
                {index ? (
                  <FleetMap
                    store={store}
                    index={index}
                    zones={zones}
                    hiddenStates={hiddenStates}
                    matches={mapMatches}
                    tileUrl={appInfo?.tileUrl ?? ''}
                    tileAttribution={appInfo?.tileAttribution ?? ''}
                    selection={selection}
                    onSelect={select}
                    stats={mapStats}
                  />
                ) : null}
                <MapLegend
                  counts={counts}
                  hidden={hiddenStates}
                  onToggle={toggleState}
                  zoneKinds={zoneKinds}
                  loading={stateSourcesLoading}
                />
                {selection.id && index ? <SelectedVehicleCard store={store} index={index} id={selection.id} onSelect={select} /> : null}
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
                      {id === 'alerts' && unacknowledged > 0 ? (
                        <span
                          className="badge"
                          data-testid="alerts-badge"
                          title={`${unacknowledged} unacknowledged (muted kinds not counted)`}
                        >
                          {formatCount(unacknowledged)}
                        </span>
                      ) : null}
                      {id === 'conflicts' && syncView.conflicts > 0 ? (
                        <span className="badge" data-testid="conflicts-badge">
                          {syncView.conflicts}
                        </span>
                      ) : null}
                    </button>
                  ))}
                  <span className="pane-meta">
                    {/* only while filters or the search leave fewer rows: the top bar has the total */}
                    {tab === 'vehicles' && displayed !== undefined && displayed < counts.total
                      ? `${formatCount(displayed)} of ${formatCount(counts.total)}`
                      : ''}
                  </span>
                  {tab === 'vehicles' ? (
                    <button
                      type="button"
                      className="text-button pane-action"
                      data-testid="export-csv"
                      title="Download the rows the filters and the search leave, as CSV"
                      onClick={() => gridRef.current?.exportCsv()}
                    >
                      <span className="wide-only">Export </span>CSV
                    </button>
                  ) : null}
                  <button
                    type="button"
                    className="pane-map-toggle"
                    aria-pressed={mapCollapsed}
                    data-testid="toggle-map"
                    onClick={() => setMapCollapsed((c) => !c)}
                  >
                    {mapCollapsed ? 'Show map' : 'Hide map'}
                  </button>
                </div>
                <div className="pane-body" hidden={tab !== 'vehicles'}>
                  {index ? (
                    <VehicleGrid
                      ref={gridRef}
                      store={store}
                      index={index}
                      quickFilter={query}
                      selection={selection}
                      onSelect={select}
                      onDisplayedCount={setDisplayed}
                    />
                  ) : null}
                </div>
                {tab === 'alerts' ? <AlertsPanel plateOf={plateOf} now={now} onSelectVehicle={selectFromPanel} /> : null}
                {tab === 'commands' ? <CommandsPanel plateOf={plateOf} now={now} onSelectVehicle={selectFromPanel} /> : null}
                {tab === 'tasks' ? <TasksPanel plateOf={plateOf} now={now} onSelectVehicle={selectFromPanel} /> : null}
                {tab === 'customers' && supportDesk ? (
                  <CustomersPanel now={now} plateOf={plateOf} onSelectVehicle={selectFromPanel} />
                ) : null}
                {tab === 'conflicts' ? <ConflictsPanel now={now} plateOf={plateOf} /> : null}
                {tab === 'health' ? (
                  <HealthPanel connection={connection} sync={syncView} tileUrl={appInfo?.tileUrl ?? ''} mapStats={mapStats} now={now} />
                ) : null}
              </section>
            }
          />
        </main>
        <StatusBar store={store} mapStats={mapStats} hostLink={hostLink} appInfo={appInfo} now={now} />
        {can(operator.role, 'rental.read') ? <RentalEvidenceHost now={now} plateOf={plateOf} tileUrl={appInfo?.tileUrl ?? ''} /> : null}
      </div>
    </ReplicaContext.Provider>
  );
}

type PaneTab = 'vehicles' | 'alerts' | 'commands' | 'tasks' | 'customers' | 'conflicts' | 'health';
const PANE_TABS: ReadonlyArray<[PaneTab, string]> = [
  ['vehicles', 'Vehicles'],
  ['alerts', 'Alerts'],
  ['commands', 'Commands'],
  ['tasks', 'Tasks'],
  ['customers', 'Customers'],
  ['conflicts', 'Conflicts'],
  ['health', 'Health'],
];
