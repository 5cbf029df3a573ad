/**
 * Schedules the fleet map's raster jobs on the raster worker: one job in flight at a time, and while it runs any
 * number of redraw requests (data frames, view changes) collapse into one job built when the worker is free — from
 * the newest data and view, so nothing is drawn that is already stale and no change is lost (coalesced, never
 * dropped: a request always leads to a draw that includes it). Job buffers come back with each answer and are reused.
 */
import { jobTransfers, rasterBuffers, type RasterJob } from './fleet-raster';

/** The worker's answer: the bitmap of job `seq`, its raster time, and the job (its buffers, handed back). */
export interface RasterDone {
  seq: number;
  bitmap: ImageBitmap;
  ms: number;
  job: RasterJob;
}

/** The worker as the scheduler sees it (a `Worker`; a test passes its own). */
export interface RasterPort {
  postMessage(job: RasterJob, transfer: Transferable[]): void;
  onmessage: ((e: MessageEvent<RasterDone>) => void) | null;
  onerror: ((e: ErrorEvent) => void) | null;
  terminate(): void;
}

type Buffers = ReturnType<typeof rasterBuffers>;

/**
 * `build` makes the job from the current state when the worker is free (it gets buffers for at least the markers
 * it needs, and returns undefined when there is nothing to draw now); `show` gets each answer with what `build`
 * attached to its job.
 */
export class RasterScheduler<Meta> {
  private inFlight: { seq: number; meta: Meta } | undefined;
  private requested = false;
  private seq = 0;
  private spare: Buffers | undefined;
  private disposed = false;
  /** answers that arrived after their job was superseded or failed (for tests and stats) */
  failures = 0;

  constructor(
    private readonly port: RasterPort,
    private readonly build: (seq: number, buffers: (capacity: number) => Buffers) => { job: RasterJob; meta: Meta } | undefined,
    private readonly show: (done: RasterDone, meta: Meta) => void,
  ) {
    port.onmessage = (e) => this.onDone(e.data);
    port.onerror = (e) => {
      // a job the worker could not finish: forget it, and draw again on the next request
      this.failures++;
      console.error('[fleet-map] raster worker failed', e.message);
      this.inFlight = undefined;
      if (this.requested) this.request();
    };
  }

  /** True while a job is with the worker. */
  get busy(): boolean {
    return this.inFlight !== undefined;
  }

  /** Draw the current state: now if the worker is free, else once the job in flight is answered. */
  request(): void {
    if (this.disposed) return;
    this.requested = true;
    if (this.inFlight) return;
    this.requested = false;
    const built = this.build(++this.seq, (capacity) => this.buffers(capacity));
    if (!built) return;
    this.inFlight = { seq: built.job.seq, meta: built.meta };
    this.port.postMessage(built.job, jobTransfers(built.job));
  }

  dispose(): void {
    this.disposed = true;
    this.port.onmessage = null;
    this.port.onerror = null;
    this.port.terminate();
  }

  private buffers(capacity: number): Buffers {
    const spare = this.spare;
    this.spare = undefined;
    if (spare && spare.x.length >= capacity) return spare;
    return rasterBuffers(Math.max(1024, Math.ceil(capacity * 1.25)));
  }

  private onDone(done: RasterDone): void {
    if (this.disposed) {
      done.bitmap.close();
      return;
    }
    const { job } = done;
    this.spare = { x: job.x, y: job.y, state: job.state, moving: job.moving, heading: job.heading };
    const inFlight = this.inFlight;
    if (!inFlight || inFlight.seq !== done.seq) {
      this.failures++;
      done.bitmap.close();
    } else {
      this.inFlight = undefined;
      this.show(done, inFlight.meta);
    }
    if (this.requested) this.request();
  }
}
