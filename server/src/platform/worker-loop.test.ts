import { describe, expect, it } from 'vitest';
import { WorkerLoop } from './worker-loop.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('WorkerLoop', () => {
  it('coalesces kicks during a pass into one more pass, and repeats a pass that found work', async () => {
    let passes = 0;
    let running = 0;
    let maxRunning = 0;
    let work = 2;
    const loop = new WorkerLoop(
      async () => {
        passes++;
        running++;
        maxRunning = Math.max(maxRunning, running);
        await tick(10);
        running--;
        if (work > 0) {
          work--;
          return true;
        }
        return false;
      },
      () => undefined,
    );
    loop.kick();
    loop.kick();
    loop.kick();
    await loop.drain();
    expect(maxRunning).toBe(1);
    // the first pass (the kicks during it and its found work ask for one more, together), the second (found work),
    // the third (found none), then drain's own
    expect(passes).toBe(4);
  });

  it('reports a failed pass and runs no pass after stop', async () => {
    const errors: unknown[] = [];
    let passes = 0;
    const loop = new WorkerLoop(
      async () => {
        passes++;
        throw new Error('down');
      },
      (err) => errors.push(err),
    );
    loop.start(5);
    await tick(30);
    await loop.stop();
    const after = passes;
    expect(after).toBeGreaterThan(1);
    expect(errors.length).toBe(after);
    loop.kick();
    await tick(20);
    expect(passes).toBe(after);
    expect(loop.stopped).toBe(true);
  });
});
