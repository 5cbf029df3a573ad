import { describe, expect, it } from 'vitest';
import type { TelemetrySample } from '../../../../../src/shared/fleet.js';
import type { TelemetryRows } from '../data/telemetry-columns.js';
import { HistoryBuffer } from './history-buffer.js';

const sample = (seq: number): TelemetrySample => ({
  seq,
  deviceTs: seq,
  lat: 0,
  lon: 0,
  speedKph: 0,
  headingDeg: 0,
  energyPct: 1,
  odometerKm: 1,
  ignition: false,
  locked: true,
  doorsClosed: true,
});
const push = (b: HistoryBuffer, seq: number) => b.push('a', sample(seq), seq, 0);
const seqs = (rows: TelemetryRows | undefined) => rows?.toRows().map((r) => r.seq) ?? [];

describe('HistoryBuffer', () => {
  it('hands out chunks oldest first, every field as pushed', () => {
    const b = new HistoryBuffer({ capacity: 100, chunkRows: 3 });
    for (let i = 1; i <= 7; i++) push(b, i);
    expect(b.size).toBe(7);
    const first = b.take();
    expect(first?.row(0)).toEqual({ vehicleId: 'a', ...sample(1), receivedAt: 1, clockSkewMs: 0 });
    expect(seqs(first)).toEqual([1, 2, 3]);
    expect(seqs(b.take())).toEqual([4, 5, 6]);
    expect(seqs(b.take())).toEqual([7]);
    expect(b.take()).toBeUndefined();
    expect(b.size).toBe(0);
  });

  it('never holds more than its capacity: the oldest rows are dropped and counted', () => {
    let dropped = 0;
    const b = new HistoryBuffer({ capacity: 10, chunkRows: 4, onDropped: (n) => (dropped += n) });
    for (let i = 1; i <= 1_000; i++) push(b, i);
    expect(b.size).toBeLessThanOrEqual(10);
    expect(dropped + b.size).toBe(1_000);
    const kept: number[] = [];
    for (let c = b.take(); c; c = b.take()) kept.push(...seqs(c));
    // the newest survive, in order, without gaps
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => 1_001 - kept.length + i));
  });

  it('cuts a lone chunk row-wise when the capacity is below one chunk', () => {
    let dropped = 0;
    const b = new HistoryBuffer({ capacity: 3, chunkRows: 10, onDropped: (n) => (dropped += n) });
    for (let i = 1; i <= 5; i++) push(b, i);
    expect(dropped).toBe(2);
    expect(seqs(b.take())).toEqual([3, 4, 5]);
  });

  it('puts a failed chunk back in front, within the capacity', () => {
    let dropped = 0;
    const b = new HistoryBuffer({ capacity: 5, chunkRows: 3, onDropped: (n) => (dropped += n) });
    for (let i = 1; i <= 3; i++) push(b, i);
    const chunk = b.take()!;
    for (let i = 4; i <= 6; i++) push(b, i);
    b.putBack(chunk);
    expect(b.size + dropped).toBe(6);
    expect(b.size).toBeLessThanOrEqual(5);
  });

  it('reuses a written chunk for new rows, emptied', () => {
    const b = new HistoryBuffer({ capacity: 100, chunkRows: 2 });
    push(b, 1);
    push(b, 2);
    const written = b.take()!;
    b.recycle(written);
    push(b, 3);
    const next = b.take();
    expect(next).toBe(written);
    expect(seqs(next)).toEqual([3]);
  });
});
