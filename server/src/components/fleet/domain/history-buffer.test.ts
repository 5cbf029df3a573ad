import { describe, expect, it } from 'vitest';
import type { HistoryRow } from '../data/telemetry-history.repository.js';
import { HistoryBuffer } from './history-buffer.js';

const row = (seq: number): HistoryRow => ({
  vehicleId: 'a',
  seq,
  deviceTs: seq,
  receivedAt: seq,
  lat: 0,
  lon: 0,
  speedKph: 0,
  headingDeg: 0,
  energyPct: 1,
  odometerKm: 1,
  ignition: false,
  locked: true,
  doorsClosed: true,
  clockSkewMs: 0,
});

describe('HistoryBuffer', () => {
  it('hands out chunks oldest first', () => {
    const b = new HistoryBuffer({ capacity: 100, chunkRows: 3 });
    for (let i = 1; i <= 7; i++) b.push(row(i));
    expect(b.size).toBe(7);
    expect(b.take().map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(b.take().map((r) => r.seq)).toEqual([4, 5, 6]);
    expect(b.take().map((r) => r.seq)).toEqual([7]);
    expect(b.take()).toEqual([]);
    expect(b.size).toBe(0);
  });

  it('never holds more than its capacity: the oldest rows are dropped and counted', () => {
    let dropped = 0;
    const b = new HistoryBuffer({ capacity: 10, chunkRows: 4, onDropped: (n) => (dropped += n) });
    for (let i = 1; i <= 1_000; i++) b.push(row(i));
    expect(b.size).toBeLessThanOrEqual(10);
    expect(dropped + b.size).toBe(1_000);
    const kept: number[] = [];
    for (let c = b.take(); c.length > 0; c = b.take()) kept.push(...c.map((r) => r.seq));
    expect(kept.at(-1)).toBe(1_000); // the newest survive
  });

  it('puts a failed chunk back in front, within the capacity', () => {
    let dropped = 0;
    const b = new HistoryBuffer({ capacity: 5, chunkRows: 3, onDropped: (n) => (dropped += n) });
    for (let i = 1; i <= 3; i++) b.push(row(i));
    const chunk = b.take();
    for (let i = 4; i <= 6; i++) b.push(row(i));
    b.putBack(chunk);
    expect(b.size + dropped).toBe(6);
    expect(b.size).toBeLessThanOrEqual(5);
  });
});
