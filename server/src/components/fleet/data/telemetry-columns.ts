/**
 * The telemetry columns that the latest state and the history share, and telemetry rows held column-wise: what the
 * history buffer keeps between writes and what the writers bulk-load (binary COPY on PostgreSQL). Column-wise,
 * because at 20,000 messages per second an object per row that lives until its write (and through any backlog)
 * is most of the garbage collector's work; here a row is a few numbers in typed arrays and a shared id string.
 */
import type { TelemetrySample } from '../../../../../src/shared/fleet.js';
import { CopyBinaryWriter } from '../../../platform/db/copy-binary.js';
import type { HistoryRow } from './telemetry-history.repository.js';

export const TELEMETRY_COLUMNS = 'lat, lon, speed_kph, heading_deg, energy_pct, odometer_km, ignition, locked, doors_closed';

/** Numbers per row, in this order: */
const SEQ = 0;
const DEVICE_TS = 1;
const RECEIVED_AT = 2;
const LAT = 3;
const LON = 4;
const SPEED = 5;
const HEADING = 6;
const ENERGY = 7;
const ODOMETER = 8;
const SKEW = 9;
const NUMBERS = 10;
const IGNITION = 1;
const LOCKED = 2;
const DOORS_CLOSED = 4;

/** A fixed-capacity block of history rows (one write's worth). */
export class TelemetryRows {
  private readonly ids: string[];
  private readonly numbers: Float64Array;
  private readonly flags: Uint8Array;
  /** rows before `start` were dropped (buffer over capacity) */
  private start = 0;
  private end = 0;

  constructor(readonly capacity: number) {
    this.ids = new Array<string>(capacity);
    this.numbers = new Float64Array(capacity * NUMBERS);
    this.flags = new Uint8Array(capacity);
  }

  static from(rows: readonly HistoryRow[]): TelemetryRows {
    const block = new TelemetryRows(Math.max(1, rows.length));
    for (const r of rows) block.push(r.vehicleId, r, r.receivedAt, r.clockSkewMs);
    return block;
  }

  get length(): number {
    return this.end - this.start;
  }

  get full(): boolean {
    return this.end >= this.capacity;
  }

  /** Appends one row (the caller checks `full` first). */
  push(vehicleId: string, s: TelemetrySample, receivedAt: number, clockSkewMs: number): void {
    const i = this.end++;
    const n = this.numbers;
    const o = i * NUMBERS;
    this.ids[i] = vehicleId;
    n[o + SEQ] = s.seq;
    n[o + DEVICE_TS] = s.deviceTs;
    n[o + RECEIVED_AT] = receivedAt;
    n[o + LAT] = s.lat;
    n[o + LON] = s.lon;
    n[o + SPEED] = s.speedKph;
    n[o + HEADING] = s.headingDeg;
    n[o + ENERGY] = s.energyPct;
    n[o + ODOMETER] = s.odometerKm;
    n[o + SKEW] = clockSkewMs;
    this.flags[i] = (s.ignition ? IGNITION : 0) | (s.locked ? LOCKED : 0) | (s.doorsClosed ? DOORS_CLOSED : 0);
  }

  /** Forgets the oldest `count` rows. */
  dropFirst(count: number): void {
    for (let i = this.start; i < Math.min(this.end, this.start + count); i++) this.ids[i] = '';
    this.start = Math.min(this.end, this.start + count);
  }

  /** Empties the block for reuse. */
  clear(): void {
    this.ids.fill('', this.start, this.end);
    this.start = this.end = 0;
  }

  /** Row `k` (0 = oldest) as an object: for the parameterised path and for tests, not for the hot path. */
  row(k: number): HistoryRow {
    const i = this.start + k;
    const n = this.numbers;
    const o = i * NUMBERS;
    const f = this.flags[i]!;
    return {
      vehicleId: this.ids[i]!,
      seq: n[o + SEQ]!,
      deviceTs: n[o + DEVICE_TS]!,
      receivedAt: n[o + RECEIVED_AT]!,
      lat: n[o + LAT]!,
      lon: n[o + LON]!,
      speedKph: n[o + SPEED]!,
      headingDeg: n[o + HEADING]!,
      energyPct: n[o + ENERGY]!,
      odometerKm: n[o + ODOMETER]!,
      ignition: (f & IGNITION) !== 0,
      locked: (f & LOCKED) !== 0,
      doorsClosed: (f & DOORS_CLOSED) !== 0,
      clockSkewMs: n[o + SKEW]!,
    };
  }

  toRows(): HistoryRow[] {
    return Array.from({ length: this.length }, (_, k) => this.row(k));
  }

  /**
   * The rows as binary COPY input for `copy telemetry_history (HISTORY_COPY_COLUMNS) from stdin (format binary)`.
   */
  toCopyBinary(): Buffer {
    const w = new CopyBinaryWriter(this.length * 160 + 64);
    const n = this.numbers;
    for (let i = this.start; i < this.end; i++) {
      const o = i * NUMBERS;
      w.row(14);
      w.text(this.ids[i]!);
      w.float8(n[o + LAT]!);
      w.float8(n[o + LON]!);
      w.float8(n[o + SPEED]!);
      w.float8(n[o + HEADING]!);
      w.float8(n[o + ENERGY]!);
      w.float8(n[o + ODOMETER]!);
      const f = this.flags[i]!;
      w.bool((f & IGNITION) !== 0);
      w.bool((f & LOCKED) !== 0);
      w.bool((f & DOORS_CLOSED) !== 0);
      w.int8(n[o + SEQ]!);
      w.int8(n[o + DEVICE_TS]!);
      w.timestamptz(n[o + RECEIVED_AT]!);
      w.int8(Math.round(n[o + SKEW]!));
    }
    return w.finish();
  }
}

/** The column list of TelemetryRows.toCopyBinary, in its order. */
export const HISTORY_COPY_COLUMNS = `vehicle_id, ${TELEMETRY_COLUMNS}, seq, device_ts, received_at, clock_skew_ms`;
