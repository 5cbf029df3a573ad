/**
 * One reservation, booking or rental of a customer: the car, the period, the receipt (the price breakdown stored
 * with the rental), the money as the payments ledger sees it (a live read — only online), and the support
 * actions: end an active rental on the customer's behalf (its blockers shown, "End anyway" overriding them —
 * rental-evidence/EndRental), refund all or part of an ended one, extend or cancel a confirmed booking that is not
 * over — each only for roles that may (the role table). Refunds and booking changes are queued as `requests`
 * (offline too) and their outcome shows below the card; a refund and a cancellation ask for confirmation first,
 * naming what will happen. "Evidence" opens the rental's whole evidence.
 */
import { useEffect, useState } from 'react';
import type { RentalDoc, RequestDoc } from '../../../../shared/sync-protocol.js';
import { useReplica } from '../../data/hooks';
import { useStaffNames } from '../panels/staff-names';
import { formatDateTime, formatDuration, formatMoney, parseMoney } from '../../lib/format';
import { extensionProblem, fromLocalInput, isOpenBooking, toLocalInput } from './booking-actions';
import { reasonProblem, refundAmountProblem } from '../../lib/validation';
import { useConfirm } from '../panels/ConfirmDialog';
import { Field, FieldInput, useFieldProblems } from '../panels/Field';
import { VehicleLink } from '../panels/VehicleLink';
import { RequestOutcome } from './RequestOutcome';
import { PriceLines } from '../rental-evidence/PriceLines';
import { EndRental } from '../rental-evidence/EndRental';
import { rentalEvidence } from '../rental-evidence/evidence-store';

interface RentalPayments {
  held: number;
  captured: number;
  refunded: number;
  currency: string;
  status: string;
}

interface RentalCardProps {
  rental: RentalDoc;
  now: number;
  plateOf: (vehicleId: string) => string;
  onSelectVehicle?: (vehicleId: string) => void;
  requests: RequestDoc[];
  /** the vehicle card: no customer actions there */
  compact?: boolean;
}

const FORM_TEST_ID = {
  refund: 'refund-form',
  extend: 'extend-booking-form',
  cancel: 'cancel-booking-form',
} as const;
const SUBMIT_LABEL: Partial<Record<keyof typeof FORM_TEST_ID, string>> = {
  extend: 'Extend booking',
  cancel: 'Confirm cancellation',
};

export function RentalCard({ rental: x, now, plateOf, onSelectVehicle, requests, compact = false }: RentalCardProps) {
  const r = useReplica();
  const [confirm, confirmDialog] = useConfirm();
  const may = (c: 'rental.end' | 'rental.read' | 'payment.refund' | 'booking.change') => r?.actions.can(c) ?? false;
  const [mode, setMode] = useState<'none' | 'end' | 'refund' | 'extend' | 'cancel'>('none');
  const [reason, setReason] = useState('');
  const [amount, setAmount] = useState('');
  const [newEnd, setNewEnd] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const fields = useFieldProblems<'amount' | 'newEnd' | 'reason'>();
  const staffName = useStaffNames();
  const [payments, setPayments] = useState<RentalPayments | 'offline' | undefined>(undefined);
  const ended = x.kind === 'rental' && x.status === 'ended';
  const canRefund = !compact && ended && (x.totalCents ?? 0) > 0 && may('payment.refund');
  const evidence = x.kind === 'rental' && may('rental.read');
  const pendingEnd = requests.some((q) => q.kind === 'end_rental' && q.status === 'pending');
  const refunds = requests.filter((q) => q.kind === 'refund');
  const openBooking = !compact && isOpenBooking(x, now) && may('booking.change');
  const pendingExtend = requests.some((q) => q.kind === 'extend_booking' && q.status === 'pending');
  const pendingCancel = requests.some((q) => q.kind === 'cancel_booking' && q.status === 'pending');
  const toggle = (m: 'end' | 'refund' | 'extend' | 'cancel') => {
    setError(undefined);
    fields.reset();
    if (m === 'extend' && mode !== 'extend') setNewEnd(x.endsAt === null ? '' : toLocalInput(x.endsAt + 3_600_000));
    setMode(mode === m ? 'none' : m);
  };

  // The ledger (captured/refunded) is not replicated: read it live when the card could refund.
  const refundsDone = refunds.filter((q) => q.status === 'done').length;
  useEffect(() => {
    if (!canRefund || !r) return;
    const abort = new AbortController();
    r.staffGet<RentalPayments>(`/ops/v1/rentals/${encodeURIComponent(x.id)}/payments`, abort.signal).then(
      (p) => setPayments(p),
      () => !abort.signal.aborted && setPayments('offline'),
    );
    return () => abort.abort();
  }, [r, x.id, canRefund, refundsDone]);

  const refundable = payments && payments !== 'offline' ? Math.max(0, payments.captured - payments.refunded) : undefined;
  const currency = x.currency ?? (payments && payments !== 'offline' ? payments.currency : 'EUR');
  const submit = () => {
    if (!r) return;
    const done = () => {
      setMode('none');
      setReason('');
      setAmount('');
      setNewEnd('');
      setError(undefined);
      fields.reset();
    };
    const fail = (err: unknown) => setError(err instanceof Error ? err.message : String(err));
    setError(undefined); // the fields are checked again: no stale message beside the question
    if (mode === 'refund') {
      if (!fields.check({ amount: refundAmountProblem(amount, refundable, currency), reason: reasonProblem(reason) })) return;
      const cents = parseMoney(amount)!;
      return confirm({
        title: `Refund ${formatMoney(cents, currency)}?`,
        detail: (
          <>
            <p>
              {formatMoney(cents, currency)} of this rental ({plateOf(x.vehicleId)}) goes back to the customer&apos;s payment method. A
              refund cannot be taken back.
            </p>
            <p>Reason: {reason.trim()}</p>
          </>
        ),
        confirmLabel: `Refund ${formatMoney(cents, currency)}`,
        onConfirm: () => r.actions.requestRefund(x.id, cents, currency, reason).then(done, fail),
      });
    }
    if (mode === 'extend') {
      const endsAt = fromLocalInput(newEnd);
      if (!fields.check({ newEnd: extensionProblem(x.endsAt, endsAt), reason: reasonProblem(reason) })) return;
      r.actions.requestExtendBooking(x.id, endsAt!, reason).then(done, fail);
    }
    if (mode === 'cancel') {
      if (!fields.check({ reason: reasonProblem(reason) })) return;
      confirm({
        title: `Cancel this booking of ${plateOf(x.vehicleId)}?`,
        detail: (
          <>
            <p>
              The booking ({formatDateTime(x.startsAt)} – {x.endsAt === null ? 'open' : formatDateTime(x.endsAt)}) is cancelled on the
              customer&apos;s behalf and the car is free for others. The customer has to book again.
            </p>
            <p>Reason: {reason.trim()}</p>
          </>
        ),
        confirmLabel: 'Cancel booking',
        onConfirm: () => r.actions.requestCancelBooking(x.id, reason).then(done, fail),
      });
    }
  };

  const end = x.endedAt ?? x.endsAt;
  return (
    <article
      className={`rental-card rental-${x.kind} rental-status-${x.status}`}
      data-testid="rental-card"
      data-rental-id={x.id}
      data-kind={x.kind}
      data-status={x.status}
    >
      <header className="rental-head">
        <span className="rental-kind">{x.kind}</span>
        <span className={`pill pill-rental-${x.status}`}>{x.status}</span>
        {onSelectVehicle ? (
          <VehicleLink vehicleId={x.vehicleId} plateOf={plateOf} onSelect={onSelectVehicle} />
        ) : (
          <span>{plateOf(x.vehicleId)}</span>
        )}
        <span className="muted rental-when">
          {formatDateTime(x.startedAt ?? x.startsAt)} → {end === null ? (x.status === 'active' ? 'open-ended' : '—') : formatDateTime(end)}
          {x.status === 'active' && x.startedAt
            ? ` · ${formatDuration(now - x.startedAt)} so far`
            : x.startedAt && x.endedAt
              ? ` · ${formatDuration(x.endedAt - x.startedAt)}`
              : ''}
        </span>
        {x.totalCents !== null ? <span className="rental-total">{formatMoney(x.totalCents, x.currency)}</span> : null}
      </header>
      {x.status === 'active' && x.returnBy ? <div className="muted">must be back by {formatDateTime(x.returnBy)}</div> : null}
      {x.endReason || x.endedBy ? (
        <div className="muted">
          ended{x.endedBy ? ` by ${x.endedBy.startsWith('customer:') ? 'the customer' : staffName(x.endedBy)}` : ''}
          {x.endReason ? ` — ${x.endReason}` : ''}
        </div>
      ) : null}
      {x.cancelReason ? (
        <div className="muted">
          cancelled{x.cancelledBy ? ` by ${staffName(x.cancelledBy)}` : ''} — {x.cancelReason}
        </div>
      ) : null}
      {x.price && x.price.lines?.length ? <PriceLines price={x.price} /> : null}
      {canRefund ? (
        <div className="muted rental-money" data-testid="rental-money">
          {payments === undefined
            ? 'reading the payments ledger…'
            : payments === 'offline'
              ? 'payments ledger unavailable (offline) — a refund is checked by the server when it runs'
              : `captured ${formatMoney(payments.captured, payments.currency)} · refunded ${formatMoney(payments.refunded, payments.currency)} · ${payments.status}`}
        </div>
      ) : null}
      {!compact && ((x.status === 'active' && may('rental.end')) || canRefund || openBooking || evidence) ? (
        <div className="rental-actions">
          {evidence ? (
            <button type="button" data-testid="open-evidence" onClick={() => rentalEvidence.open(x.id)}>
              Evidence
            </button>
          ) : null}
          {x.status === 'active' && x.kind === 'rental' && may('rental.end') ? (
            <button type="button" className="danger-button" disabled={pendingEnd} data-testid="end-rental" onClick={() => toggle('end')}>
              {pendingEnd ? 'Ending…' : 'End on behalf'}
            </button>
          ) : null}
          {canRefund ? (
            <button type="button" data-testid="refund-rental" onClick={() => toggle('refund')}>
              Refund
            </button>
          ) : null}
          {openBooking ? (
            <>
              <button type="button" disabled={pendingExtend || pendingCancel} data-testid="extend-booking" onClick={() => toggle('extend')}>
                {pendingExtend ? 'Extending…' : 'Extend'}
              </button>
              <button
                type="button"
                className="danger-button"
                disabled={pendingCancel}
                data-testid="cancel-booking"
                onClick={() => toggle('cancel')}
              >
                {pendingCancel ? 'Cancelling…' : 'Cancel booking'}
              </button>
            </>
          ) : null}
        </div>
      ) : null}
      {mode === 'end' ? <EndRental rentalId={x.id} plate={plateOf(x.vehicleId)} now={now} onEnded={() => setMode('none')} /> : null}
      {mode !== 'none' && mode !== 'end' ? (
        <form
          className="ops-row rental-action-form"
          data-testid={FORM_TEST_ID[mode]}
          onSubmit={(e) => {
            e.preventDefault();
            submit();
          }}
        >
          {mode === 'refund' ? (
            <FieldInput
              {...fields.input('amount', amount, setAmount)}
              fieldClassName="amount-field"
              className="amount-input"
              inputMode="decimal"
              placeholder={refundable !== undefined ? `max ${(refundable / 100).toFixed(2)}` : 'amount'}
              aria-label="Refund amount"
              data-testid="refund-amount"
            />
          ) : null}
          {mode === 'extend' ? (
            <label className="booking-end-field">
              <span className="muted">new end</span>
              <Field error={fields.problems.newEnd}>
                <input
                  type="datetime-local"
                  className="datetime-input"
                  step={60}
                  min={x.endsAt === null ? undefined : toLocalInput(x.endsAt)}
                  value={newEnd}
                  onChange={(e) => {
                    setNewEnd(e.target.value);
                    fields.clear('newEnd');
                  }}
                  aria-label="New end"
                  data-testid="extend-ends-at"
                />
              </Field>
            </label>
          ) : null}
          <FieldInput
            {...fields.input('reason', reason, setReason)}
            placeholder="Reason (required)"
            aria-label="Reason"
            data-testid="action-reason"
          />
          <button type="submit" data-testid="action-submit">
            {SUBMIT_LABEL[mode] ?? `Refund${currency ? ` ${currency}` : ''}`}
          </button>
        </form>
      ) : null}
      {error ? <div className="ops-error">{error}</div> : null}
      {confirmDialog}
      {requests.length ? (
        <ul className="ops-list">
          {requests.slice(0, 5).map((q) => (
            <RequestOutcome key={q.id} request={q} now={now} />
          ))}
        </ul>
      ) : null}
    </article>
  );
}
