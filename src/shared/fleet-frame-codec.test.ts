import { describe, expect, it } from 'vitest';
import type { FleetFrame } from './desktop-api.js';
import { decodeFleetFrame, encodeFleetFrame } from './fleet-frame-codec.js';
import type { VehicleLive } from './fleet.js';

const car = (id: string, i: number, extra: Partial<VehicleLive> = {}): VehicleLive => ({
  id,
  lat: 52.5 + i * 1e-5,
  lon: 13.4 - i * 1e-5,
  speedKph: i % 90,
  headingDeg: (i * 7) % 360,
  energyPct: 100 - (i % 100),
  odometerKm: 12_345.6 + i,
  ignition: i % 2 === 0,
  locked: i % 3 === 0,
  doorsClosed: i % 5 !== 0,
  online: i % 7 !== 0,
  seq: 1_000 + i,
  deviceTs: 1_796_000_000_000 + i,
  receivedAt: 1_796_000_000_100 + i,
  ...extra,
});

describe("fleet frame codec (the console WebSocket's binary frames)", () => {
  it('gives back exactly the frame it was given: every field of every car, fromSeq, the registry', () => {
    const frame: FleetFrame = {
      seq: 41,
      fromSeq: 38,
      at: 1_796_000_000_200,
      upserts: [car('veh-00001', 1), car('veh-00002', 2, { staleAgeMs: 65_000 }), car('x', 3), car('ünïcödé-id', 4)],
      registry: [{ id: 'veh-00001', plate: 'B-FD 1', make: 'VW', model: 'ID.3', energyType: 'electric', homeZone: 'mitte' }],
    };
    const decoded = decodeFleetFrame(encodeFleetFrame(frame));
    expect(decoded).toEqual(frame);
    expect('staleAgeMs' in decoded.upserts[0]!).toBe(false); // absent stays absent
  });

  it('a frame alone has no fromSeq; an empty frame and 20,000 cars round-trip too', () => {
    const empty: FleetFrame = { seq: 1, at: 5, upserts: [], registry: [] };
    expect(decodeFleetFrame(encodeFleetFrame(empty))).toEqual(empty);
    const big: FleetFrame = { seq: 7, at: 9, upserts: Array.from({ length: 20_000 }, (_, i) => car(`veh-${i}`, i)), registry: [] };
    const bytes = encodeFleetFrame(big);
    expect(decodeFleetFrame(bytes)).toEqual(big);
    // smaller than the JSON it replaces
    expect(bytes.byteLength).toBeLessThan(JSON.stringify(big).length / 2);
  });

  it('carries the ids of cars that left the fleet (retired), with upserts and registry beside them', () => {
    const frame: FleetFrame = {
      seq: 12,
      at: 13,
      upserts: [car('veh-00003', 3)],
      registry: [{ id: 'veh-00003', plate: 'B-FD 3', make: 'VW', model: 'ID.3', energyType: 'electric', homeZone: 'mitte' }],
      removed: ['veh-00001', 'ünïcödé-id'],
    };
    expect(decodeFleetFrame(encodeFleetFrame(frame))).toEqual(frame);
    const removedOnly: FleetFrame = { seq: 14, at: 15, upserts: [], registry: [], removed: ['veh-00002'] };
    expect(decodeFleetFrame(encodeFleetFrame(removedOnly))).toEqual(removedOnly);
    // an empty list is not sent at all
    expect('removed' in decodeFleetFrame(encodeFleetFrame({ ...removedOnly, removed: [] }))).toBe(false);
    // removed ids that are not strings are not a frame
    const bytes = encodeFleetFrame(removedOnly);
    const tail = new TextEncoder().encode('["veh-00002"]');
    const numbers = new TextEncoder().encode('[12345678901]');
    expect(numbers.byteLength).toBe(tail.byteLength);
    const bad = bytes.slice();
    bad.set(numbers, bad.byteLength - numbers.byteLength);
    expect(() => decodeFleetFrame(bad)).toThrow(/removed/);
  });

  it('reads bytes at any offset (a slice of a larger buffer) and from an ArrayBuffer', () => {
    const frame: FleetFrame = { seq: 3, at: 4, upserts: [car('a', 1), car('b', 2)], registry: [] };
    const bytes = encodeFleetFrame(frame);
    const padded = new Uint8Array(bytes.byteLength + 3);
    padded.set(bytes, 3);
    expect(decodeFleetFrame(padded.subarray(3))).toEqual(frame);
    expect(decodeFleetFrame(bytes.slice().buffer)).toEqual(frame);
  });

  it('throws on bytes that are not a well-formed frame (truncated, another format, lengths that do not add up, bad text)', () => {
    const bytes = encodeFleetFrame({
      seq: 3,
      at: 4,
      upserts: [car('a', 1)],
      registry: [{ id: 'a', plate: 'P', make: 'M', model: 'X', energyType: 'fuel', homeZone: 'z' }],
    });
    expect(() => decodeFleetFrame(bytes.subarray(0, bytes.byteLength - 1))).toThrow(RangeError);
    expect(() => decodeFleetFrame(new Uint8Array(10))).toThrow(RangeError);
    const other = bytes.slice();
    new Float64Array(other.buffer, 0, 1)[0] = 2;
    expect(() => decodeFleetFrame(other)).toThrow(/format/);
    const wrongCount = bytes.slice();
    new Float64Array(wrongCount.buffer, 0, 5)[4] = 2;
    expect(() => decodeFleetFrame(wrongCount)).toThrow(RangeError);
    const badJson = bytes.slice();
    badJson[badJson.byteLength - 1] = 0x7b; // '{' in place of the closing ']'
    expect(() => decodeFleetFrame(badJson)).toThrow(RangeError);
    const negativeSeq = bytes.slice();
    new Float64Array(negativeSeq.buffer, 0, 2)[1] = -1;
    expect(() => decodeFleetFrame(negativeSeq)).toThrow(/header/);
  });
});
