import { describe, expect, it } from 'vitest';
import { backoffDelay, EQUAL_JITTER, PLUS_MINUS_20_PERCENT } from './backoff.js';

describe('backoffDelay', () => {
  it('doubles from the initial delay up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, { initialMs: 5_000, maxMs: 60_000 }))).toEqual([
      5_000, 10_000, 20_000, 40_000, 60_000, 60_000,
    ]);
    expect(backoffDelay(1_000, { initialMs: 5_000, maxMs: 60_000 })).toBe(60_000);
    expect(backoffDelay(0, { initialMs: 5_000, maxMs: 60_000 })).toBe(5_000);
    expect(backoffDelay(4, { initialMs: 100, maxMs: Infinity, factor: 3 })).toBe(2_700);
  });
  it('stops the exponent at maxExponent', () => {
    expect(backoffDelay(30, { initialMs: 1, maxMs: 1e9, maxExponent: 10 })).toBe(1_024);
  });
  it('spreads the delay with jitter', () => {
    const at = (r: number) => () => r;
    expect(backoffDelay(4, { initialMs: 1000, maxMs: 30_000, jitter: PLUS_MINUS_20_PERCENT, random: at(0.5) })).toBe(8000);
    expect(backoffDelay(11, { initialMs: 1000, maxMs: 30_000, jitter: PLUS_MINUS_20_PERCENT, random: at(0.5) })).toBe(30_000);
    expect(backoffDelay(1, { initialMs: 1000, maxMs: 30_000, jitter: PLUS_MINUS_20_PERCENT, random: at(0) })).toBe(800);
    expect(backoffDelay(2, { initialMs: 500, maxMs: 30_000, jitter: EQUAL_JITTER, random: at(0) })).toBe(500);
    expect(backoffDelay(2, { initialMs: 500, maxMs: 30_000, jitter: EQUAL_JITTER, random: at(0.999) })).toBe(1000);
  });
});
