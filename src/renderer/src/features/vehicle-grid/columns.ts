/** Column definitions of the vehicle grid. `colId`s are stable: tests and the refresh timer address them. */
import type { ColDef, ValueFormatterParams } from 'ag-grid-community';
import { liveDisplayState } from '../../../../shared/fleet.js';
import { formatAgo, formatLatLon } from '../../lib/format';
import { replicaVehicles } from '../../data/vehicle-index';
import { EnergyCell, StateCell } from './cells';
import type { VehicleRow } from './vehicle-row';

export const LAST_SEEN_COL = 'lastSeen';

const STATE_RANK = { moving: 0, parked: 1, offline: 2, maintenance: 3 } as const;
/** Columns that read the replica (refreshed when its vehicles change). */
export const REPLICA_COLS = ['plate', 'state'];

export const defaultColDef: ColDef<VehicleRow> = {
  sortable: true,
  resizable: true,
  suppressMovable: false,
  // The search box filters by plate/id only: every other column opts out of the quick filter.
  getQuickFilterText: () => '',
};

export const columnDefs: ColDef<VehicleRow>[] = [
  {
    colId: 'plate',
    headerName: 'Plate',
    valueGetter: (p) => p.data?.info?.plate ?? (p.data ? replicaVehicles.get(p.data.id)?.plate : undefined) ?? p.data?.id,
    getQuickFilterText: (p) => `${p.data?.info?.plate ?? (p.data ? replicaVehicles.get(p.data.id)?.plate : '') ?? ''} ${p.data?.id ?? ''}`,
    cellClass: 'cell-plate',
    width: 104,
    pinned: 'left',
    sort: 'asc',
  },
  {
    colId: 'state',
    headerName: 'State',
    // Service state from the replica wins: a vehicle in maintenance is not available whatever it reports.
    valueGetter: (p) =>
      p.data && replicaVehicles.get(p.data.id)?.serviceState === 'maintenance'
        ? 'maintenance'
        : p.data?.live
          ? liveDisplayState(p.data.live)
          : 'offline',
    comparator: (a: keyof typeof STATE_RANK, b: keyof typeof STATE_RANK) => STATE_RANK[a] - STATE_RANK[b],
    cellRenderer: StateCell,
    width: 92,
  },
  {
    colId: 'speed',
    headerName: 'Speed',
    valueGetter: (p) => p.data?.live?.speedKph,
    valueFormatter: (p: ValueFormatterParams<VehicleRow, number>) =>
      p.value === undefined || p.value === null ? '—' : `${Math.round(p.value)} km/h`,
    type: 'rightAligned',
    width: 80,
  },
  {
    colId: 'energy',
    headerName: 'Fuel / Battery',
    valueGetter: (p) => p.data?.live?.energyPct,
    cellRenderer: EnergyCell,
    width: 128,
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
    colId: LAST_SEEN_COL,
    headerName: 'Last seen',
    valueGetter: (p) => p.data?.live?.receivedAt,
    // Recomputed against the clock on every refresh (the grid refreshes only this column, once a second).
    valueFormatter: (p: ValueFormatterParams<VehicleRow, number>) => formatAgo(p.value ?? undefined),
    // newest first when sorted ascending reads oddly; sort by age instead
    comparator: (a: number | undefined, b: number | undefined) => (b ?? 0) - (a ?? 0),
    width: 92,
  },
  {
    colId: 'model',
    headerName: 'Make / Model',
    valueGetter: (p) => (p.data?.info ? `${p.data.info.make} ${p.data.info.model}` : ''),
    flex: 1,
    minWidth: 120,
  },
];
