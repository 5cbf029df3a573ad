import { describe, expect, it } from 'vitest';
import { deviceTopic } from '../../../../../src/shared/device-protocol.js';
import { telemetry } from '../../../testing/devices.js';
import { DeviceIngestion, type IngestDropReason } from './device-ingestion.js';

function setup(known = ['veh-1']) {
  const dropped: Array<{ channel: string; reason: IngestDropReason }> = [];
  const received: string[] = [];
  const recorded: Array<{ id: string; seq?: number; online?: boolean; retained?: boolean }> = [];
  let lastSeq = -1;
  const ingestion = new DeviceIngestion(
    {
      isKnownVehicle: (id) => known.includes(id),
      recordTelemetry: (id, s) => {
        if (s.seq <= lastSeq) return s.seq === lastSeq ? 'duplicate' : 'stale';
        lastSeq = s.seq;
        recorded.push({ id, seq: s.seq });
        return 'accepted';
      },
      recordStatus: (id, online, _at, retained) => {
        recorded.push({ id, online, retained });
      },
    },
    { received: (c) => received.push(c), dropped: (channel, reason) => dropped.push({ channel, reason }) },
  );
  return { ingestion, dropped, received, recorded };
}

const T = deviceTopic('veh-1', 'telemetry');
const S = deviceTopic('veh-1', 'status');

describe('DeviceIngestion', () => {
  it('accepts valid telemetry and status', () => {
    const { ingestion, recorded, dropped } = setup();
    expect(ingestion.handle(T, JSON.stringify(telemetry(1)), false)).toEqual({ ok: true });
    expect(ingestion.handle(S, JSON.stringify({ v: 1, state: 'offline', ts: 1 }), true)).toEqual({ ok: true });
    expect(recorded).toEqual([
      { id: 'veh-1', seq: 1 },
      { id: 'veh-1', online: false, retained: true },
    ]);
    expect(dropped).toEqual([]);
  });

  it.each<[string, string, string | Buffer, IngestDropReason]>([
    ['bad topic', 'fleet/v1/vehicles/bad.id/telemetry', JSON.stringify(telemetry(1)), 'bad_topic'],
    ['a channel ingestion does not take', deviceTopic('veh-1', 'command-results'), '{}', 'bad_topic'],
    ['unknown vehicle', deviceTopic('veh-404', 'telemetry'), JSON.stringify(telemetry(1)), 'unknown_vehicle'],
    ['not JSON', T, '{"v":1,', 'not_json'],
    ['not UTF-8', T, Buffer.from([0xff, 0xfe, 0x00]), 'not_json'],
    ['too large', T, 'x'.repeat(17 * 1024), 'too_large'],
    ['lat out of range', T, JSON.stringify(telemetry(1, { lat: 91 })), 'schema'],
    ['lon out of range', T, JSON.stringify(telemetry(1, { lon: -181 })), 'schema'],
    ['wrong type', T, JSON.stringify({ ...telemetry(1), ignition: 'yes' }), 'schema'],
    ['both energy fields', T, JSON.stringify(telemetry(1, { fuelPct: 10 })), 'schema'],
    ['future protocol version', T, JSON.stringify(telemetry(1, { v: 2 })), 'unsupported_version'],
    ['payload names another vehicle', T, JSON.stringify(telemetry(1, { vehicleId: 'veh-2' })), 'topic_mismatch'],
    ['bad status', S, JSON.stringify({ state: 'maybe', ts: 1 }), 'schema'],
  ])('drops and counts: %s', (_name, topic, payload, reason) => {
    const { ingestion, dropped, recorded, received } = setup();
    expect(ingestion.handle(topic, payload, false)).toEqual({ ok: false, reason });
    expect(dropped).toHaveLength(1);
    expect(dropped[0]!.reason).toBe(reason);
    expect(received).toHaveLength(1);
    expect(recorded).toEqual([]);
  });

  it('labels an unparseable topic with channel "unknown"', () => {
    const { ingestion, dropped, received } = setup();
    ingestion.handle('fleet/v1/vehicles/bad.id/telemetry', '{}', false);
    expect(received).toEqual(['unknown']);
    expect(dropped).toEqual([{ channel: 'unknown', reason: 'bad_topic' }]);
  });

  it('counts duplicates and stale telemetry as dropped', () => {
    const { ingestion, dropped } = setup();
    ingestion.handle(T, JSON.stringify(telemetry(5)), false);
    ingestion.handle(T, JSON.stringify(telemetry(5)), false);
    ingestion.handle(T, JSON.stringify(telemetry(4)), false);
    expect(dropped.map((d) => d.reason)).toEqual(['duplicate', 'stale']);
  });

  it('turns a failure of its own into a counted drop, not a crash', () => {
    const dropped: IngestDropReason[] = [];
    const ingestion = new DeviceIngestion(
      {
        isKnownVehicle: () => true,
        recordTelemetry: () => {
          throw new Error('bug');
        },
        recordStatus: () => undefined,
      },
      { received: () => undefined, dropped: (_c, reason) => dropped.push(reason) },
    );
    expect(ingestion.handle(T, JSON.stringify(telemetry(1)), false)).toEqual({ ok: false, reason: 'internal_error' });
    expect(dropped).toEqual(['internal_error']);
  });
});
