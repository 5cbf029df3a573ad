import { describe, expect, it } from 'vitest';
import { alertDoc } from '../../testing/fixtures';
import { DEFAULT_FILTER, groupByKind, kindCounts, queueOf, stableRows } from './alert-queue';

const a = (
  id: string,
  kind: string,
  severity: 'critical' | 'warning' | 'info',
  openedAt: number,
  status: 'open' | 'acknowledged' | 'resolved' = 'open',
) => alertDoc({ id, kind, severity, openedAt, status });

const alerts = [
  a('1', 'low_energy', 'info', 100),
  a('2', 'crash', 'critical', 50),
  a('3', 'zone_exit', 'warning', 300, 'acknowledged'),
  a('4', 'crash', 'critical', 200, 'resolved'),
  a('5', 'movement_without_rental', 'critical', 400),
];
const ids = (xs: ReadonlyArray<{ id: string }>) => xs.map((x) => x.id);

describe('the alert queue', () => {
  it('filters by status (not resolved by default), kind and severity, and sorts by age or severity', () => {
    expect(ids(queueOf(alerts, DEFAULT_FILTER, 'newest'))).toEqual(['5', '3', '1', '2']);
    expect(ids(queueOf(alerts, DEFAULT_FILTER, 'oldest'))).toEqual(['2', '1', '3', '5']);
    expect(ids(queueOf(alerts, DEFAULT_FILTER, 'severity'))).toEqual(['5', '2', '3', '1']);
    expect(ids(queueOf(alerts, { ...DEFAULT_FILTER, status: 'all', kind: 'crash' }, 'newest'))).toEqual(['4', '2']);
    expect(ids(queueOf(alerts, { ...DEFAULT_FILTER, status: 'open', severity: 'critical' }, 'newest'))).toEqual(['5', '2']);
    expect(ids(queueOf(alerts, { ...DEFAULT_FILTER, status: 'acknowledged' }, 'newest'))).toEqual(['3']);
  });

  it('names kinds in words and counts them; groups by kind, the most severe group first, rows keeping their order', () => {
    expect(kindCounts(alerts).map((k) => `${k.label}:${k.count}`)).toEqual([
      'Crash:2',
      'Left the operating zone:1',
      'Low fuel / battery:1',
      'Moving without a rental:1',
    ]);
    const groups = groupByKind(queueOf(alerts, { ...DEFAULT_FILTER, status: 'all' }, 'oldest'));
    expect(groups.map((g) => [g.label, ids(g.rows)])).toEqual([
      ['Crash', ['2', '4']],
      ['Moving without a rental', ['5']],
      ['Left the operating zone', ['3']],
      ['Low fuel / battery', ['1']],
    ]);
  });

  it('keeps rows stable: new alerts are announced, not inserted; rows that left stay while the operator holds the list', () => {
    // first result: shown as it is
    expect(stableRows(null, ['a', 'b'], false)).toEqual({ shown: ['a', 'b'], fresh: [], gone: new Set() });
    // a new alert at the top: announced, the list unchanged
    expect(stableRows(['a', 'b'], ['n', 'a', 'b'], false)).toEqual({ shown: ['a', 'b'], fresh: ['n'], gone: new Set() });
    // 'a' resolved elsewhere while the pointer is on the list: stays, marked gone; when let go: dropped
    expect(stableRows(['a', 'b'], ['n', 'b'], true)).toEqual({ shown: ['a', 'b'], fresh: ['n'], gone: new Set(['a']) });
    expect(stableRows(['a', 'b'], ['n', 'b'], false)).toEqual({ shown: ['b'], fresh: ['n'], gone: new Set() });
    // nothing shown: nothing can move under the pointer, so new ones come in at once
    expect(stableRows([], ['n'], true)).toEqual({ shown: ['n'], fresh: [], gone: new Set() });
  });
});
