/** A staff API read the admin screens show and read again after a change: its answer, the refusal in plain words, and `reload`. */
import { useCallback, useEffect, useState } from 'react';
import { useReplica } from '../../data/hooks';
import { refusalText } from './staff-answer';

export function useStaffResource<T>(path: string): { data: T | undefined; error: string | undefined; reload: () => Promise<void> } {
  const r = useReplica();
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const reload = useCallback(async () => {
    if (!r) return;
    try {
      setData(await r.staffGet<T>(path));
      setError(undefined);
    } catch (err) {
      setError(refusalText(err));
    }
  }, [r, path]);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, error, reload };
}
