/**
 * Alert kinds the operator muted: no desktop notification and no count in the tab and the window title for them
 * (the queue still lists them, marked muted). Kept in localStorage per operator, so it survives a restart.
 */
import { useSyncExternalStore } from 'react';

const KEY_PREFIX = 'fleetdesk.alerts.muted.';
const EMPTY: ReadonlySet<string> = new Set();

let operatorId = '';
let muted: ReadonlySet<string> = EMPTY;
const listeners = new Set<() => void>();

function load(id: string): ReadonlySet<string> {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(KEY_PREFIX + id) ?? '[]');
    return Array.isArray(parsed) ? new Set(parsed.filter((k): k is string => typeof k === 'string')) : EMPTY;
  } catch {
    return EMPTY;
  }
}

function set(next: ReadonlySet<string>): void {
  muted = next;
  try {
    localStorage.setItem(KEY_PREFIX + operatorId, JSON.stringify([...next].sort()));
  } catch {
    // storage disabled: muted for this session only
  }
  for (const cb of [...listeners]) cb();
}

/** The muted kinds of `id` (the signed-in operator), re-read when the operator changes. */
export function mutedKinds(id: string): ReadonlySet<string> {
  if (id !== operatorId) {
    operatorId = id;
    muted = load(id);
  }
  return muted;
}

export function toggleMuted(id: string, kind: string): void {
  const next = new Set(mutedKinds(id));
  if (!next.delete(kind)) next.add(kind);
  set(next);
}

export function useMutedKinds(id: string): ReadonlySet<string> {
  return useSyncExternalStore(
    (cb) => {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    () => mutedKinds(id),
  );
}
