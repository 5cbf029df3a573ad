/**
 * The fleet map's raster worker: stamps a job's markers (fleet-raster.ts) into an OffscreenCanvas and answers with
 * an ImageBitmap the map layer shows in one step, positioned where the job was computed for. The main thread
 * keeps only the projection and the handful of vector shapes, so a 20,000-car redraw never blocks a frame of a pan.
 */
import { jobTransfers, rasterize, type RasterJob } from './fleet-raster';
import type { RasterDone } from './raster-scheduler';
import { VehicleStamps } from './vehicle-stamps';

interface WorkerScope {
  onmessage: ((e: MessageEvent<RasterJob>) => void) | null;
  postMessage(message: RasterDone, transfer: Transferable[]): void;
}

const scope = self as unknown as WorkerScope;
const stamps = new VehicleStamps();
let canvas: OffscreenCanvas | undefined;
let ctx: OffscreenCanvasRenderingContext2D | undefined;
let image: ImageData | undefined;

scope.onmessage = (e) => {
  const job = e.data;
  const t0 = performance.now();
  if (!canvas || canvas.width !== job.width || canvas.height !== job.height) {
    canvas = new OffscreenCanvas(job.width, job.height);
    ctx = canvas.getContext('2d')!;
    image = new ImageData(job.width, job.height);
  }
  rasterize(job, image!, stamps);
  ctx!.putImageData(image!, 0, 0);
  const bitmap = canvas.transferToImageBitmap();
  const done: RasterDone = { seq: job.seq, bitmap, ms: performance.now() - t0, job };
  scope.postMessage(done, [bitmap, ...jobTransfers(job)]);
};
