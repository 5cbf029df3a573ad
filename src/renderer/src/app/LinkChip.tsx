/** A health chip for one integration link; the native tooltip carries the detail a dispatcher needs. */
import type { LinkState } from '../../../shared/desktop-api.js';
import { formatAgo, formatClock } from '../lib/format';

interface LinkChipProps {
  label: string;
  testId: string;
  state: LinkState | undefined;
}

const STATUS_TEXT: Record<LinkState['status'], string> = {
  connecting: 'connecting',
  connected: 'connected',
  reconnecting: 'reconnecting',
  offline: 'offline',
};

export function linkTooltip(label: string, state: LinkState | undefined): string {
  if (!state) return `${label}: waiting for the host`;
  const lines = [`${label}: ${STATUS_TEXT[state.status]}`, `since ${formatClock(state.since)} (${formatAgo(state.since)})`];
  if (state.attempts > 0) lines.push(`reconnect attempts: ${state.attempts}`);
  if (state.lastOkAt !== undefined) lines.push(`last OK: ${formatClock(state.lastOkAt)} (${formatAgo(state.lastOkAt)})`);
  if (state.detail) lines.push(state.detail);
  return lines.join('\n');
}

export function LinkChip({ label, testId, state }: LinkChipProps) {
  const status = state?.status ?? 'connecting';
  return (
    <span
      className={`link-chip link-${status}`}
      data-testid={testId}
      data-status={status}
      title={linkTooltip(label, state)}
      role="status"
      aria-label={`${label} ${status}`}
    >
      <span className="link-dot" aria-hidden="true" />
      <span className="link-label">{label}</span>
      <span className="link-status">
        {STATUS_TEXT[status]}
        {status === 'reconnecting' && state && state.attempts > 1 ? ` ×${state.attempts}` : ''}
      </span>
    </span>
  );
}
