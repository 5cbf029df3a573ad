/**
 * Telemetry waiting to be written to the history table. Bounded: when the database cannot keep up (or is
 * down), the oldest rows beyond `capacity` are dropped and counted instead of growing memory without limit —
 * the latest state (one entry per vehicle) is still written, only history has gaps.
 */
import type { HistoryRow } from '../data/telemetry-history.repository.js';

export interface HistoryBufferOptions {
  /** most rows held in memory */
  capacity: number;
  /** rows per write (one multi-row statement) */
  chunkRows: number;
  onDropped?: (rows: number) => void;
}

export class HistoryBuffer {
  /** FIFO of chunks, each at most chunkRows long; the last one is being filled */
  private chunks: HistoryRow[][] = [];
  private count = 0;

  constructor(private readonly options: HistoryBufferOptions) {}

  get size(): number {
    return this.count;
  }

  push(row: HistoryRow): void {
    let last = this.chunks[this.chunks.length - 1];
    if (!last || last.length >= this.options.chunkRows) {
      last = [];
      this.chunks.push(last);
    }
    last.push(row);
    this.count += 1;
    this.trim();
  }

  /** The oldest chunk (up to chunkRows rows), removed from the buffer; [] when empty. */
  take(): HistoryRow[] {
    const first = this.chunks.shift();
    if (!first) return [];
    this.count -= first.length;
    return first;
  }

  /** A chunk whose write failed goes back in front (oldest first); what exceeds the capacity is dropped. */
  putBack(rows: HistoryRow[]): void {
    if (rows.length === 0) return;
    this.chunks.unshift(rows);
    this.count += rows.length;
    this.trim();
  }

  private trim(): void {
    let excess = this.count - this.options.capacity;
    if (excess <= 0) return;
    let dropped = 0;
    while (excess > 0 && this.chunks.length > 0) {
      const first = this.chunks[0]!;
      // Whole oldest chunks go (cheap); only a lone chunk is cut row-wise.
      if (first.length <= excess || this.chunks.length > 1) {
        this.chunks.shift();
        excess -= first.length;
        dropped += first.length;
        if (excess < 0) excess = 0;
      } else {
        first.splice(0, excess);
        dropped += excess;
        excess = 0;
      }
    }
    this.count -= dropped;
    if (dropped > 0) this.options.onDropped?.(dropped);
  }
}
