import { describe, expect, it } from 'vitest';
import type { VehicleInfo, VehicleLive } from '../../../shared/fleet.js';
import { alertDoc, liveVehicle, rentalDoc, vehicleDoc } from '../testing/fixtures';
import { BusinessStateIndex, type BusinessChange } from './business-state-index';
import type { FleetChange } from './fleet-store';

const live = liveVehicle;

/** A fleet store stand-in: maps plus a way to push changes, counting reads of `live`. */
function fakeStore(ids: string[]) {
  const listeners = new Set<(c: FleetChange) => void>();
  const liveMap = new Map(ids.map((id) => [id, live(id)]));
  let liveReads = 0;
  const counted = new Proxy(liveMap, {
    get(target, prop) {
      if (prop === 'get' || prop === 'has') liveReads++;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const store = {
    live: counted,
    registry: new Map<string, VehicleInfo>(),
    allIds: () => new Set([...liveMap.keys(), ...store.registry.keys()]),
    subscribe(cb: (c: FleetChange) => void) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
  };
  return {
    store,
    frame(upserts: VehicleLive[], registry: VehicleInfo[] = []) {
      for (const v of upserts) liveMap.set(v.id, v);
      for (const r of registry) store.registry.set(r.id, r);
      for (const l of listeners) l({ kind: 'delta', upserts, registry });
    },
    liveReads: () => liveReads,
  };
}

const flushMicrotasks = () => new Promise<void>((r) => queueMicrotask(r));

function setup(ids = ['veh-1', 'veh-2', 'veh-3'], now = () => 1_000_000) {
  const s = fakeStore(ids);
  const index = new BusinessStateIndex(s.store, now);
  const changes: BusinessChange[] = [];
  index.start();
  index.subscribe((c) => changes.push(c));
  return { ...s, index, changes };
}

describe('BusinessStateIndex', () => {
  it('counts every car the store knows; a registered car never seen is offline', () => {
    const { index, frame } = setup();
    frame([], [{ id: 'veh-9', plate: 'X', make: 'VW', model: 'Up', energyType: 'fuel', homeZone: 'Mitte' }]);
    expect(index.counts()).toMatchObject({ total: 4, available: 3, offline: 1 });
    expect(index.stateOf('veh-9')).toBe('offline');
    index.dispose();
  });

  it('re-derives the cars of a frame and re-emits the frame after it has applied it', () => {
    const { index, frame, changes } = setup();
    let seen: string | undefined;
    index.subscribe((c) => {
      if (c.kind === 'delta' && c.upserts.length) seen = index.stateOf(c.upserts[0]!.id);
    });
    frame([live('veh-2', { online: false })]);
    expect(seen).toBe('offline');
    expect(changes.at(-1)).toMatchObject({ kind: 'delta', upserts: [{ id: 'veh-2' }], restyled: [] });
    expect(index.counts()).toMatchObject({ available: 2, offline: 1 });
    index.dispose();
  });

  it('a frame costs reads of the cars in it, not of the whole fleet', () => {
    const ids = Array.from({ length: 2_000 }, (_, i) => `veh-${i}`);
    const { index, frame, liveReads } = setup(ids);
    const before = liveReads();
    frame([live('veh-7', { speedKph: 30 })]);
    expect(liveReads() - before).toBeLessThan(10);
    expect(index.isMoving('veh-7')).toBe(true);
    index.dispose();
  });

  it('reservation, rental, maintenance and alarm each show, per changed document, announced once per batch', async () => {
    const { index, changes } = setup(['veh-1', 'veh-2', 'veh-3', 'veh-4']);
    index.applyRentals([
      rentalDoc({ id: 'res', vehicleId: 'veh-1', kind: 'reservation', status: 'held', startsAt: 999_000, endsAt: 1_900_000 }),
      rentalDoc({ id: 'ren', vehicleId: 'veh-2', kind: 'rental', status: 'active', startsAt: 900_000, startedAt: 900_000 }),
    ]);
    index.applyVehicles([vehicleDoc({ id: 'veh-3', serviceState: 'maintenance' })]);
    index.applyAlerts([alertDoc({ id: 'crash', vehicleId: 'veh-4', kind: 'crash', severity: 'critical', status: 'open' })]);
    expect(['veh-1', 'veh-2', 'veh-3', 'veh-4'].map((id) => index.stateOf(id))).toEqual(['reserved', 'in_rental', 'maintenance', 'alarm']);
    expect(index.counts()).toMatchObject({ total: 4, available: 0, reserved: 1, in_rental: 1, maintenance: 1, alarm: 1 });
    await flushMicrotasks();
    expect(changes).toEqual([{ kind: 'delta', upserts: [], registry: [], restyled: ['veh-1', 'veh-2', 'veh-3', 'veh-4'] }]);
    expect(index.detail('veh-4').alarms).toEqual(['crash']);
    expect(index.detail('veh-2')).toMatchObject({ claim: { id: 'ren', kind: 'rental' }, claimNow: true });
    index.dispose();
  });

  it('follows each document through its lifecycle back to available', () => {
    const { index } = setup(['veh-1']);
    index.applyRentals([rentalDoc({ id: 'r', kind: 'reservation', status: 'held', startsAt: 999_000 })]);
    index.applyRentals([rentalDoc({ id: 'r', kind: 'reservation', status: 'converted', startsAt: 999_000 })]);
    index.applyRentals([rentalDoc({ id: 'x', kind: 'rental', status: 'active', startsAt: 999_500 })]);
    expect(index.stateOf('veh-1')).toBe('in_rental');
    index.applyRentals([rentalDoc({ id: 'x', kind: 'rental', status: 'ended', startsAt: 999_500 })]);
    expect(index.stateOf('veh-1')).toBe('available');
    index.applyAlerts([alertDoc({ id: 'a', vehicleId: 'veh-1', severity: 'critical', status: 'open' })]);
    expect(index.stateOf('veh-1')).toBe('alarm');
    index.applyAlerts([alertDoc({ id: 'a', vehicleId: 'veh-1', severity: 'critical', status: 'acknowledged' })]);
    index.applyAlerts([alertDoc({ id: 'w', vehicleId: 'veh-1', severity: 'warning', status: 'open' })]);
    expect(index.stateOf('veh-1')).toBe('available');
    index.applyVehicles([vehicleDoc({ id: 'veh-1', serviceState: 'maintenance' })]);
    index.applyVehicles([vehicleDoc({ id: 'veh-1', serviceState: 'available' })]);
    expect(index.counts()).toMatchObject({ total: 1, available: 1 });
    index.dispose();
  });

  it('a document about a car the store does not know yet counts once the car appears', () => {
    const { index, frame } = setup(['veh-1']);
    index.applyAlerts([alertDoc({ id: 'a', vehicleId: 'veh-5', severity: 'critical', status: 'open' })]);
    expect(index.counts().total).toBe(1);
    frame([live('veh-5')]);
    expect(index.stateOf('veh-5')).toBe('alarm');
    expect(index.counts()).toMatchObject({ total: 2, alarm: 1 });
    index.dispose();
  });

  it('a booking whose window opens turns its car reserved on the tick; a lapsed reservation frees it', () => {
    let t = 1_000_000;
    const { index } = setup(['veh-1', 'veh-2'], () => t);
    index.applyRentals([
      rentalDoc({ id: 'b', vehicleId: 'veh-1', kind: 'booking', status: 'confirmed', startsAt: t + 60_000, endsAt: t + 600_000 }),
      rentalDoc({ id: 'h', vehicleId: 'veh-2', kind: 'reservation', status: 'held', startsAt: t - 1, endsAt: t + 30_000 }),
    ]);
    expect([index.stateOf('veh-1'), index.stateOf('veh-2')]).toEqual(['available', 'reserved']);
    t += 61_000;
    index.tick();
    expect([index.stateOf('veh-1'), index.stateOf('veh-2')]).toEqual(['reserved', 'available']);
    index.dispose();
  });

  it('forgets the replica when it closes', () => {
    const { index } = setup(['veh-1']);
    index.applyVehicles([vehicleDoc({ id: 'veh-1', serviceState: 'maintenance' })]);
    index.clearReplica();
    expect(index.stateOf('veh-1')).toBe('available');
    index.dispose();
  });
});
