import { describe, expect, it } from 'vitest';
import { vehicleMatcher } from './vehicle-match';

const plates: Record<string, string> = { 'veh-00001': 'B-FD 101', 'veh-00002': 'M-XY 202' };
const plateOf = (id: string) => plates[id] ?? id;

describe('vehicleMatcher (the search box, for grid and map)', () => {
  it('matches nothing-filtering for an empty query', () => {
    expect(vehicleMatcher('   ', plateOf)).toBeUndefined();
  });

  it('matches plate words case-insensitively, with or without the space, and ids', () => {
    const m = vehicleMatcher('fd 101', plateOf)!;
    expect(m('veh-00001')).toBe(true);
    expect(m('veh-00002')).toBe(false);
    expect(vehicleMatcher('b-fd101', plateOf)!('veh-00001')).toBe(true);
    expect(vehicleMatcher('VEH-00002', plateOf)!('veh-00002')).toBe(true);
    expect(vehicleMatcher('veh-0000', plateOf)!('veh-00002')).toBe(true);
  });
});

describe('vehicleMatcher answers again for a car whose plate changed', () => {
  it('re-reads the plate on every call and recomputes only when it changed', () => {
    const current: Record<string, string> = { 'veh-00001': 'B-FD 101' };
    let reads = 0;
    const m = vehicleMatcher('fd 101', (id) => {
      reads++;
      return current[id] ?? id;
    })!;
    expect(m('veh-00001')).toBe(true);
    expect(m('veh-00001')).toBe(true);
    expect(reads).toBe(2);
    current['veh-00001'] = 'B-XY 999'; // re-registered with another plate
    expect(m('veh-00001')).toBe(false);
    current['veh-00001'] = 'B-FD 101';
    expect(m('veh-00001')).toBe(true);
  });
});
