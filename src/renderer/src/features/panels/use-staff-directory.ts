/**
 * Active colleagues by name (`GET /ops/v1/staff/directory`), read once per replica and kept for the session:
 * assignees are shown and chosen by name. Offline (or before the answer) only the signed-in operator is known.
 */
import { useEffect, useState } from 'react';
import type { OperatorRole } from '../../../../shared/operator-role.js';
import { useReplica } from '../../data/hooks';
import type { OpenReplica } from '../../data/open';

export interface Colleague {
  id: string;
  name: string;
  role: OperatorRole;
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
  if (me && !staff.some((s) => s.id === me.id)) return [{ id: me.id, name: me.name, role: me.role }, ...staff];
  return staff;
}
