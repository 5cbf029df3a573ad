/**
 * A staff API read (`GET /ops/v1…`) kept fresh while mounted: read at once and every `intervalMs`. A failed read
 * keeps the last answer and says why in `error` (offline, the server refusing…); a new `path` starts empty, so an
 * answer for another path (another customer) is never shown under this one.
 */
import { useEffect, useState } from 'react';
import { useReplica } from './hooks';

export interface StaffPoll<T> {
  data: T | undefined;
  /** why the last read failed; undefined once one succeeds */
  error: string | undefined;
}

export function useStaffPoll<T>(path: string, intervalMs: number): StaffPoll<T> {
  const r = useReplica();
  const [read, setRead] = useState<StaffPoll<T> & { path: string }>({ path, data: undefined, error: undefined });
  useEffect(() => {
    if (!r) return;
    const abort = new AbortController();
    const load = () =>
      r.staffGet<T>(path, abort.signal).then(
        (data) => setRead({ path, data, error: undefined }),
        (err: unknown) =>
          !abort.signal.aborted &&
          setRead((prev) => ({
            path,
            data: prev.path === path ? prev.data : undefined,
            error: err instanceof Error ? err.message : String(err),
          })),
      );
    void load();
    const timer = setInterval(() => void load(), intervalMs);
    return () => {
      abort.abort();
      clearInterval(timer);
    };
  }, [r, path, intervalMs]);
  return read.path === path ? read : { data: undefined, error: undefined };
}
