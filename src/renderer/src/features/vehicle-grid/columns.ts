/** Column definitions of the vehicle grid. `colId`s are stable: tests, the CSV export and the refresh timer address them. */
import type { ColDef, ValueFormatterParams, ValueGetterParams } from 'ag-grid-community';
import { BUSINESS_STATES, BUSINESS_STATE_LABELS, type BusinessState } from '../../data/business-state';
import type { BusinessStateIndex } from '../../data/business-state-index';
import { formatAgo, formatLatLon } from '../../lib/format';
import { replicaVehicles } from '../../data/vehicle-index';
import { EnergyCell, StateCell } from './cells';
import { StateFilter } from './StateFilter';
import { situationText } from './situation';
import type { VehicleRow } from './vehicle-row';

export const LAST_SEEN_COL = 'lastSeen';

/** What every column can read besides the row: the business-state index (AG Grid's `context`). */
export interface GridContext {
  index: BusinessStateIndex;
}

const STATE_RANK = Object.fromEntries(BUSINESS_STATES.map((s, i) => [s, i])) as Record<BusinessState, number>;
/** Columns whose value comes from the replica or the index rather than the row (refreshed when those change). */
export const REPLICA_COLS = ['plate', 'state', 'situation', 'service'];

/**
 * Columns whose value live data (telemetry, business states) never changes: registry and replica only. While the
 * grid is sorted and filtered by these alone, a batch of live updates cannot move a row or change what the filters
 * leave: the grid then skips its sort and filter passes over all 20,000 rows and only refreshes the changed rows'
 * cells. A registry change goes through the full pass with its batch; a replica change of a plate, home zone or
 * service state re-runs filter and sort by itself (VehicleGrid, replicaVehicles.orderVersion).
 */
export const STATIC_COLS: ReadonlySet<string> = new Set(['plate', 'zone', 'service', 'model']);

const indexOf = (p: { context: unknown }) => (p.context as GridContext).index;

export const defaultColDef: ColDef<VehicleRow> = {
  sortable: true,
  resizable: true,
  suppressMovable: false,
};

const minutesAgo = (at: number | undefined) => (at === undefined ? null : Math.max(0, Math.floor((Date.now() - at) / 60_000)));

export const columnDefs: ColDef<VehicleRow>[] = [
  {
    colId: 'plate',
    headerName: 'Plate',
    valueGetter: (p) => p.data?.info?.plate ?? (p.data ? replicaVehicles.get(p.data.id)?.plate : undefined) ?? p.data?.id,
    cellClass: 'cell-plate',
    width: 104,
    pinned: 'left',
    sort: 'asc',
    filter: 'agTextColumnFilter',
  },
  {
    colId: 'state',
    headerName: 'State',
    valueGetter: (p: ValueGetterParams<VehicleRow>) => (p.data ? indexOf(p).stateOf(p.data.id) : undefined),
    valueFormatter: (p: ValueFormatterParams<VehicleRow, BusinessState>) => (p.value ? BUSINESS_STATE_LABELS[p.value] : ''),
    comparator: (a: BusinessState, b: BusinessState) => STATE_RANK[a] - STATE_RANK[b],
    cellRenderer: StateCell,
    // re-render on every row update: the moving/parked note beside the pill changes without the state changing
    equals: () => false,
    filter: StateFilter,
    // widths: plate, state, rental/alert, energy and speed fit the grid pane beside the map at 1280 px
    width: 150,
  },
  {
    colId: 'situation',
    headerName: 'Rental / alert',
    headerTooltip: 'The rental or reservation holding the car, and its open critical alerts',
    valueGetter: (p: ValueGetterParams<VehicleRow>) => (p.data ? situationText(indexOf(p).detail(p.data.id)) : ''),
    filter: 'agTextColumnFilter',
    width: 150,
    tooltipValueGetter: (p) => (typeof p.value === 'string' && p.value ? p.value : undefined),
  },
  {
    colId: 'energy',
    headerName: 'Fuel / Battery',
    valueGetter: (p) => p.data?.live?.energyPct,
    cellRenderer: EnergyCell,
    filter: 'agNumberColumnFilter',
    headerTooltip: 'Filter by level in %',
    width: 128,
  },
  {
    colId: 'speed',
    headerName: 'Speed',
    valueGetter: (p) => p.data?.live?.speedKph,
    valueFormatter: (p: ValueFormatterParams<VehicleRow, number>) =>
      p.value === undefined || p.value === null ? '—' : `${Math.round(p.value)} km/h`,
    type: 'rightAligned',
    filter: 'agNumberColumnFilter',
    width: 80,
  },
  {
    colId: LAST_SEEN_COL,
    headerName: 'Last seen',
    headerTooltip: 'Filter by minutes since the car was last heard from',
    valueGetter: (p) => p.data?.live?.receivedAt,
    // Recomputed against the clock on every refresh (the grid refreshes only this column, once a second).
    valueFormatter: (p: ValueFormatterParams<VehicleRow, number>) => formatAgo(p.value ?? undefined),
    // newest first when sorted ascending reads oddly; sort by age instead
    comparator: (a: number | undefined, b: number | undefined) => (b ?? 0) - (a ?? 0),
    filter: 'agNumberColumnFilter',
    filterValueGetter: (p) => minutesAgo(p.data?.live?.receivedAt),
    filterParams: { defaultOption: 'greaterThan' },
    width: 96,
  },
  {
    colId: 'zone',
    headerName: 'Zone',
    valueGetter: (p) => p.data?.info?.homeZone ?? (p.data ? replicaVehicles.get(p.data.id)?.homeZone : undefined) ?? '',
    filter: 'agTextColumnFilter',
    width: 100,
  },
  {
    colId: 'service',
    headerName: 'Service',
    valueGetter: (p) => (p.data ? (replicaVehicles.get(p.data.id)?.serviceState ?? '') : ''),
    valueFormatter: (p: ValueFormatterParams<VehicleRow, string>) =>
      p.value === 'maintenance' ? 'Maintenance' : p.value === 'available' ? 'In service' : '—',
    filter: 'agTextColumnFilter',
    filterValueGetter: (p) =>
      p.data ? (replicaVehicles.get(p.data.id)?.serviceState === 'maintenance' ? 'maintenance' : 'in service') : '',
    width: 104,
  },
  {
    colId: 'position',
    headerName: 'Position',
    valueGetter: (p) => formatLatLon(p.data?.live?.lat, p.data?.live?.lon),
    cellClass: 'cell-mono',
    sortable: false,
    width: 150,
  },
  {
    colId: 'model',
    headerName: 'Make / Model',
    valueGetter: (p) => (p.data?.info ? `${p.data.info.make} ${p.data.info.model}` : ''),
    filter: 'agTextColumnFilter',
    flex: 1,
    minWidth: 120,
  },
];
