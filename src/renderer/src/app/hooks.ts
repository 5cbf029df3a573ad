/** Low-rate React state derived from the bridge and the store (the only host/fleet data React re-renders on). */
import { createContext, useContext, useEffect, useState, useSyncExternalStore } from 'react';
import type { AppInfo, AuthState, ConnectionState, DesktopApi, LinkState } from '../../../shared/desktop-api.js';
import { getHostLink, onHostLinkChange } from '../bridge';

/**
 * The renderer ↔ host link, as an external store: React re-reads it when it subscribes, so a change between a
 * component's first render and its subscription is not missed (it was: a desk whose socket opened in that gap kept
 * 'connecting' in that component for good — no app info, so no map tiles, and no connection state).
 */
export function useHostLink(): LinkState {
  return useSyncExternalStore(onHostLinkChange, getHostLink);
}

/** how long after a failed read the app info is asked for again while the link stays up */
const APP_INFO_RETRY_MS = 2_000;

/**
 * The host's app info, read once per page: App reads it and hands it down through `AppInfoContext`, so every
 * part of the desk (the map's tiles, the back office's maps) has the same value at the same time. A failed read is
 * retried while the link is up, and at once when it comes back.
 */
export function useAppInfo(api: DesktopApi, hostLink: LinkState): AppInfo | undefined {
  const [info, setInfo] = useState<AppInfo | undefined>(undefined);
  const [attempt, setAttempt] = useState(0);
  const connected = hostLink.status === 'connected';
  useEffect(() => {
    if (info || !connected) return;
    let cancelled = false;
    let retry: ReturnType<typeof setTimeout> | undefined;
    api.app.getInfo().then(
      (i) => !cancelled && setInfo(i),
      (err: unknown) => {
        console.warn('[app] getInfo failed; retrying', err);
        if (!cancelled) retry = setTimeout(() => setAttempt((a) => a + 1), APP_INFO_RETRY_MS);
      },
    );
    return () => {
      cancelled = true;
      clearTimeout(retry);
    };
  }, [api, info, connected, attempt]);
  return info;
}

/** The app info App read (undefined until the host answered). */
export const AppInfoContext = createContext<AppInfo | undefined>(undefined);

export function useAppInfoContext(): AppInfo | undefined {
  return useContext(AppInfoContext);
}

/** Broker/server health: read once, then pushed; re-read after the host link comes back (pushes were missed). */
export function useConnectionState(api: DesktopApi, hostLink: LinkState): ConnectionState | undefined {
  return usePushedHostState(
    api,
    hostLink,
    (cb) => api.connection.onChange(cb),
    () => api.connection.getState(),
    'connection.getState',
  );
}

/**
 * A value computed from the store (or anything that announces its changes the same way, such as the business-state
 * index), recomputed at most once per `intervalMs` after changes (trailing edge), so
 * 10 frames/s of 20,000 vehicles cost React at most a couple of renders a second.
 */
export function useThrottledStoreValue<T>(
  store: { subscribe(cb: () => void): () => void },
  select: () => T,
  equals: (a: T, b: T) => boolean,
  intervalMs = 500,
): T {
  const [value, setValue] = useState<T>(select);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let last = 0;
    const update = () => {
      timer = undefined;
      last = Date.now();
      const next = select();
      setValue((prev) => (equals(prev, next) ? prev : next));
    };
    update();
    const unsubscribe = store.subscribe(() => {
      if (timer) return;
      timer = setTimeout(update, Math.max(0, last + intervalMs - Date.now()));
    });
    return () => {
      unsubscribe();
      clearTimeout(timer);
    };
    // `select`/`equals` are read once per subscription: pass module-level or memoised functions.
  }, [store, intervalMs]);
  return value;
}

/** Re-render every `ms` (for "x s ago" labels outside the grid). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

/** The host's staff session state: read once per host connection, then pushed (`auth:change`). */
export function useAuthState(api: DesktopApi, hostLink: LinkState): AuthState | undefined {
  return usePushedHostState(
    api,
    hostLink,
    (cb) => api.auth.onChange(cb),
    () => api.auth.getState(),
    'auth.getState',
  );
}

/**
 * State the host pushes: subscribed once per `api`, and read once per host connection (pushes sent while the link
 * was down were missed). `onChange` and `read` are taken with `api`: pass functions of it.
 */
function usePushedHostState<T>(
  api: DesktopApi,
  hostLink: LinkState,
  onChange: (cb: (state: T) => void) => () => void,
  read: () => Promise<T>,
  what: string,
): T | undefined {
  const [state, setState] = useState<T | undefined>(undefined);
  const connected = hostLink.status === 'connected';
  useEffect(() => onChange(setState), [api]);
  useEffect(() => {
    if (!connected) return;
    let cancelled = false;
    read().then(
      (s) => !cancelled && setState(s),
      (err: unknown) => console.warn(`[app] ${what} failed`, err),
    );
    return () => {
      cancelled = true;
    };
  }, [api, connected]);
  return state;
}
