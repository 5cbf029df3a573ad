/**
 * A customer's starts that failed (payment hold refused, the car not confirming or refusing the unlock, the cars
 * unreachable…): what the customer tried and why it did not work — the first question of a customer who calls
 * "the car won't open". Read from the staff API (`GET /ops/v1/rentals/start-attempts`, support/admin) and kept
 * fresh while shown; the replica does not hold them, so offline the section says it needs the server.
 */
import { startFailureWords } from '../../../../shared/start-failures.js';
import { useStaffPoll } from '../../data/use-staff-poll';
import { formatAgo, formatDateTime } from '../../lib/format';

const REFRESH_MS = 15_000;
/** the latest ones (the call is about today's tries) */
const SHOWN = 10;

interface FailedStart {
  sourceId: string;
  sourceKind: 'reservation' | 'booking';
  vehicleId: string;
  attemptId: string;
  at: number;
  failure: string;
  detail: string | null;
  paymentId: string | null;
}

export function FailedStarts({ customerId, now, plateOf }: { customerId: string; now: number; plateOf: (vehicleId: string) => string }) {
  const read = useStaffPoll<{ startAttempts: FailedStart[] }>(
    `/ops/v1/rentals/start-attempts?customerId=${encodeURIComponent(customerId)}&limit=${SHOWN}`,
    REFRESH_MS,
  );
  const starts = read.data?.startAttempts;
  const offline = read.error !== undefined;
  if (!starts?.length && !offline) return null;
  return (
    <section data-testid="customer-failed-starts">
      <h3 className="section-title">
        Failed starts {starts?.length ? <span className="muted">({starts.length < SHOWN ? starts.length : `last ${SHOWN}`})</span> : null}
      </h3>
      {offline && !starts ? <div className="muted">Shown when the server answers (not kept on this desk).</div> : null}
      <ul className="failed-starts">
        {(starts ?? []).map((s) => (
          <li key={s.attemptId} data-testid="failed-start" data-failure={s.failure}>
            <div>{startFailureWords(s.failure, s.detail)}</div>
            <div className="muted" title={formatDateTime(s.at)}>
              {formatAgo(s.at, now)} · {s.sourceKind} of {plateOf(s.vehicleId)} kept{s.paymentId ? ', payment hold released' : ''}
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
