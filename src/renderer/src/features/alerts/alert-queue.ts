/**
 * The alert queue's rules, kept apart from React so they are tested alone: which alerts a filter leaves, their
 * order (by age, or the most severe first), groups by kind, and the stable list the operator works on — alerts that
 * arrive while they act are announced ("N new — show"), never inserted under the pointer.
 */
import { alertKindLabel } from '../../../../shared/alert-kinds.js';
import type { AlertDoc, AlertStatus } from '../../../../shared/sync-protocol.js';

export type StatusFilter = 'unresolved' | AlertStatus | 'all';
export type SeverityFilter = AlertDoc['severity'] | 'all';
export type QueueSort = 'severity' | 'newest' | 'oldest';

export interface QueueFilter {
  /** '' = every kind */
  kind: string;
  severity: SeverityFilter;
  status: StatusFilter;
}

export const DEFAULT_FILTER: QueueFilter = { kind: '', severity: 'all', status: 'unresolved' };

export const STATUS_LABELS: Readonly<Record<AlertStatus, string>> = { open: 'Open', acknowledged: 'Acknowledged', resolved: 'Resolved' };
export const SEVERITY_LABELS: Readonly<Record<AlertDoc['severity'], string>> = { critical: 'Critical', warning: 'Warning', info: 'Info' };
const SEVERITY_RANK: Readonly<Record<AlertDoc['severity'], number>> = { critical: 0, warning: 1, info: 2 };

/** The statuses a status filter admits (the replica query's selector). */
export function statusesOf(status: StatusFilter): AlertStatus[] {
  if (status === 'unresolved') return ['open', 'acknowledged'];
  if (status === 'all') return ['open', 'acknowledged', 'resolved'];
  return [status];
}

export function matchesFilter(a: AlertDoc, f: QueueFilter): boolean {
  return (
    (f.kind === '' || a.kind === f.kind) && (f.severity === 'all' || a.severity === f.severity) && statusesOf(f.status).includes(a.status)
  );
}

export function compareAlerts(sort: QueueSort): (a: AlertDoc, b: AlertDoc) => number {
  if (sort === 'oldest') return (a, b) => a.openedAt - b.openedAt || a.id.localeCompare(b.id);
  if (sort === 'newest') return (a, b) => b.openedAt - a.openedAt || a.id.localeCompare(b.id);
  return (a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || b.openedAt - a.openedAt || a.id.localeCompare(b.id);
}

/** The filtered alerts in the chosen order. */
export function queueOf(alerts: readonly AlertDoc[], f: QueueFilter, sort: QueueSort): AlertDoc[] {
  return alerts.filter((a) => matchesFilter(a, f)).sort(compareAlerts(sort));
}

/** Kinds present among `alerts`, with counts, by label (the kind filter's options). */
export function kindCounts(alerts: readonly AlertDoc[]): Array<{ kind: string; label: string; count: number }> {
  const counts = new Map<string, number>();
  for (const a of alerts) counts.set(a.kind, (counts.get(a.kind) ?? 0) + 1);
  return [...counts].map(([kind, count]) => ({ kind, label: alertKindLabel(kind), count })).sort((a, b) => a.label.localeCompare(b.label));
}

export interface KindGroup<T> {
  kind: string;
  label: string;
  rows: T[];
}

/**
 * Rows grouped by kind, keeping their order inside a group; groups ordered by their most severe row, then by label.
 */
export function groupByKind<T extends Pick<AlertDoc, 'kind' | 'severity'>>(rows: readonly T[]): Array<KindGroup<T>> {
  const groups = new Map<string, KindGroup<T> & { rank: number }>();
  for (const row of rows) {
    let g = groups.get(row.kind);
    if (!g) groups.set(row.kind, (g = { kind: row.kind, label: alertKindLabel(row.kind), rows: [], rank: 3 }));
    g.rows.push(row);
    g.rank = Math.min(g.rank, SEVERITY_RANK[row.severity]);
  }
  return [...groups.values()]
    .sort((a, b) => a.rank - b.rank || a.label.localeCompare(b.label))
    .map(({ kind, label, rows }) => ({ kind, label, rows }));
}

/**
 * The rows on screen, in a stable order. `shown` is the list the operator sees (null: not settled yet);
 * `current` the ids the filter leaves now, in order. Alerts not yet shown are `fresh` (announced, not inserted),
 * unless nothing is shown at all (nothing can move under the pointer then). Rows that left the filter go at once
 * unless `holding` (the pointer is on the list, or the operator has rows selected): then they stay, marked `gone`,
 * until the hold ends.
 */
export function stableRows(
  shown: readonly string[] | null,
  current: readonly string[],
  holding: boolean,
): { shown: string[]; fresh: string[]; gone: Set<string> } {
  if (shown === null || shown.length === 0) return { shown: [...current], fresh: [], gone: new Set() };
  const now = new Set(current);
  const had = new Set(shown);
  const fresh = current.filter((id) => !had.has(id));
  const gone = new Set(shown.filter((id) => !now.has(id)));
  if (holding || gone.size === 0) return { shown: [...shown], fresh, gone: holding ? gone : new Set() };
  return { shown: shown.filter((id) => now.has(id)), fresh, gone: new Set() };
}
