/** One support request and what became of it: waiting (and why, while the server retries), done, refused, expired. */
import { outcomeWords } from '../commands/command-words';
import type { RequestDoc } from '../../../../shared/sync-protocol.js';
import { useStaffNames } from '../panels/staff-names';
import { formatAgo, formatDateTime, formatMoney, plainServerText } from '../../lib/format';

const LABEL: Record<RequestDoc['kind'], string> = {
  vehicle_command: 'Command',
  refund: 'Refund',
  end_rental: 'End rental',
  block_customer: 'Block',
  unblock_customer: 'Unblock',
  extend_booking: 'Extend booking',
  cancel_booking: 'Cancel booking',
};

export function describeRequest(q: RequestDoc): string {
  const p = q.payload;
  if (q.kind === 'refund') return `${LABEL.refund} ${formatMoney(Number(p.amountCents), String(p.currency ?? 'EUR'))}`;
  if (q.kind === 'vehicle_command') return `${LABEL.vehicle_command}: ${outcomeWords(String(p.type), '').trim()}`;
  if (q.kind === 'extend_booking') return `${LABEL.extend_booking} to ${formatDateTime(Date.parse(String(p.endsAt)))}`;
  return LABEL[q.kind] ?? q.kind;
}

export function RequestOutcome({ request: q, now }: { request: RequestDoc; now: number }) {
  const staffName = useStaffNames();
  const result = q.result ?? {};
  const lastError = (result as { lastError?: { message?: string } }).lastError;
  const text =
    q.status === 'pending'
      ? lastError
        ? `retrying — ${lastError.message ? plainServerText(lastError.message) : 'the server could not do it yet'}`
        : q.updatedAt === q.createdAt
          ? 'waiting to reach the server'
          : 'sent, waiting for the outcome'
      : q.status === 'done'
        ? 'done'
        : q.status === 'expired'
          ? 'expired before the server could run it — nothing was done'
          : `refused — ${plainServerText(String((result as { message?: unknown }).message ?? (result as { code?: unknown }).code ?? 'no reason given'))}`;
  return (
    <li className={`request-outcome request-${q.status}`} data-request-id={q.id} data-request-kind={q.kind} data-request-status={q.status}>
      <span className="request-what">{describeRequest(q)}</span> <span className="request-status">{text}</span>
      <span className="muted">
        {' '}
        · “{String(q.payload.reason ?? '')}” · {staffName(q.createdBy)}, {formatAgo(q.createdAt, now)}
      </span>
    </li>
  );
}
