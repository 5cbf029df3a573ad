import { describe, expect, it } from 'vitest';
import type { FleetFrame } from '../../shared/desktop-api.js';
import { decodeFleetFrame, deliverFleetFrame, encodeFleetFrame } from '../../shared/fleet-frame-codec.js';
import type { VehicleLive } from '../../shared/fleet.js';
import { vehicleLive } from '../testing/fixtures.js';
import { FrameLink, sharedEncoder } from './frame-link.js';

const car = (id: string, seq: number): VehicleLive => vehicleLive(id, seq, { lat: 52.5 + seq / 1e4 });
const frame = (seq: number, upserts: VehicleLive[]): FleetFrame => ({ seq, at: seq * 100, upserts, registry: [] });

/**
 * A renderer on the other end of a FrameLink, as both transports build it: bytes decoded, applied (every car's
 * latest state kept), then acknowledged — here only when the test lets it catch up, as a busy renderer would.
 */
function renderer(link: () => FrameLink) {
  const inbox: Uint8Array[] = [];
  const state = new Map<string, number>();
  let lastSeq = 0;
  return {
    inbox,
    state,
    get lastSeq() {
      return lastSeq;
    },
    receive: (bytes: Uint8Array) => inbox.push(bytes),
    /** applies and acknowledges what had arrived */
    catchUp() {
      for (const bytes of inbox.splice(0)) {
        deliverFleetFrame(
          bytes,
          (f) => {
            expect(f.fromSeq ?? f.seq).toBe(lastSeq + 1); // gap-free: merged frames say what they stand for
            lastSeq = f.seq;
            for (const v of f.upserts) state.set(v.id, v.seq);
          },
          (seq) => link().ack(seq),
        );
      }
    },
  };
}

describe('FrameLink (fleet frames to one renderer: the console WebSocket and Electron IPC alike)', () => {
  it('keeps a slow renderer at most two frames behind and gives it every car at its latest state, nothing dropped', () => {
    const encode = sharedEncoder();
    const r = renderer(() => link);
    const link = new FrameLink((f) => r.receive(encode(f)));
    const latest = new Map<string, number>();
    let seq = 0;
    const emit = (ids: string[]) => {
      seq++;
      const f = frame(
        seq,
        ids.map((id) => car(id, seq)),
      );
      for (const v of f.upserts) latest.set(v.id, v.seq);
      link.offer(f);
    };
    emit(['a']);
    r.catchUp(); // first acknowledgement: from now on flow-controlled
    expect(link.controlled).toBe(true);
    // the renderer stalls while 20 frames are emitted: only two are sent, the rest wait merged
    for (let i = 0; i < 20; i++) emit([`c${i % 5}`, 'a']);
    expect(r.inbox.length).toBe(2);
    expect(link.merged).toBe(17);
    r.catchUp(); // its acknowledgements release the merge
    expect(r.inbox.length).toBe(1);
    r.catchUp();
    expect(r.lastSeq).toBe(seq);
    expect(r.state).toEqual(latest);
    expect(link.sent).toBe(4); // 1 + 2 + the merge of 18 frames
  });

  it('sends every frame as it comes to a renderer that never acknowledged, and ignores acknowledgements that are not seqs', () => {
    const sent: FleetFrame[] = [];
    const link = new FrameLink((f) => sent.push(f));
    for (let s = 1; s <= 5; s++) link.offer(frame(s, [car('a', s)]));
    expect(sent.map((f) => f.seq)).toEqual([1, 2, 3, 4, 5]);
    for (const bad of ['5', null, 1.5, Number.NaN, undefined, {}]) link.ack(bad);
    expect(link.controlled).toBe(false);
  });

  it('drops frames held for a renderer that read the snapshot covering them', () => {
    const sent: FleetFrame[] = [];
    const link = new FrameLink((f) => sent.push(f));
    link.offer(frame(1, [car('a', 1)]));
    link.ack(1);
    for (let s = 2; s <= 6; s++) link.offer(frame(s, [car('a', s)]));
    expect(sent.map((f) => f.seq)).toEqual([1, 2, 3]);
    link.snapshotRead(6); // the snapshot holds everything up to frame 6
    link.ack(3);
    expect(sent.map((f) => f.seq)).toEqual([1, 2, 3]); // nothing stale sent after it
    link.offer(frame(7, [car('a', 7)]));
    expect(sent.at(-1)?.seq).toBe(7);
  });

  it('encodes a frame once for every renderer that gets it as it is', () => {
    const encode = sharedEncoder();
    const f = frame(1, [car('a', 1)]);
    const bytes = encode(f);
    expect(encode(f)).toBe(bytes);
    expect(decodeFleetFrame(bytes)).toEqual(f);
    const g = frame(2, [car('a', 2)]);
    expect(encode(g)).toEqual(encodeFleetFrame(g));
  });
});
