import { describe, expect, it } from 'vitest';
import { SerialFlush } from './serial-flush.js';

describe('SerialFlush', () => {
  it('runs one write at a time and coalesces requests made meanwhile into one more write', async () => {
    let running = 0;
    let maxRunning = 0;
    let writes = 0;
    const flush = new SerialFlush(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      writes++;
      await new Promise((r) => setTimeout(r, 20));
      running--;
    });
    const first = flush.request();
    await new Promise((r) => setTimeout(r, 5)); // the first write is running now
    const queued = [flush.request(), flush.request(), flush.request()];
    await Promise.all([first, ...queued]);
    expect(writes).toBe(2);
    expect(maxRunning).toBe(1);
  });

  it('writes once more on stop and no longer on the timer afterwards', async () => {
    let writes = 0;
    const flush = new SerialFlush(async () => {
      writes++;
    });
    flush.every(10);
    await new Promise((r) => setTimeout(r, 35));
    const beforeStop = writes;
    expect(beforeStop).toBeGreaterThan(0);
    await flush.stop();
    expect(writes).toBe(beforeStop + 1);
    await new Promise((r) => setTimeout(r, 30));
    expect(writes).toBe(beforeStop + 1);
  });
});
