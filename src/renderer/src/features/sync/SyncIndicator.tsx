/** Always-visible replica sync state: status, last successful sync, local changes waiting, initial-sync progress. */
import { syncText, type SyncView } from '../../data/sync-status';
import { formatClock, plural } from '../../lib/format';

export function SyncIndicator({ view, now, onRetry }: { view: SyncView; now: number; onRetry?: () => void }) {
  const title = [
    `Replica: ${view.status}`,
    view.lastSyncAt ? `last successful sync ${formatClock(view.lastSyncAt)}` : 'never synced',
    `${plural(view.pending, 'local change')} waiting`,
    view.detail,
  ]
    .filter(Boolean)
    .join('\n');
  return (
    <button
      type="button"
      className={`sync-indicator sync-indicator-${view.status}`}
      data-testid="sync-indicator"
      data-status={view.status}
      data-pending={view.pending}
      data-last-sync={view.lastSyncAt ?? ''}
      title={title}
      onClick={onRetry}
    >
      <span className="sync-indicator-dot" aria-hidden="true" />
      <span className="sync-indicator-text">{syncText(view, now)}</span>
      {view.progress !== undefined ? (
        <span
          className="sync-progress"
          role="progressbar"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={Math.round(view.progress * 100)}
        >
          <span className="sync-progress-fill" style={{ width: `${Math.max(4, view.progress * 100)}%` }} />
        </span>
      ) : null}
    </button>
  );
}
