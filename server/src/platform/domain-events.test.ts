import { describe, expect, it } from 'vitest';
import { DomainEvents } from './domain-events.js';

describe('DomainEvents', () => {
  it('delivers to every handler, isolates a throwing one, and unsubscribes', () => {
    const bus = new DomainEvents();
    const seen: string[] = [];
    const off = bus.on('vehicle.online', (e) => seen.push(`a:${e.vehicleId}:${e.online}`));
    bus.on('vehicle.online', () => {
      throw new Error('boom');
    });
    bus.on('vehicle.online', (e) => seen.push(`c:${e.vehicleId}`));
    bus.emit('vehicle.online', { vehicleId: 'veh-1', online: false, at: 1, source: 'last_will' });
    expect(seen).toEqual(['a:veh-1:false', 'c:veh-1']);
    expect(bus.handlerFailures()).toBe(1);
    off();
    bus.emit('vehicle.online', { vehicleId: 'veh-2', online: true, at: 2, source: 'status' });
    expect(seen).toEqual(['a:veh-1:false', 'c:veh-1', 'c:veh-2']);
  });
});
