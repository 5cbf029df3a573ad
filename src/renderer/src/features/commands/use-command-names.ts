/**
 * The names a command's issuer and reason are shown with: colleagues from the staff directory, customers from the
 * replica (it holds them only for roles with customer data, so others keep "a customer").
 */
import { useEffect, useMemo, useState } from 'react';
import { replicaCustomers } from '../../data/customer-index';
import { useStaffNames } from '../panels/staff-names';
import type { NameLookup } from './command-words';

export function useCommandNames(): NameLookup {
  const staff = useStaffNames();
  const [customers, setCustomers] = useState(0);
  useEffect(() => replicaCustomers.subscribe(() => setCustomers((v) => v + 1)), []);
  return useMemo(
    () => ({ staff: (id: string) => staff(id), customer: (id: string) => replicaCustomers.get(id)?.name }),
    // `customers` counts the replica's changes: a new lookup (and a re-render of its users) on each
    [staff, customers],
  );
}
