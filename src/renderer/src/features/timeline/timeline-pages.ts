/**
 * How the desk's timeline joins the pages it reads: the newest page (re-read every few seconds) on top of what is
 * shown, and when that page no longer joins what is shown, a fresh start from it.
 */
import type { TimelineEntry } from '../../../../shared/timeline.js';

/** entries per request */
export const PAGE = 50;

/** A full newest page that shares no entry with what is shown: entries between the two were never read. */
export function leavesGap(shown: readonly TimelineEntry[], newest: readonly TimelineEntry[]): boolean {
  if (shown.length === 0 || newest.length < PAGE) return false;
  const ids = new Set(shown.map((e) => e.id));
  return !newest.some((e) => ids.has(e.id));
}

/** The newest page on top of what is shown: new ids first, known ones updated in place. */
export function mergeNewest(prev: TimelineEntry[], newest: TimelineEntry[]): TimelineEntry[] {
  const fresh = new Map(newest.map((e) => [e.id, e]));
  const kept = prev.filter((e) => !fresh.has(e.id));
  return [...newest, ...kept].sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}
