/**
 * Telemetry waiting to be written to the history table. Bounded: when the database cannot keep up (or is
 * down), the oldest rows beyond `capacity` are dropped and counted instead of growing memory without limit —
 * the latest state (one entry per vehicle) is still written, only history has gaps.
 *
 * Rows are kept column-wise in blocks of `chunkRows` (TelemetryRows: no object per message); a block is one write,
 * and written blocks are reused.
 */
import type { TelemetrySample } from '../../../../../src/shared/fleet.js';
import { TelemetryRows } from '../data/telemetry-columns.js';

export interface HistoryBufferOptions {
  /** most rows held in memory */
  capacity: number;
  /** rows per write (one COPY or multi-row statement) */
  chunkRows: number;
  onDropped?: (rows: number) => void;
}

/** Written blocks kept for reuse (beyond: left to the garbage collector). */
const SPARE_BLOCKS = 4;

export class HistoryBuffer {
  /** FIFO of blocks; the last one is being filled */
  private chunks: TelemetryRows[] = [];
  private readonly spare: TelemetryRows[] = [];
  private count = 0;

  constructor(private readonly options: HistoryBufferOptions) {}

  get size(): number {
    return this.count;
  }

  push(vehicleId: string, sample: TelemetrySample, receivedAt: number, clockSkewMs: number): void {
    let last = this.chunks[this.chunks.length - 1];
    if (!last || last.full) {
      last = this.spare.pop() ?? new TelemetryRows(this.options.chunkRows);
      this.chunks.push(last);
    }
    last.push(vehicleId, sample, receivedAt, clockSkewMs);
    this.count += 1;
    this.trim();
  }

  /** The oldest block (up to chunkRows rows), removed from the buffer; undefined when empty. */
  take(): TelemetryRows | undefined {
    const first = this.chunks.shift();
    if (first) this.count -= first.length;
    return first;
  }

  /** A block whose write failed goes back in front (oldest first); what exceeds the capacity is dropped. */
  putBack(rows: TelemetryRows): void {
    if (rows.length === 0) return;
    this.chunks.unshift(rows);
    this.count += rows.length;
    this.trim();
  }

  /** A block that was written: its memory serves the next rows. */
  recycle(rows: TelemetryRows): void {
    if (rows.capacity !== this.options.chunkRows || this.spare.length >= SPARE_BLOCKS) return;
    rows.clear();
    this.spare.push(rows);
  }

  private trim(): void {
    let excess = this.count - this.options.capacity;
    if (excess <= 0) return;
    let dropped = 0;
    while (excess > 0 && this.chunks.length > 0) {
      const first = this.chunks[0]!;
      // Whole oldest blocks go (cheap); only a lone block is cut row-wise.
      if (first.length <= excess || this.chunks.length > 1) {
        this.chunks.shift();
        excess -= first.length;
        dropped += first.length;
        if (excess < 0) excess = 0;
      } else {
        first.dropFirst(excess);
        dropped += excess;
        excess = 0;
      }
    }
    this.count -= dropped;
    if (dropped > 0) this.options.onDropped?.(dropped);
  }
}
