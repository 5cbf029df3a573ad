/**
 * The vehicles grid. Rows are keyed by vehicle id (`getRowId`) and, after the first load, change only through
 * `applyTransactionAsync` batched once per animation frame — never by handing the grid a new `rowData` — so
 * 20,000 rows at 10 frames/s cost the grid only the rows that changed. It follows the business-state index (the
 * store's changes plus cars whose state changed for other reasons), so its State column agrees with the map.
 *
 * Column filters (state, rental/alert, energy, speed, last seen, zone, service, model), the search box (the same
 * matcher as the map's), CSV export of exactly the rows the filters leave (AG Grid's own export), and keyboard
 * navigation: arrows move between cells, Enter selects the car of the focused row.
 */
import {
  AllCommunityModule,
  ModuleRegistry,
  type CellKeyDownEvent,
  type GridApi,
  type GridReadyEvent,
  type IRowNode,
  type RowClickedEvent,
} from 'ag-grid-community';
import { AgGridReact } from 'ag-grid-react';
import { useCallback, useEffect, useImperativeHandle, useMemo, useRef, useState, type Ref } from 'react';
import type { SelectVehicle, Selection } from '../../app/selection';
import type { BusinessStateIndex } from '../../data/business-state-index';
import type { FleetStore } from '../../data/fleet-store';
import { replicaVehicles } from '../../data/vehicle-index';
import { LAST_SEEN_COL, REPLICA_COLS, columnDefs, defaultColDef, type GridContext } from './columns';
import { vehicleMatcher } from './vehicle-match';
import { vehicleGridTheme } from './grid-theme';
import { rowFor, type VehicleRow } from './vehicle-row';

ModuleRegistry.registerModules([AllCommunityModule]);

export interface VehicleGridHandle {
  /** id of the first row the grid displays after filtering and sorting (the search box's Enter) */
  firstDisplayedId(): string | undefined;
  /** download the rows the filters and the search leave, in the grid's order, as CSV */
  exportCsv(): void;
}

interface VehicleGridProps {
  store: FleetStore;
  index: BusinessStateIndex;
  quickFilter: string;
  selection: Selection;
  onSelect: SelectVehicle;
  onDisplayedCount(count: number): void;
  ref?: Ref<VehicleGridHandle>;
}

const getRowId = (p: { data: VehicleRow }) => p.data.id;
const rowSelection = { mode: 'singleRow', checkboxes: false, enableClickSelection: true } as const;

export function VehicleGrid({ store, index, quickFilter, selection, onSelect, onDisplayedCount, ref }: VehicleGridProps) {
  const containerRef = useRef<HTMLDivElement>(null);
  const apiRef = useRef<GridApi<VehicleRow> | undefined>(undefined);
  // State (one re-render when the grid is ready) so the wiring effect below runs once the api exists.
  const [gridApi, setGridApi] = useState<GridApi<VehicleRow> | undefined>(undefined);
  const onDisplayedCountRef = useRef(onDisplayedCount);
  onDisplayedCountRef.current = onDisplayedCount;

  useImperativeHandle(ref, () => ({
    firstDisplayedId: () => apiRef.current?.getDisplayedRowAtIndex(0)?.data?.id,
    exportCsv: () => {
      const stamp = new Date().toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-');
      apiRef.current?.exportDataAsCsv({ exportedRows: 'filteredAndSorted', fileName: `fleetdesk-vehicles-${stamp}.csv` });
    },
  }));
  const context = useMemo<GridContext>(() => ({ index }), [index]);

  // The search box: the same matcher the map uses, as the grid's external filter.
  const matcherRef = useRef<((id: string) => boolean) | undefined>(undefined);
  useEffect(() => {
    const plateOf = (id: string) => store.registry.get(id)?.plate ?? replicaVehicles.get(id)?.plate ?? id;
    matcherRef.current = vehicleMatcher(quickFilter, plateOf);
    if (gridApi && !gridApi.isDestroyed()) gridApi.onFilterChanged();
  }, [quickFilter, gridApi, store]);
  const isExternalFilterPresent = useCallback(() => matcherRef.current !== undefined, []);
  const doesExternalFilterPass = useCallback((node: IRowNode<VehicleRow>) => !node.data || !!matcherRef.current?.(node.data.id), []);

  const onGridReady = useCallback((e: GridReadyEvent<VehicleRow>) => {
    apiRef.current = e.api;
    setGridApi(e.api);
  }, []);

  // Store → grid, once the grid exists: first load as rowData, then transactions only.
  useEffect(() => {
    const api = gridApi;
    if (!api) return;
    const inGrid = new Set<string>();
    const initial = [...store.allIds()].map((id) => rowFor(store, id));
    for (const r of initial) inGrid.add(r.id);
    api.setGridOption('rowData', initial);

    let pending = new Set<string>();
    let resetPending = false;
    let frame = 0;
    const flush = () => {
      frame = 0;
      if (api.isDestroyed()) return;
      const add: VehicleRow[] = [];
      const update: VehicleRow[] = [];
      const remove: VehicleRow[] = [];
      const ids = resetPending ? store.allIds() : pending;
      if (resetPending) {
        for (const id of inGrid) {
          if (!ids.has(id)) {
            remove.push({ id, info: undefined, live: undefined });
            inGrid.delete(id);
          }
        }
      }
      for (const id of ids) {
        const row = rowFor(store, id);
        if (inGrid.has(id)) update.push(row);
        else {
          add.push(row);
          inGrid.add(id);
        }
      }
      pending = new Set();
      resetPending = false;
      if (add.length || update.length || remove.length) api.applyTransactionAsync({ add, update, remove });
    };
    const unsubscribe = index.subscribe((change) => {
      if (change.kind === 'reset') resetPending = true;
      else {
        for (const v of change.upserts) pending.add(v.id);
        for (const info of change.registry) pending.add(info.id);
        for (const id of change.restyled) pending.add(id);
      }
      if (!frame && (resetPending || pending.size)) frame = requestAnimationFrame(flush);
    });
    // "Last seen" is relative to now: refresh that column only, once a second (rendered rows only).
    const clock = setInterval(() => {
      if (!api.isDestroyed()) api.refreshCells({ columns: [LAST_SEEN_COL], force: true, suppressFlash: true });
    }, 1000);
    // Replica vehicles changed (plate fallback, service state): re-read those columns on the rendered rows.
    const unsubscribeReplica = replicaVehicles.subscribe(() => {
      if (!api.isDestroyed()) api.refreshCells({ columns: REPLICA_COLS, force: true, suppressFlash: true });
    });
    return () => {
      unsubscribe();
      unsubscribeReplica();
      cancelAnimationFrame(frame);
      clearInterval(clock);
    };
  }, [store, index, gridApi]);

  // Selection from the map or the search box: select the row and scroll it into view.
  useEffect(() => {
    const api = gridApi;
    if (!api || api.isDestroyed()) return;
    if (!selection.id) {
      api.deselectAll();
      return;
    }
    const node = api.getRowNode(selection.id);
    if (!node) return;
    if (!node.isSelected()) node.setSelected(true, true);
    if (selection.source !== 'grid') api.ensureNodeVisible(node, 'middle');
  }, [gridApi, selection.id, selection.source, selection.nonce]);

  const onRowClicked = useCallback(
    (e: RowClickedEvent<VehicleRow>) => {
      if (e.data) onSelect(e.data.id, 'grid');
    },
    [onSelect],
  );

  // Keyboard: Enter (or Space) on a focused cell selects that row's car, as a click does.
  const onCellKeyDown = useCallback(
    (e: CellKeyDownEvent<VehicleRow>) => {
      const key = (e.event as KeyboardEvent | null)?.key;
      if ((key === 'Enter' || key === ' ') && e.data) onSelect(e.data.id, 'grid');
    },
    [onSelect],
  );

  const onModelUpdated = useCallback(() => {
    const api = apiRef.current;
    if (!api) return;
    const count = api.getDisplayedRowCount();
    containerRef.current?.setAttribute('data-row-count', String(count));
    onDisplayedCountRef.current(count);
  }, []);

  return (
    <div className="vehicle-grid" data-testid="vehicle-grid" data-row-count="0" ref={containerRef}>
      <AgGridReact<VehicleRow>
        theme={vehicleGridTheme}
        columnDefs={columnDefs}
        defaultColDef={defaultColDef}
        getRowId={getRowId}
        rowSelection={rowSelection}
        context={context}
        isExternalFilterPresent={isExternalFilterPresent}
        doesExternalFilterPass={doesExternalFilterPass}
        onGridReady={onGridReady}
        onRowClicked={onRowClicked}
        onCellKeyDown={onCellKeyDown}
        onModelUpdated={onModelUpdated}
        animateRows={false}
        tooltipShowDelay={400}
        suppressScrollOnNewData
        asyncTransactionWaitMillis={100}
      />
    </div>
  );
}
