import { describe, expect, it } from 'vitest';
import { canPublish, canSubscribe, checkConnect, filterWithin, isValidUsername, type MqttPrincipal } from './access-rules.js';

const device: MqttPrincipal = { username: 'veh-A', role: 'device' };
const desktop: MqttPrincipal = { username: 'desktop.d1', role: 'desktop' };
const service: MqttPrincipal = { username: 'service.s1', role: 'service' };
const none = () => false;

describe('access rules', () => {
  it('a device publishes only its own telemetry, events, status and command results', () => {
    for (const c of ['telemetry', 'events', 'status', 'command-results']) {
      expect(canPublish(device, `fleet/v1/vehicles/veh-A/${c}`), c).toBe(true);
      expect(canPublish(device, `fleet/v1/vehicles/veh-B/${c}`), `veh-B ${c}`).toBe(false);
    }
    expect(canPublish(device, 'fleet/v1/vehicles/veh-A/commands')).toBe(false);
    expect(canPublish(device, 'fleet/v1/vehicles/veh-A/telemetry/extra')).toBe(false);
    expect(canPublish(device, 'fleet/v1/vehicles/+/telemetry')).toBe(false);
    expect(canPublish(device, '$SYS/x')).toBe(false);
  });

  it('a device subscribes only to its own commands, with no wildcard reaching further', () => {
    expect(canSubscribe(device, 'fleet/v1/vehicles/veh-A/commands')).toBe(true);
    for (const f of [
      'fleet/v1/vehicles/veh-B/commands',
      'fleet/v1/vehicles/+/commands',
      'fleet/v1/vehicles/veh-A/#',
      'fleet/v1/#',
      '#',
      'fleet/v1/vehicles/veh-A/telemetry',
      '$share/g/fleet/v1/vehicles/veh-A/commands',
    ]) {
      expect(canSubscribe(device, f), f).toBe(false);
    }
  });

  it('a desktop reads telemetry, status and events of every vehicle and publishes nothing', () => {
    for (const f of [
      'fleet/v1/vehicles/+/telemetry',
      'fleet/v1/vehicles/+/status',
      'fleet/v1/vehicles/+/events',
      'fleet/v1/vehicles/veh-A/telemetry',
    ]) {
      expect(canSubscribe(desktop, f), f).toBe(true);
    }
    for (const f of [
      'fleet/v1/vehicles/+/commands',
      'fleet/v1/vehicles/+/command-results',
      'fleet/v1/vehicles/#',
      'fleet/v1/vehicles/+/+',
      '#',
    ]) {
      expect(canSubscribe(desktop, f), f).toBe(false);
    }
    expect(canPublish(desktop, 'fleet/v1/vehicles/veh-A/telemetry')).toBe(false);
    expect(canPublish(desktop, 'fleet/v1/vehicles/desktop.d1/telemetry')).toBe(false);
  });

  it('a service account may do anything under fleet/v1/, shared subscriptions included, and nothing else', () => {
    expect(canPublish(service, 'fleet/v1/vehicles/veh-A/commands')).toBe(true);
    expect(canSubscribe(service, 'fleet/v1/#')).toBe(true);
    expect(canSubscribe(service, '$share/ingest/fleet/v1/vehicles/+/telemetry')).toBe(true);
    expect(canSubscribe(service, '#')).toBe(false);
    expect(canSubscribe(service, '$SYS/#')).toBe(false);
    expect(canPublish(service, 'other/topic')).toBe(false);
  });

  it('rejects malformed filters', () => {
    for (const f of ['', 'fleet/v1/vehicles/veh-A/comm#', 'fleet/#/x', 'fleet/v1/vehicles/a+/telemetry'])
      expect(canSubscribe(service, f), f).toBe(false);
  });

  it('filterWithin: a filter lies within a pattern only if every topic it matches does', () => {
    expect(filterWithin('a/b/c', 'a/+/c')).toBe(true);
    expect(filterWithin('a/+/c', 'a/+/c')).toBe(true);
    expect(filterWithin('a/#', 'a/+/c')).toBe(false);
    expect(filterWithin('a/b', 'a/#')).toBe(true);
    expect(filterWithin('a', 'a/#')).toBe(true);
    expect(filterWithin('a/b/c/d', 'a/+/c')).toBe(false);
    expect(filterWithin('a/b', 'a/+/c')).toBe(false);
  });

  it('CONNECT: a device must use its username as client id and its own status topic as will', () => {
    expect(checkConnect(device, 'veh-A', 'fleet/v1/vehicles/veh-A/status', none)).toBeNull();
    expect(checkConnect(device, 'veh-A', undefined, none)).toBeNull();
    expect(checkConnect(device, 'veh-B', undefined, none)).toBe('client_id');
    expect(checkConnect(device, 'veh-A', 'fleet/v1/vehicles/veh-B/status', none)).toBe('will');
    // other accounts choose their client id freely, but never another account's username
    expect(checkConnect(desktop, 'fleetdesk-desktop-1', undefined, (id) => id === 'veh-A')).toBeNull();
    expect(checkConnect(desktop, 'veh-A', undefined, (id) => id === 'veh-A')).toBe('client_id');
    expect(checkConnect(desktop, 'fleetdesk-desktop-1', 'fleet/v1/vehicles/veh-A/status', none)).toBe('will');
  });

  it('usernames: devices are vehicle ids; other accounts carry their role and a dot no vehicle id has', () => {
    expect(isValidUsername('device', 'veh-00001')).toBe(true);
    expect(isValidUsername('device', 'veh/1')).toBe(false);
    expect(isValidUsername('desktop', 'desktop.demo')).toBe(true);
    expect(isValidUsername('desktop', 'service.demo')).toBe(false);
    expect(isValidUsername('service', 'service')).toBe(false);
  });
});
