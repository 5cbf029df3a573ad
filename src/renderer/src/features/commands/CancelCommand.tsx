/**
 * Cancel for a queued or sent command, with the reason the server requires, through the staff API
 * (`POST /ops/v1/commands/{id}/cancel`). Rendered only for roles that may command vehicles (the role table); the
 * cancelled state then arrives with the replicated command. A refusal (already sent on and answered, offline) is
 * shown in place.
 */
import { useState } from 'react';
import { useReplica } from '../../data/hooks';
import { CANCELLABLE } from './command-words';

export function CancelCommand({ commandId, status }: { commandId: string; status: string }) {
  const r = useReplica();
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  if (!r || !r.actions.can('vehicle.command') || !CANCELLABLE.has(status)) return null;
  if (!open)
    return (
      <button
        type="button"
        className="text-button"
        data-testid="cancel-command"
        onClick={(e) => {
          // in the Commands view a row click selects the car: opening the form is not that
          e.stopPropagation();
          setOpen(true);
        }}
      >
        Cancel…
      </button>
    );
  const submit = () => {
    const why = reason.trim();
    if (!why) return setError('a reason is required');
    setBusy(true);
    r.staffPost(`/ops/v1/commands/${encodeURIComponent(commandId)}/cancel`, { reason: why }).then(
      () => {
        setBusy(false);
        setOpen(false);
        setError(undefined);
      },
      (err: unknown) => {
        setBusy(false);
        setError(`not cancelled: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  };
  return (
    <form
      className="cancel-command"
      data-testid="cancel-command-form"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
      onClick={(e) => e.stopPropagation()}
    >
      <input
        autoFocus
        placeholder="Why cancel? (required)"
        aria-label="Cancel reason"
        value={reason}
        maxLength={500}
        onChange={(e) => setReason(e.target.value)}
      />
      <button type="submit" disabled={busy}>
        Cancel command
      </button>
      <button type="button" className="text-button" onClick={() => setOpen(false)}>
        Keep
      </button>
      {error ? <div className="ops-error">{error}</div> : null}
    </form>
  );
}
