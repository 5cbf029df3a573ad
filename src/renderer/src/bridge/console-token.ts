/**
 * The browser console's per-launch token. The host prints a URL with `#token=…`; we keep the token in
 * sessionStorage (so a reload of this tab keeps working) and strip it from the visible URL (so it does not end
 * up in screenshots, bookmarks or the history list).
 */
const STORAGE_KEY = 'fleetdesk.consoleToken';

export function takeConsoleToken(): string | undefined {
  const fromHash = new URLSearchParams(location.hash.replace(/^#/, '')).get('token') ?? undefined;
  if (fromHash) {
    try {
      sessionStorage.setItem(STORAGE_KEY, fromHash);
    } catch {
      // storage disabled (privacy mode): the token still works for this page load
    }
    history.replaceState(history.state, '', location.pathname + location.search);
    return fromHash;
  }
  try {
    return sessionStorage.getItem(STORAGE_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}
