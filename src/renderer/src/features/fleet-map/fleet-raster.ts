/**
 * The pixel pass of the fleet map as a job that runs anywhere (the raster worker, or a test): the markers of the
 * cars to draw, stamped state by state into one RGBA buffer (see vehicle-stamps.ts for why stamps).
 *
 * A job holds only what the pixels need — canvas size, device pixel ratio, marker radius and per marker its
 * position (CSS px from the canvas' top-left), state code, moving flag and heading — in typed arrays that are
 * transferred, not copied, between the map layer and the worker, and handed back for the next job.
 */
import { STATE_ORDER } from './vehicle-points';
import { stamp, type VehicleStamps } from './vehicle-stamps';

export interface RasterJob {
  /** increasing per layer: the answer names the job it belongs to */
  seq: number;
  /** canvas size in device pixels */
  width: number;
  height: number;
  dpr: number;
  /** marker radius in CSS px */
  radius: number;
  /** markers used in the arrays below */
  n: number;
  x: Float32Array;
  y: Float32Array;
  state: Uint8Array;
  moving: Uint8Array;
  heading: Float32Array;
}

/** Typed arrays for `capacity` markers (a job's buffers, reused once handed back). */
export function rasterBuffers(capacity: number): Pick<RasterJob, 'x' | 'y' | 'state' | 'moving' | 'heading'> {
  return {
    x: new Float32Array(capacity),
    y: new Float32Array(capacity),
    state: new Uint8Array(capacity),
    moving: new Uint8Array(capacity),
    heading: new Float32Array(capacity),
  };
}

/** The buffers of a job, for a transfer list. */
export function jobTransfers(job: RasterJob): ArrayBuffer[] {
  return [job.x.buffer, job.y.buffer, job.state.buffer, job.moving.buffer, job.heading.buffer] as ArrayBuffer[];
}

/** Clears `image` and stamps every marker of the job, offline first and alarms last (they paint over the rest). */
export function rasterize(job: RasterJob, image: ImageData, stamps: Pick<VehicleStamps, 'get'>): void {
  const bytes = image.data;
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
  words.fill(0);
  const { width, height } = image;
  const { n, x, y, state, moving, heading, radius, dpr } = job;
  for (let s = 0; s < STATE_ORDER.length; s++) {
    for (let k = 0; k < n; k++) {
      if (state[k] !== s) continue;
      stamp(
        bytes,
        words,
        width,
        height,
        stamps.get(s, moving[k] === 1, radius, heading[k]!, dpr),
        Math.round(x[k]! * dpr),
        Math.round(y[k]! * dpr),
      );
    }
  }
}
