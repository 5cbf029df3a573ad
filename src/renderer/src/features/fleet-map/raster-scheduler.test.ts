import { describe, expect, it } from 'vitest';
import type { RasterJob } from './fleet-raster';
import { RasterScheduler, type RasterDone, type RasterPort } from './raster-scheduler';

/** A worker stand-in that keeps the jobs it was given; the test answers them when it wants. */
class FakePort implements RasterPort {
  onmessage: ((e: MessageEvent<RasterDone>) => void) | null = null;
  onerror: ((e: ErrorEvent) => void) | null = null;
  posted: Array<{ job: RasterJob; transfer: Transferable[] }> = [];
  closed: number[] = [];
  terminated = false;
  postMessage(job: RasterJob, transfer: Transferable[]): void {
    this.posted.push({ job, transfer });
  }
  terminate(): void {
    this.terminated = true;
  }
  /** the worker's answer to a posted job (the job comes back with it, as a transfer would return it) */
  answer(job: RasterJob, seq = job.seq): void {
    const bitmap = { close: () => this.closed.push(seq) } as unknown as ImageBitmap;
    this.onmessage?.({ data: { seq, bitmap, ms: 1, job } } as MessageEvent<RasterDone>);
  }
  fail(): void {
    this.onerror?.({ message: 'boom' } as ErrorEvent);
  }
}

/** A scheduler whose jobs carry the value of `data.version` at the time they were built. */
function setup() {
  const port = new FakePort();
  const data = { version: 0, nothingToDraw: false };
  const built: number[] = [];
  const shown: Array<{ seq: number; version: number }> = [];
  const scheduler = new RasterScheduler<{ version: number }>(
    port,
    (seq, buffers) => {
      if (data.nothingToDraw) return undefined;
      built.push(data.version);
      const b = buffers(10);
      return { job: { seq, width: 4, height: 4, dpr: 1, radius: 4, n: 0, ...b }, meta: { version: data.version } };
    },
    (done, meta) => shown.push({ seq: done.seq, version: meta.version }),
  );
  return { port, data, built, shown, scheduler };
}

describe('RasterScheduler (the fleet map redraws on its worker)', () => {
  it('posts a job at once when the worker is free, with its buffers in the transfer list', () => {
    const { port, scheduler, built } = setup();
    scheduler.request();
    expect(port.posted).toHaveLength(1);
    expect(built).toEqual([0]);
    expect(scheduler.busy).toBe(true);
    const { job, transfer } = port.posted[0]!;
    expect(transfer).toEqual([job.x.buffer, job.y.buffer, job.state.buffer, job.moving.buffer, job.heading.buffer]);
  });

  it('collapses requests made while a job is in flight into one job built from the newest data after the answer', () => {
    const { port, scheduler, data, built, shown } = setup();
    scheduler.request();
    for (let v = 1; v <= 5; v++) {
      data.version = v; // five data frames arrive while the worker draws
      scheduler.request();
    }
    expect(port.posted).toHaveLength(1);
    port.answer(port.posted[0]!.job);
    expect(shown).toEqual([{ seq: 1, version: 0 }]);
    // nothing lost: the next job exists and holds the newest state, not one job per request
    expect(port.posted).toHaveLength(2);
    expect(built).toEqual([0, 5]);
    port.answer(port.posted[1]!.job);
    expect(shown.at(-1)).toEqual({ seq: 2, version: 5 });
    expect(port.posted).toHaveLength(2);
    expect(scheduler.busy).toBe(false);
  });

  it('reuses the buffers handed back with an answer for the next job', () => {
    const { port, scheduler } = setup();
    scheduler.request();
    const first = port.posted[0]!.job;
    port.answer(first);
    scheduler.request();
    expect(port.posted[1]!.job.x).toBe(first.x);
    expect(port.posted[1]!.job.heading).toBe(first.heading);
  });

  it('posts nothing when there is nothing to draw, and draws on the next request once there is', () => {
    const { port, scheduler, data } = setup();
    data.nothingToDraw = true;
    scheduler.request();
    expect(port.posted).toHaveLength(0);
    expect(scheduler.busy).toBe(false);
    data.nothingToDraw = false;
    scheduler.request();
    expect(port.posted).toHaveLength(1);
  });

  it('after a worker error, the pending request is drawn instead of waiting for an answer that never comes', () => {
    const { port, scheduler, data, built } = setup();
    scheduler.request();
    data.version = 1;
    scheduler.request();
    port.fail();
    expect(scheduler.failures).toBe(1);
    expect(port.posted).toHaveLength(2);
    expect(built).toEqual([0, 1]);
  });

  it('closes the bitmap of an answer that does not belong to the job in flight, without showing it', () => {
    const { port, scheduler, shown } = setup();
    scheduler.request();
    port.answer(port.posted[0]!.job, 99);
    expect(shown).toHaveLength(0);
    expect(port.closed).toEqual([99]);
  });

  it('on dispose terminates the worker and closes a late answer', () => {
    const { port, scheduler, shown } = setup();
    scheduler.request();
    const onmessage = port.onmessage!;
    scheduler.dispose();
    expect(port.terminated).toBe(true);
    onmessage({
      data: { seq: 1, bitmap: { close: () => port.closed.push(1) }, ms: 1, job: port.posted[0]!.job },
    } as unknown as MessageEvent<RasterDone>);
    expect(shown).toHaveLength(0);
    expect(port.closed).toEqual([1]);
    scheduler.request();
    expect(port.posted).toHaveLength(1);
  });
});
