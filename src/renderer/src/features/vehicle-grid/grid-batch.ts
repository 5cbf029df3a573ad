/**
 * The grid's batch of changes between two animation frames: the cars the business-state index reported changed
 * (store deltas and restyled cars) or a reset, turned into one AG Grid transaction when the frame comes. Rows are
 * read from the store when the batch is taken, so however many frames changed a car meanwhile, the transaction holds
 * its latest state once (coalesced, never dropped).
 */
import type { BusinessChange } from '../../data/business-state-index';
import type { VehicleRow } from './vehicle-row';

export interface GridTransaction {
  add: VehicleRow[];
  update: VehicleRow[];
  remove: VehicleRow[];
  /**
   * live data only (telemetry, business states): no registry entry changed, no row came or went — what static
   * columns (see STATIC_COLS) show is as it was, so a grid sorted and filtered by them keeps its order and rows
   */
  liveOnly: boolean;
}

export interface GridRowSource {
  allIds(): Set<string>;
  row(id: string): VehicleRow;
}

export class GridBatch {
  private readonly inGrid: Set<string>;
  private pending = new Set<string>();
  private reset = false;
  private registry = false;

  /** `initial`: the ids of the rows the grid was given as its first rowData. */
  constructor(initial: Iterable<string>) {
    this.inGrid = new Set(initial);
  }

  /** Notes a change; true when the batch holds something to apply. */
  note(change: BusinessChange): boolean {
    if (change.kind === 'reset') this.reset = true;
    else {
      for (const v of change.upserts) this.pending.add(v.id);
      for (const info of change.registry) this.pending.add(info.id);
      for (const id of change.restyled) this.pending.add(id);
      if (change.registry.length > 0) this.registry = true;
    }
    return this.reset || this.pending.size > 0;
  }

  /**
   * The cars of a live-only batch (every one already a row, no reset, no registry change), taken; undefined — and the
   * batch left for `take` — otherwise. For a grid whose order and filters rest on static columns alone: such a batch
   * cannot move a row or change which rows show, so the rows' data can be updated in place and only the rows on screen
   * redrawn, instead of a transaction that makes the grid visit every changed row.
   */
  takeLive(): Set<string> | undefined {
    if (this.reset || this.registry || this.pending.size === 0) return undefined;
    for (const id of this.pending) if (!this.inGrid.has(id)) return undefined;
    const ids = this.pending;
    this.pending = new Set();
    return ids;
  }

  /** The transaction for everything noted since the last take (the latest rows from `source`), or undefined if none. */
  take(source: GridRowSource): GridTransaction | undefined {
    const add: VehicleRow[] = [];
    const update: VehicleRow[] = [];
    const remove: VehicleRow[] = [];
    const ids = this.reset ? source.allIds() : this.pending;
    if (this.reset) {
      for (const id of this.inGrid) {
        if (!ids.has(id)) {
          remove.push({ id, info: undefined, live: undefined });
          this.inGrid.delete(id);
        }
      }
    }
    for (const id of ids) {
      const row = source.row(id);
      if (this.inGrid.has(id)) update.push(row);
      else {
        add.push(row);
        this.inGrid.add(id);
      }
    }
    const liveOnly = !this.reset && !this.registry && add.length === 0 && remove.length === 0;
    this.pending = new Set();
    this.reset = false;
    this.registry = false;
    if (!add.length && !update.length && !remove.length) return undefined;
    return { add, update, remove, liveOnly };
  }
}
