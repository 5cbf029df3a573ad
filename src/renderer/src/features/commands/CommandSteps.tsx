/** A command's steps in order, each with its time and why (queued 10:01:02 · sent 10:01:03 · failed 10:01:05: ignition on). */
import type { CommandDoc } from '../../../../shared/sync-protocol.js';
import { formatClock, formatDateTime } from '../../lib/format';
import { stepsOf, stepWords } from './command-words';

/** `compact`: the status and time only (the fleet view's rows), the words in the tooltip. */
export function CommandSteps({ command, compact = false }: { command: CommandDoc; compact?: boolean }) {
  return (
    <ol className={`command-steps${compact ? ' command-steps-compact' : ''}`} data-testid="command-steps">
      {stepsOf(command).map((t, i) => (
        <li
          key={`${t.to}-${i}`}
          data-step={t.to}
          className={`step-${t.to}`}
          title={compact ? `${formatDateTime(t.at)} · ${stepWords(t)}` : formatDateTime(t.at)}
        >
          {compact ? (
            <>
              {t.to} <span className="muted">{formatClock(t.at)}</span>
            </>
          ) : (
            <>
              <span className="muted">{formatClock(t.at)}</span> {stepWords(t)}
            </>
          )}
        </li>
      ))}
    </ol>
  );
}
