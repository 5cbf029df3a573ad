import { describe, expect, it } from 'vitest';
import type { VehicleDoc } from '../../../shared/sync-protocol.js';
import { replicaVehicles } from './vehicle-index';

const doc = (id: string, plate: string, extra: Partial<VehicleDoc> = {}) => ({ id, plate, ...extra }) as VehicleDoc;

describe('replicaVehicles (the replica vehicles by id, kept per changed document)', () => {
  it('upserts changed documents, drops deleted ones, and tells listeners once per task', async () => {
    replicaVehicles.clear();
    let heard = 0;
    const unsubscribe = replicaVehicles.subscribe(() => heard++);
    await Promise.resolve();
    heard = 0;
    replicaVehicles.apply([doc('v1', 'B-A 1'), doc('v2', 'B-A 2')]);
    replicaVehicles.apply([doc('v1', 'B-A 11')]); // a newer snapshot of v1 in the same task
    replicaVehicles.apply([doc('v2', 'B-A 2', { _deleted: true })]);
    expect(replicaVehicles.get('v1')?.plate).toBe('B-A 11');
    expect(replicaVehicles.get('v2')).toBeUndefined();
    expect([...replicaVehicles.all()].map((d) => d.id)).toEqual(['v1']);
    expect(heard).toBe(0);
    await Promise.resolve();
    expect(heard).toBe(1);
    replicaVehicles.clear();
    await Promise.resolve();
    expect(heard).toBe(2);
    expect(replicaVehicles.get('v1')).toBeUndefined();
    unsubscribe();
  });

  it('counts changes of what the grid sorts and filters by, not of positions and last-seen times', () => {
    replicaVehicles.clear();
    const v0 = replicaVehicles.orderVersion();
    replicaVehicles.apply([doc('v1', 'B-A 1', { serviceState: 'available', lat: 52.5 })]);
    const v1 = replicaVehicles.orderVersion();
    expect(v1).toBe(v0 + 1); // a car came
    replicaVehicles.apply([doc('v1', 'B-A 1', { serviceState: 'available', lat: 52.6, lastSeenAt: 5 })]);
    expect(replicaVehicles.orderVersion()).toBe(v1); // only its coarse position moved
    replicaVehicles.apply([doc('v1', 'B-A 1', { serviceState: 'maintenance', lat: 52.6 })]);
    expect(replicaVehicles.orderVersion()).toBe(v1 + 1);
    replicaVehicles.apply([doc('v1', 'B-A 9', { serviceState: 'maintenance', lat: 52.6 })]);
    expect(replicaVehicles.orderVersion()).toBe(v1 + 2);
    replicaVehicles.apply([doc('v1', 'B-A 9', { _deleted: true })]);
    expect(replicaVehicles.orderVersion()).toBe(v1 + 3);
    replicaVehicles.apply([doc('v2', 'B-A 2', { _deleted: true })]); // never known: nothing changed
    expect(replicaVehicles.orderVersion()).toBe(v1 + 3);
  });
});
