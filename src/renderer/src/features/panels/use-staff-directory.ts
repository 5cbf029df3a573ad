/**
 * Colleagues by name (`GET /ops/v1/staff/directory`), read once per replica and kept for the session: assignees and
 * past actors are shown by name — also colleagues whose account was deactivated since — and only active ones are
 * offered as assignees (`useAssignableStaff`). Offline (or before the answer) only the signed-in operator is known.
 */
import { useEffect, useMemo, useState } from 'react';
import type { OperatorRole } from '../../../../shared/operator-role.js';
import { useReplica } from '../../data/hooks';
import type { OpenReplica } from '../../data/open';

export interface Colleague {
  id: string;
  name: string;
  role: OperatorRole;
  /** false: the account was deactivated (shown on what they did, never offered as an assignee) */
  active: boolean;
}

const cache = new WeakMap<OpenReplica, Promise<Colleague[]>>();

function load(r: OpenReplica): Promise<Colleague[]> {
  let p = cache.get(r);
  if (!p) {
    p = r.staffGet<{ staff: Colleague[] }>('/ops/v1/staff/directory').then((x) => x.staff);
    cache.set(r, p);
    // offline now: ask again next time
    p.catch(() => cache.delete(r));
  }
  return p;
}

export function useStaffDirectory(): Colleague[] {
  const r = useReplica();
  const me = r?.identity.operator;
  const [staff, setStaff] = useState<Colleague[]>([]);
  useEffect(() => {
    if (!r) return;
    let live = true;
    load(r).then(
      (s) => live && setStaff(s),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [r]);
  if (me && !staff.some((s) => s.id === me.id)) return [{ id: me.id, name: me.name, role: me.role, active: true }, ...staff];
  return staff;
}

/** The colleagues an alert or a task can be assigned to: the directory's active accounts. */
export function useAssignableStaff(): Colleague[] {
  const staff = useStaffDirectory();
  return useMemo(() => staff.filter((s) => s.active), [staff]);
}
