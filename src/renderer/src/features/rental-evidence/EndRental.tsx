/**
 * Ending an active rental on the customer's behalf (support/admin: `rental.end`): the server's end check shows what
 * stops it now (doors, ignition, moving, outside the zone, no fresh telemetry — `GET …/end-check`, read again every
 * few seconds). Nothing blocking: "End rental"; blocked: "End anyway", which overrides the blockers (audited with
 * them). Both ask for a reason and a confirmation, and go straight to the staff API, whose refusal shows here in
 * its own words. Offline the check cannot be made: the end is queued as a request and judged when it runs.
 */
import { useCallback, useEffect, useState } from 'react';
import { useReplica } from '../../data/hooks';
import { StaffApiError } from '../../data/open';
import { formatAgo, formatMoney } from '../../lib/format';
import { reasonProblem } from '../../lib/validation';
import { useConfirm } from '../panels/ConfirmDialog';
import { FieldInput, useFieldProblems } from '../panels/Field';
import { blockerWords } from './evidence-entries';
import type { EndBlocker, EndCheck } from './evidence-types';

const RECHECK_MS = 5_000;

interface Ended {
  price: { totalCents: number; currency: string };
  lock: { status: string; acknowledged: boolean };
  overriddenBlockers: EndBlocker[];
}

export function EndRental({ rentalId, plate, now, onEnded }: { rentalId: string; plate: string; now: number; onEnded?: () => void }) {
  const r = useReplica();
  const [confirm, confirmDialog] = useConfirm();
  const [check, setCheck] = useState<EndCheck | 'offline' | undefined>(undefined);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<string | undefined>(undefined);
  const [ended, setEnded] = useState<Ended | 'queued' | undefined>(undefined);
  const fields = useFieldProblems<'reason'>();

  const read = useCallback(
    (signal?: AbortSignal) =>
      r?.staffGet<EndCheck>(`/ops/v1/rentals/${encodeURIComponent(rentalId)}/end-check`, signal).then(
        (c) => setCheck(c),
        (err: unknown) => {
          if (signal?.aborted) return;
          if (err instanceof StaffApiError && err.status < 500 && err.status !== 401) setRefusal(err.message);
          else setCheck('offline');
        },
      ),
    [r, rentalId],
  );
  useEffect(() => {
    if (ended) return;
    const abort = new AbortController();
    void read(abort.signal);
    const timer = setInterval(() => void read(abort.signal), RECHECK_MS);
    return () => {
      abort.abort();
      clearInterval(timer);
    };
  }, [read, ended]);

  if (!r || !r.actions.can('rental.end')) return null;
  if (ended === 'queued')
    return (
      <div className="end-rental muted" data-testid="end-rental-panel" data-state="queued">
        The end is queued: the server checks the car and ends the rental when it can be reached; its outcome shows with the customer&apos;s
        requests.
      </div>
    );
  if (ended)
    return (
      <div className="end-rental end-rental-done" data-testid="end-rental-panel" data-state="ended">
        Ended — {formatMoney(ended.price.totalCents, ended.price.currency)} to capture; the car{' '}
        {ended.lock.acknowledged ? 'confirmed it is locked' : `has not confirmed the lock yet (${ended.lock.status.replace(/_/g, ' ')})`}.
        {ended.overriddenBlockers.length ? ` Overridden: ${ended.overriddenBlockers.map((b) => blockerWords(b.code)).join(', ')}.` : ''}
      </div>
    );

  const offline = check === 'offline';
  const blockers = check && check !== 'offline' ? check.blockers : [];
  const blocked = blockers.length > 0;
  const submit = () => {
    if (!fields.check({ reason: reasonProblem(reason) })) return;
    const why = reason.trim();
    if (offline) {
      return confirm({
        title: `Queue the end of this rental of ${plate}?`,
        detail: (
          <>
            <p>
              The server cannot be reached, so what stops the end cannot be checked now. The end is sent when the server answers and is
              refused then if the car is outside the zone, a door is open or the ignition is on.
            </p>
            <p>Reason: {why}</p>
          </>
        ),
        confirmLabel: 'Queue the end',
        onConfirm: () =>
          void r.actions.requestEndRental(rentalId, why).then(
            () => setEnded('queued'),
            (err: unknown) => setRefusal(err instanceof Error ? err.message : String(err)),
          ),
      });
    }
    confirm({
      title: blocked ? `End this rental of ${plate} anyway?` : `End this rental of ${plate}?`,
      detail: (
        <>
          {blocked ? (
            <p>
              The car reports {blockers.map((b) => blockerWords(b.code)).join(', ')}. Ending anyway overrides that: it is recorded with your
              name, the reason and these blockers.
            </p>
          ) : null}
          <p>The rental ends now on the customer&apos;s behalf: the price is computed and captured and the car is locked.</p>
          <p>Reason: {why}</p>
        </>
      ),
      confirmLabel: blocked ? 'End anyway' : 'End rental',
      onConfirm: () => {
        setBusy(true);
        setRefusal(undefined);
        r.staffPost<Ended>(`/ops/v1/rentals/${encodeURIComponent(rentalId)}/end`, { reason: why, overrideBlockers: blocked }).then(
          (done) => {
            setBusy(false);
            setEnded(done);
            onEnded?.();
          },
          (err: unknown) => {
            setBusy(false);
            setRefusal(err instanceof Error ? err.message : String(err));
            // refused because something new blocks it: show it, and offer the override
            const problem = err instanceof StaffApiError ? err.problem : undefined;
            if (problem && Array.isArray(problem.blockers) && typeof check === 'object')
              setCheck({ ...check, blockers: problem.blockers as EndBlocker[] });
          },
        );
      },
    });
  };

  return (
    <div
      className="end-rental"
      data-testid="end-rental-panel"
      data-state={offline ? 'offline' : blocked ? 'blocked' : check ? 'clear' : 'checking'}
    >
      <div className="end-check" data-testid="end-check">
        {check === undefined ? (
          <span className="muted">checking whether the rental can end…</span>
        ) : offline ? (
          <span className="muted">The end check needs the server, which is not reachable: an end can only be queued.</span>
        ) : blocked ? (
          <>
            <strong>Cannot end as the car is now:</strong>
            <ul className="end-blockers" data-testid="end-blockers">
              {blockers.map((b) => (
                <li key={b.code} data-code={b.code}>
                  {blockerWords(b.code)}
                </li>
              ))}
            </ul>
          </>
        ) : (
          <span>Nothing stops the end</span>
        )}
        {check && check !== 'offline' ? (
          <div className="muted end-check-age">
            The car last reported {check.telemetryAt ? formatAgo(Date.parse(check.telemetryAt), now) : 'nothing yet'}.
          </div>
        ) : null}
      </div>
      <form
        className="ops-row end-rental-form"
        data-testid="end-rental-form"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <FieldInput
          {...fields.input('reason', reason, setReason)}
          placeholder={blocked ? 'Why end it anyway? (required)' : 'Reason (required)'}
          aria-label="Reason to end the rental"
          data-testid="end-reason"
        />
        <button
          type="submit"
          className="danger-button"
          disabled={busy || check === undefined}
          data-testid={blocked ? 'end-anyway' : 'end-submit'}
        >
          {busy ? 'Ending…' : offline ? 'Queue the end' : blocked ? 'End anyway' : 'End rental'}
        </button>
      </form>
      {refusal ? (
        <div className="ops-error" data-testid="end-refusal">
          {refusal}
        </div>
      ) : null}
      {confirmDialog}
    </div>
  );
}
