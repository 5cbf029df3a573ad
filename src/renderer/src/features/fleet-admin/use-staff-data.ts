/** A staff API read for a back-office screen: loading, the data, the server's refusal in its own words, reload. */
import { useCallback, useEffect, useState } from 'react';
import { useReplica } from '../../data/hooks';

export interface StaffData<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  reload: () => void;
}

export function useStaffData<T>(path: string): StaffData<T> {
  const r = useReplica();
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [loading, setLoading] = useState(false);
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    if (!r) return;
    const abort = new AbortController();
    setLoading(true);
    r.staffGet<T>(path, abort.signal).then(
      (d) => {
        setData(d);
        setError(undefined);
        setLoading(false);
      },
      (err: unknown) => {
        if (abort.signal.aborted) return;
        setError(err instanceof Error ? err.message : String(err));
        setLoading(false);
      },
    );
    return () => abort.abort();
  }, [r, path, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { data, error, loading, reload };
}

/** The message of a refused call, in the server's words. */
export const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
