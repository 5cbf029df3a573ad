/**
 * Flow control of fleet frames to one console client: at most `window` frames unacknowledged; while the client is
 * that far behind, further frames are merged into one (the latest state of every car they changed, and of every
 * registry entry) and sent as soon as an acknowledgement opens the window. The client thus never queues more than
 * a couple of frames — a slow renderer gets fewer, larger frames and every car's latest state, instead of a queue
 * that grows in socket buffers for seconds, frames skipped and a snapshot re-read (coalesced, never dropped).
 *
 * A merged frame says which frames it stands for (`fromSeq`..`seq`), so the sequence stays gap-free for the store.
 * A client that never acknowledged (a renderer from before acknowledgements) is not flow-controlled: `offer`
 * passes every frame through, and the caller's byte limits apply as before.
 */
import type { FleetFrame } from '../../shared/desktop-api.js';
import type { VehicleInfo, VehicleLive } from '../../shared/fleet.js';

/** Frames a client may have unacknowledged (one being applied, one on the way). */
export const DEFAULT_FRAME_WINDOW = 2;

interface Held {
  fromSeq: number;
  seq: number;
  at: number;
  upserts: Map<string, VehicleLive>;
  registry: Map<string, VehicleInfo>;
  /** cars that left the fleet in a held frame (applied first: a later frame may bring one back) */
  removed: Set<string>;
}

export class FrameFlow {
  /** seqs of the frames sent and not yet acknowledged, oldest first */
  private readonly unacked: number[] = [];
  private held: Held | undefined;
  private acked = false;
  /** frames folded into an earlier held one since the start (for stats) */
  merged = 0;

  constructor(private readonly window: number = DEFAULT_FRAME_WINDOW) {}

  /** True once the client acknowledged a frame: from then on it is flow-controlled. */
  get controlled(): boolean {
    return this.acked;
  }

  /** A new frame for this client: the frame to send now, or undefined when it was merged to wait for the window. */
  offer(frame: FleetFrame): FleetFrame | undefined {
    if (!this.acked) return frame;
    if (this.held || this.unacked.length >= this.window) {
      this.hold(frame);
      return undefined;
    }
    return this.sent(frame);
  }

  /** The client applied every frame up to `seq`: the merged frame to send now, if one waits and the window opened. */
  ack(seq: number): FleetFrame | undefined {
    if (!Number.isSafeInteger(seq)) return undefined;
    this.acked = true;
    while (this.unacked.length > 0 && this.unacked[0]! <= seq) this.unacked.shift();
    return this.release();
  }

  /**
   * The client read the snapshot as of frame `seq`: a held merge of frames up to it is superseded (the snapshot
   * holds newer states of the same cars), and so are the frames sent up to it — they no longer count against the
   * window. (A page reloaded in the same Electron window reads the snapshot first and never acknowledges what the
   * page before it was sent: counting those would hold every later frame for good.) Returns a held frame newer than
   * the snapshot that can go now.
   */
  snapshotRead(seq: number): FleetFrame | undefined {
    if (!Number.isSafeInteger(seq)) return undefined;
    if (this.held && this.held.seq <= seq) this.held = undefined;
    while (this.unacked.length > 0 && this.unacked[0]! <= seq) this.unacked.shift();
    return this.release();
  }

  private release(): FleetFrame | undefined {
    const held = this.held;
    if (!held || this.unacked.length >= this.window) return undefined;
    this.held = undefined;
    return this.sent({
      seq: held.seq,
      ...(held.fromSeq !== held.seq ? { fromSeq: held.fromSeq } : {}),
      at: held.at,
      upserts: [...held.upserts.values()],
      registry: [...held.registry.values()],
      ...(held.removed.size > 0 ? { removed: [...held.removed] } : {}),
    });
  }

  private sent(frame: FleetFrame): FleetFrame {
    this.unacked.push(frame.seq);
    return frame;
  }

  private hold(frame: FleetFrame): void {
    let held = this.held;
    if (!held) {
      held = this.held = {
        fromSeq: frame.fromSeq ?? frame.seq,
        seq: frame.seq,
        at: frame.at,
        upserts: new Map(),
        registry: new Map(),
        removed: new Set(),
      };
    } else {
      this.merged++;
    }
    held.seq = frame.seq;
    held.at = frame.at;
    // frames come in order: a later state of a car replaces the earlier one; a car that left drops what came before
    for (const id of frame.removed ?? []) {
      held.upserts.delete(id);
      held.registry.delete(id);
      held.removed.add(id);
    }
    for (const v of frame.upserts) held.upserts.set(v.id, v);
    for (const r of frame.registry) held.registry.set(r.id, r);
  }
}
