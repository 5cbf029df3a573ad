import { describe, expect, it } from 'vitest';
import type { FleetFrame } from '../../shared/desktop-api.js';
import type { VehicleInfo, VehicleLive } from '../../shared/fleet.js';
import { FrameFlow } from './frame-flow.js';

const car = (id: string, seq: number): VehicleLive => ({
  id,
  lat: 52.5,
  lon: 13.4,
  speedKph: seq,
  headingDeg: 0,
  energyPct: 50,
  odometerKm: 1,
  ignition: true,
  locked: false,
  doorsClosed: true,
  online: true,
  seq,
  deviceTs: seq,
  receivedAt: seq,
});
const info = (id: string, plate: string): VehicleInfo => ({
  id,
  plate,
  make: 'VW',
  model: 'ID.3',
  energyType: 'electric',
  homeZone: 'berlin-inner',
});
const frame = (seq: number, upserts: VehicleLive[] = [], registry: VehicleInfo[] = []): FleetFrame => ({
  seq,
  at: seq * 100,
  upserts,
  registry,
});

describe('FrameFlow (fleet frames to one console client)', () => {
  it('passes every frame through until the client first acknowledges one (a renderer without acknowledgements)', () => {
    const flow = new FrameFlow(2);
    for (let seq = 1; seq <= 5; seq++) expect(flow.offer(frame(seq))).toEqual(frame(seq));
    expect(flow.controlled).toBe(false);
  });

  it('keeps at most `window` frames unacknowledged and merges the rest into one frame of the latest states', () => {
    const flow = new FrameFlow(2);
    flow.offer(frame(1));
    expect(flow.ack(1)).toBeUndefined(); // nothing held
    expect(flow.offer(frame(2, [car('a', 2)]))).toBeDefined();
    expect(flow.offer(frame(3, [car('b', 3)]))).toBeDefined();
    // two unacknowledged: the next frames wait, merged
    expect(flow.offer(frame(4, [car('a', 4), car('c', 4)], [info('c', 'B-C 1')]))).toBeUndefined();
    expect(flow.offer(frame(5, [car('a', 5)]))).toBeUndefined();
    expect(flow.offer(frame(6, [car('b', 6)], [info('c', 'B-C 2')]))).toBeUndefined();
    expect(flow.merged).toBe(2);
    // the client applied frame 2: one slot opens, the merged frame goes out
    const merged = flow.ack(2)!;
    expect(merged.fromSeq).toBe(4);
    expect(merged.seq).toBe(6);
    expect(merged.at).toBe(600);
    // every car changed in frames 4–6 once, at its latest state; the registry entry at its latest too
    expect(Object.fromEntries(merged.upserts.map((v) => [v.id, v.seq]))).toEqual({ a: 5, c: 4, b: 6 });
    expect(merged.registry).toEqual([info('c', 'B-C 2')]);
    // window full again (3 and 4–6 unacknowledged)
    expect(flow.offer(frame(7, [car('a', 7)]))).toBeUndefined();
    expect(flow.ack(6)).toEqual({ seq: 7, at: 700, upserts: [car('a', 7)], registry: [] }); // one frame alone: no fromSeq
    expect(flow.offer(frame(8))).toEqual(frame(8));
  });

  it('keeps the sequence gap-free: every seq is in exactly one frame sent', () => {
    const flow = new FrameFlow(2);
    const covered: number[] = [];
    const send = (f: FleetFrame | undefined) => {
      if (!f) return;
      for (let s = f.fromSeq ?? f.seq; s <= f.seq; s++) covered.push(s);
    };
    send(flow.offer(frame(1)));
    send(flow.ack(1));
    for (let seq = 2; seq <= 40; seq++) {
      send(flow.offer(frame(seq, [car('a', seq)])));
      if (seq % 7 === 0) send(flow.ack(seq - 3)); // a slow client acknowledges now and then
    }
    send(flow.ack(40));
    send(flow.ack(40));
    expect(covered).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('drops a held merge that a snapshot read by the client supersedes', () => {
    const flow = new FrameFlow(1);
    flow.offer(frame(1));
    flow.ack(1);
    flow.offer(frame(2));
    expect(flow.offer(frame(3, [car('a', 3)]))).toBeUndefined();
    flow.snapshotRead(3); // the snapshot as of frame 3 holds car a's state and newer
    expect(flow.ack(2)).toBeUndefined();
    expect(flow.offer(frame(4))).toEqual(frame(4));
  });

  it('keeps a held merge newer than the snapshot, and ignores a malformed acknowledgement', () => {
    const flow = new FrameFlow(1);
    flow.offer(frame(1));
    flow.ack(1);
    flow.offer(frame(2));
    flow.offer(frame(3, [car('a', 3)]));
    // frame 2 (sent) is covered by the snapshot: the window opens and the held frame 3 goes now
    expect(flow.snapshotRead(2)).toEqual(frame(3, [car('a', 3)]));
    expect(flow.ack(Number.NaN)).toBeUndefined();
    expect(flow.ack(3)).toBeUndefined();
  });

  it('a page reloaded in the same window (reads the snapshot, never acknowledges the frames its predecessor got) gets frames again', () => {
    const flow = new FrameFlow(2);
    flow.offer(frame(1));
    flow.ack(1); // flow-controlled from here
    expect(flow.offer(frame(2))).toBeDefined();
    expect(flow.offer(frame(3))).toBeDefined();
    // the page reloads: frames 2 and 3 were never applied and will never be acknowledged
    expect(flow.offer(frame(4, [car('a', 4)]))).toBeUndefined();
    expect(flow.offer(frame(5, [car('b', 5)]))).toBeUndefined();
    // the new page reads the snapshot as of frame 5: everything up to it is covered, nothing waits
    expect(flow.snapshotRead(5)).toBeUndefined();
    // and the next frames flow again (without the fix they were held for good: the window stayed full)
    expect(flow.offer(frame(6, [car('a', 6)]))).toEqual(frame(6, [car('a', 6)]));
    expect(flow.offer(frame(7))).toEqual(frame(7));
    expect(flow.offer(frame(8))).toBeUndefined(); // two unacknowledged again: held until the page acknowledges
    expect(flow.ack(7)).toEqual(frame(8));
  });

  it('a merge keeps which cars left the fleet: their earlier states go, a later frame that brings one back wins', () => {
    const flow = new FrameFlow(1);
    flow.offer(frame(1));
    flow.ack(1);
    flow.offer(frame(2));
    // held while frame 2 is unacknowledged
    expect(flow.offer(frame(3, [car('a', 3), car('b', 3)], [info('a', 'B-A 1')]))).toBeUndefined();
    expect(flow.offer({ ...frame(4), removed: ['a', 'b'] })).toBeUndefined();
    expect(flow.offer(frame(5, [car('b', 5)], [info('b', 'B-B 1')]))).toBeUndefined(); // b reinstated
    const merged = flow.ack(2)!;
    expect(merged).toEqual({ seq: 5, fromSeq: 3, at: 500, upserts: [car('b', 5)], registry: [info('b', 'B-B 1')], removed: ['a', 'b'] });
    // (the store applies removed first, then registry and upserts: fleet-store.test.ts)
  });
});
