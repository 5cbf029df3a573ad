/**
 * Colleagues by name: the staff API's `GET /ops/v1/staff/names` (every desk role may read it), read once per open
 * replica and again at most every 5 minutes while the desk is used, kept in memory. Offline, before the first read
 * or for an account that no longer exists, the id is shown as it is.
 */
import { useEffect, useSyncExternalStore } from 'react';
import { useReplica } from './hooks';
import type { OpenReplica } from './open';

export interface StaffName {
  id: string;
  name: string;
  role: string;
}

const REREAD_MS = 5 * 60_000;
const names = new Map<string, string>();
const listeners = new Set<() => void>();
let version = 0;
const lastRead = new WeakMap<OpenReplica, number>();

/** Applies a staff list (also what the tests use). */
export function setStaffNames(list: readonly StaffName[]): void {
  names.clear();
  for (const s of list) names.set(s.id, s.name);
  version++;
  for (const l of listeners) l();
}

/** A staff id as a person reads it: the colleague's name, "system" for the server itself, else the id. */
export function staffName(id: string | null | undefined): string {
  if (!id) return '—';
  if (id === 'system') return 'system';
  return names.get(id) ?? id;
}

/** `staffName`, re-rendering when the names arrive. */
export function useStaffNames(): (id: string | null | undefined) => string {
  const r = useReplica();
  useSyncExternalStore(
    (cb) => {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    () => version,
  );
  useEffect(() => {
    if (!r) return;
    const at = lastRead.get(r);
    if (at !== undefined && Date.now() - at < REREAD_MS) return;
    lastRead.set(r, Date.now());
    r.staffGet<{ staff: StaffName[] }>('/ops/v1/staff/names').then(
      (res) => setStaffNames(res.staff),
      () => lastRead.delete(r), // offline: try again at the next use
    );
  }, [r]);
  return staffName;
}
