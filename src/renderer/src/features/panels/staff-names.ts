/**
 * Colleagues by name in texts (notes' authors, assignees, who ended a rental, who issued a request): the staff
 * directory the desk already reads (features/panels/use-staff-directory.ts). Offline, before it is read or for an
 * account that is no longer active, the id is shown as it is.
 */
import { useMemo } from 'react';
import { useStaffDirectory } from './use-staff-directory';

export type StaffNameOf = (id: string | null | undefined) => string;

/** A staff id as a person reads it: the colleague's name, "system" for the server itself, else the id. */
export function staffNameIn(staff: readonly { id: string; name: string }[]): StaffNameOf {
  const names = new Map(staff.map((s) => [s.id, s.name]));
  return (id) => (!id ? '—' : id === 'system' ? 'system' : (names.get(id) ?? id));
}

export function useStaffNames(): StaffNameOf {
  const staff = useStaffDirectory();
  return useMemo(() => staffNameIn(staff), [staff]);
}
