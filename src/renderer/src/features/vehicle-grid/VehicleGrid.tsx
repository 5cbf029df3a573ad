/**
 * The vehicles grid. Rows are keyed by vehicle id (`getRowId`) and, after the first load, change once per animation
 * frame (the changes of every fleet frame that arrived since) — never by handing the grid a new `rowData`. While the
 * grid is sorted and filtered by static columns only (the default, by plate), live changes cannot move a row: the
 * changed rows' data is updated in place and only the rows on screen are redrawn. Otherwise one `applyTransaction`
 * carries the batch and `deltaSort` re-sorts only the rows that changed. It follows the business-state index (the
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
import { LAST_SEEN_COL, REPLICA_COLS, STATIC_COLS, columnDefs, defaultColDef, type GridContext } from './columns';
import { GridBatch, type GridRowSource } from './grid-batch';
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

  // Store → grid, once the grid exists: first load as rowData, then once per animation frame the cars changed since.
  useEffect(() => {
    const api = gridApi;
    if (!api) return;
    // the row objects the grid holds, by id: a live-only batch updates them in place (see below)
    const rowObjects = new Map<string, VehicleRow>();
    const toRow = (id: string) => {
      const row = rowFor(store, id);
      rowObjects.set(id, row);
      return row;
    };
    const initial = [...store.allIds()].map(toRow);
    api.setGridOption('rowData', initial);
    const batch = new GridBatch(initial.map((r) => r.id));
    const rows: GridRowSource = { allIds: () => store.allIds(), row: toRow };
    let frame = 0;
    // Sorted and filtered by static columns only (the default: by plate)? Then a batch of live changes can neither move
    // a row nor change which rows the filters leave (see STATIC_COLS).
    let orderIsStatic = true;
    const recheckOrder = () => {
      if (api.isDestroyed()) return;
      const sorted = api
        .getColumnState()
        .filter((c) => c.sort)
        .map((c) => c.colId);
      const filtered = Object.keys(api.getFilterModel() ?? {});
      orderIsStatic = [...sorted, ...filtered].every((id) => STATIC_COLS.has(id));
    };
    recheckOrder();
    api.addEventListener('sortChanged', recheckOrder);
    api.addEventListener('filterChanged', recheckOrder);
    const flush = () => {
      frame = 0;
      if (api.isDestroyed()) return;
      // Live changes under a static order: each changed row's data takes the car's latest state in place, and only the
      // rows on screen among them are redrawn (their changed cells). 20,000 cars at 1 Hz are ~2,000 changed rows per
      // frame, of which a few dozen are on screen: a transaction made the grid visit, re-key and signal every one of
      // them, the desk's largest main-thread cost at fleet scale. The rows off screen show their latest state when
      // scrolled to; the CSV export reads the same data.
      const live = orderIsStatic ? batch.takeLive() : undefined;
      if (live) {
        for (const id of live) {
          const row = rowObjects.get(id);
          if (row) row.live = store.live.get(id);
        }
        const onScreen = api.getRenderedNodes().filter((node) => node.id !== undefined && live.has(node.id));
        if (onScreen.length > 0) api.refreshCells({ rowNodes: onScreen });
        return;
      }
      const tx = batch.take(rows);
      if (!tx) return;
      for (const row of tx.remove) rowObjects.delete(row.id);
      // Already one batch per animation frame: applied at once (an async transaction would wait another
      // asyncTransactionWaitMillis before the changed cells show). `deltaSort` re-sorts only these rows.
      api.applyTransaction({ add: tx.add, update: tx.update, remove: tx.remove });
    };
    const unsubscribe = index.subscribe((change) => {
      if (batch.note(change) && !frame) frame = requestAnimationFrame(flush);
    });
    // "Last seen" is relative to now: refresh that column only, once a second (rendered rows only).
    const clock = setInterval(() => {
      if (!api.isDestroyed()) api.refreshCells({ columns: [LAST_SEEN_COL], force: true, suppressFlash: true });
    }, 1000);
    // Replica vehicles changed: only a plate, home zone or service state (or a car coming or going) changes what the
    // grid shows from the replica and what its static order and filters rest on — then re-read those cells and run
    // the grid's filter and sort again (a batch of live changes skips them, see above). Coarse positions and
    // last-seen times, most of the replica's changes, need neither.
    // At most once a second: while the replica's first sync streams 20,000 vehicles in, every batch brings new cars,
    // and a filter and sort pass per batch cost the desk its frames.
    let seenOrderVersion = replicaVehicles.orderVersion();
    let replicaTimer: ReturnType<typeof setTimeout> | undefined;
    const applyReplica = () => {
      replicaTimer = undefined;
      const version = replicaVehicles.orderVersion();
      if (version === seenOrderVersion || api.isDestroyed()) return;
      seenOrderVersion = version;
      api.refreshCells({ columns: REPLICA_COLS, force: true, suppressFlash: true });
      api.onFilterChanged();
    };
    const unsubscribeReplica = replicaVehicles.subscribe(() => {
      if (replicaVehicles.orderVersion() !== seenOrderVersion) replicaTimer ??= setTimeout(applyReplica, 1_000);
    });
    return () => {
      unsubscribe();
      unsubscribeReplica();
      if (!api.isDestroyed()) {
        api.removeEventListener('sortChanged', recheckOrder);
        api.removeEventListener('filterChanged', recheckOrder);
      }
      cancelAnimationFrame(frame);
      clearInterval(clock);
      clearTimeout(replicaTimer);
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
        deltaSort
      />
    </div>
  );
}
