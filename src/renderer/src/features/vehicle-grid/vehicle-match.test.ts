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
