import { describe, expect, it } from 'vitest';
import { drainUntilStalled, type DrainTarget } from './drain.js';

/** A buffer of `items` whose writes take `writeMs` and write `perWrite` items, or fail while `down`. */
function buffer(items: number, perWrite: number, writeMs: number) {
  const state = { pending: items, written: 0, down: false, attempts: 0 };
  const target: DrainTarget = {
    pending: () => state.pending,
    written: () => state.written,
    writeOnce: async () => {
      state.attempts++;
      await new Promise((r) => setTimeout(r, writeMs));
      if (state.down) return;
      const n = Math.min(perWrite, state.pending);
      state.pending -= n;
      state.written += n;
    },
  };
  return { state, target };
}

describe('drainUntilStalled', () => {
  it('keeps writing for as long as writes succeed, far beyond the stall deadline', async () => {
    const { state, target } = buffer(40, 1, 10); // ≥ 400 ms of writes
    const started = Date.now();
    expect(await drainUntilStalled(target, { stallMs: 50 })).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(state.written).toBe(40);
  });

  it('gives up after stallMs without progress and returns what is left', async () => {
    const { state, target } = buffer(5, 1, 1);
    state.down = true;
    const started = Date.now();
    expect(await drainUntilStalled(target, { stallMs: 150, retryMs: 10 })).toBe(5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(state.attempts).toBeGreaterThan(1); // retried while waiting
  });

  it('resumes after an outage shorter than the stall deadline', async () => {
    const { state, target } = buffer(5, 5, 1);
    state.down = true;
    setTimeout(() => (state.down = false), 100);
    expect(await drainUntilStalled(target, { stallMs: 2_000, retryMs: 10 })).toBe(0);
    expect(state.written).toBe(5);
  });
});
