/** The spatial grid: the ring search must answer exactly what a brute-force scan answers. */
import { describe, expect, it } from 'vitest';
import { AvailabilityGrid, distanceMeters, entryJson, type AvailabilityEntry } from './availability.js';

function entry(vehicleId: string, lat: number, lon: number): AvailabilityEntry {
  const e: Omit<AvailabilityEntry, 'json'> = {
    vehicleId,
    vehicleTypeId: 't',
    make: 'M',
    model: 'X',
    propulsion: 'electric',
    lat,
    lon,
    energyPct: 50,
    rangeMeters: 150_000,
    lastReportedAt: 0,
    lastReportedIso: new Date(0).toISOString(),
    reserved: false,
    disabled: false,
  };
  return { ...e, json: entryJson(e) };
}

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bruteForce(all: AvailabilityEntry[], lat: number, lon: number, radiusM: number, limit: number) {
  return all
    .map((e) => ({ id: e.vehicleId, d: distanceMeters(lat, lon, e.lat, e.lon) }))
    .filter((x) => x.d <= radiusM)
    .sort((a, b) => a.d - b.d || (a.id < b.id ? -1 : 1))
    .slice(0, limit)
    .map((x) => x.id);
}

describe('AvailabilityGrid', () => {
  it('measures distances like the haversine formula at city scale', () => {
    // Brandenburger Tor → Alexanderplatz ≈ 2.3 km
    const d = distanceMeters(52.5163, 13.3777, 52.5219, 13.4132);
    expect(d).toBeGreaterThan(2_350);
    expect(d).toBeLessThan(2_500);
    expect(distanceMeters(52.5, 13.4, 52.5, 13.4)).toBe(0);
    // 0.01° of latitude ≈ 1,112 m anywhere
    expect(distanceMeters(10, 0, 10.01, 0)).toBeCloseTo(1_111.95, 0);
  });

  it('finds the nearest first, within the radius, at most `limit` — the same as a brute-force scan', () => {
    const random = rng(42);
    const all: AvailabilityEntry[] = [];
    const grid = new AvailabilityGrid();
    for (let i = 0; i < 3_000; i++) {
      const e = entry(`v${String(i).padStart(5, '0')}`, 52.45 + random() * 0.12, 13.3 + random() * 0.2);
      all.push(e);
      grid.put(e);
    }
    expect(grid.size).toBe(3_000);
    for (let q = 0; q < 300; q++) {
      const lat = 52.43 + random() * 0.16;
      const lon = 13.28 + random() * 0.24;
      const radius = [50, 300, 1_000, 2_500, 10_000, 50_000][q % 6]!;
      const limit = [1, 5, 20, 100][q % 4]!;
      const hits = grid.search(lat, lon, radius, limit);
      expect(hits.map((h) => h.entry.vehicleId)).toEqual(bruteForce(all, lat, lon, radius, limit));
      expect(hits.every((h, i) => h.distanceM <= radius && (i === 0 || h.distanceM >= hits[i - 1]!.distanceM))).toBe(true);
    }
  });

  it('stays exact when the ring walk stops early (20,000 cars in the inner city, the shape of the bench)', () => {
    const random = rng(7);
    const all: AvailabilityEntry[] = [];
    const grid = new AvailabilityGrid();
    for (let i = 0; i < 20_000; i++) {
      const e = entry(`c${i}`, 52.488 + random() * 0.057, 13.335 + random() * 0.13);
      all.push(e);
      grid.put(e);
    }
    for (let q = 0; q < 60; q++) {
      const lat = 52.488 + random() * 0.057;
      const lon = 13.335 + random() * 0.13;
      const [radius, limit] = (
        [
          [1_000, 20],
          [200, 100],
          [5_000, 1],
          [30, 5],
        ] as const
      )[q % 4]!;
      expect(grid.search(lat, lon, radius, limit).map((h) => h.entry.vehicleId)).toEqual(bruteForce(all, lat, lon, radius, limit));
    }
  });

  it('moves, replaces and removes vehicles', () => {
    const grid = new AvailabilityGrid();
    grid.put(entry('a', 52.5, 13.4));
    grid.put(entry('b', 52.501, 13.4));
    expect(grid.search(52.5, 13.4, 500, 10).map((h) => h.entry.vehicleId)).toEqual(['a', 'b']);
    grid.put(entry('a', 52.51, 13.45)); // moved ~3.6 km away: another cell
    expect(grid.search(52.5, 13.4, 500, 10).map((h) => h.entry.vehicleId)).toEqual(['b']);
    expect(grid.search(52.51, 13.45, 100, 10).map((h) => h.entry.vehicleId)).toEqual(['a']);
    expect(grid.size).toBe(2);
    grid.remove('b');
    grid.remove('nope');
    expect(grid.search(52.5, 13.4, 500, 10)).toEqual([]);
    expect(grid.get('a')?.lat).toBe(52.51);
    expect(grid.size).toBe(1);
  });

  it('works across the antimeridian side of the cell keys and near the poles, and with an empty grid', () => {
    const grid = new AvailabilityGrid();
    expect(grid.search(0, 0, 1000, 5)).toEqual([]);
    grid.put(entry('west', -33.9, -70.6));
    grid.put(entry('north', 78.2, 15.6));
    expect(grid.search(-33.9, -70.6, 10, 5).map((h) => h.entry.vehicleId)).toEqual(['west']);
    expect(grid.search(78.2001, 15.6, 100, 5).map((h) => h.entry.vehicleId)).toEqual(['north']);
    expect(grid.search(0, 0, 50_000, 0)).toEqual([]);
  });

  it('breaks distance ties by vehicle id', () => {
    const grid = new AvailabilityGrid();
    for (const id of ['c', 'a', 'b']) grid.put(entry(id, 52.5, 13.4));
    expect(grid.search(52.5, 13.4, 10, 2).map((h) => h.entry.vehicleId)).toEqual(['a', 'b']);
  });
});
