import { describe, expect, it } from 'vitest';
import type { VehicleInfo, VehicleLive } from '../../../../shared/fleet.js';
import { liveVehicle } from '../../testing/fixtures';
import { GridBatch, type GridRowSource } from './grid-batch';

/** A store stand-in: the latest live state and registry entry per car. */
function source() {
  const live = new Map<string, VehicleLive>();
  const registry = new Map<string, VehicleInfo>();
  const rows: GridRowSource = {
    allIds: () => new Set([...live.keys(), ...registry.keys()]),
    row: (id) => ({ id, info: registry.get(id), live: live.get(id) }),
  };
  return { live, registry, rows };
}
const delta = (upserts: VehicleLive[], restyled: string[] = [], registry: VehicleInfo[] = []) =>
  ({ kind: 'delta', upserts, registry, restyled }) as const;
const info = (id: string, plate: string): VehicleInfo => ({ id, plate, make: 'VW', model: 'ID.3', energyType: 'electric', homeZone: 'z' });

describe('GridBatch (one grid transaction per animation frame)', () => {
  it('puts the latest state of every car changed since the last frame into one transaction, each car once', () => {
    const s = source();
    const ids = Array.from({ length: 50 }, (_, i) => `veh-${i}`);
    for (const id of ids) s.live.set(id, liveVehicle(id, { speedKph: 0 }));
    const batch = new GridBatch(ids);
    // ten fleet frames before the next animation frame, each moving some cars
    for (let frame = 1; frame <= 10; frame++) {
      const changed = ids.filter((_, i) => i % frame === 0).map((id) => liveVehicle(id, { speedKph: frame }));
      for (const v of changed) s.live.set(v.id, v);
      expect(batch.note(delta(changed))).toBe(true);
    }
    const tx = batch.take(s.rows)!;
    expect(tx.add).toEqual([]);
    expect(tx.remove).toEqual([]);
    expect(tx.liveOnly).toBe(true);
    expect(tx.update.map((r) => r.id).sort()).toEqual([...ids].sort()); // every car (frame 1 changed all), once
    for (const row of tx.update) expect(row.live).toBe(s.live.get(row.id)); // at its latest state
    expect(batch.take(s.rows)).toBeUndefined(); // nothing left over
  });

  it('adds cars the grid does not hold, and a reset removes those the store no longer knows', () => {
    const s = source();
    s.live.set('a', liveVehicle('a'));
    s.live.set('b', liveVehicle('b'));
    const batch = new GridBatch(['a', 'b']);
    const c = liveVehicle('c');
    s.live.set('c', c);
    batch.note(delta([c]));
    const first = batch.take(s.rows)!;
    expect(first.add.map((r) => r.id)).toEqual(['c']);
    expect(first.liveOnly).toBe(false); // a row came: the grid's full pass places it
    s.live.delete('a');
    expect(batch.note({ kind: 'reset' })).toBe(true);
    const second = batch.take(s.rows)!;
    expect(second.remove.map((r) => r.id)).toEqual(['a']);
    expect(second.update.map((r) => r.id).sort()).toEqual(['b', 'c']);
    expect(second.liveOnly).toBe(false);
  });

  it('is not live-only when a registry entry changed (a static column may have)', () => {
    const s = source();
    s.live.set('a', liveVehicle('a'));
    s.registry.set('a', info('a', 'B-A 1'));
    const batch = new GridBatch(['a']);
    s.registry.set('a', info('a', 'B-A 2'));
    batch.note(delta([], [], [info('a', 'B-A 2')]));
    const tx = batch.take(s.rows)!;
    expect(tx.liveOnly).toBe(false);
    expect(tx.update[0]!.info?.plate).toBe('B-A 2');
    // restyled cars (a business state changed for a replica reason) are live data: their rows are updated
    batch.note(delta([], ['a']));
    expect(batch.take(s.rows)).toMatchObject({ liveOnly: true, update: [{ id: 'a' }] });
  });

  it('hands a live-only batch over as ids (rows updated in place), and leaves any other batch for the transaction', () => {
    const s = source();
    for (const id of ['a', 'b']) s.live.set(id, liveVehicle(id));
    const batch = new GridBatch(['a', 'b']);
    expect(batch.takeLive()).toBeUndefined(); // nothing noted
    batch.note(delta([liveVehicle('a', { speedKph: 5 })], ['b']));
    batch.note(delta([liveVehicle('a', { speedKph: 6 })]));
    expect([...batch.takeLive()!].sort()).toEqual(['a', 'b']); // each car once, a restyled car too
    expect(batch.take(s.rows)).toBeUndefined(); // taken
    // a car the grid does not hold yet: only a transaction can add its row
    const c = liveVehicle('c');
    s.live.set('c', c);
    batch.note(delta([liveVehicle('a', { speedKph: 7 }), c]));
    expect(batch.takeLive()).toBeUndefined();
    const tx = batch.take(s.rows)!;
    expect(tx.add.map((r) => r.id)).toEqual(['c']);
    expect(tx.update.map((r) => r.id)).toEqual(['a']);
    // a registry change or a reset is never live-only
    batch.note(delta([], [], [info('a', 'B-A 3')]));
    expect(batch.takeLive()).toBeUndefined();
    expect(batch.take(s.rows)?.liveOnly).toBe(false);
    batch.note({ kind: 'reset' });
    expect(batch.takeLive()).toBeUndefined();
    expect(batch.take(s.rows)?.liveOnly).toBe(false);
  });
});
