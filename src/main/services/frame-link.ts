/**
 * Fleet frames to one renderer, whichever way they travel (the browser console's WebSocket, Electron's IPC): the
 * same acknowledgement flow control (frame-flow.ts: at most two frames unacknowledged, the rest merged into one that
 * goes out when the renderer catches up). A host only says how a frame reaches its renderer (`send`; both send the
 * compact encoding of src/shared/fleet-frame-codec.ts, `sharedEncoder` encodes a frame once for every renderer that
 * gets it as it is); the renderer acknowledges each frame once applied (`ack`, see `deliverFleetFrame` in
 * src/shared/fleet-frame-codec.ts for its side).
 */
import type { FleetFrame } from '../../shared/desktop-api.js';
import { encodeFleetFrame } from '../../shared/fleet-frame-codec.js';
import { FrameFlow } from './frame-flow.js';

export type FrameEncoder = (frame: FleetFrame) => Uint8Array;

export class FrameLink {
  private readonly flow: FrameFlow;
  /** frames sent, and frames folded into a later one while the renderer was behind */
  sent = 0;

  constructor(
    private readonly send: (frame: FleetFrame) => void,
    window?: number,
  ) {
    this.flow = new FrameFlow(window);
  }

  /** True once the renderer acknowledged a frame (before that every frame goes out as it comes). */
  get controlled(): boolean {
    return this.flow.controlled;
  }

  get merged(): number {
    return this.flow.merged;
  }

  /** A new frame: sent now, or held and merged until the renderer acknowledges what it has. */
  offer(frame: FleetFrame): void {
    const out = this.flow.offer(frame);
    if (out) this.emit(out);
  }

  /** The renderer applied every frame up to `seq` (anything else is ignored). */
  ack(seq: unknown): void {
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq)) return;
    const next = this.flow.ack(seq);
    if (next) this.emit(next);
  }

  /**
   * The renderer read the snapshot as of frame `seq`: held frames and frames sent that it covers are dropped (it
   * holds newer states); a held frame newer than it goes out if the window allows.
   */
  snapshotRead(seq: number): void {
    const next = this.flow.snapshotRead(seq);
    if (next) this.emit(next);
  }

  private emit(frame: FleetFrame): void {
    this.sent++;
    this.send(frame);
  }
}

/** Encodes a frame once however many renderers get it as it is (a merge of held frames is new, encoded anew). */
export function sharedEncoder(): FrameEncoder {
  let last: FleetFrame | undefined;
  let bytes: Uint8Array | undefined;
  return (frame) => {
    if (frame !== last || !bytes) {
      last = frame;
      bytes = encodeFleetFrame(frame);
    }
    return bytes;
  };
}
