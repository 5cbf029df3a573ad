import { describe, expect, it } from 'vitest';
import type { TimelineEntry } from '../../../../shared/timeline.js';
import { leavesGap, mergeNewest, PAGE } from './timeline-pages';

const entry = (n: number): TimelineEntry => ({
  id: `note:${n}`,
  at: 1_000_000 + n * 1_000,
  kind: 'note',
  title: `note ${n}`,
  detail: null,
  actor: { type: 'staff', id: 's1', name: 'Ana' },
  refs: {},
});
/** entries n..m, newest first */
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => entry(to - i));

describe('timeline pages', () => {
  it('a newest page that overlaps what is shown merges on top, newest first, without duplicates', () => {
    const shown = range(1, PAGE);
    const newest = range(11, PAGE + 10);
    expect(leavesGap(shown, newest)).toBe(false);
    const merged = mergeNewest(shown, newest);
    expect(merged.map((e) => e.id)).toEqual(range(1, PAGE + 10).map((e) => e.id));
  });

  it('a full newest page sharing nothing with what is shown leaves a gap (more than a page arrived in between)', () => {
    expect(leavesGap(range(1, 20), range(31, 30 + PAGE))).toBe(true);
  });

  it('a newest page shorter than a page holds everything newer: no gap; nothing shown yet: no gap', () => {
    expect(leavesGap(range(1, 20), range(31, 40))).toBe(false);
    expect(leavesGap([], range(31, 30 + PAGE))).toBe(false);
  });
});
